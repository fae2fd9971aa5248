"""The demographic audit, written for a reader: the finding in words first, then the sorted,
rounded table of both models side by side (counts and intervals beside every rate), charts with
readable labels, and thumbnails of the worst false matches per group. JSON, CSV and Parquet carry
the same numbers; the bulk rows (every pair of groups, the worst pairs) stay out of the HTML."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl

from workbench.evaluation.reports import plots
from workbench.evaluation.reports.report import Examples, ExampleItem, Header, write_report
from workbench.evaluation.runners.audit import AuditReport, GroupRate, ModelAudit
from workbench.files import atomic_path
from workbench.pipeline import compare

#: What the report says about UTKFace, whenever it is the data.
UTK_NOTE = ("Data: UTKFace's balanced sample (aligned face crops, 200 per gender x race cell, one photo per "
            "person), with the labels the data set gives in its file names: estimated, not self-reported, and "
            "quoted as the data set's own (race: White, Black, Asian, Indian, Others; gender: male, female). "
            "Every pair of two photos is treated as two different people (UTKFace carries no identities).")
SCOPE_NOTE = ("These results describe these algorithms, at these thresholds, on these photos only: not the "
              "algorithms in general, not other photos, not people.")


def _r(x, nd: int = 6):
    return None if x is None or x != x or not np.isfinite(x) else round(float(x), nd)


def _fmr_words(r: GroupRate) -> str:
    return f"{plots._pct(r.fmr)} ({r.false_matches:,} of {r.pairs:,} pairs)"


def headline(report: AuditReport) -> list[str]:
    """The finding in words, per model: the most and least falsely matched groups at each threshold."""
    out = []
    for m in report.models:
        for t in m.thresholds[:2]:
            rows = [r for r in m.rows(t.name) if r.pairs]
            if not rows:
                continue
            top = max(rows, key=lambda r: (r.fmr, r.pairs))
            low = min(rows, key=lambda r: (r.fmr, -r.pairs))
            at = f"At {t.name.replace(' (default)', '')}," + (" its default threshold," if t.similarity == 80.0 else "")
            if top.false_matches == 0:
                out.append(f"{at} {m.label} made no false match within any group (0 in "
                           f"{sum(r.pairs for r in rows):,} within-group pairs).")
            elif top.ratio is not None:
                out.append(f"{at} {m.label} falsely matched faces labelled {top.group} {top.ratio:.1f} times as often "
                           f"as faces labelled {low.group}: {_fmr_words(top)} against {_fmr_words(low)}.")
            elif top.ratio_at_least is None:
                out.append(f"{at} {m.label} falsely matched faces labelled {top.group} in {_fmr_words(top)}, and faces "
                           f"labelled {low.group} in none of {low.pairs:,}: too few false matches to state how many "
                           "times as often (the lowest group's rate is only known to be under 3 in "
                           f"{low.pairs:,}, 95 %).")
            else:
                out.append(f"{at} {m.label} falsely matched faces labelled {top.group} at least "
                           f"{top.ratio_at_least:.1f} times as often as faces labelled {low.group}: {_fmr_words(top)} "
                           f"against none of {low.pairs:,} (3 in {low.pairs:,} is the 95 % upper bound).")
    caution = age_caution(report)
    if caution:
        out.append(caution)
    for d in dict.fromkeys(r.detector for r in report.acquisition):
        rows = [r for r in report.acquisition if r.detector == d and r.exposure == 1.0 and r.images]
        if rows:
            top, low = max(rows, key=lambda r: r.rate), min(rows, key=lambda r: r.rate)
            out.append(f"On the photos as they are, {d} found no usable face (none found, or rejected by the quality "
                       f"gate) in {top.rate:.1%} of the photos labelled {top.group} ({top.failures} of {top.images}) "
                       f"against {low.rate:.1%} of those labelled {low.group} ({low.failures} of {low.images}).")
    return out


def age_caution(report: AuditReport) -> str | None:
    """A sentence when the groups' age mixes differ (UTKFace's cells do, a lot): faces of young
    children are falsely matched far more often, so part of any gap is age, not the group."""
    if not report.ages or len(report.ages) < 2:
        return None
    young = sorted(report.ages.items(), key=lambda kv: kv[1][0])
    (g_lo, (m_lo, u_lo)), (g_hi, (m_hi, u_hi)) = young[0], young[-1]
    if max(u for _, u in report.ages.values()) - min(u for _, u in report.ages.values()) < 0.2:
        return None
    return (f"Caution: the groups' ages differ (the data set's age labels): median {m_lo:.0f} years for {g_lo} "
            f"({u_lo:.0%} under 18) against {m_hi:.0f} for {g_hi} ({u_hi:.0%} under 18). Faces of young children "
            "are falsely matched far more often by both models, so part of each gap is age; the audit by age band "
            "(--group-by 'age band') and the adults-only audit (--min-age 18) separate the two.")


def group_rows(m: ModelAudit) -> list[dict]:
    """Every group at every threshold, for one model: the long table (JSON, CSV, Parquet)."""
    out = []
    for t in m.thresholds:
        fm_all, n_all = m.overall_fmr[t.name]
        for r in m.rows(t.name):
            lo, hi = r.ci
            out.append({"model": m.label, "threshold": t.name, "distance": _r(t.distance, 4),
                        "similarity": _r(t.similarity, 2), "group": r.group, "faces": r.faces,
                        "no_face": m.no_face[r.group], "whole_image_faces": m.whole_image[r.group],
                        "pairs": r.pairs, "same_photo_pairs_left_out": m.duplicates.get(r.group, 0),
                        "false_matches": r.false_matches, "fmr": _r(r.fmr),
                        "fmr_ci_low": _r(lo), "fmr_ci_high": _r(hi), "ratio_to_lowest": _r(r.ratio, 2),
                        "ratio_at_least": _r(r.ratio_at_least, 2), "cross_pairs": r.cross_pairs,
                        "cross_false_matches": r.cross_false_matches, "cross_fmr": _r(r.cross_fmr),
                        "overall_fmr": _r(fm_all / n_all if n_all else float("nan")),
                        "threshold_needed_for_overall_fmr": _r(r.threshold_needed, 4),
                        "similarity_needed": _r(compare.similarity(r.threshold_needed, m.settings.similarity_base), 2)
                        if r.threshold_needed == r.threshold_needed else None})
    return out


def side_by_side(report: AuditReport, threshold_index: int = 0) -> pl.DataFrame:
    """One row per group, the models side by side at one threshold, sorted by the first model's
    FMR (highest first) and rounded: FMR with its count, interval and ratio to the lowest group."""
    per = {}
    for m in report.models:
        t = m.thresholds[threshold_index]
        for r in m.rows(t.name):
            lo, hi = r.ci
            ratio = (f"{r.ratio:.1f}x" if r.ratio is not None else
                     (f">= {r.ratio_at_least:.1f}x" if r.ratio_at_least is not None else "-"))
            per.setdefault(r.group, {"group": r.group, **({
                "median age": f"{report.ages[r.group][0]:.0f}",
                "under 18": f"{report.ages[r.group][1]:.0%}"} if r.group in report.ages else {})})
            per[r.group].update({
                f"{m.label}: FMR": plots._pct(r.fmr), f"{m.label}: false matches": f"{r.false_matches:,} / {r.pairs:,}",
                f"{m.label}: 95 % CI": "-" if lo != lo else f"{plots._pct(lo)} - {plots._pct(hi)}",
                f"{m.label}: x lowest": ratio,
                f"{m.label}: needed for the overall FMR": "-" if r.threshold_needed != r.threshold_needed else
                f"{compare.similarity(r.threshold_needed, m.settings.similarity_base):.1f} %",
                f"_{m.label}": r.fmr if r.fmr == r.fmr else -1.0})
    first = f"_{report.models[0].label}"
    rows = sorted(per.values(), key=lambda d: -d.get(first, -1.0))
    return pl.DataFrame(rows).drop([c for c in rows[0] if c.startswith("_")])


def cross_rows(report: AuditReport) -> list[dict]:
    out = []
    for m in report.models:
        for t in m.thresholds:
            pairs, fm = m.cross[t.name]
            for i, a in enumerate(m.groups):
                for j, b in enumerate(m.groups):
                    if j >= i:
                        out.append({"model": m.label, "threshold": t.name, "group_a": a, "group_b": b,
                                    "pairs": int(pairs[i, j]), "false_matches": int(fm[i, j]),
                                    "fmr": _r(fm[i, j] / pairs[i, j]) if pairs[i, j] else None})
    return out


def worst_rows(report: AuditReport) -> list[dict]:
    out = []
    for m in report.models:
        t80 = m.thresholds[0].distance
        for g, pairs in m.worst.items():
            for a, b, d in pairs:
                out.append({"model": m.label, "group": g, "file_a": Path(a).name, "file_b": Path(b).name,
                            "distance": round(d, 4),
                            "similarity": round(float(compare.similarity(d, m.settings.similarity_base)), 2),
                            "false_match_at_80": bool(compare.is_match(d, t80))})
    return out


def as_dict(report: AuditReport) -> dict:
    """The whole audit as strict JSON (no NaN: missing figures are null, with words beside them)."""
    return {"dataset": report.dataset, "group_column": report.group_column, "target_fmr": report.target_fmr,
            "min_age": report.min_age,
            "ages": {g: {"median_age": m, "share_under_18": round(u, 4)} for g, (m, u) in report.ages.items()},
            "headline": headline(report), "notes": notes(report),
            "models": [{"label": m.label, "model": m.settings.model, "detector": m.settings.detector,
                        "metric": m.settings.metric_,
                        "thresholds": [{"name": t.name, "distance": _r(t.distance, 4), "similarity": _r(t.similarity, 2)}
                                       for t in m.thresholds],
                        "groups": group_rows(m)} for m in report.models],
            "acquisition": [r.as_dict() for r in report.acquisition], "fnmr": report.fnmr,
            "skipped_files": report.skipped_files}


def notes(report: AuditReport) -> list[str]:
    out = [UTK_NOTE if report.ages else f"Groups: the '{report.group_column}' column of the labels supplied with the "
           "photos.", SCOPE_NOTE,
           "One global threshold per model, as deployed: 80 % is each model's default (the similarity scale is "
           "anchored there), 99 % is half its distance, and the third threshold gives the target FMR over all pairs ("
           + "; ".join(f"{m.label}: " + ", ".join(f"{t.name} = {m.settings.metric_} distance {t.distance:.4f}"
                                                   for t in m.thresholds) for m in report.models) + "). "
           "Intervals are 95 % Wilson intervals that treat pairs as independent; pairs sharing a photo are not, so "
           "the real uncertainty is larger.",
           "FMR within a group counts pairs of two photos of that group; 'across' pairs one photo of the group with "
           "one of another. 'Needed for the overall FMR' is the similarity this group's threshold would have to be "
           "for its FMR to equal the FMR of all pairs at that threshold."]
    dups = report.models[0].duplicates if report.models else {}
    if sum(dups.values()):
        out.append(f"{sum(dups.values())} pair(s) of near-identical photos (the same picture filed twice, sometimes "
                   "with different labels) were left out of the impostor pairs: "
                   + ", ".join(f"{g} {n}" for g, n in dups.items() if n) + ". Two different photos of one person "
                   "cannot be told apart this way and may remain among the closest pairs.")
    for m in report.models:
        nf, wh = sum(m.no_face.values()), sum(m.whole_image.values())
        if nf or wh:
            out.append(f"{m.label}: no face found in {nf + wh} photo(s)"
                       + (f"; {wh} embedded with the whole crop as the face (per group in the table)" if wh else "")
                       + (f"; {nf} left out of the pairs" if nf else "") + ".")
    if not report.fnmr:
        out.append("FNMR per group: UTKFace has one photo per person, so it has no genuine pairs. LFW's same-person "
                   "pairs (celebrities) carry no group labels; the workbench invents none. Run with --lfw-fnmr (and "
                   "--lfw-labels, a CSV of person, group that you can stand behind) to add them.")
    else:
        thin = sorted({r["group"] for r in report.fnmr if r["warning"]})
        if thin:
            out.append("FNMR: too few genuine pairs for " + ", ".join(thin) + " (see the warnings in the table).")
    if report.min_age is not None:
        out.append(f"Only faces the data set labels {report.min_age} years or older are audited.")
    if report.skipped_files:
        out.append(f"{len(report.skipped_files)} photo(s) without a label were left out (listed in the JSON).")
    return out


def figures(report: AuditReport) -> list[tuple[str, object]]:
    groups = list(side_by_side(report)["group"])
    figs = []
    for k in (0, 2, 1):
        name = report.models[0].thresholds[k].name
        series = {}
        for m in report.models:
            rows = {r.group: r for r in m.rows(m.thresholds[k].name)}
            series[m.label] = ([rows[g].fmr for g in groups], [rows[g].ci[0] for g in groups],
                               [rows[g].ci[1] for g in groups],
                               [f"{rows[g].false_matches}/{rows[g].pairs}" for g in groups])
        figs.append((f"False match rate per group at {name}",
                     plots.audit_fmr_figure(groups, series, f"False matches within each group at {name}")))
    samples = {m.label: {g: compare.similarity(v, m.settings.similarity_base) for g, v in m.impostors.items()}
               for m in report.models}
    figs.append(("Impostor similarity per group", plots.audit_similarity_figure(groups, samples, {"80 %": 80.0})))
    for m in report.models:
        pairs, fm = m.cross[m.thresholds[0].name]
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(pairs > 0, fm / np.maximum(pairs, 1), np.nan)
        figs.append((f"{m.label}: FMR between groups at 80 %",
                     plots.audit_cross_figure(m.groups, rate, f"{m.label}: false matches between groups at 80 %")))
    if report.acquisition:
        figs.append(("Failure to acquire per group by exposure",
                     plots.acquisition_figure([r.as_dict() for r in report.acquisition])))
    return figs


def examples(report: AuditReport) -> list[Examples]:
    """The closest impostor pairs per group, both faces shown, for each model."""
    from workbench.pipeline.capture import encode_jpeg, load_image, thumbnail

    def thumb(path: str) -> bytes:
        image = load_image(path)
        h, w = image.shape[:2]
        from workbench.types import Box

        return encode_jpeg(thumbnail(image, Box(0, 0, w, h), size=96, margin=0.0))

    out = []
    for m in report.models:
        t80 = m.thresholds[0].distance
        items = []
        for g, pairs in sorted(m.worst.items()):
            for a, b, d in pairs[:2]:
                sim = compare.similarity(d, m.settings.similarity_base)
                verdict = "a false match at 80 %" if compare.is_match(d, t80) else "not a match at 80 %"
                items.append(ExampleItem(f"{g}: similarity {sim:.1f} %, {verdict}", (thumb(a), thumb(b))))
        out.append(Examples(f"{m.label}: the two closest pairs of different people in each group", tuple(items)))
    return out


def write_audit_report(report: AuditReport, out_dir: str | os.PathLike) -> Path:
    """``report.html`` plus ``audit_*.csv``/``.parquet`` in ``out_dir``; returns the HTML path."""
    first = report.models[0]
    n = sum(first.faces.values())
    header = Header("Demographic audit: false matches and failures to acquire per group",
                    ", ".join(m.settings.model for m in report.models),
                    ", ".join(m.settings.detector for m in report.models),
                    ", ".join(m.settings.metric_ for m in report.models), first.thresholds[0].distance,
                    report.dataset, {"photos": n, "groups": len(first.groups),
                                     "impostor pairs per model": n * (n - 1) // 2})
    tables = {"audit_side_by_side_80": side_by_side(report, 0),
              "audit_side_by_side_target_fmr": side_by_side(report, 2),
              "audit_groups": pl.DataFrame([r for m in report.models for r in group_rows(m)])}
    if report.acquisition:
        tables["audit_acquisition"] = pl.DataFrame([r.as_dict() for r in report.acquisition])
    if report.fnmr:
        tables["audit_fnmr"] = pl.DataFrame(report.fnmr)
    out = Path(out_dir)
    for name, rows in (("audit_cross", cross_rows(report)), ("audit_worst_pairs", worst_rows(report))):
        df = pl.DataFrame(rows)  # bulk rows: files only, never the page
        out.mkdir(parents=True, exist_ok=True)
        for ext, write in (("csv", df.write_csv), ("parquet", df.write_parquet)):
            with atomic_path(out / f"{name}.{ext}") as tmp:
                write(tmp)
    return write_report(out, header, figures(report), tables, notes(report), headline=headline(report),
                        examples=examples(report))
