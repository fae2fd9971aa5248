"""``workbench bench video``: the live loop (real-time preset) against DeepFace on every frame."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from workbench.bench.common import pcts
from workbench.bench.enrol import deepface_represent
from workbench.store import GalleryMatrix


@dataclass(frozen=True)
class VideoBench:
    frames: int
    frame_size: str
    runs: int
    fps: float
    p50_ms: float
    p95_ms: float
    detect_p50_ms: float
    detect_p95_ms: float
    embed_p95_ms: float
    search_p95_ms: float
    identity_latency_ms: float | None  # None: no face was named
    identity_latency_max_ms: float | None
    new_tracks: int
    detect_every: int
    detector: str
    model: str
    faces_per_frame: float  # mean faces found per detection pass
    frames_without_face: float  # share of detection passes that found none
    video_fps: float
    naive_frames: int
    naive_fps: float
    speedup_vs_naive: float


def _frames(path: str, size: tuple[int, int] | None, max_frames: int | None) -> Iterator[np.ndarray]:
    import cv2

    from workbench.pipeline.capture import iter_frames

    for f in iter_frames(path, max_frames=max_frames):
        yield f.image if size is None else cv2.resize(f.image, size, interpolation=cv2.INTER_AREA)


def bench_video(path: str, matrix: GalleryMatrix | None, *, runs: int = 3, detect_every: int | None = None,
                size: tuple[int, int] | None = None, max_frames: int | None = None, naive_frames: int = 20,
                settings=None, progress: Callable[[int, int, str], None] | None = None) -> VideoBench:
    """Decode -> detect -> track -> embed new faces -> search -> draw, on every frame of a video.

    ``fps`` and the per-frame percentiles come from runs as fast as possible (median run);
    identity latency from one more run paced at the video's own frame rate, as a camera
    would deliver it: from the arrival of the first frame a face could have been seen in
    (``detect_every - 1`` frames before the detection that opened its track) to its name.
    The naive loop is ``DeepFace.represent`` (Dlib) + search on every frame, timed on
    ``naive_frames`` frames of the same video in the same run. ``settings`` picks the detector and
    model of the live loop (default: HOG + Dlib); ``matrix`` must hold that model's vectors.
    """
    from workbench.live import REALTIME, LiveProcessor
    from workbench.pipeline import Settings, parallel
    from workbench.pipeline.capture import rgb_to_bgr, video_info
    from workbench.search import rank

    detect_every = detect_every or REALTIME["detect_every"]
    vfps = video_info(path)[1] or 25.0
    from workbench.pipeline import zoo

    settings = settings or Settings()
    side = zoo.embedder(settings.model).chip_side or 150
    parallel.submit_embed_chips([np.zeros((side, side, 3), np.uint8)] * 2, settings.model).result()  # pool, models
    make = lambda: LiveProcessor.realtime(settings, matrix, detect_every=detect_every)  # noqa: E731
    warm = make()
    for img in _frames(path, size, 3):
        warm.process(img)
    warm.flush()
    steps = runs + 2
    results = []
    for r in range(runs):
        proc = make()
        per: list[float] = []
        n = 0
        t_start = time.perf_counter()
        it = _frames(path, size, max_frames)
        while True:
            ta = time.perf_counter()
            img = next(it, None)
            if img is None:
                break
            proc.process(img)
            per.append((time.perf_counter() - ta) * 1000)
            n += 1
        proc.flush()
        results.append((n / (time.perf_counter() - t_start), per, proc.stats(), n))
        if progress:
            progress(r + 1, steps, f"run {r + 1}")
    results.sort(key=lambda x: x[0])
    fps, per, stats, n = results[len(results) // 2]
    # paced at the video's frame rate, for identity latency
    proc = make()
    t0 = time.perf_counter()
    arrival = []
    for i, img in enumerate(_frames(path, size, max_frames)):
        due = t0 + i / vfps
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        arrival.append(due)
        proc.process(img)
    proc.flush()
    first: dict[int, tuple[int, float]] = {}
    for tid, opened, _, t_done in proc.identified:
        first.setdefault(tid, (opened, t_done))
    lat = [(t_done - arrival[max(opened - (detect_every - 1), 0)]) * 1000 for opened, t_done in first.values()]
    if progress:
        progress(runs + 1, steps, "paced run")
    # the naive loop: DeepFace on every frame, then a search
    imgs = list(_frames(path, size, naive_frames))
    deepface_represent(rgb_to_bgr(imgs[0]))
    t0 = time.perf_counter()
    for img in imgs:
        v = deepface_represent(rgb_to_bgr(img))
        if v is not None and matrix is not None and matrix.model in ("", "Dlib"):  # the baseline is DeepFace's Dlib
            rank(v[None], matrix, metric="euclidean", threshold=0.6, top_k=1)
    naive_fps = len(imgs) / (time.perf_counter() - t0)
    if progress:
        progress(steps, steps, "naive loop")
    h, w = (size[1], size[0]) if size else imgs[0].shape[:2]
    det = [s.detect_ms for s in stats if s.detected]
    found = np.array([s.faces for s in stats if s.detected], float)
    p50, p95 = pcts(per)
    d50, d95 = pcts(det)
    return VideoBench(n, f"{w}x{h}", runs, round(fps, 1), p50, p95, d50, d95,
                      pcts([s.embed_ms for s in stats if s.embedded])[1],
                      pcts([s.search_ms for s in stats if s.search_ms])[1],
                      round(float(np.median(lat)), 1) if lat else None,
                      round(float(max(lat)), 1) if lat else None, len(lat), detect_every,
                      settings.detector, settings.model, round(float(found.mean()), 2) if found.size else 0.0,
                      round(float((found == 0).mean()), 3) if found.size else 0.0, round(vfps, 2), len(imgs), round(naive_fps, 2), round(fps / naive_fps, 1))
