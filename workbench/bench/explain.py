"""``workbench bench explain``: what an occlusion map costs per face, for every model that can be
explained, against one plain embedding of the same chip timed in the same run (the ratio is how
many plain embeddings one map is worth)."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from workbench.bench.common import median_ms
from workbench.errors import WorkbenchError
from workbench.pipeline import Settings, analyze, embed, occlusion
from workbench.pipeline.capture import load_image


@dataclass(frozen=True)
class ExplainBench:
    """One model's occlusion maps over ``faces`` faces: the median seconds per map, the median
    milliseconds of one plain embedding of the same chips, and their ratio."""

    model: str
    chip_side: int
    patch: int
    positions: int
    embeddings_per_map: int
    faces: int
    map_s: float
    plain_embedding_ms: float
    ms_per_embedding_in_map: float
    ratio: float


def bench_explain(photos: Sequence[Path], settings: Settings = Settings(), *, models: Sequence[str] | None = None,
                  steps: int = occlusion.STEPS, patch_fraction: float = occlusion.PATCH_FRACTION, repeat: int = 3,
                  progress: Callable[[int, int, str], None] | None = None) -> list[ExplainBench]:
    """Per model, the occlusion map of the main face of each photo (against that face's own plain
    vector; the reference does not change the cost), and ``repeat`` plain embeddings of the same chip
    interleaved with it. Photos that cannot be read, or with no face, are skipped."""
    names = [m for m in (models or occlusion.explainable_models()) if occlusion.explainable(m)]
    faces = []
    for i, p in enumerate(photos):
        if progress:
            progress(i, len(photos), str(p))
        try:
            image = load_image(p)
            analysis = analyze(image, settings, embed_faces="none")
        except WorkbenchError:
            continue
        if analysis.faces:  # the largest face
            best = max(range(len(analysis.faces)), key=lambda k: analysis.faces[k].box.area)
            faces.append((image, analysis.faces[best].detection))
    if not faces:
        raise WorkbenchError("no face found in the photos given: nothing to time")
    rows = []
    for m in names:
        chips = [occlusion.face_chips(img, det, [m]).chip(m) for img, det in faces]
        embed.embed_chips(chips[:1], m)  # load the weights outside the timings
        maps, plain, last = [], [], None
        for k, chip in enumerate(chips):
            if progress:
                progress(k, len(chips), f"{m}: face {k + 1}")
            reference = embed.embed_chips([chip], m)[0]
            plain.append(median_ms(lambda: embed.embed_chips([chip], m), repeat))
            t0 = time.perf_counter()
            last = occlusion.occlusion_map(chip, reference, m, patch_fraction=patch_fraction, steps=steps)
            maps.append(time.perf_counter() - t0)
        map_s, one_ms = statistics.median(maps), statistics.median(plain)
        rows.append(ExplainBench(m, last.grid.side, last.grid.patch, last.grid.shape[0], last.embeddings, len(chips),
                                 round(map_s, 3), round(one_ms, 2), round(1000 * map_s / last.embeddings, 2),
                                 round(1000 * map_s / one_ms, 1)))
    return rows
