"""`workbench eval pairs|folder|search|replay`: the evaluation and bias lab."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from workbench.cli.base import Ctx, _echo_json, _progress, cli
from workbench.errors import WorkbenchError


@cli.group("eval")
def eval_group() -> None:
    """Measure accuracy and error rates."""


def _eval_options(fn):
    """--labels, --group-by, --json, --report and --no-cache, shared by every eval command."""
    for opt in reversed([
        click.option("--labels", type=click.Path(), default=None,
                     help="CSV: 'person' or 'file', then label columns; splits every figure per group."),
        click.option("--group-by", default=None, help="Label column to split by (default: the first)."),
        click.option("--json", "as_json", is_flag=True, help="Print JSON."),
        click.option("--report", "report_dir", type=click.Path(file_okay=False), default=None,
                     help="Write report.html (self-contained) plus CSV and Parquet tables into this folder."),
        click.option("--cache/--no-cache", default=True, show_default=True,
                     help="Keep embeddings in the database so re-runs cost no model time."),
    ]):
        fn = opt(fn)
    return fn


#: When more than this share of the photos gives no vector (no face found, unreadable), the
#: first line of the output says so, before any rate.
FAIL_SHARE = 0.10

_fta_option = click.option("--exclude-fta", "exclude_fta", is_flag=True,
                           help="Leave photos with no face found (failures to acquire) out of the error rates; "
                                "by default they count as misses (FNMR/FNIR), as NIST counts them.")


def _identity_options(fn):
    """--identities and --none-enrolled: where the workbench learns who each probe shows."""
    for opt in reversed([
        click.option("--identities", type=click.Path(), default=None,
                     help="CSV with columns file,person: who each probe photo shows (else: its sub-folder)."),
        click.option("--none-enrolled", is_flag=True,
                     help="State that none of the people in the probe photos is in the gallery."),
    ]):
        fn = opt(fn)
    return fn


def _identity(identities: str | None, none_enrolled: bool):
    from workbench.evaluation.runners.identification import NONE_ENROLLED, ProbeIdentity, read_identities

    if identities and none_enrolled:
        raise WorkbenchError("--identities and --none-enrolled say two different things: give one")
    if none_enrolled:
        return ProbeIdentity(NONE_ENROLLED)
    return read_identities(identities) if identities else ProbeIdentity()


def _rate(x: float, k: int, n: int, none: str) -> str:
    """A rate with its counts, or words when there is nothing to count (never 'nan')."""
    return none if n == 0 or x != x else f"{x:.4f} ({k}/{n})"


def _grouped(reasons: dict[str, str], what: str = "photo") -> list[str]:
    """One line per distinct reason, with how many files and a few of their names."""
    from collections import defaultdict

    by: dict[str, list[str]] = defaultdict(list)
    for name, why in reasons.items():
        by[_words(why)].append(Path(name).name)
    lines = []
    for why, names in sorted(by.items(), key=lambda kv: -len(kv[1])):
        more = f" and {len(names) - 3} more" if len(names) > 3 else ""
        lines.append(f"{why}: {len(names)} {what}{'s' if len(names) != 1 else ''} ({', '.join(names[:3])}{more})")
    return lines


def _words(reason: str) -> str:
    return "no face found" if reason == "no_face" else reason


def _headline(failed: int, photos: int, skipped: int) -> None:
    """The first line when too many photos failed: before any rate, so nobody quotes one alone."""
    total = photos + skipped
    if total and failed + skipped > FAIL_SHARE * total:
        click.echo(f"WARNING: {failed + skipped} of {total} files gave no face to compare "
                   f"({(failed + skipped) / total:.0%}; {failed} with no face found, {skipped} skipped): "
                   "the figures below rest on the rest")


def scale_lines(answer, sizes=(300_000, 20_000_000), similarities=(80.0, 99.0)) -> list[str]:
    """The one scale answer's lines for a terminal: what it rests on, its sentences, what it
    assumes, one line per UTKFace group, and what is missing."""
    from workbench.evaluation.stats import scale

    on = answer.basis.words() if answer.basis else "the impostor distances measured here"
    ref = f"; reference file {answer.basis.reference}" if answer.basis and answer.basis.reference else ""
    lines = [f"at scale, on {on}{ref} (EXTRAPOLATED):"]
    lines += [f"  {answer.sentence(n, s)}" for s in similarities for n in sizes]
    lines.append(f"  {scale.ASSUMES}")
    lines += [f"  per group, {g}: {a.sentence(sizes[0], similarities[0])}" for g, a in answer.groups]
    lines += [f"  note: {n}" for n in answer.notes]
    return lines


def _scale_lines(answer, sizes=(300_000, 20_000_000), similarities=(80.0, 99.0)) -> None:
    for line in scale_lines(answer, sizes, similarities):
        click.echo(f"  {line}")


def _labels(path: str | None, column: str | None):
    from workbench.evaluation.datasets.labels import read_labels

    return read_labels(path, column) if path else None


def _eval_db(obj: Ctx, use_cache: bool):
    from contextlib import nullcontext

    return obj.open_db() if use_cache else nullcontext(None)


@eval_group.command("pairs")
@click.argument("csv_path", type=click.Path())
@click.option("--images", "images", default=None, type=click.Path(),
              help="Folder the CSV's file names are in (default: the CSV's folder; matched by file name too).")
@_fta_option
@_eval_options
@click.pass_obj
def eval_pairs(obj: Ctx, csv_path: str, images: str | None, exclude_fta: bool, labels: str | None,
               group_by: str | None, as_json: bool, report_dir: str | None, cache: bool) -> None:
    """Verify labelled pairs (file_x,file_y,Decision): accuracy, FMR, FNMR, EER, thresholds."""
    from workbench.evaluation.runners.verification import eval_pairs as run
    from workbench.evaluation.runners.verification import read_pairs

    read_pairs(csv_path, images)  # a bad CSV fails before the database is opened
    lab = _labels(labels, group_by)
    with _eval_db(obj, cache) as db:
        r = run(csv_path, images, obj.settings, db=db, labels=lab, include_fta=not exclude_fta,
                progress=_progress("embedding"))
        answer = _at_scale(obj, db)
    _pairs_out(r, as_json, report_dir, answer)


@eval_group.command("folder")
@click.argument("folder", type=click.Path())
@click.option("--max-impostors", default=10_000, show_default=True, type=click.IntRange(1),
              help="Different-person pairs to draw when there are more.")
@click.option("--seed", default=0, show_default=True, help="Seed for drawing impostor pairs.")
@_fta_option
@_eval_options
@click.pass_obj
def eval_folder(obj: Ctx, folder: str, max_impostors: int, seed: int, exclude_fta: bool, labels: str | None,
                group_by: str | None, as_json: bool, report_dir: str | None, cache: bool) -> None:
    """Verification on FOLDER/<person>/<photos>: all same-person pairs, sampled others."""
    from workbench.evaluation.runners.verification import eval_folder as run
    from workbench.evaluation.runners.verification import person_folders

    person_folders(folder)
    lab = _labels(labels, group_by)
    with _eval_db(obj, cache) as db:
        r = run(folder, obj.settings, db=db, labels=lab, max_impostors=max_impostors, seed=seed,
                include_fta=not exclude_fta, progress=_progress("embedding"))
        answer = _at_scale(obj, db)
    _pairs_out(r, as_json, report_dir, answer)


def _at_scale(obj: Ctx, db):
    """The library's one scale answer for the current settings (the same on every page and command)."""
    from workbench.evaluation.runners.scale_reference import answer_at_scale

    return answer_at_scale(obj.settings, db=db)


def _pairs_out(r, as_json: bool, report_dir: str | None, answer=None) -> None:
    page = None
    if report_dir:
        from workbench.evaluation.reports.report import write_pairs_report

        page = write_pairs_report(r, report_dir)
    if as_json:
        from workbench.evaluation.stats import scale

        _echo_json(dict(r.as_dict(), report=str(page) if page else None,
                        scale=scale.as_dict(answer) if answer is not None else None))
        return
    _headline(len(r.fta), r.photos, len(r.skipped))
    x = r.rates
    click.echo(f"{len(r.pairs)} pairs ({x.genuine} same, {x.impostor} different) over {r.images} photos, "
               f"{r.model}/{r.detector}, {r.metric}")
    acc = "no pairs" if not len(r.pairs) else f"{x.accuracy:.4f}"
    click.echo(f"  at threshold {r.threshold:.4f}: accuracy {acc}, "
               f"FMR {_rate(x.fmr, x.false_matches, x.impostor, 'none: no different-person pairs')}, "
               f"FNMR {_rate(x.fnmr, x.false_non_matches, x.genuine, 'none: no same-person pairs')}")
    if x.genuine and x.impostor:
        click.echo(f"  EER {r.eer.eer:.4f} at {r.eer.threshold:.4f}; best accuracy {r.best_accuracy:.4f} at "
                   f"{r.best_threshold:.4f} (tuned on these pairs)")
    click.echo(f"  failures to acquire: {r.fta_words()}")
    for line in _grouped({f: "no_face" for f in r.fta}):
        click.echo(f"    {line}")
    for g in r.groups:
        fta = r.group_fta.get(g.group, 0)
        click.echo(f"  {g.group}: FMR {_rate(g.rates.fmr, g.rates.false_matches, g.rates.impostor, 'no pairs')}, "
                   f"FNMR {_rate(g.rates.fnmr, g.rates.false_non_matches, g.rates.genuine, 'no pairs')}, "
                   f"no face in {fta} of {g.images} photos{'  ! ' + g.warning if g.warning else ''}")
    for line in _grouped(r.skipped, "file"):
        click.echo(f"  skipped, {line}")
    if r.skipped_pairs:
        click.echo(f"  {r.skipped_pairs} pairs left out: they name a skipped file")
    if answer is not None:
        _scale_lines(answer)
    if page:
        click.echo(f"  report: {page}")


def _probe_eval(obj: Ctx, gallery: str, probes: str, labels: str | None, group_by: str | None,
                report_dir: str | None, write_report: Callable, compute: Callable) -> tuple[Any, Path | None]:
    """Run a probes-vs-gallery evaluation (``compute(db, labels, settings)``, with the gallery's own
    model unless --model says otherwise) and write its report if asked."""
    if not Path(probes).is_dir():
        raise WorkbenchError(f"{probes}: no such folder")
    lab = _labels(labels, group_by)
    with obj.open_db(create=False) as db:
        s = obj.settings_for(db, gallery)
        r = compute(db, lab, s)
    return r, (write_report(r, report_dir, s) if report_dir else None)


@eval_group.command("search")
@click.option("--probes", required=True, type=click.Path(), help="Probe photos (sub-folders name people).")
@click.option("--gallery", required=True, help="Gallery to search.")
@_identity_options
@_fta_option
@_eval_options
@click.pass_obj
def eval_search(obj: Ctx, probes: str, gallery: str, identities: str | None, none_enrolled: bool, exclude_fta: bool,
                labels: str | None, group_by: str | None, as_json: bool, report_dir: str | None, cache: bool) -> None:
    """1:N: search each probe in GALLERY; FPIR, FNIR and CMC.

    Who a probe shows comes from its sub-folder, --identities CSV, or --none-enrolled; a probe
    whose person is not stated is left out and listed.
    """
    from workbench.evaluation.reports.report import write_search_report
    from workbench.evaluation.runners.identification import eval_search as run

    who = _identity(identities, none_enrolled)
    r, page = _probe_eval(obj, gallery, probes, labels, group_by, report_dir, write_search_report,
                          lambda db, lab, s: run(db, gallery, probes, s, labels=lab, use_cache=cache,
                                              identity=who, include_fta=not exclude_fta,
                                              progress=_progress("embedding")))
    if as_json:
        _echo_json(dict(r.as_dict(), report=str(page) if page else None))
        return
    _headline(len(r.fta), r.photos, len(r.skipped))
    c = r.curve
    click.echo(f"{len(r.probes)} probes ({c.mated} mated, {c.nonmated} not in the gallery) "
               f"vs {r.gallery} ({r.gallery_faces} faces); who they are: {r.identity}")
    fp = int(round(r.fpir * c.nonmated)) if c.nonmated else 0
    fn = int(round(r.fnir * c.mated)) if c.mated else 0
    rank1 = "no mated probes" if not c.mated else f"{r.cmc[0]:.4f}"
    click.echo(f"  at threshold {r.threshold:.4f}: FPIR {_rate(r.fpir, fp, c.nonmated, 'none: no non-mated probes')}, "
               f"FNIR {_rate(r.fnir, fn, c.mated, 'none: no mated probes')}; rank-1 {rank1}")
    click.echo(f"  failures to acquire: {r.fta_words()}")
    for line in _grouped({f: "no_face" for f in r.fta}):
        click.echo(f"    {line}")
    for g in r.groups:
        fpir = "no non-mated probes" if g["fpir"] is None else g["fpir"]
        fnir = "no mated probes" if g["fnir"] is None else g["fnir"]
        click.echo(f"  {g['group']}: FPIR {fpir}, FNIR {fnir} ({g['probes']} probes, "
                   f"{g.get('failures_to_acquire', 0)} with no face){'  ! ' + g['warning'] if g['warning'] else ''}")
    if r.unknown:
        click.echo(f"  left out: {_grouped({u: 'person not stated' for u in r.unknown}, 'probe')[0]}")
    for line in _grouped(r.skipped, "file"):
        click.echo(f"  skipped, {line}")
    if page:
        click.echo(f"  report: {page}")


@eval_group.command("replay")
@click.option("--probes", required=True, type=click.Path(), help="Photos of people who are NOT in the gallery.")
@click.option("--gallery", required=True, help="Gallery to search.")
@click.option("--similarity", type=click.FloatRange(1, 99.99), default=None,
              help="One more similarity threshold (%) besides 80, 90, 95 and 99.")
@_identity_options
@_eval_options
@click.pass_obj
def eval_replay(obj: Ctx, probes: str, gallery: str, similarity: float | None, identities: str | None,
                none_enrolled: bool, labels: str | None, group_by: str | None, as_json: bool, report_dir: str | None,
                cache: bool) -> None:
    """The "ACLU replay": how many innocent probes get a false match, per threshold, and how
    many false candidates a gallery of 300,000 or 20 million faces would give.

    A probe is innocent only when it is known not to be in the gallery: its sub-folder or the
    --identities CSV names someone who is not, or --none-enrolled states it for all.
    """
    from workbench.evaluation.reports.report import write_replay_report
    from workbench.evaluation.runners.replay import run_replay

    who = _identity(identities, none_enrolled)
    r, page = _probe_eval(obj, gallery, probes, labels, group_by, report_dir, write_replay_report,
                          lambda db, lab, s: run_replay(db, gallery, probes, s, labels=lab,
                                                     extra_similarity=similarity, use_cache=cache, identity=who,
                                                     progress=_progress("embedding")))
    if as_json:
        _echo_json(dict(r.as_dict(), report=str(page) if page else None))
        return
    _headline(len(r.fta), len(r.probes) + len(r.fta), len(r.skipped))
    click.echo(f"{len(r.probes)} innocent probes, not in {r.gallery} ({r.gallery_faces} faces); who they are: "
               f"{r.identity}; {len(r.excluded)} left out (their person is in the gallery)")
    if r.unknown:
        click.echo(f"  left out: {_grouped({u: 'person not stated' for u in r.unknown}, 'probe')[0]}")
    if r.fta:
        click.echo(f"  not searched, no face found: {len(r.fta)} innocent probe(s) (not in the counts below)")
    for line in _grouped(r.skipped, "file"):
        click.echo(f"  skipped, {line}")
    for x in r.rows:
        ext = ", ".join(f"{k:,}: {v:.1f} (<= {x.extrapolated_upper[k]:.1f})" for k, v in x.extrapolated.items())
        groups = "; ".join(f"{g} {f}/{n}" for g, (f, n) in x.by_group.items())
        click.echo(f"  {x.similarity:g} % (distance {x.threshold:.4f}): {x.flagged} flagged, "
                   f"{x.false_matches} false matches in {x.comparisons} comparisons; "
                   f"EXTRAPOLATED {ext}{'; ' + groups if groups else ''}")
    if r.scale is not None:
        _scale_lines(r.scale)
    if page:
        click.echo(f"  report: {page}")
