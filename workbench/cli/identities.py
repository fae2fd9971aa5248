"""`workbench identities ...` (anonymous identities: list, re-cluster, merge, split, name) and
`workbench watchlist ...` (people of interest whose sightings raise alerts)."""

from __future__ import annotations

import click

from workbench.cli.base import Ctx, _echo_json, cli, consent_choice
from workbench.errors import WorkbenchError


@cli.group()
def identities() -> None:
    """Anonymous identities: strangers grouped across cameras and runs ("unknown 0007")."""


@identities.command("list")
@click.option("--gallery", required=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def identities_list(obj: Ctx, gallery: str, as_json: bool) -> None:
    """Every anonymous identity with its sightings, cameras and first/last time."""
    with obj.open_db(create=False, read_only=True) as db:
        df = db.identities.list(gallery)
    if as_json:
        _echo_json(df.to_dicts())
        return
    if df.height == 0:
        click.echo(f"{gallery}: no anonymous identities")
    for r in df.iter_rows(named=True):
        click.echo(f"{r['id']:>5} {r['label']}: {r['sightings']} sighting(s) on {', '.join(r['cameras'] or [])}, "
                   f"{r['first_seen']} to {r['last_seen']}, {r['chips']} chip(s)")


@identities.command("recluster")
@click.option("--gallery", required=True)
@click.option("--threshold", "distance", type=float, default=None,
              help="Largest distance inside a cluster (default 0.85 x the model's threshold); a distance the "
                   "model's metric can reach.")
@click.option("--method", type=click.Choice(["agglomerative", "dbscan"]), default="agglomerative", show_default=True)
@click.pass_obj
def identities_recluster(obj: Ctx, gallery: str, distance: float | None, method: str) -> None:
    """Cluster every anonymous sighting again (scikit-learn), keeping ids where most members stay."""
    from workbench.search.clusters import default_identity_threshold, recluster

    with obj.open_db(create=False) as db:
        s = obj.settings_for(db, gallery)
        t = default_identity_threshold(s.model, s.metric_) if distance is None else distance
        r = recluster(db, gallery, model=s.model, metric=s.metric_, threshold=t, method=method)
    click.echo(f"{gallery}: {r.sightings} anonymous sighting(s): {r.before} identities -> {r.after} "
               f"({method}, threshold {t}); {r.kept_ids} kept their id")


@identities.command("merge")
@click.argument("keep")
@click.argument("others", nargs=-1, required=True)
@click.option("--gallery", required=True)
@click.pass_obj
def identities_merge(obj: Ctx, keep: str, others: tuple[str, ...], gallery: str) -> None:
    """Merge identities OTHERS into KEEP (the same stranger). An identity is its number (7) or
    its label as lists show it ("unknown 0007")."""
    from workbench.search.clusters import merge
    from workbench.store import identity_id, identity_label

    with obj.open_db(create=False) as db:
        n = merge(db, gallery, identity_id(keep), [identity_id(o) for o in others], model=obj.settings_for(db, gallery).model)
    click.echo(f"{gallery}: moved {n} sighting(s) into {identity_label(identity_id(keep))}")


@identities.command("split")
@click.argument("identity")
@click.option("--sightings", "sighting_ids", required=True, help="Comma-separated sighting ids to move out.")
@click.option("--gallery", required=True)
@click.pass_obj
def identities_split(obj: Ctx, identity: str, sighting_ids: str, gallery: str) -> None:
    """Move some sightings of IDENTITY (7 or "unknown 0007") into a new identity (two people
    taken for one)."""
    from workbench.search.clusters import split
    from workbench.store import identity_id

    try:
        ids = [int(x) for x in sighting_ids.split(",") if x.strip()]
    except ValueError:
        raise WorkbenchError(f"--sightings wants comma-separated ids, got {sighting_ids!r}") from None
    with obj.open_db(create=False) as db:
        new = split(db, gallery, identity_id(identity), ids, model=obj.settings_for(db, gallery).model)
    click.echo(f"{gallery}: {len(ids)} sighting(s) moved to new identity {new}")


@identities.command("name")
@click.argument("identity")
@click.argument("person")
@click.option("--gallery", required=True)
@click.option("--consent/--no-consent", default=None,
              help="Required, as for enrol: the person consented (--consent), or did not (--no-consent, with --reason).")
@click.option("--reason", default=None, help="With --no-consent: why they may be enrolled anyway.")
@click.option("--notes", default=None)
@click.pass_obj
def identities_name(obj: Ctx, identity: str, person: str, gallery: str, consent: bool | None,
                    reason: str | None, notes: str | None) -> None:
    """Name IDENTITY (7 or "unknown 0007") as PERSON: its vectors (and kept chips) are enrolled,
    its sightings become theirs. Naming enrols, so it needs the consent choice enrol needs (with the
    gallery's own model; a --model that contradicts it is refused)."""
    choice = consent_choice(consent, reason, "nothing was named")
    with obj.open_db(create=False) as db:
        n = db.identities.name(gallery, identity, person, model=obj.settings_for(db, gallery).model, consent=choice, notes=notes)
    click.echo(f"{gallery}: identity {identity} is now {person} ({n} face(s) enrolled)")


@cli.group()
def watchlist() -> None:
    """Watchlists: enrolled people whose sightings raise alerts."""


@watchlist.command("add")
@click.argument("person")
@click.option("--gallery", required=True)
@click.option("--list", "name", default="default", show_default=True, help="Watchlist name.")
@click.pass_obj
def watchlist_add(obj: Ctx, person: str, gallery: str, name: str) -> None:
    """Put PERSON (enrolled in GALLERY) on a watchlist."""
    with obj.open_db(create=False) as db:
        db.watchlist.add(gallery, person, name)
    click.echo(f"{gallery}: {person} is on watchlist {name}")


@watchlist.command("remove")
@click.argument("person")
@click.option("--gallery", required=True)
@click.option("--list", "name", default=None, help="Only this watchlist (default: all).")
@click.pass_obj
def watchlist_remove(obj: Ctx, person: str, gallery: str, name: str | None) -> None:
    """Take PERSON off a watchlist (or all)."""
    with obj.open_db(create=False) as db:
        n = db.watchlist.remove(gallery, person, name)
    click.echo(f"{gallery}: {person} taken off {n} watchlist(s)")


@watchlist.command("list")
@click.option("--gallery", required=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def watchlist_list(obj: Ctx, gallery: str, as_json: bool) -> None:
    """Everyone on a watchlist of GALLERY."""
    with obj.open_db(create=False, read_only=True) as db:
        df = db.watchlist.list(gallery)
    if as_json:
        _echo_json(df.to_dicts())
        return
    for r in df.iter_rows(named=True):
        click.echo(f"{r['person']}: {r['list']} (since {r['added_at']:%Y-%m-%d %H:%M})")
    if df.height == 0:
        click.echo(f"{gallery}: nobody is on a watchlist")
