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


def _labels(path: str | None, column: str | None):
    from workbench.evaluation.labels import read_labels

    return read_labels(path, column) if path else None


def _eval_db(obj: Ctx, use_cache: bool):
    from contextlib import nullcontext

    return obj.open_db() if use_cache else nullcontext(None)


@eval_group.command("pairs")
@click.argument("csv_path", type=click.Path())
@click.option("--images", "images", default=None, type=click.Path(),
              help="Folder the CSV's file names are in (default: the CSV's folder; matched by file name too).")
@_eval_options
@click.pass_obj
def eval_pairs(obj: Ctx, csv_path: str, images: str | None, labels: str | None, group_by: str | None,
               as_json: bool, report_dir: str | None, cache: bool) -> None:
    """Verify labelled pairs (file_x,file_y,Decision): accuracy, FMR, FNMR, EER, thresholds."""
    from workbench.evaluation.verification import eval_pairs as run
    from workbench.evaluation.verification import read_pairs

    read_pairs(csv_path, images)  # a bad CSV fails before the database is opened
    lab = _labels(labels, group_by)
    with _eval_db(obj, cache) as db:
        r = run(csv_path, images, obj.settings, db=db, labels=lab, progress=_progress("embedding"))
    _pairs_out(r, as_json, report_dir)


@eval_group.command("folder")
@click.argument("folder", type=click.Path())
@click.option("--max-impostors", default=10_000, show_default=True, type=click.IntRange(1),
              help="Different-person pairs to draw when there are more.")
@click.option("--seed", default=0, show_default=True, help="Seed for drawing impostor pairs.")
@_eval_options
@click.pass_obj
def eval_folder(obj: Ctx, folder: str, max_impostors: int, seed: int, labels: str | None, group_by: str | None,
                as_json: bool, report_dir: str | None, cache: bool) -> None:
    """Verification on FOLDER/<person>/<photos>: all same-person pairs, sampled others."""
    from workbench.evaluation.verification import eval_folder as run
    from workbench.evaluation.verification import person_folders

    person_folders(folder)
    lab = _labels(labels, group_by)
    with _eval_db(obj, cache) as db:
        r = run(folder, obj.settings, db=db, labels=lab, max_impostors=max_impostors, seed=seed,
                progress=_progress("embedding"))
    _pairs_out(r, as_json, report_dir)


def _pairs_out(r, as_json: bool, report_dir: str | None) -> None:
    page = None
    if report_dir:
        from workbench.evaluation.report import write_pairs_report

        page = write_pairs_report(r, report_dir)
    if as_json:
        _echo_json(dict(r.as_dict(), report=str(page) if page else None))
        return
    x = r.rates
    click.echo(f"{len(r.pairs)} pairs ({x.genuine} same, {x.impostor} different) over {r.images} photos, "
               f"{r.model}/{r.detector}, {r.metric}")
    click.echo(f"  at threshold {r.threshold:.4f}: accuracy {x.accuracy:.4f}, FMR {x.fmr:.4f} "
               f"({x.false_matches}), FNMR {x.fnmr:.4f} ({x.false_non_matches})")
    click.echo(f"  EER {r.eer.eer:.4f} at {r.eer.threshold:.4f}; best accuracy {r.best_accuracy:.4f} at "
               f"{r.best_threshold:.4f} (tuned on these pairs)")
    for g in r.groups:
        click.echo(f"  {g.group}: FMR {g.rates.fmr:.4f} ({g.rates.impostor} pairs), FNMR {g.rates.fnmr:.4f} "
                   f"({g.rates.genuine} pairs){'  ! ' + g.warning if g.warning else ''}")
    if r.failed_images:
        click.echo(f"  photos with no usable face: {', '.join(f'{k} ({v})' for k, v in r.failed_images.items())}")
    if page:
        click.echo(f"  report: {page}")


def _probe_eval(obj: Ctx, probes: str, labels: str | None, group_by: str | None, report_dir: str | None,
                write_report: Callable, compute: Callable) -> tuple[Any, Path | None]:
    """Run a probes-vs-gallery evaluation (``compute(db, labels)``) and write its report if asked."""
    if not Path(probes).is_dir():
        raise WorkbenchError(f"{probes}: no such folder")
    lab = _labels(labels, group_by)
    with obj.open_db(create=False) as db:
        r = compute(db, lab)
    return r, (write_report(r, report_dir, obj.settings) if report_dir else None)


@eval_group.command("search")
@click.option("--probes", required=True, type=click.Path(), help="Probe photos (sub-folders name people).")
@click.option("--gallery", required=True, help="Gallery to search.")
@_eval_options
@click.pass_obj
def eval_search(obj: Ctx, probes: str, gallery: str, labels: str | None, group_by: str | None, as_json: bool,
                report_dir: str | None, cache: bool) -> None:
    """1:N: search each probe in GALLERY; FPIR, FNIR and CMC."""
    from workbench.evaluation.identification import eval_search as run
    from workbench.evaluation.report import write_search_report

    r, page = _probe_eval(obj, probes, labels, group_by, report_dir, write_search_report,
                          lambda db, lab: run(db, gallery, probes, obj.settings, labels=lab, use_cache=cache,
                                              progress=_progress("embedding")))
    if as_json:
        _echo_json(dict(r.as_dict(), report=str(page) if page else None))
        return
    click.echo(f"{len(r.probes)} probes ({r.curve.mated} mated, {r.curve.nonmated} not in the gallery) "
               f"vs {r.gallery} ({r.gallery_faces} faces)")
    click.echo(f"  at threshold {r.threshold:.4f}: FPIR {r.fpir:.4f}, FNIR {r.fnir:.4f}; rank-1 {r.cmc[0]:.4f}")
    for g in r.groups:
        click.echo(f"  {g['group']}: FPIR {g['fpir']}, FNIR {g['fnir']} ({g['probes']} probes)"
                   f"{'  ! ' + g['warning'] if g['warning'] else ''}")
    if page:
        click.echo(f"  report: {page}")


@eval_group.command("replay")
@click.option("--probes", required=True, type=click.Path(), help="Photos of people who are NOT in the gallery.")
@click.option("--gallery", required=True, help="Gallery to search.")
@click.option("--similarity", type=click.FloatRange(1, 99.99), default=None,
              help="One more similarity threshold (%) besides 80, 90, 95 and 99.")
@_eval_options
@click.pass_obj
def eval_replay(obj: Ctx, probes: str, gallery: str, similarity: float | None, labels: str | None,
                group_by: str | None, as_json: bool, report_dir: str | None, cache: bool) -> None:
    """The "ACLU replay": how many innocent probes get a false match, per threshold."""
    from workbench.evaluation.replay import run_replay
    from workbench.evaluation.report import write_replay_report

    r, page = _probe_eval(obj, probes, labels, group_by, report_dir, write_replay_report,
                          lambda db, lab: run_replay(db, gallery, probes, obj.settings, labels=lab,
                                                     extra_similarity=similarity, use_cache=cache,
                                                     progress=_progress("embedding")))
    if as_json:
        _echo_json(dict(r.as_dict(), report=str(page) if page else None))
        return
    click.echo(f"{len(r.probes)} probes not in {r.gallery} ({r.gallery_faces} faces); "
               f"{len(r.excluded)} left out (named like a gallery person)")
    for x in r.rows:
        ext = ", ".join(f"{k:,}: {v:.1f} (<= {x.extrapolated_upper[k]:.1f})" for k, v in x.extrapolated.items())
        groups = "; ".join(f"{g} {f}/{n}" for g, (f, n) in x.by_group.items())
        click.echo(f"  {x.similarity:g} % (distance {x.threshold:.4f}): {x.flagged} flagged, "
                   f"{x.false_matches} false matches in {x.comparisons} comparisons; "
                   f"EXTRAPOLATED {ext}{'; ' + groups if groups else ''}")
    if page:
        click.echo(f"  report: {page}")
