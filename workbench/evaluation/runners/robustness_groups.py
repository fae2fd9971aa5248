"""The robustness lab per group: UTKFace's impostor pairs (one photo per person, labelled by the
data set) with one photo of each pair degraded, so the false match rate of each group can be read as
faces get smaller, blurrier or darker. Does degradation widen the differences between groups?

Pairs: within each group, every photo as photographed (through the embedding cache, as the audit
embeds it: a crop in which no face is found is embedded whole) against every *other* photo of the
group degraded (the probe; no whole-image fallback: a camera has none), both orders, near-identical
photos left out as the audit leaves them out. A degraded photo in which no face is found cannot be
falsely matched: its pairs count as non-matches, and the failures to acquire are counted per group.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from workbench.errors import WorkbenchError
from workbench.evaluation.datasets import embedding as cache
from workbench.evaluation.datasets.degraded import REFERENCE, PartStore, combo_label
from workbench.evaluation.runners.robustness import Progress, gate_of, measure, thresholds_of
from workbench.evaluation.stats.metrics import wilson
from workbench.pipeline import Settings, compare, degrade, quality
from workbench.pipeline.compare import is_match

#: The levels measured per group by default: distance, focus and night, where groups could part.
GROUP_LEVELS: tuple[degrade.Level, ...] = (
    *(degrade.Level(degrade.WIDTH, w) for w in (48, 32, 24, 16)),
    *(degrade.Level(degrade.GAUSSIAN, s) for s in (2, 4)),
    *(degrade.Level(degrade.NIGHT, x) for x in (0.1, 0.03)),
)


@dataclass(frozen=True)
class GroupLevel:
    """One group, one model/detector, one level: false matches among its impostor pairs."""

    combo: str
    level: str
    kind: str
    value: float
    words: str
    group: str
    photos: int
    no_face: int
    rejected: int          # faces found that today's gate turns away
    pairs: int
    false_matches: int     # at the model's default threshold (80 %)
    false_matches_99: int

    @property
    def fmr(self) -> float:
        return self.false_matches / self.pairs if self.pairs else float("nan")

    def as_dict(self) -> dict:
        lo, hi = wilson(self.false_matches, self.pairs)
        return {"combo": self.combo, "level": self.level, "words": self.words, "group": self.group,
                "photos": self.photos, "no_face": self.no_face, "rejected_by_gate": self.rejected,
                "impostor_pairs": self.pairs, "false_matches": self.false_matches,
                "fmr": None if not self.pairs else round(self.fmr, 6), "fmr_ci_low": _r(lo), "fmr_ci_high": _r(hi),
                "false_matches_99": self.false_matches_99}


def _r(x: float) -> float | None:
    return None if x != x else round(float(x), 6)


@dataclass(frozen=True, eq=False)
class GroupRobustness:
    dataset: str
    group_column: str
    combos: list[Settings]
    levels: list[degrade.Level]
    rows: list[GroupLevel]
    duplicates: int = 0
    skipped: list[str] = field(default_factory=list)

    def of(self, combo: str, level: str) -> list[GroupLevel]:
        return [r for r in self.rows if r.combo == combo and r.level == level]

    def spread(self, combo: str, level: str) -> tuple[GroupLevel, GroupLevel, float | None]:
        """The most and the least falsely matched group, and the ratio (``None`` when the least is 0)."""
        rows = [r for r in self.of(combo, level) if r.pairs]
        hi, lo = max(rows, key=lambda r: r.fmr), min(rows, key=lambda r: r.fmr)
        return hi, lo, (hi.fmr / lo.fmr if lo.fmr > 0 else None)


def run_groups(folder: str | os.PathLike, combos: Sequence[Settings],
               levels: Sequence[degrade.Level] = GROUP_LEVELS, *, per_group: int | None = None,
               min_age: int | None = None, column: str | None = None, db=None, workdir: str | os.PathLike,
               workers: int = 1, progress: Progress | None = None, seed: int = 0) -> GroupRobustness:
    """Measure what is missing and count false matches per group at every level (module docstring)."""
    from workbench.evaluation.datasets.duplicates import near_duplicates
    from workbench.evaluation.runners.audit import labelled_folder, pick_faces
    from workbench.pipeline import capture

    paths, groups, col, _ = labelled_folder(folder, None, column, min_age)
    paths, groups = pick_faces(paths, groups, per_group, seed)
    if len(set(groups)) < 2:
        raise WorkbenchError(f"{folder}: the per-group lab compares groups, and these photos are all in one")
    store = PartStore(workdir, "utkface")
    all_levels = [degrade.AS_PHOTOGRAPHED, *levels]
    skipped = measure(store, {p: all_levels for p in paths}, combos, workers=workers, progress=progress,
                      label="per group: ")
    out = store.outcomes()
    dup = near_duplicates(paths)
    sha = [capture.sha256(capture.read_bytes(p)) for p in paths]
    g = np.array(groups, dtype=object)
    names = sorted(set(groups))
    refs = out.select(REFERENCE, degrade.AS_PHOTOGRAPHED.id)
    rows: list[GroupLevel] = []
    for s in combos:
        clean, _ = cache.embed_files(paths, s, db, progress, whole_image=True)
        t, t99 = thresholds_of(s)
        gate = gate_of(s)
        for lv in all_levels:
            at = out.select(combo_label(s), lv.id)
            for name in names:
                idx = np.flatnonzero(g == name)
                a = [i for i in idx if clean[i].vector is not None]
                found = [i for i in idx if sha[i] in at and out.found[at[sha[i]]] and refs.get(sha[i]) is not None]
                rejected = sum(quality.decide(int(out.size[at[sha[i]]]), float(out.exposure[at[sha[i]]]),
                                              float(out.sharpness[at[sha[i]]]), float(out.yaw[at[sha[i]]]),
                                              gate)[0] is not None for i in found)
                pairs = fm = fm99 = 0
                ok = ~np.eye(len(idx), dtype=bool) & ~dup[np.ix_(idx, idx)]
                pos = {i: k for k, i in enumerate(idx)}
                pairs = int(ok[[pos[i] for i in a]].sum()) if a else 0
                if a and found:
                    va = np.stack([clean[i].vector for i in a]).astype(np.float32)
                    vb = np.stack([np.asarray(out.vectors[at[sha[i]]], np.float32) for i in found])
                    d = compare.distances(va, vb, s.metric_).reshape(len(a), len(found))
                    keep = ok[np.ix_([pos[i] for i in a], [pos[i] for i in found])]
                    fm, fm99 = int((is_match(d, t) & keep).sum()), int((is_match(d, t99) & keep).sum())
                rows.append(GroupLevel(combo_label(s), lv.id, lv.kind, lv.value, lv.words, name, len(idx),
                                       len(idx) - len(found), rejected, pairs, fm, fm99))
    return GroupRobustness(f"UTKFace, {len(paths):,} photos" + (f", {per_group} per group" if per_group else ""),
                           col, list(combos), list(levels), rows, int(dup.sum() // 2), skipped)
