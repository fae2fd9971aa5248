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
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from workbench.gallery import GalleryMatrix
from workbench.search import rank

if TYPE_CHECKING:
    from workbench.evaluate import Pair


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


# -- issue 5: enrolment, video and search at scale, against DeepFace in the same run ----------

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def _rss_mb() -> float:
    """Resident memory of this process in MB (Linux ``/proc``; 0 elsewhere)."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def _pcts(ms: list[float]) -> tuple[float, float]:
    if not ms:
        return 0.0, 0.0
    a = np.asarray(ms)
    return round(float(np.percentile(a, 50)), 3), round(float(np.percentile(a, 95)), 3)


def _pair_accuracy(vecs: dict[str, np.ndarray], pairs: list[Pair], threshold: float,
                   ) -> tuple[float | None, float | None]:
    """``(accuracy at threshold, best accuracy)`` on labelled pairs, ``vecs`` keyed by file
    name; a missing face decides "not same". ``None`` when there are no pairs."""
    from workbench.evaluate import best_threshold

    if not pairs:
        return None, None
    names = [(Path(p.a).name, Path(p.b).name) for p in pairs]
    d = np.array([float(np.linalg.norm(vecs[a] - vecs[b])) if a in vecs and b in vecs else 1e9 for a, b in names])
    same = np.array([p.same for p in pairs])
    return round(float(((d <= threshold) == same).mean()), 4), round(best_threshold(d, same)[1], 4)


def _quiet():
    """DeepFace logs to stdout; keep stdout clean for ``--json`` by sending it to stderr."""
    import contextlib
    import sys

    return contextlib.redirect_stdout(sys.stderr)


def deepface_represent(path_or_bgr: str | np.ndarray) -> np.ndarray | None:
    """DeepFace's own pipeline (``Dlib`` model, ``dlib`` detector): the largest face's vector."""
    from workbench import models

    models.prepare_deepface()
    from deepface import DeepFace

    try:
        with _quiet():
            out = DeepFace.represent(path_or_bgr, model_name="Dlib", detector_backend="dlib", enforce_detection=True)
    except ValueError:  # DeepFace's "Face could not be detected"
        return None
    best = max(out, key=lambda r: r["facial_area"]["w"] * r["facial_area"]["h"])
    return np.asarray(best["embedding"], np.float32)


@dataclass(frozen=True)
class EnrolBench:
    images: int
    runs: int
    workers: int
    seconds_per_image: float
    seconds_per_image_one_worker: float
    reenrol_seconds_per_image: float
    deepface_seconds_per_image: float
    deepface_images: int
    speedup_vs_deepface: float
    enrolled: int
    pairs: int
    pair_accuracy: float | None
    pair_accuracy_best: float | None
    deepface_pair_accuracy: float | None
    deepface_pair_accuracy_best: float | None


def bench_enrol(folder: str, *, runs: int = 3, workers: int | None = None, deepface_runs: int = 1,
                deepface_limit: int | None = None, progress: Callable[[int, int, str], None] | None = None,
                ) -> EnrolBench:
    """Enrol every image of ``folder`` into a fresh gallery (median of ``runs``), against
    ``DeepFace.represent`` with the same Dlib model on the same files, in the same run.

    Pair accuracy comes from ``master.csv`` in the folder when there is one (DeepFace's
    unit-test pairs), for both pipelines' vectors.
    """
    import tempfile

    from workbench import parallel
    from workbench.enrol import Source, enrol_sources
    from workbench.evaluate import read_pairs
    from workbench.gallery import GalleryDB
    from workbench.pipeline import Settings

    root = Path(folder)
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        from workbench.errors import WorkbenchError

        raise WorkbenchError(f"{folder}: no images to enrol")
    sources = [Source(str(f), f.stem, f) for f in files]
    workers = parallel.default_workers() if workers is None else workers
    pairs = read_pairs(root / "master.csv") if (root / "master.csv").is_file() else []
    settings = Settings()
    steps = runs + 2 + deepface_runs
    tick = (lambda i, label: progress(i, steps, label)) if progress else (lambda i, label: None)
    with tempfile.TemporaryDirectory() as tmp:
        with GalleryDB(Path(tmp) / "warm.duckdb") as db:  # start the pool and load its models
            enrol_sources(db, "warm", sources[: max(parallel.MIN_PARALLEL, workers) * 2], workers=workers)
        times, reenrol = [], []
        for r in range(runs):
            with GalleryDB(Path(tmp) / f"run{r}.duckdb") as db:
                t0 = time.perf_counter()
                rep = enrol_sources(db, "bench", sources, settings, workers=workers)
                times.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                enrol_sources(db, "bench", sources, settings, workers=workers)  # every hash known
                reenrol.append(time.perf_counter() - t0)
                faces = db.faces("bench", with_embeddings=True)
            tick(r + 1, f"run {r + 1}")
        ours = {Path(p).name: np.asarray(e, np.float32)
                for p, e in zip(faces["source_path"].to_list(), faces["embedding"].to_list())}
        with GalleryDB(Path(tmp) / "one.duckdb") as db:
            enrol_sources(db, "w", sources[:1], workers=1)  # load the models here
            t0 = time.perf_counter()
            enrol_sources(db, "bench", sources, settings, workers=1)
            one = time.perf_counter() - t0
        tick(runs + 1, "one worker")
    df_files = files[: deepface_limit or len(files)]
    deepface_represent(str(df_files[0]))  # build DeepFace's models outside the timing
    df_times, theirs = [], {}
    for r in range(max(deepface_runs, 1)):
        t0 = time.perf_counter()
        for f in df_files:
            v = deepface_represent(str(f))
            if v is not None:
                theirs[f.name] = v
        df_times.append(time.perf_counter() - t0)
        tick(runs + 2 + r, f"DeepFace run {r + 1}")
    spi = statistics.median(times) / len(files)
    df_spi = statistics.median(df_times) / len(df_files)
    acc, best = _pair_accuracy(ours, pairs, settings.threshold_)
    df_pairs = [p for p in pairs if {Path(p.a).name, Path(p.b).name} <= {f.name for f in df_files}]
    df_acc, df_best = _pair_accuracy(theirs, df_pairs, settings.threshold_)
    return EnrolBench(len(files), runs, workers, round(spi, 4), round(one / len(files), 4),
                      round(statistics.median(reenrol) / len(files), 5), round(df_spi, 4), len(df_files),
                      round(df_spi / spi, 2), rep.enrolled, len(pairs), acc, best, df_acc, df_best)


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
    video_fps: float
    naive_frames: int
    naive_fps: float
    speedup_vs_naive: float


def _frames(path: str, size: tuple[int, int] | None, max_frames: int | None) -> Iterator[np.ndarray]:
    import cv2

    from workbench.capture import iter_frames

    for f in iter_frames(path, max_frames=max_frames):
        yield f.image if size is None else cv2.resize(f.image, size, interpolation=cv2.INTER_AREA)


def bench_video(path: str, matrix: GalleryMatrix | None, *, runs: int = 3, detect_every: int = 2,
                size: tuple[int, int] | None = None, max_frames: int | None = None, naive_frames: int = 20,
                progress: Callable[[int, int, str], None] | None = None) -> VideoBench:
    """Decode -> detect -> track -> embed new faces -> search -> draw, on every frame of a video.

    ``fps`` and the per-frame percentiles come from runs as fast as possible (median run);
    identity latency from one more run paced at the video's own frame rate, as a camera
    would deliver it: from the arrival of the first frame a face could have been seen in
    (``detect_every - 1`` frames before the detection that opened its track) to its name.
    The naive loop is ``DeepFace.represent`` + search on every frame, timed on
    ``naive_frames`` frames of the same video in the same run.
    """
    from workbench import parallel
    from workbench.capture import rgb_to_bgr, video_info
    from workbench.live import LiveProcessor
    from workbench.pipeline import Settings
    from workbench.search import rank

    vfps = video_info(path)[1] or 25.0
    settings = Settings()
    parallel.submit_embed_chips([np.zeros((150, 150, 3), np.uint8)] * 2, "Dlib").result()  # pool and models up
    make = lambda: LiveProcessor(settings=settings, matrix=matrix, detect_every=detect_every, upsample=0,  # noqa: E731
                                 embed_async=True, recheck_every=60)
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
        if v is not None and matrix is not None:
            rank(v[None], matrix, metric=settings.metric_, threshold=settings.threshold_, top_k=1)
    naive_fps = len(imgs) / (time.perf_counter() - t0)
    if progress:
        progress(steps, steps, "naive loop")
    h, w = (size[1], size[0]) if size else imgs[0].shape[:2]
    det = [s.detect_ms for s in stats if s.detected]
    p50, p95 = _pcts(per)
    d50, d95 = _pcts(det)
    return VideoBench(n, f"{w}x{h}", runs, round(fps, 1), p50, p95, d50, d95,
                      _pcts([s.embed_ms for s in stats if s.embedded])[1],
                      _pcts([s.search_ms for s in stats if s.search_ms])[1],
                      round(float(np.median(lat)), 1) if lat else None,
                      round(float(max(lat)), 1) if lat else None, len(lat), detect_every,
                      round(vfps, 2), len(imgs), round(naive_fps, 2), round(fps / naive_fps, 1))
