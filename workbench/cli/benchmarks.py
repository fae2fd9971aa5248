"""`workbench eval lfw` and `workbench eval audit`: the standard benchmark and the demographic audit,
for several models side by side."""

from __future__ import annotations

from typing import Any

import click

from workbench.cli.base import Ctx, _echo_json, _progress
from workbench.cli.evaluate import eval_group
from workbench.errors import WorkbenchError
from workbench.pipeline import zoo

#: The model/detector pairs compared by default: each shipped model with its own detector.
DEFAULT_COMBOS = tuple(f"{d}:{m}" for d, m in zoo.combos().values() if zoo.embedder(m).detector == d)


def combos(obj: Ctx, given: tuple[str, ...]) -> list[Any]:
    """Settings for each ``detector:model`` (the group's upsampling; each model's own threshold)."""
    from workbench.pipeline import Settings

    out = []
    for item in given or DEFAULT_COMBOS:
        detector, sep, model = item.partition(":")
        if not sep or detector not in zoo.detector_names():
            raise WorkbenchError(f"--combo wants DETECTOR:MODEL (like {DEFAULT_COMBOS[-1]}), got {item!r}; "
                                 f"detectors: {', '.join(zoo.detector_names())}")
        zoo.embedder(model)  # an unknown model: one line
        out.append(Settings(detector=detector, model=model, upsample=obj.settings.upsample))
    return out


def lfw_inputs(obj: Ctx, pairs_file: str | None, lfw_dir: str | None,
               combo: tuple[str, ...]) -> tuple[str, str, list[Any]]:
    """LFW's pairs file and photo folder (as given, else the shared data folder's) and the chosen
    combinations; no LFW, a bad combination or a bad pairs file fails here, before any model time."""
    from workbench.evaluation.datasets.lfw import default_paths, read_pairs

    found = default_paths()
    if (pairs_file is None or lfw_dir is None) and found is None:
        raise WorkbenchError("no LFW here: give --pairs lfw-pairs.txt and --lfw <folder> "
                             "(the shared data folder ../shared/data/faces has neither)")
    pairs_file = pairs_file or str(found[0])
    lfw_dir = lfw_dir or str(found[1])
    settings = combos(obj, combo)
    read_pairs(pairs_file, lfw_dir)  # a bad pairs file fails before any model time
    return pairs_file, lfw_dir, settings


def _combo_option(fn):
    return click.option("--combo", "combo", multiple=True, metavar="DETECTOR:MODEL",
                        help=f"Model and detector to compare; repeat for several (default: {', '.join(DEFAULT_COMBOS)}).")(fn)


def _open(obj: Ctx, cache: bool):
    from contextlib import nullcontext

    return obj.open_db() if cache else nullcontext(None)


@eval_group.command("lfw")
@click.option("--pairs", "pairs_file", type=click.Path(), default=None,
              help="lfw-pairs.txt (default: the shared data folder's).")
@click.option("--lfw", "lfw_dir", type=click.Path(), default=None, help="The lfw/ photo folder (default: shared).")
@_combo_option
@click.option("--face-rule", type=click.Choice(["central", "largest"]), default="central", show_default=True,
              help="Which face of a photo with several is compared (LFW's subject is the central one).")
@click.option("--whole-image", is_flag=True,
              help="Embed a photo in which no face is found as if the whole image were the face (counted).")
@click.option("--folds", type=click.IntRange(1, 10), default=None, help="Only the first N folds (a quick run).")
@click.option("--search", "with_search", is_flag=True,
              help="Also 1:N: one photo of each person with two or more enrolled, the next one searched; "
                   "photos of one-photo people searched as non-mated probes.")
@click.option("--nonmated", type=click.IntRange(1), default=None, help="With --search: draw this many non-mated probes.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), default=None,
              help="Write report.html plus CSV and Parquet tables into this folder.")
@click.option("--cache/--no-cache", default=True, show_default=True, help="Keep vectors in the database.")
@click.pass_obj
def eval_lfw(obj: Ctx, pairs_file: str | None, lfw_dir: str | None, combo: tuple[str, ...], face_rule: str,
             whole_image: bool, folds: int | None, with_search: bool, nonmated: int | None, as_json: bool,
             report_dir: str | None, cache: bool) -> None:
    """LFW View 2 (10-fold accuracy, TAR at FAR 0.1 % and 1 %, ROC/DET) for each model, side by side."""
    from workbench.evaluation.runners import lfw

    pairs_file, lfw_dir, settings = lfw_inputs(obj, pairs_file, lfw_dir, combo)
    reports, searches = [], []
    with _open(obj, cache) as db:
        for s in settings:
            reports.append(lfw.eval_lfw(pairs_file, lfw_dir, s, db=db, rule=face_rule, whole_image=whole_image,
                                        folds=folds, progress=_progress(f"LFW {s.detector}+{s.model}")))
            if with_search:
                searches.append(lfw.eval_lfw_search(lfw_dir, s, db=db, rule=face_rule, whole_image=whole_image,
                                                    nonmated=nonmated, progress=_progress(f"1:N {s.model}")))
    page = None
    if report_dir:
        from workbench.evaluation.reports.lfw_report import write_lfw_report

        page = write_lfw_report(reports, report_dir, f"LFW View 2 ({pairs_file})", searches)
    if as_json:
        _echo_json({"pairs_file": pairs_file, "results": [r.as_dict() for r in reports],
                    "search": [s.as_dict() for s in searches], "report": str(page) if page else None})
        return
    r0 = reports[0]
    click.echo(f"LFW View 2: {len(r0.same)} pairs ({int(r0.same.sum())} same, {int((~r0.same).sum())} different), "
               f"{len(set(r0.folds.tolist()))} folds; face choice: {face_rule}")
    for r in reports:
        e = r.enrolment
        tars = ", ".join(f"{t.tar:.4f} at FAR {t.far:g}" for t in r.tar)
        click.echo(f"  {r.label}: 10-fold accuracy {r.ten_fold.mean:.4f} +- {r.ten_fold.sd:.4f} (scored pairs only "
                   f"{r.scored_only.mean:.4f}); at the default {r.settings.threshold_:g}: {r.at_default.accuracy:.4f}; "
                   f"TAR {tars}; no face in {len(e.no_face)} of {e.images} photos"
                   + (f", {e.whole_image} embedded whole" if e.whole_image else ""))
    for s in searches:
        fn = ", ".join(f"FNIR {m.fnir:.4f} at FPIR {m.fpir:g}" for m in s.at_fpir)
        click.echo(f"  1:N {s.label}: gallery {s.gallery_people} people, {s.mated} mated / {s.nonmated} non-mated "
                   f"searches: rank-1 {s.rank1:.4f}, {fn}")
    if page:
        click.echo(f"  report: {page}")


def _floats(text: str, what: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise WorkbenchError(f"{what} wants numbers separated by commas, got {text!r}") from None
    if any(not (0 < v <= 1) for v in values):
        raise WorkbenchError(f"{what} wants levels in (0, 1], got {text!r}")
    return values


@eval_group.command("audit")
@click.argument("folder", type=click.Path(), required=False)
@_combo_option
@click.option("--labels", type=click.Path(), default=None,
              help="Labels CSV keyed by 'file' (default: UTKFace's own labels in the file names).")
@click.option("--group-by", default=None, help="Label column to split by (UTKFace: 'race and gender', 'race' or 'gender').")
@click.option("--per-group", type=click.IntRange(2), default=None, help="At most N photos per group (a quick run).")
@click.option("--min-age", type=click.IntRange(0, 120), default=None,
              help="Only faces the data set labels this old or older (UTKFace's ages; 18: adults only).")
@click.option("--target-fmr", type=click.FloatRange(1e-7, 0.5), default=1e-3, show_default=True,
              help="Also audit at the threshold that gives this FMR over all pairs.")
@click.option("--exposures", default="1,0.6,0.4,0.3", show_default=True,
              help="Light levels at which failures to acquire are counted per detector ('none' to skip).")
@click.option("--whole-image/--detected-only", default=True, show_default=True,
              help="Embed a crop in which no face is found as a whole (counted per group), or leave it out.")
@click.option("--lfw-fnmr", is_flag=True, help="FNMR on LFW's same-person pairs at the same thresholds.")
@click.option("--lfw-labels", type=click.Path(), default=None,
              help="With --lfw-fnmr: a CSV 'person,<group column>' for LFW's people (yours to stand behind).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), default=None,
              help="Write report.html plus CSV and Parquet tables into this folder.")
@click.option("--cache/--no-cache", default=True, show_default=True, help="Keep vectors in the database.")
@click.pass_obj
def eval_audit(obj: Ctx, folder: str | None, combo: tuple[str, ...], labels: str | None, group_by: str | None,
               per_group: int | None, min_age: int | None, target_fmr: float, exposures: str, whole_image: bool,
               lfw_fnmr: bool,
               lfw_labels: str | None, as_json: bool, report_dir: str | None, cache: bool) -> None:
    """Demographic audit of FOLDER (default: the shared UTKFace sample): FMR per group at one global
    threshold for each model side by side, and failures to acquire per group and exposure."""
    from pathlib import Path

    from workbench import config
    from workbench.evaluation.datasets.labels import read_labels
    from workbench.evaluation.runners import audit

    if folder is None:
        base = config.faces_dir()
        if base is None or not (base / "utkface-balanced").is_dir():
            raise WorkbenchError("no photos to audit: give a FOLDER (the shared utkface-balanced/ is absent)")
        folder = str(base / "utkface-balanced")
    if not Path(folder).is_dir():
        raise WorkbenchError(f"{folder}: no such folder")
    settings = combos(obj, combo)
    lab = read_labels(labels, group_by) if labels else None
    levels = [] if exposures.strip().lower() == "none" else _floats(exposures, "--exposures")
    audit.labelled_folder(folder, lab, group_by, min_age)  # no labels: one line before any model time
    with _open(obj, cache) as db:
        r = audit.run_audit(folder, settings, db=db, labels=lab, column=group_by, per_group=per_group,
                            target_fmr=target_fmr, exposures=levels, whole_image=whole_image, min_age=min_age,
                            progress=_progress("audit"))
        if lfw_fnmr:
            from workbench.evaluation.datasets.lfw import default_paths

            found = default_paths()
            if found is None:
                raise WorkbenchError("--lfw-fnmr: LFW is not in the shared data folder")
            plab = read_labels(lfw_labels) if lfw_labels else None
            r.fnmr.extend(audit.lfw_fnmr(r, found[0], found[1], db=db, labels=plab, progress=_progress("LFW")))
    from workbench.evaluation.reports import audit_report

    page = audit_report.write_audit_report(r, report_dir) if report_dir else None
    if as_json:
        _echo_json(dict(audit_report.as_dict(r), report=str(page) if page else None))
        return
    for line in audit_report.headline(r):
        click.echo(line)
    table = audit_report.side_by_side(r, 0)
    click.echo(f"\nFMR within each group at 80 % ({r.group_column}), highest first:")
    for row in table.iter_rows(named=True):
        click.echo("  " + " | ".join(str(v) for v in row.values()))
    for line in audit_report.notes(r):
        click.echo(f"  note: {line}")
    if page:
        click.echo(f"report: {page}")
