"""`workbench eval robustness`: the robustness lab (camera-quality faces), beside `eval lfw` and `eval audit`."""

from __future__ import annotations

import sys
import time

import click

from workbench.cli.base import Ctx, _echo_json, _progress
from workbench.cli.benchmarks import _combo_option, _open, combos, lfw_inputs
from workbench.cli.evaluate import eval_group
from workbench.errors import WorkbenchError


def line_progress(label: str, every: float = 5.0):
    """A progress callback: a tqdm bar on a terminal; on a file (a run in the background) one line
    at most every ``every`` seconds, and whenever a stage ends, with the time since the start."""
    if sys.stderr.isatty():
        return _progress(label)
    t0 = time.monotonic()
    last = [-every]

    def update(done: int, total: int, text: str) -> None:
        now = time.monotonic()
        # a stage's start (done 0: at most one a second) and its end are always said
        if now - last[0] >= every or (done == 0 and now - last[0] >= 1) or (total and done >= total):
            last[0] = now
            click.echo(f"[{now - t0:7.0f} s] {label}: {text} ({done:,}/{total:,})", err=True)

    update.thread_safe = True  # one line at a time to stderr: the runner may call it from a side thread
    return update


def _folds(text: str) -> list[int]:
    try:
        if "-" in text:
            a, b = (int(v) for v in text.split("-", 1))
            return list(range(a, b + 1))
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise WorkbenchError(f"--folds wants a fold, a list or a range (1, 1,2 or 1-10), got {text!r}") from None


def _levels(text: str | None):
    from workbench.pipeline import degrade

    if text is None:
        return list(degrade.DEFAULT_LEVELS)
    kinds = {k: [lv for lv in degrade.DEFAULT_LEVELS if lv.kind == k] for k in degrade.KINDS}
    out = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        out += kinds[item] if item in kinds else [degrade.parse_level(item)]
    if not out:
        raise WorkbenchError("--levels is empty")
    return list({lv.id: lv for lv in out}.values())


@eval_group.command("robustness")
@click.option("--pairs", "pairs_file", type=click.Path(), default=None,
              help="lfw-pairs.txt (default: the shared data folder's).")
@click.option("--lfw", "lfw_dir", type=click.Path(), default=None, help="The lfw/ photo folder (default: shared).")
@_combo_option
@click.option("--levels", default=None,
              help="Degradations, comma-separated: kinds (width, gaussian, motion, jpeg, night, occlusion) or "
                   "levels (width-24, gaussian-4, jpeg-10, night-0.03, occlusion-mask). Default: all.")
@click.option("--folds", "folds_text", default="1", show_default=True,
              help="LFW folds to run (1-based): 1, 1,2 or 1-10 (all 6,000 pairs).")
@click.option("--per-fold", "per_fold", type=click.IntRange(1, 300), default=None,
              help="Only the first N same-person and N different-person pairs of each fold (a quick run).")
@click.option("--workers", type=click.IntRange(1, 2), default=2, show_default=True, help="Worker processes.")
@click.option("--workdir", type=click.Path(file_okay=False), default=None,
              help="Where measured photos are kept (default: robustness/ beside the database). A run that stops "
                   "continues from there.")
@click.option("--groups", "groups_folder", is_flag=False, flag_value="shared", default=None, metavar="[FOLDER]",
              help="Per group instead of LFW: UTKFace's impostor pairs (default: the shared utkface-balanced/), "
                   "false matches per group as faces degrade.")
@click.option("--per-group", type=click.IntRange(2), default=None, help="With --groups: at most N photos per group.")
@click.option("--min-age", type=click.IntRange(0, 120), default=None, help="With --groups: only faces this old or older.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), default=None,
              help="Write report.html plus CSV and Parquet tables into this folder.")
@click.option("--cache/--no-cache", default=True, show_default=True, help="Keep clean vectors in the database.")
@click.pass_obj
def eval_robustness(obj: Ctx, pairs_file: str | None, lfw_dir: str | None, combo: tuple[str, ...],
                    levels: str | None, folds_text: str, per_fold: int | None, workers: int,
                    workdir: str | None,
                    groups_folder: str | None, per_group: int | None, min_age: int | None, as_json: bool,
                    report_dir: str | None, cache: bool) -> None:
    """Error rates on camera-quality faces: one photo of each LFW pair made smaller, blurred, compressed,
    darker or covered, for each model side by side, with failures to acquire and the gate each model's
    curves call for."""
    from workbench.evaluation.reports import robustness_report as rr
    from workbench.evaluation.runners import robustness

    work = workdir or str(robustness.workdir_for(obj.db_path))
    chosen = _levels(levels)  # bad levels or folds: one line before anything else
    folds = _folds(folds_text)
    if groups_folder is not None:
        _groups(obj, groups_folder, combo, levels, per_group, min_age, workers, work, as_json, report_dir, cache)
        return
    pairs_file, lfw_dir, settings = lfw_inputs(obj, pairs_file, lfw_dir, combo)
    with _open(obj, cache) as db:
        report = robustness.run_lfw(pairs_file, lfw_dir, settings, chosen, folds=folds, db=db, workdir=work,
                                    workers=workers, per_fold=per_fold, progress=line_progress("robustness"))
    page = rr.write_robustness_report(report, report_dir) if report_dir else None
    if as_json:
        _echo_json(dict(rr.as_dict(report), report=str(page) if page else None))
        return
    for line in rr.headline(report):
        click.echo(line)
    click.echo("")
    for line in rr.table_lines(report):
        click.echo("  " + line)
    if page:
        click.echo(f"report: {page}")


def _groups(obj: Ctx, folder: str, combo: tuple[str, ...], levels: str | None, per_group: int | None,
            min_age: int | None, workers: int, work: str, as_json: bool, report_dir: str | None, cache: bool) -> None:
    """`eval robustness --groups`: the per-group lab on UTKFace."""
    from pathlib import Path

    from workbench.evaluation.reports import robustness_report as rr
    from workbench.evaluation.runners import audit, robustness_groups

    if folder == "shared":
        found = audit.default_folder()
        if found is None:
            raise WorkbenchError("no labelled faces: give --groups FOLDER (the shared utkface-balanced/ is absent)")
        folder = str(found)
    if not Path(folder).is_dir():
        raise WorkbenchError(f"{folder}: no such folder")
    chosen = robustness_groups.GROUP_LEVELS if levels is None else _levels(levels)
    audit.labelled_folder(folder, None, None, min_age)  # no labels: one line before any model time
    with _open(obj, cache) as db:
        gr = robustness_groups.run_groups(folder, combos(obj, combo), chosen, per_group=per_group, min_age=min_age,
                                          db=db, workdir=work, workers=workers,
                                          progress=line_progress("robustness per group"))
    page = rr.write_group_report(gr, report_dir) if report_dir else None
    if as_json:
        _echo_json({"dataset": gr.dataset, "headline": rr.group_headline(gr), "rows": [r.as_dict() for r in gr.rows],
                    "report": str(page) if page else None})
        return
    for line in rr.group_headline(gr):
        click.echo(line)
    if page:
        click.echo(f"report: {page}")
