"""The LFW benchmark as a report: the table every model publishes (10-fold accuracy with its
spread, TAR at FAR 0.1 % and 1 %), failures to enrol beside it, ROC and DET of every
model/detector on one chart, and 1:N with LFW's people when it was run."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl

from workbench.evaluation.reports import plots
from workbench.evaluation.reports.report import Header, write_report
from workbench.evaluation.runners.lfw import LfwReport, LfwSearch
from workbench.evaluation.stats import metrics
from workbench.pipeline import zoo


def _published(model: str) -> str:
    """The accuracy the model's authors publish for LFW (with their own detector, alignment and photos)."""
    return (zoo.embedder(model).published if zoo.has_embedder(model) else "") or "n/a"


def headline(reports: list[LfwReport]) -> list[str]:
    """One sentence per model: its 10-fold accuracy beside the published figure."""
    out = []
    for r in reports:
        e = r.enrolment
        out.append(f"{r.label}: {r.ten_fold.mean:.2%} +- {r.ten_fold.sd:.2%} on LFW's 6,000-pair protocol "
                   f"({len(r.same):,} pairs, 10 folds); published: {_published(r.settings.model)}. "
                   f"No face found in {len(e.no_face)} of {e.images:,} photos"
                   + (f"; {e.whole_image} embedded as whole images" if e.whole_image else "") + ".")
    return out


def summary_table(reports: list[LfwReport]) -> pl.DataFrame:
    rows = []
    for r in reports:
        d = r.as_dict()
        row = {k: v for k, v in d.items() if not isinstance(v, (list, dict))}
        for t in r.tar:
            row[f"tar_at_far_{t.far:g}"] = None if t.tar != t.tar else round(t.tar, 4)
            row[f"false_accepts_at_far_{t.far:g}"] = t.false_accepts
        rows.append(row)
    return pl.DataFrame(rows)


def curves(reports: list[LfwReport]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out = {}
    for r in reports:
        c = metrics.error_curve(r.genuine, r.impostor)
        out[r.label] = (c.fmr, c.fnmr)
    return out


def figures(reports: list[LfwReport]) -> list[tuple[str, object]]:
    c = curves(reports)
    return [("ROC, every model on LFW", plots.roc_curves_figure(c, "ROC on LFW (6,000 pairs)")),
            ("DET, every model on LFW", plots.det_curves_figure(c, "DET on LFW (6,000 pairs)"))]


def write_lfw_report(reports: list[LfwReport], out_dir: str | os.PathLike, dataset: str,
                     searches: list[LfwSearch] = ()) -> Path:
    first = reports[0]
    header = Header("LFW benchmark (View 2, 10 folds)", ", ".join(r.settings.model for r in reports),
                    ", ".join(r.settings.detector for r in reports), ", ".join(r.settings.metric_ for r in reports),
                    first.settings.threshold_, dataset, {"pairs": len(first.same), "photos": first.enrolment.images})
    notes = [
        "The photos are public figures (LFW's celebrities), deep-funnelled (warped by an unsupervised alignment), "
        "250 x 250 with the subject at the centre. Results describe these algorithms on these photos only.",
        "10-fold accuracy: for each fold the threshold with the best accuracy on the other nine folds, accuracy on "
        "the tenth; mean +- standard deviation over the ten folds. A photo without a face is a failure to enrol: "
        "its pairs are scored 'not the same' (never dropped); 'scored pairs only' leaves them out, for comparison.",
        f"Face choice: {first.rule} (several faces are found in many LFW photos; the subject is the central one).",
    ]
    notes += [f"TAR at FAR {t.far:g} for {r.label} rests on {t.false_accepts} false accept(s) among "
              f"{t.impostor:,} impostor pairs: a rough figure." for r in reports for t in r.tar if t.far * t.impostor < 10]
    tables = {"lfw_summary": summary_table(reports),
              "lfw_pairs": pl.DataFrame({
                  **{"fold": reports[0].folds, "same": reports[0].same},
                  **{f"distance_{r.label}": np.where(np.isfinite(r.distances), r.distances, np.nan) for r in reports},
              }).fill_nan(None)}
    if searches:
        tables["lfw_search"] = pl.DataFrame([{k: v for k, v in s.as_dict().items() if not isinstance(v, (list, dict))}
                                             | {f"fnir_at_fpir_{m.fpir:g}": m.fnir for m in s.at_fpir}
                                             for s in searches])
        notes.append("1:N: " + "; ".join(
            f"{s.label}: gallery of {s.gallery_people:,} people (one photo each), {s.mated:,} mated and "
            f"{s.nonmated:,} non-mated searches, rank-1 {s.rank1:.2%}" for s in searches) + ".")
    return write_report(out_dir, header, figures(reports), tables, notes, headline=headline(reports))
