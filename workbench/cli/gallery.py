"""`workbench gallery ...` and `workbench log export`: browse, delete, purge, move."""

from __future__ import annotations

import click

from workbench.cli.base import Ctx, _check_file, _echo_json, cli
from workbench.errors import WorkbenchError


@cli.group()
def gallery() -> None:
    """List, inspect, delete, purge, export and import galleries."""


@gallery.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def gallery_list(obj: Ctx, as_json: bool) -> None:
    """Every gallery with its number of people and faces."""
    with obj.open_db(create=False, read_only=True) as db:
        df = db.galleries.list()
    if as_json:
        _echo_json(df.to_dicts())
    elif df.height == 0:
        click.echo(f"{obj.db_path}: no galleries")
    else:
        for r in df.iter_rows(named=True):
            click.echo(f"{r['gallery']}: {r['people']} people, {r['faces']} faces ({r['model']})")


@gallery.command("create")
@click.argument("name")
@click.pass_obj
def gallery_create(obj: Ctx, name: str) -> None:
    """Make an empty gallery NAME for --model's vectors (default: SFace's, the zoo's default; enrol
    and import make one when needed; a watch with nobody enrolled needs one made first). A gallery
    keeps its model."""
    with obj.open_db() as db:
        model = obj.settings_for(db, name).model
        db.galleries.create(name, model)
    click.echo(f"{name}: a gallery of {model} vectors")


@gallery.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def gallery_show(obj: Ctx, name: str, as_json: bool) -> None:
    """People and faces of gallery NAME."""
    with obj.open_db(create=False, read_only=True) as db:
        people = db.faces.people(name)
        faces = db.faces.list(name)
    if as_json:
        _echo_json({"gallery": name, "people": people.to_dicts(), "faces": faces.to_dicts()})
        return
    click.echo(f"{name}: {people.height} people, {faces.height} faces")
    for p in people.iter_rows(named=True):
        consent = "consent" if p["consent"] else "no consent recorded"
        click.echo(f"  {p['name']}: {p['faces']} face(s), {consent}")
        for f in faces.filter(faces["person"] == p["name"]).iter_rows(named=True):
            click.echo(f"    #{f['id']} {f['source_path']} box={f['box']}")


def _announce(what: str, counts: dict[str, int]) -> None:
    """Say first, on stderr, what a destructive command is about to remove."""
    from workbench.store.removal import describe

    click.echo(f"{what}: removing {describe(counts)}", err=True)


def _confirmed(yes: bool, what: str, counts: dict[str, int] | None) -> None:
    """Stop with one line naming what would go, unless ``--yes`` confirmed it."""
    from workbench.store.removal import describe

    if not yes:
        removes = describe(counts) if counts is not None else "every gallery, person, face and search"
        raise WorkbenchError(f"{what} would remove {removes}; add --yes to confirm (nothing was changed)")


@gallery.command("delete")
@click.argument("name")
@click.option("--person", default=None, help="Delete only this person (and their faces).")
@click.option("--face", "face_id", type=int, default=None, help="Delete only this face id.")
@click.option("--yes", is_flag=True, help="Confirm deleting the whole gallery (not needed for --person or --face).")
@click.pass_obj
def gallery_delete(obj: Ctx, name: str, person: str | None, face_id: int | None, yes: bool) -> None:
    """Delete gallery NAME (with --yes), or one --person or one --face of it.

    Says first what it removes: people, faces, the search-log rows that returned them (and any
    rows tied to them, such as sightings); the file is then compacted so none of it remains.
    """
    if person is not None and face_id is not None:
        raise WorkbenchError("give --person or --face, not both; nothing was changed")
    with obj.open_db(create=False) as db:
        counts = db.removal.counts(name, person=person, face_id=face_id)
        if face_id is not None:
            _announce(f"{name}: face #{face_id}", counts)
            db.removal.delete_face(name, face_id)
            click.echo(f"{name}: deleted face #{face_id}")
        elif person is not None:
            _announce(f"{name}: {person}", counts)
            n = db.removal.delete_person(name, person)
            click.echo(f"{name}: deleted {person} and {n} face(s)")
        else:
            _confirmed(yes, f"deleting gallery {name}", counts)
            _announce(f"gallery {name}", counts)
            n = db.removal.delete_gallery(name)
            click.echo(f"deleted gallery {name} and its {n} face(s)")


@gallery.command("purge")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Confirm: remove every person and face of the gallery.")
@click.pass_obj
def gallery_purge(obj: Ctx, name: str, yes: bool) -> None:
    """Remove every person and face of gallery NAME (the gallery stays, empty); needs --yes."""
    with obj.open_db(create=False) as db:
        counts = db.removal.counts(name)
        _confirmed(yes, f"purging gallery {name}", counts)
        _announce(f"gallery {name}", counts)
        n = db.removal.purge_gallery(name)
    click.echo(f"{name}: purged {n} face(s)")


@gallery.command("export")
@click.argument("name")
@click.argument("parquet", type=click.Path(dir_okay=False))
@click.pass_obj
def gallery_export(obj: Ctx, name: str, parquet: str) -> None:
    """Write gallery NAME (people, faces, vectors) to a Parquet file."""
    with obj.open_db(create=False, read_only=True) as db:
        n = db.transfer.export_parquet(name, parquet)
    click.echo(f"{name}: exported {n} face(s) to {parquet}")


@gallery.command("import")
@click.argument("parquet", type=click.Path())
@click.option("--gallery", "name", default=None, help="Target gallery (default: the exported one).")
@click.pass_obj
def gallery_import(obj: Ctx, parquet: str, name: str | None) -> None:
    """Load a Parquet export into a gallery (duplicates skipped)."""
    _check_file(parquet)
    with obj.open_db() as db:
        added, skipped = db.transfer.import_parquet(parquet, name)
    click.echo(f"imported {added} face(s), {skipped} already present")


@gallery.command("purge-all")
@click.option("--yes", is_flag=True, help="Confirm: remove every gallery, person, face and search.")
@click.pass_obj
def gallery_purge_all(obj: Ctx, yes: bool) -> None:
    """Purge everything: every table but the schema info, then compact the file."""
    if not yes:
        counts = None
        try:  # name what would go when the file can be read; a locked or missing one still needs --yes
            with obj.open_db(create=False, read_only=True) as db:
                counts = db.removal.purge_counts()
        except WorkbenchError:
            pass
        _confirmed(False, "purge-all", counts)
    with obj.open_db(create=False) as db:
        _announce(str(obj.db_path), db.removal.purge_counts())
        removed = db.removal.purge_all()
        size = db.db.path.stat().st_size if not db.db.in_memory else 0
    rows = ", ".join(f"{n} {t}" for t, n in removed.items())
    click.echo(f"{obj.db_path}: purged {rows}; file compacted to {size} bytes")


@gallery.command("compact")
@click.pass_obj
def gallery_compact(obj: Ctx) -> None:
    """Rewrite the database file so no deleted row's bytes remain in it."""
    with obj.open_db(create=False) as db:
        before = db.db.path.stat().st_size
        after = db.db.compact()
    click.echo(f"{obj.db_path}: {before} -> {after} bytes")


@cli.group("log")
def log_group() -> None:
    """The search log: what every search used and returned, for audit."""


@log_group.command("export")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--with-probes", is_flag=True, help="Include stored probe photos (Parquet only).")
@click.pass_obj
def log_export(obj: Ctx, out: str, with_probes: bool) -> None:
    """Write the search log to OUT (.csv, .json or .parquet)."""
    with obj.open_db(create=False, read_only=True) as db:
        n = db.search_log.export(out, with_probes=with_probes)
    click.echo(f"exported {n} search(es) to {out}")
