"""Benchmarks, run by hand (`workbench bench ...`), reported as ratios to a baseline timed in
the same run: these machines are shared and noisy, so absolute times mean little.

* ``search``: vectorised exact top-k (:func:`workbench.search.rank`) against a plain Python
  loop over the gallery rows, at several gallery sizes.
* ``detect``: HOG detection at full resolution against the automatic downscaling.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, replace
from typing import Callable, Iterator

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


def _pair_accuracy(vecs: dict[str, np.ndarray], pairs: list[tuple[str, str, bool]], threshold: float) -> tuple[float, float]:
    """``(accuracy at threshold, best accuracy)`` on labelled pairs; a missing face decides "not same"."""
    from workbench.evaluate import best_threshold

    if not pairs:
        return float("nan"), float("nan")
    d = np.array([float(np.linalg.norm(vecs[a] - vecs[b])) if a in vecs and b in vecs else 1e9
                  for a, b, _ in pairs])
    same = np.array([s for *_, s in pairs])
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
    pair_accuracy: float
    pair_accuracy_best: float
    deepface_pair_accuracy: float
    deepface_pair_accuracy_best: float


def bench_enrol(folder: str, *, runs: int = 3, workers: int | None = None, deepface_runs: int = 1,
                deepface_limit: int | None = None, progress: Callable[[int, int, str], None] | None = None,
                ) -> EnrolBench:
    """Enrol every image of ``folder`` into a fresh gallery (median of ``runs``), against
    ``DeepFace.represent`` with the same Dlib model on the same files, in the same run.

    Pair accuracy comes from ``master.csv`` in the folder when there is one (DeepFace's
    unit-test pairs), for both pipelines' vectors.
    """
    import tempfile
    from pathlib import Path

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
    df_pairs = [p for p in pairs if {p[0], p[1]} <= {f.name for f in df_files}]
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
    identity_latency_ms: float
    identity_latency_max_ms: float
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
                      round(float(np.median(lat)), 1) if lat else float("nan"),
                      round(float(max(lat)), 1) if lat else float("nan"), len(lat), detect_every,
                      round(vfps, 2), len(imgs), round(naive_fps, 2), round(fps / naive_fps, 1))


@dataclass(frozen=True)
class IndexBench:
    size: int
    kind: str
    p50_ms: float
    p95_ms: float
    recall_at_10: float
    match_recall: float
    ram_mb: float
    index_mb: float
    build_s: float
    cold_start_s: float
    params: str
    queries: int


#: DuckDB's own cache while benchmarks read millions of vectors (its default is 80 % of RAM).
MEMORY_LIMIT = "4GB"


def synthetic_db(size: int, workdir: str, *, seed: int = 0, queries: int = 200,
                 progress: Callable[[int, int, str], None] | None = None) -> tuple[str, np.ndarray, float]:
    """A DuckDB gallery ``synthetic`` of ``size`` clustered faces (see :mod:`workbench.synthetic`),
    reused when it already exists in ``workdir``; returns ``(db path, probe vectors, insert seconds)``."""
    from pathlib import Path

    from workbench import synthetic
    from workbench.gallery import GalleryDB

    base = Path(workdir) / f"synthetic-{size}-s{seed}"
    db_path, q_path = base.with_suffix(".duckdb"), base.with_suffix(".queries.npy")
    if db_path.is_file() and q_path.is_file():
        return str(db_path), np.load(q_path), 0.0
    db_path.unlink(missing_ok=True)
    qs = []
    t0 = time.perf_counter()
    with GalleryDB(db_path) as db:
        db.cursor().execute(f"SET memory_limit = '{MEMORY_LIMIT}'")  # leave RAM to the vectors (and to others)
        for c in synthetic.clustered(size, seed=seed, queries=queries):
            db.add_vectors_bulk("synthetic", c.people, c.person_index, c.vectors, sha_prefix=f"{len(qs)}:")
            qs.append(c.queries)
            if progress:
                progress(min(len(qs) * 500_000, size), size, "writing the synthetic gallery")
    q = np.vstack(qs)
    np.save(q_path, q)
    return str(db_path), q, time.perf_counter() - t0


def _time_queries(gi, q: np.ndarray, k: int = 10) -> tuple[list[float], np.ndarray, np.ndarray]:
    ms, ids, dist = [], [], []
    for row in q:
        t0 = time.perf_counter()
        d, i = gi.search(row[None], k)
        ms.append((time.perf_counter() - t0) * 1000)
        ids.append(i[0])
        dist.append(d[0])
    return ms, np.asarray(ids), np.asarray(dist)


def _match_recall(truth_ids: np.ndarray, truth_d: np.ndarray, found: np.ndarray, threshold: float) -> float:
    """Share of the exact results under the match threshold that the index also returned."""
    want = [set(t[d <= threshold]) for t, d in zip(truth_ids, truth_d)]
    total = sum(len(w) for w in want)
    return round(sum(len(w & set(f)) for w, f in zip(want, found)) / total, 4) if total else 1.0


#: Query-time settings tried in order until recall@10 reaches the target on the tuning half.
SWEEP = {"ivf": ("nprobe", (8, 16, 32, 64, 128, 256, 512)), "ivf_sq8": ("nprobe", (8, 16, 32, 64, 128, 256, 512)),
         "hnsw": ("ef_search", (32, 64, 128, 256, 512, 1024)), "sq8": (None, (None,))}


def bench_search_scale(size: int, *, kinds: tuple[str, ...] = ("exact",), workdir: str, seed: int = 0,
                       queries: int = 200, target_recall: float = 0.98,
                       progress: Callable[[int, int, str], None] | None = None) -> list[IndexBench]:
    """Exact and approximate top-10 over a synthetic clustered gallery stored in DuckDB.

    For each kind: build time (from the DuckDB file), process memory growth, estimated index
    size, cold start (a new connection to the file -> index ready, loading a saved index when
    there is one), and per-query latency percentiles over single-vector queries. Approximate
    kinds are tuned (``nprobe`` / ``efSearch``) on half of the probes until recall@10 reaches
    ``target_recall`` and measured on the other half. ``match_recall`` counts only exact
    results under the Dlib match threshold (0.6): the faces a search would call a match.
    """
    import gc

    from workbench import index
    from workbench.gallery import GalleryDB

    db_path, q, _ = synthetic_db(size, workdir, seed=seed, queries=queries, progress=progress)
    tune, test = q[: len(q) // 2], q[len(q) // 2:]
    rows: list[IndexBench] = []
    with GalleryDB(db_path, read_only=True) as db:
        db.cursor().execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        rss0 = _rss_mb()
        t0 = time.perf_counter()
        exact = index.build(db, "synthetic", "exact")
        cold = time.perf_counter() - t0
        ram = _rss_mb() - rss0
        _time_queries(exact, test[:5])  # first touches
        ms, truth, truth_d = _time_queries(exact, test)
        _, tune_truth, _ = _time_queries(exact, tune)
        p50, p95 = _pcts(ms)
        rows.append(IndexBench(size, "exact", p50, p95, 1.0, 1.0, round(ram, 1), round(exact.nbytes() / 2**20, 1),
                               round(exact.build_s, 2), round(cold, 2), "float32 matmul + argpartition", len(test)))
        index.save(db, exact)  # the cached copy (.npy beside the database) and its cold start
        saved_ids = exact.index.ids
        del exact
        gc.collect()
        t0 = time.perf_counter()
        exact = index.load(db, "synthetic", "exact", build_missing=False)
        cold_cached = time.perf_counter() - t0
        same = bool(np.array_equal(exact.index.ids, saved_ids))
        rows.append(replace(rows[-1], cold_start_s=round(cold_cached, 2),
                            params=f"cached .npy copy, checked against the database ({'same ids' if same else 'STALE'})"))
        if progress:
            progress(1, len(kinds) + 1, "exact")
        if "exact" not in kinds:
            del rows[:]
        del exact
        gc.collect()
    for n, kind in enumerate(k for k in kinds if k != "exact"):
        with GalleryDB(db_path, read_only=True) as db:
            index.index_path(db, "synthetic", kind).unlink(missing_ok=True)
            rss0 = _rss_mb()
            gi = index.build(db, "synthetic", kind)
            ram = _rss_mb() - rss0
            index.save(db, gi)
        knob, values = SWEEP[kind]
        chosen = None
        for v in values:
            if knob:
                setattr(gi.index, knob, v)
                gi.index.tune()
            _, found, _ = _time_queries(gi, tune)
            chosen = v
            if index.recall_at_k(tune_truth, found) >= target_recall:
                break
        build_s = gi.build_s + gi.load_s
        del gi
        gc.collect()
        with GalleryDB(db_path, read_only=True) as db:  # cold start: file -> saved index -> synced
            t0 = time.perf_counter()
            gi = index.load(db, "synthetic", kind, build_missing=False)
            cold = time.perf_counter() - t0
            if knob:
                setattr(gi.index, knob, chosen)
                gi.index.tune()
            _time_queries(gi, test[:5])
            ms, found, _ = _time_queries(gi, test)
        p50, p95 = _pcts(ms)
        params = f"{knob}={chosen}" if knob else "8-bit codes"
        if kind.startswith("ivf"):
            params = f"nlist={gi.index.nlist}, {params}"
        rows.append(IndexBench(size, kind, p50, p95, round(index.recall_at_k(truth, found), 4),
                               _match_recall(truth, truth_d, found, 0.6), round(ram, 1),
                               round(gi.nbytes() / 2**20, 1), round(build_s, 2), round(cold, 2), params, len(test)))
        del gi
        gc.collect()
        if progress:
            progress(n + 2, len(kinds) + 1, kind)
    return rows


@dataclass(frozen=True)
class FindBench:
    gallery_size: int
    deepface_find_ms: float
    deepface_represent_ms: float
    deepface_search_ms: float
    ours_embed_ms: float
    ours_search_ms: float
    speedup_end_to_end: float
    speedup_search: float


def bench_deepface_find(size: int = 10_000, *, repeat: int = 3, seed: int = 0) -> FindBench:
    """``DeepFace.find`` against this workbench on the same ``size`` synthetic Dlib vectors.

    DeepFace.find reads its vectors from a datastore file it writes next to a folder of
    images. To give it exactly our gallery without ``size`` photos, the datastore is written
    with DeepFace's own serialiser from the synthetic vectors, and ``find`` runs with
    ``refresh_database=False`` (it trusts the file) on one aligned 150 x 150 face chip with
    ``detector_backend='skip'``; so both sides do the same work: embed one face, rank the
    gallery. DeepFace's search share is its ``find`` time minus ``represent`` on the same chip.
    """
    import tempfile

    from workbench import models, synthetic
    from workbench.embed import embed_chips
    from workbench.index import ExactIndex

    models.prepare_deepface()
    from deepface import DeepFace
    from deepface.modules import recognition

    chunk = next(synthetic.clustered(size, seed=seed, queries=1, chunk=size))
    vecs = chunk.vectors
    chip = np.random.default_rng(seed).integers(0, 255, (150, 150, 3), dtype=np.uint8)
    bgr = np.ascontiguousarray(chip[:, :, ::-1])
    with tempfile.TemporaryDirectory() as tmp:
        reps = [{"identity": f"{tmp}/{chunk.people[p]}_{i}.jpg", "hash": "", "embedding": v.tolist(),
                 "target_x": 0, "target_y": 0, "target_w": 150, "target_h": 150}
                for i, (p, v) in enumerate(zip(chunk.person_index, vecs))]
        name = "ds_model_dlib_detector_skip_aligned_normalization_base_expand_0.npz"
        store = recognition.build_file_store(tmp)
        getattr(recognition, "__save_representations")(store=store, datastore_path=store.join(name),
                                                       representations=reps, datastore_format="npz")
        kw = dict(db_path=tmp, model_name="Dlib", detector_backend="skip", distance_metric="euclidean",
                  refresh_database=False, silent=True, k=10, enforce_detection=False, return_type="pandas")
        with _quiet():
            DeepFace.find(bgr, **kw)
            find_ms = _median_ms(lambda: DeepFace.find(bgr, **kw), repeat)
            rep_ms = _median_ms(lambda: DeepFace.represent(bgr, model_name="Dlib", detector_backend="skip",
                                                           enforce_detection=False), repeat)
    ex = ExactIndex(np.arange(size, dtype=np.int64), vecs)
    embed_chips([chip])
    emb_ms = _median_ms(lambda: embed_chips([chip]), repeat)
    q = embed_chips([chip])
    search_ms = _median_ms(lambda: ex.search(q, 10), max(repeat, 5))
    df_search = max(find_ms - rep_ms, 1e-3)
    return FindBench(size, round(find_ms, 2), round(rep_ms, 2), round(df_search, 2), round(emb_ms, 2),
                     round(search_ms, 3), round(find_ms / (emb_ms + search_ms), 1), round(df_search / search_ms, 1))
