"""Benchmarks, run by hand (`workbench bench ...`), reported as ratios to a baseline timed in
the same run: these machines are shared and noisy, so absolute times mean little.

* ``search``: vectorised exact top-k (:func:`workbench.search.rank`) against a plain Python
  loop over the gallery rows, at several gallery sizes.
* ``detect``: HOG detection at full resolution against the automatic downscaling.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from workbench.gallery import GalleryMatrix
from workbench.search import rank


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(max(repeat, 1)):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def synthetic_gallery(n: int, dim: int = 128, people: int | None = None, seed: int = 0) -> GalleryMatrix:
    """``n`` random unit vectors spread over ``people`` identities (default ``n // 3``)."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, dim)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    pid = rng.integers(0, max(people or n // 3, 1), size=n)
    return GalleryMatrix(np.arange(n, dtype=np.int64), pid.astype(np.int64), [f"p{i}" for i in pid],
                         [""] * n, v)


def loop_top_k(query: np.ndarray, vectors: np.ndarray, k: int) -> list[int]:
    """The baseline: one distance per row in a Python loop, then a sort."""
    dists = [(float(np.sqrt(((query - row) ** 2).sum())), i) for i, row in enumerate(vectors)]
    return [i for _, i in sorted(dists)[:k]]


@dataclass(frozen=True)
class SearchBench:
    gallery_size: int
    vectorised_ms: float
    loop_ms: float
    speedup: float
    loop_rows_timed: int
    same_answer: bool


def bench_search(sizes: list[int], *, top_k: int = 5, repeat: int = 5, loop_cap: int = 20_000,
                 progress: Callable[[int, int, str], None] | None = None) -> list[SearchBench]:
    """Median time of one exact top-k query, vectorised vs loop, per gallery size.

    The loop is timed on at most ``loop_cap`` rows and scaled linearly (it is O(n)).
    """
    out = []
    for i, n in enumerate(sizes, 1):
        m = synthetic_gallery(n)
        q = m.vectors[n // 2] + 0.01
        fast = _median_ms(lambda: rank(q[None], m, metric="euclidean", threshold=0.6, top_k=top_k,
                                       per_person=False), repeat)
        rows = min(n, loop_cap)
        slow = _median_ms(lambda: loop_top_k(q, m.vectors[:rows], top_k), max(1, repeat // 2)) * n / rows
        sub = GalleryMatrix(m.face_ids[:rows], m.person_ids[:rows], m.people[:rows], m.sources[:rows],
                            m.vectors[:rows])
        fast_ids = [x.face_id for x in rank(q[None], sub, metric="euclidean", threshold=0.6, top_k=top_k,
                                            per_person=False)[0]]
        same = fast_ids == loop_top_k(q, sub.vectors, top_k)
        out.append(SearchBench(n, round(fast, 3), round(slow, 1), round(slow / fast, 1), rows, bool(same)))
        if progress:
            progress(i, len(sizes), f"{n} faces")
    return out


@dataclass(frozen=True)
class DetectBench:
    max_side: int | None
    ms: float
    faces: int
    speedup_vs_full: float


def bench_detect(image: np.ndarray, sides: list[int | None], repeat: int = 3) -> list[DetectBench]:
    """HOG detection time at full size (``None``) and with the long side capped at each value."""
    from workbench.detect import detect_faces

    detect_faces(image, max_side=640)  # load the models outside the timings
    rows = []
    for side in [None] + [s for s in sides if s]:
        faces = len(detect_faces(image, max_side=side))
        rows.append((side, _median_ms(lambda: detect_faces(image, max_side=side), repeat), faces))
    full = rows[0][1]
    return [DetectBench(s, round(ms, 1), f, round(full / ms, 2)) for s, ms, f in rows]


def as_dicts(rows: list) -> list[dict]:
    return [asdict(r) for r in rows]
