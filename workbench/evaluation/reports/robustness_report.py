"""The robustness lab in words, tables and charts: what each model misses as faces get smaller,
blurrier, more compressed, darker or covered, where it loses half of its true matches, what
distance from a camera a face width stands for, and the gate its curves call for."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from workbench.evaluation.datasets.degraded import combo_label
from workbench.evaluation.reports.report import Header, write_report
from workbench.evaluation.reports.robustness_plots import curves_figure
from workbench.evaluation.runners.robustness import RobustnessReport
from workbench.evaluation.stats.metrics import wilson
from workbench.pipeline import degrade
from workbench.pipeline.quality import QualityThresholds

#: The width the headline reads a camera distance for (the issue's example), and IEC 62676-4's.
HEADLINE_WIDTH = 24.0
IDENTIFY_WIDTH = degrade.IDENTIFY_PX_PER_M * degrade.FACE_METRES  # 40 px across a 16 cm face

CAMERA = (f"A face W px wide stands for a person at D = R / (2 · (W / 0.16 m) · tan(FOV / 2)) metres from a camera "
          f"R = {degrade.CAMERA_PIXELS:,} px across with a {degrade.CAMERA_FOV:g}° horizontal field of view (a 1080p "
          f"camera, wide lens), a face 16 cm wide, the face square to the camera and in focus, and the width "
          f"measured as YuNet's box on the photo as it is (about cheek to cheek). IEC 62676-4 asks "
          f"{degrade.IDENTIFY_PX_PER_M:g} px per metre to identify a person: {IDENTIFY_WIDTH:.0f} px across such a face, "
          f"{degrade.camera_distance(IDENTIFY_WIDTH):.1f} m from that camera. Another camera: D scales with R and "
          f"with 1 / tan(FOV / 2) (a 4K camera: twice as far; a 45° lens: 2.4 times as far).")


def _pct(k: int, n: int) -> str:
    if not n:
        return "no pairs"
    lo, hi = wilson(k, n)
    return f"{k / n:.1%} (95 % CI {lo:.1%}-{hi:.1%})"


def _level(report: RobustnessReport, combo: str, level_id: str):
    return next((r for r in report.rows if r.combo == combo and r.level == level_id), None)


def headline(report: RobustnessReport) -> list[str]:
    """The findings in words, as the audit opens: misses at a given width and the camera distance
    it stands for, where half the true matches are lost, masks, and the gates the curves call for."""
    out = []
    labels = list(dict.fromkeys(r.combo for r in report.rows))
    width = degrade.Level(degrade.WIDTH, HEADLINE_WIDTH).id
    for c in labels:
        clean, r = report.clean(c), _level(report, c, width)
        if r is not None:
            out.append(f"{c} misses {r.false_non_matches:,} of {r.genuine:,} true matches when the face is "
                       f"{HEADLINE_WIDTH:g} px wide ({_pct(r.false_non_matches, r.genuine)}; "
                       f"{clean.false_non_matches:,} as photographed); that is a person about "
                       f"{degrade.camera_distance(HEADLINE_WIDTH):.1f} m from a "
                       f"1080p camera with a 90° lens. It found no face in {r.no_face:,} of {r.photos:,} such photos, "
                       f"and its gate turns away {r.rejected_total:,} more.")
        halves = [f"{_short(k)} {report.half_loss(c, k).words}" for k in (degrade.WIDTH, degrade.GAUSSIAN,
                                                                          degrade.MOTION, degrade.JPEG, degrade.NIGHT)
                  if report.of(c, k)]
        if halves:
            out.append(f"{c} keeps half of its true matches down to: " + "; ".join(halves) + ".")
    masks = [(c, _level(report, c, degrade.Level(degrade.OCCLUSION, 0, degrade.MASK).id)) for c in labels]
    masks = [(c, r) for c, r in masks if r is not None]
    if masks:
        out.append("A surgical mask: " + "; ".join(
            f"{c} misses {r.false_non_matches:,} of {r.genuine:,} ({_pct(r.false_non_matches, r.genuine)}; "
            f"{report.clean(c).false_non_matches:,} without)" for c, r in masks)
            + ". NIST (FRVT Part 6A, NISTIR 8311) found digital masks raised the best algorithms' miss rate from "
              "about 0.3 % to about 5 %, many to 20-50 %.")
    out.append(f"Pairs: {report.pairs:,} ({report.genuine:,} same person, {report.impostor:,} different people) of "
               f"{report.dataset}; the second photo degraded, the first as photographed."
               + (f" {report.no_reference} pairs left out: no face in the photo as it is to scale or draw on."
                  if report.no_reference else ""))
    return out


def _short(kind: str) -> str:
    return {degrade.WIDTH: "width", degrade.GAUSSIAN: "blur σ", degrade.MOTION: "motion blur",
            degrade.JPEG: "JPEG quality", degrade.NIGHT: "light"}[kind]


def gate_in_use(report: RobustnessReport, combo: str) -> QualityThresholds | None:
    """The gate the model of ``combo`` uses today (its zoo entry, or the run's own limits), or ``None``."""
    return next((s.gate_ for s in report.combos if combo_label(s) == combo), None)


def gate_lines(report: RobustnessReport) -> list[str]:
    """What these curves call for per model, beside the gate the model uses today: a run on fewer pairs
    can call for other limits than the largest run the zoo's gate was set from."""
    lines = []
    for c in dict.fromkeys(r.combo for r in report.rows):
        used = gate_in_use(report, c)
        lines.append(report.gate(c).words + ("" if used is None else
                     f". In use: at least {used.min_size} px, sharpness {used.min_sharpness:g}"))
    return lines


def table_lines(report: RobustnessReport) -> list[str]:
    """One line per level: each model's misses, false matches and failures to acquire, with counts."""
    labels = list(dict.fromkeys(r.combo for r in report.rows))
    lines = []
    ids = list(dict.fromkeys(r.level for r in report.rows))
    for lid in ids:
        cells = []
        for c in labels:
            r = _level(report, c, lid)
            if r is not None:
                cells.append(f"{c}: missed {r.false_non_matches}/{r.genuine} ({r.fnmr:.1%}), false matches "
                             f"{r.false_matches}/{r.impostor}, no face {r.no_face}, gate {r.rejected_total} of {r.photos}")
        first = _level(report, labels[0], lid)
        lines.append(f"{first.words if first else lid}: " + " | ".join(cells))
    for p in report.pose:
        lines.append(f"pose, {p.words} ({p.combo}): missed {p.false_non_matches}/{p.genuine} ({p.fnmr:.1%}), "
                     f"false matches {p.false_matches}/{p.impostor}")
    lines += [f"gate: {w}" for w in gate_lines(report)]
    return lines


def figures(report: RobustnessReport) -> list[tuple[str, object]]:
    labels = list(dict.fromkeys(r.combo for r in report.rows))
    clean = {c: report.clean(c) for c in labels}
    figs = []
    for kind in degrade.KINDS:
        rows = {c: report.of(c, kind) for c in labels}
        if any(rows.values()):
            figs.append((f"{kind}", curves_figure(kind, rows, clean)))
    if report.pose:
        figs.append(("pose", curves_figure("pose", {c: [p for p in report.pose if p.combo == c] for c in labels}, {})))
    return figs


def tables(report: RobustnessReport) -> dict[str, pl.DataFrame]:
    labels = list(dict.fromkeys(r.combo for r in report.rows))
    half = [{"combo": c, "degradation": k, "half_loss_level": report.half_loss(c, k).value,
             "words": report.half_loss(c, k).words} for c in labels for k in degrade.KINDS[:5] if report.of(c, k)]
    gates = [{"combo": g.combo, "min_size": g.min_size, "min_sharpness": g.min_sharpness,
              "smallest_width_handled": g.size_level, "strongest_blur_handled": g.blur_level, "rule": g.words,
              "in_use_min_size": None if u is None else u.min_size,
              "in_use_min_sharpness": None if u is None else u.min_sharpness}
             for g, u in ((report.gate(c), gate_in_use(report, c)) for c in labels)]
    return {"robustness_levels": pl.DataFrame([r.as_dict() for r in report.rows]),
            "robustness_pose": pl.DataFrame([r.as_dict() for r in report.pose]),
            "robustness_half_loss": pl.DataFrame(half), "robustness_gates": pl.DataFrame(gates)}


def as_dict(report: RobustnessReport) -> dict:
    t = tables(report)
    return {"dataset": report.dataset, "folds": report.folds, "pairs": report.pairs, "genuine_pairs": report.genuine,
            "impostor_pairs": report.impostor, "pairs_without_reference_face": report.no_reference,
            "headline": headline(report), "camera": CAMERA, "levels": t["robustness_levels"].to_dicts(),
            "pose": t["robustness_pose"].to_dicts(), "half_loss": t["robustness_half_loss"].to_dicts(),
            "gates": t["robustness_gates"].to_dicts(), "skipped_files": report.skipped}


def write_robustness_report(report: RobustnessReport, out_dir: str | os.PathLike) -> Path:
    s = report.combos
    header = Header("Robustness: error rates on camera-quality faces", ", ".join(x.model for x in s),
                    ", ".join(x.detector for x in s), ", ".join(x.metric_ for x in s), s[0].threshold_,
                    report.dataset, {"pairs": report.pairs, "genuine pairs": report.genuine,
                                     "impostor pairs": report.impostor})
    notes = [CAMERA,
             "Each pair: the first photo as photographed (the enrolment photo), the second degraded (the probe). "
             "A degraded photo with no face found is a failure to acquire: a miss on a genuine pair. FNMR and FMR "
             "are given with the gate set aside (what the model makes of the face found: the curves a gate is set "
             "from) and through today's gate (a rejected face is not compared); both at the model's default "
             "threshold (80 %) and at 99 %.",
             "Degradations (OpenCV's operations, seeded by the photo): " + "; ".join(
                 dict.fromkeys(lv.words.split(" (")[0] if lv.kind != degrade.WIDTH else "face width" for lv in
                               report.levels)) + ". Blur levels are in pixels on a face 100 px wide, scaled with the "
             "real face. Night: the light cut, shot and read noise of a small sensor, amplified back by the camera.",
             "Gate from the curves: " + " ".join(gate_lines(report)),
             "Intervals treat pairs as independent (photos recur across pairs), so the real uncertainty is larger. "
             "The photos are LFW's public figures, frontal and well lit before degradation: real cameras combine "
             "these degradations, and the curves of one are not the rates of all."]
    return write_report(out_dir, header, figures(report), tables(report), notes, headline=headline(report),
                        files_only=("robustness_levels",))


# -- per group (UTKFace) -------------------------------------------------------------------------

def group_headline(gr) -> list[str]:
    """Per model: the spread between groups as photographed and at each level, in words."""
    out = []
    for s in gr.combos:
        c = f"{s.detector} + {s.model}"
        parts = []
        for lv in [degrade.AS_PHOTOGRAPHED, *gr.levels]:
            rows = [r for r in gr.of(c, lv.id) if r.pairs]
            if not rows:
                continue
            hi, lo, ratio = gr.spread(c, lv.id)
            times = f"{ratio:.1f} times" if ratio is not None else "no ratio: the lowest is 0"
            parts.append(f"{lv.words}: {hi.group} {hi.fmr:.2%} ({hi.false_matches:,} of {hi.pairs:,}) against "
                         f"{lo.group} {lo.fmr:.2%} ({lo.false_matches:,}), {times}")
        out.append(f"{c}, false matches within each group at 80 %, most and least falsely matched group: "
                   + "; ".join(parts) + ".")
    out.append(f"{gr.dataset}; groups: the data set's labels ({gr.group_column}); one photo of each pair degraded. "
               f"{gr.duplicates} pairs of near-identical photos left out.")
    return out


def group_figures(gr) -> list[tuple[str, object]]:
    from workbench.evaluation.reports.robustness_plots import group_figure

    figs = []
    for s in gr.combos:
        c = f"{s.detector} + {s.model}"
        for kind in dict.fromkeys(lv.kind for lv in gr.levels):
            levels = [lv for lv in gr.levels if lv.kind == kind]
            series: dict[str, list] = {}
            for lv in levels:
                for r in gr.of(c, lv.id):
                    series.setdefault(r.group, []).append((lv.value, r.fmr, r.false_matches, r.pairs))
            figs.append((f"{c}: {kind} per group", group_figure(kind, series, f"{c}: false matches per group, "
                                                                               f"{_short(kind)}")))
    return figs


def write_group_report(gr, out_dir: str | os.PathLike) -> Path:
    s = gr.combos
    header = Header("Robustness per group: false matches as faces degrade", ", ".join(x.model for x in s),
                    ", ".join(x.detector for x in s), ", ".join(x.metric_ for x in s), s[0].threshold_, gr.dataset,
                    {"rows": len(gr.rows)})
    notes = ["Within each group, every photo as photographed against every other photo of the group degraded "
             "(both orders). A degraded photo with no face cannot be falsely matched: its pairs count as non-matches "
             "and it is counted as a failure to acquire. The labels are the data set's estimates; ages differ "
             "between groups (see the audit).", CAMERA]
    return write_report(out_dir, header, group_figures(gr),
                        {"robustness_groups": pl.DataFrame([r.as_dict() for r in gr.rows])}, notes,
                        headline=group_headline(gr))
