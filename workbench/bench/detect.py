"""``workbench bench detect``: detection at full resolution against the automatic downscaling,
for any detector (the default one unless asked; ``workbench --detector yunet bench detect ...``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.bench.common import median_ms
from workbench.pipeline import zoo


@dataclass(frozen=True)
class DetectBench:
    detector: str
    max_side: int | None
    ms: float
    faces: int
    speedup_vs_full: float


def bench_detect(image: np.ndarray, sides: list[int | None], repeat: int = 3, *, detector: str = zoo.DEFAULT_DETECTOR,
                 upsample: int = 1) -> list[DetectBench]:
    """Detection time (with landmarks) at full size (``None``) and with the long side capped at each value."""
    from workbench.pipeline.detect import detect_faces

    detect_faces(image, detector, upsample=upsample, max_side=640)  # load the models outside the timings
    rows = []
    for side in [None] + [s for s in sides if s]:
        faces = len(detect_faces(image, detector, upsample=upsample, max_side=side))
        rows.append((side, median_ms(lambda: detect_faces(image, detector, upsample=upsample, max_side=side),
                                     repeat), faces))
    full = rows[0][1]
    return [DetectBench(detector, s, round(ms, 1), f, round(full / ms, 2)) for s, ms, f in rows]

