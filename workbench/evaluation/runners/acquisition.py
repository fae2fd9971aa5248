"""Failure to acquire, per group: how often a detector finds no face, and how often the quality
gate rejects the face it found (by reason), at several exposure levels.

Each photo is dimmed to each exposure level (every pixel multiplied by the level and rounded
down, as an under-exposed camera would record it; 1.0 is the photo as it is), then detected
and gated exactly as enrolment would: the face chosen is the central one, weighted by size.
A failure to acquire is either; NIST counts both against a system, and a gate that rejects one
group's faces more often than another's is a differential of its own, before any comparison.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from workbench.evaluation.datasets.embedding import face_score
from workbench.evaluation.stats.metrics import wilson
from workbench.pipeline import Settings, capture, detect, quality, workpool

NO_FACE = "no_face"
#: Every outcome counted, in order: no face, each gate reason, accepted.
OUTCOMES = (NO_FACE, *quality.REASONS, "accepted")
#: The exposure levels measured by default: the photo as it is, then 60 %, 40 % and 30 % of its light.
EXPOSURES = (1.0, 0.6, 0.4, 0.3)


@dataclass(frozen=True)
class AcquisitionRow:
    """One detector at one exposure level, for one group: how many photos, and what became of them."""

    detector: str
    exposure: float
    group: str
    images: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def failures(self) -> int:
        return self.images - self.counts.get("accepted", 0)

    @property
    def rate(self) -> float:
        return self.failures / self.images if self.images else float("nan")

    def as_dict(self) -> dict:
        lo, hi = wilson(self.failures, self.images)
        return {"detector": self.detector, "exposure": self.exposure, "group": self.group, "images": self.images,
                **{k: self.counts.get(k, 0) for k in OUTCOMES}, "failures_to_acquire": self.failures,
                "fta_rate": _r(self.rate), "fta_ci_low": _r(lo), "fta_ci_high": _r(hi)}


def _r(x: float) -> float | None:
    return None if x != x else round(float(x), 4)


def dim(image: np.ndarray, level: float) -> np.ndarray:
    """The photo with ``level`` of its light (RGB ``uint8``; every value multiplied and floored)."""
    if level >= 1.0:
        return image
    return np.floor(image.astype(np.float32) * float(level)).astype(np.uint8)


def outcome(image: np.ndarray, settings: Settings) -> tuple[str, str]:
    """``(outcome, rule in words)`` of one photo: ``no_face``, a gate reason, or ``accepted``."""
    dets = detect.detect_faces(image, settings.detector, upsample=settings.upsample, max_side=settings.max_side)
    if not dets:
        return NO_FACE, "no face found"
    h, w = image.shape[:2]
    det = max(dets, key=lambda d: face_score(d.box, w, h))
    q = quality.assess(image, det, settings.gate_)
    return (q.reason or "accepted"), quality.describe(q)


def measure_acquisition(paths: Sequence[str | os.PathLike], groups: Sequence[str], detectors: Sequence[str],
                        exposures: Sequence[float] = EXPOSURES, *, settings: Settings = Settings(),
                        progress: Callable[[int, int, str], None] | None = None) -> list[AcquisitionRow]:
    """Outcome counts per ``(detector, exposure, group)``; each photo is read once."""
    names = sorted(set(groups))
    tally: dict[tuple[str, float, str], dict[str, int]] = {
        (d, e, g): {} for d in detectors for e in exposures for g in names}
    images = {g: 0 for g in names}
    # one photo, every level and detector, is one job (in the app: of the batch lane, in a worker)
    found = workpool.map_batch(photo_outcomes, [(str(p), tuple(detectors), tuple(exposures), settings) for p in paths])
    try:
        for i, (path, group, outcomes) in enumerate(zip(paths, groups, found), 1):
            images[group] += 1
            for (d, e), what in outcomes.items():
                counts = tally[(d, e, group)]
                counts[what] = counts.get(what, 0) + 1
            if progress:
                progress(i, len(paths), str(path))
    finally:
        found.close()
    return [AcquisitionRow(d, float(e), g, images[g], tally[(d, e, g)]) for d in detectors for e in exposures
            for g in names]


def photo_outcomes(path: str, detectors: Sequence[str], exposures: Sequence[float],
                   settings: Settings) -> dict[tuple[str, float], str]:
    """One photo's outcome per ``(detector, exposure)``."""
    image = capture.load_image(path)
    out = {}
    for e in exposures:
        dimmed = dim(image, e)
        for d in detectors:
            out[(d, e)], _ = outcome(dimmed, Settings(detector=d, model=settings.model, upsample=settings.upsample,
                                                      max_side=settings.max_side, gate=settings.gate))
    return out
