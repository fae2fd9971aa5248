"""LFW, the benchmark every face model publishes: the View-2 pairs (10-fold accuracy, TAR at a
fixed FAR, ROC and DET) and 1:N identification with LFW's people. The pairs file and the people
folders are read by :mod:`workbench.evaluation.datasets.lfw`.

Photos in which no face is found are failures to enrol: counted per model, never dropped (their
pairs are scored "not the same"). ``whole_image`` embeds such a photo as if the whole image were
the face, and says how many vectors came from it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from workbench.evaluation.datasets import embedding as cache
from workbench.evaluation.datasets.lfw import LfwPairs, read_pairs, search_split
from workbench.evaluation.stats import metrics, protocols
from workbench.pipeline import Settings, compare

Progress = Callable[[int, int, str], None]
#: The false accept rates TAR is reported at, and the false positive rates for 1:N.
FARS = (0.001, 0.01)


@dataclass(frozen=True, eq=False)
class Enrolment:
    """What the embedding step gave for a set of photos: vectors, and how they were obtained."""

    vectors: dict[str, np.ndarray | None]
    images: int
    no_face: list[str]
    whole_image: int
    several_faces: int
    stats: cache.CacheStats

    def as_dict(self) -> dict:
        return {"images": self.images, "failures_to_enrol": len(self.no_face),
                "failures_to_enrol_rate": _r(len(self.no_face) / self.images) if self.images else None,
                "whole_image_faces": self.whole_image, "images_with_several_faces": self.several_faces,
                "cache": {"hits": self.stats.hits, "computed": self.stats.computed}}


def enrol_photos(files: list[str], settings: Settings, db=None, *, rule: str = "central", whole_image: bool = False,
                 progress: Progress | None = None) -> Enrolment:
    """Embed every photo once (through the cache), keeping count of what happened to each."""
    done, stats = cache.embed_files(sorted(set(files)), settings, db, progress, rule=rule, whole_image=whole_image)
    return Enrolment({e.path: e.vector for e in done}, len(done), [e.path for e in done if e.vector is None],
                     sum(e.whole_image for e in done), sum(e.faces > 1 for e in done), stats)


@dataclass(frozen=True, eq=False)
class LfwReport(metrics.LabelledDistances):
    """One model/detector on the View-2 pairs (``distances`` and ``same`` come first, from the base)."""

    label: str
    settings: Settings
    rule: str
    folds: np.ndarray
    ten_fold: protocols.TenFold
    at_default: metrics.ErrorRates
    tar: list[protocols.TarAtFar]
    eer: metrics.EER
    enrolment: Enrolment
    scored_only: protocols.TenFold

    @property
    def unscored(self) -> int:
        return int((~np.isfinite(self.distances)).sum())

    def as_dict(self) -> dict:
        s = self.settings
        return {"label": self.label, "model": s.model, "detector": s.detector, "metric": s.metric_,
                "face_rule": self.rule, "pairs": int(self.same.size), "genuine_pairs": int(self.same.sum()),
                "impostor_pairs": int((~self.same).sum()), "unscored_pairs": self.unscored,
                "ten_fold_accuracy": _r(self.ten_fold.mean), "ten_fold_sd": _r(self.ten_fold.sd),
                "ten_fold_per_fold": [_r(a) for a in self.ten_fold.per_fold],
                "ten_fold_thresholds": [_r(t) for t in self.ten_fold.thresholds],
                "ten_fold_accuracy_scored_pairs_only": _r(self.scored_only.mean),
                "default_threshold": s.threshold_, "accuracy_at_default": _r(self.at_default.accuracy),
                "fmr_at_default": _r(self.at_default.fmr), "fnmr_at_default": _r(self.at_default.fnmr),
                "false_matches_at_default": self.at_default.false_matches,
                "false_non_matches_at_default": self.at_default.false_non_matches,
                "eer": _r(self.eer.eer), "eer_threshold": _r(self.eer.threshold),
                "tar_at_far": [{"far": t.far, "tar": _r(t.tar), "threshold": _r(t.threshold),
                                "false_accepts": t.false_accepts, "impostor_pairs": t.impostor,
                                "supported": t.supported} for t in self.tar],
                **self.enrolment.as_dict()}


def _r(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 4)


def score_lfw(lfw: LfwPairs, enrolment: Enrolment, settings: Settings, *, label: str = "",
              rule: str = "central") -> LfwReport:
    """Score the pairs from vectors already computed (``None``: the photo had no face)."""
    metric = settings.metric_
    dist = np.full(len(lfw.pairs), np.inf)
    for k, p in enumerate(lfw.pairs):
        va, vb = enrolment.vectors.get(p.a), enrolment.vectors.get(p.b)
        if va is not None and vb is not None:
            dist[k] = float(compare.distances(va, vb[None, :], metric)[0])
    same = np.array([p.same for p in lfw.pairs], bool)
    ok = np.isfinite(dist)
    return LfwReport(
        dist, same, label or f"{settings.detector} + {settings.model}", settings, rule, lfw.folds,
        protocols.ten_fold_accuracy(dist, same, lfw.folds),
        metrics.rates_at(dist[same], dist[~same], settings.threshold_),
        [protocols.tar_at_far(dist[same], dist[~same], far) for far in FARS],
        metrics.equal_error_rate(dist[same], dist[~same]), enrolment,
        protocols.ten_fold_accuracy(dist[ok], same[ok], lfw.folds[ok]))


def eval_lfw(pairs_file: str | os.PathLike, lfw_dir: str | os.PathLike, settings: Settings, *, db=None,
             rule: str = "central", whole_image: bool = False, folds: int | None = None,
             progress: Progress | None = None) -> LfwReport:
    """View 2 on one model/detector: every photo embedded once (through the cache in ``db``),
    every pair scored. ``folds`` keeps only the first that many folds (a quick run)."""
    lfw = read_pairs(pairs_file, lfw_dir)
    if folds is not None:
        keep = lfw.folds < folds
        lfw = LfwPairs([p for p, k in zip(lfw.pairs, keep) if k], lfw.folds[keep], min(folds, lfw.n_folds))
    files = [q for p in lfw.pairs for q in (p.a, p.b)]
    enrolment = enrol_photos(files, settings, db, rule=rule, whole_image=whole_image, progress=progress)
    return score_lfw(lfw, enrolment, settings, rule=rule)


# -- 1:N ---------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class LfwSearch:
    """1:N on LFW: one photo of every person with two or more photos enrolled, their next photo
    searched (mated), and photos of people with one photo searched (non-mated)."""

    label: str
    settings: Settings
    gallery_people: int
    gallery_without_face: int
    mated: int
    nonmated: int
    probes_without_face: int
    rank1: float
    at_fpir: list[protocols.MissAtFalseAlarm]
    enrolment: Enrolment

    def as_dict(self) -> dict:
        return {"label": self.label, "model": self.settings.model, "detector": self.settings.detector,
                "gallery_people": self.gallery_people, "gallery_photos_without_face": self.gallery_without_face,
                "mated_searches": self.mated, "nonmated_searches": self.nonmated,
                "probes_without_face": self.probes_without_face, "rank1": _r(self.rank1),
                "fnir_at_fpir": [{"fpir": m.fpir, "fnir": _r(m.fnir), "threshold": _r(m.threshold),
                                  "false_alarms": m.false_alarms} for m in self.at_fpir],
                **{f"enrolment_{k}": v for k, v in self.enrolment.as_dict().items()}}


def eval_lfw_search(lfw_dir: str | os.PathLike, settings: Settings, *, db=None, rule: str = "central",
                    whole_image: bool = False, nonmated: int | None = None, seed: int = 0,
                    progress: Progress | None = None) -> LfwSearch:
    """1:N with LFW's people (see :class:`LfwSearch`). A gallery photo without a face is a failure
    to enrol: that person cannot be found, so their mated search is a miss; a probe without a face
    is a miss when mated and no alarm when not (NIST's convention)."""
    gallery, mated, single = search_split(lfw_dir, nonmated, seed)
    files = [str(f) for f in [*gallery.values(), *mated.values(), *single]]
    enrolment = enrol_photos(files, settings, db, rule=rule, whole_image=whole_image, progress=progress)
    vec = enrolment.vectors
    names = [n for n in gallery if vec.get(str(gallery[n])) is not None]
    g = np.stack([vec[str(gallery[n])] for n in names]) if names else np.zeros((0, 128), np.float32)
    col = {n: j for j, n in enumerate(names)}

    def dists(paths: list[Path]) -> np.ndarray:
        out = np.full((len(paths), len(names)), np.inf)
        ok = [i for i, p in enumerate(paths) if vec.get(str(p)) is not None]
        if ok and names:
            out[ok] = compare.distances(np.stack([vec[str(paths[i])] for i in ok]), g, settings.metric_)
        return out

    mp = list(mated.items())
    dm = dists([p for _, p in mp])
    mate_d = np.array([dm[i, col[n]] if n in col else np.inf for i, (n, _) in enumerate(mp)])
    best_other = np.array([np.min(np.delete(dm[i], col[n])) if n in col and len(names) > 1 else
                           (dm[i].min() if len(names) else np.inf) for i, (n, _) in enumerate(mp)])
    rank1 = np.isfinite(mate_d) & (mate_d < best_other)  # a tie counts against the mate
    dn = dists(single)
    best_non = dn.min(axis=1) if names else np.full(len(single), np.inf)
    return LfwSearch(f"{settings.detector} + {settings.model}", settings, len(gallery), len(gallery) - len(names),
                     len(mp), len(single), sum(vec.get(str(p)) is None for p in [*mated.values(), *single]),
                     float(rank1.mean()) if len(mp) else float("nan"),
                     [protocols.fnir_at_fpir(best_non, mate_d, rank1, f) for f in FARS], enrolment)
