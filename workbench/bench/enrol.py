"""``workbench bench enrol``: our enrolment against ``DeepFace.represent`` on the same photos."""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from workbench.bench.common import quiet
from workbench.pipeline import Settings
from workbench.pipeline.capture import is_image

if TYPE_CHECKING:
    from workbench.evaluation.runners.verification import Pair


def _pair_accuracy(vecs: dict[str, np.ndarray], pairs: list[Pair], threshold: float, metric: str = "euclidean",
                   ) -> tuple[float | None, float | None]:
    """``(accuracy at threshold, best accuracy)`` on labelled pairs, ``vecs`` keyed by file
    name, distances under ``metric`` (the model's); a missing face decides "not same". ``None``
    when there are no pairs."""
    from workbench.evaluation.runners.verification import best_threshold
    from workbench.pipeline.compare import distances

    if not pairs:
        return None, None
    names = [(Path(p.a).name, Path(p.b).name) for p in pairs]
    d = np.array([float(distances(vecs[a][None], vecs[b][None], metric)[0, 0]) if a in vecs and b in vecs else 1e9
                  for a, b in names])
    same = np.array([p.same for p in pairs])
    return round(float(((d <= threshold) == same).mean()), 4), round(best_threshold(d, same)[1], 4)



#: The DeepFace pipeline timed beside ours: its ``Dlib`` model with its ``dlib`` detector, whichever
#: model ours runs. (DeepFace's own SFace fetches its weights from the network on first use, which
#: an offline workbench refuses: there is no DeepFace SFace to time against.)
DEEPFACE_MODEL, DEEPFACE_DETECTOR = "Dlib", "dlib"
DEEPFACE_SFACE_NOTE = ("DeepFace's own SFace needs a weights download that does not work offline, so the "
                       "ratio is against DeepFace Dlib, not SFace against SFace")


def deepface_represent(path_or_bgr: str | np.ndarray) -> np.ndarray | None:
    """DeepFace's own pipeline (:data:`DEEPFACE_MODEL` model, :data:`DEEPFACE_DETECTOR` detector): the
    largest face's vector."""
    from workbench.pipeline import models

    models.prepare_deepface()
    from deepface import DeepFace

    try:
        with quiet():
            out = DeepFace.represent(path_or_bgr, model_name=DEEPFACE_MODEL, detector_backend=DEEPFACE_DETECTOR,
                                     enforce_detection=True)
    except ValueError:  # DeepFace's "Face could not be detected"
        return None
    best = max(out, key=lambda r: r["facial_area"]["w"] * r["facial_area"]["h"])
    return np.asarray(best["embedding"], np.float32)


@dataclass(frozen=True)
class StageCosts:
    """Where one photo's enrolment time goes: CPU milliseconds per photo of each stage (CPU, not
    wall-clock time, so the split holds on a busy machine), one photo at a time in this process.

    ``embed_ms`` embeds each photo's faces in one call, as enrolment does. ``detect_side`` says at
    what size photos are searched.
    """

    photos: int
    faces: int
    detect_side: str
    decode_ms: float
    detect_ms: float
    gate_ms: float
    align_ms: float
    embed_ms: float
    thumbnail_ms: float


def stage_costs(files: list[Path], settings: Settings) -> StageCosts:
    """CPU time per photo of each stage of :func:`workbench.pipeline.parallel.analyse_sources` on
    ``files`` (models loaded first, untimed)."""
    from workbench.pipeline import capture, detect, embed, quality, zoo

    zoo.detector(settings.detector).warm_up()
    zoo.embedder(settings.model).warm_up()
    cpu = time.process_time
    t = dict.fromkeys(("decode", "detect", "gate", "align", "embed", "thumbnail"), 0.0)
    faces = 0
    for f in files:
        data = capture.read_bytes(f)
        c = cpu()
        try:
            image = capture.load_image(data, name=str(f))
        except Exception:  # noqa: BLE001 - an unreadable photo costs its failed decode only
            t["decode"] += cpu() - c
            continue
        c1 = cpu()
        dets = detect.detect_faces(image, settings.detector, upsample=settings.upsample, max_side=settings.max_side)
        c2 = cpu()
        kept = [d for d in dets if quality.assess(image, d, settings.gate_).accepted]
        c3 = cpu()
        chips = embed.aligned_chips(image, kept, model=settings.model) if embed.takes_chips(settings.model) else []
        c4 = cpu()
        if kept:
            embed.embed_chips(chips, settings.model) if chips else embed.embed_faces(image, kept, settings.model)
        c5 = cpu()
        for d in kept[:1]:
            capture.thumbnail(image, d.box)
        c6 = cpu()
        for k, v in zip(t, (c1 - c, c2 - c1, c3 - c2, c4 - c3, c5 - c4, c6 - c5)):
            t[k] += v
        faces += len(kept)
    side = f"long side capped at {settings.max_side} px" if settings.max_side else "full size"
    n = max(len(files), 1)
    return StageCosts(len(files), faces, side, *(round(v * 1000 / n, 2) for v in t.values()))


@dataclass(frozen=True)
class EnrolBench:
    images: int
    runs: int
    workers: int
    detector: str
    model: str
    seconds_per_image: float
    photos_per_second: float
    seconds_per_image_one_worker: float
    photos_per_second_one_worker: float
    reenrol_seconds_per_image: float
    #: CPU ms per photo during the timed runs: this process (hashing, the database write, the
    #: results coming back) and the worker processes (the analyses)
    parent_cpu_ms_per_image: float
    workers_cpu_ms_per_image: float
    #: wall seconds to start the worker pool and load its models (not in the per-photo figures)
    startup_s: float
    deepface_model: str
    deepface_detector: str
    deepface_note: str
    deepface_seconds_per_image: float
    deepface_images: int
    speedup_vs_deepface: float
    enrolled: int
    pairs: int
    pair_metric: str
    pair_threshold: float
    pair_accuracy: float | None
    pair_accuracy_best: float | None
    deepface_pair_accuracy: float | None
    deepface_pair_accuracy_best: float | None
    stages: StageCosts | None
    load_average: tuple[float, float, float]


def _cpu(pids: list[int]) -> tuple[float, float]:
    """CPU seconds (user + system) of this process, and of the processes ``pids``."""
    import psutil

    def of(p: psutil.Process) -> float:
        try:
            return sum(p.cpu_times()[:2])
        except psutil.Error:
            return 0.0

    return of(psutil.Process()), sum(of(psutil.Process(pid)) for pid in pids)


def bench_enrol(folder: str, *, runs: int = 3, workers: int | None = None, deepface_runs: int = 1,
                deepface_limit: int | None = None, settings: Settings | None = None, stages: bool = True,
                progress: Callable[[int, int, str], None] | None = None) -> EnrolBench:
    """Enrol every image of ``folder`` into a fresh gallery (median of ``runs``) with ``settings``'
    detector and model, beside one worker, and against ``DeepFace.represent`` (its Dlib model:
    :data:`DEEPFACE_SFACE_NOTE`) on the same files, in the same run; with ``stages``, where the
    time goes (:func:`stage_costs`).

    Pair accuracy comes from ``master.csv`` in the folder when there is one (DeepFace's
    unit-test pairs), for both pipelines' vectors.
    """
    import tempfile

    import psutil

    from workbench.evaluation.runners.verification import read_pairs
    from workbench.pipeline import parallel
    from workbench.search.enrol import Source, enrol_sources
    from workbench.store import Store

    settings = settings or Settings()
    root = Path(folder)
    files = sorted(p for p in root.iterdir() if is_image(p))
    if not files:
        from workbench.errors import WorkbenchError

        raise WorkbenchError(f"{folder}: no images to enrol")
    sources = [Source(str(f), f.stem, f) for f in files]
    workers = parallel.default_workers() if workers is None else workers
    pairs = read_pairs(root / "master.csv") if (root / "master.csv").is_file() else []
    steps = runs + 2 + deepface_runs + int(stages)
    tick = (lambda i, label: progress(i, steps, label)) if progress else (lambda i, label: None)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        with Store(Path(tmp) / "warm.duckdb") as db:  # start the pool and load its models
            enrol_sources(db, "warm", sources[: max(parallel.MIN_PARALLEL, workers) * 2], settings, workers=workers)
        startup = time.perf_counter() - t0
        pool = [p.pid for p in psutil.Process().children(recursive=True)]
        times, reenrol, parent_cpu, worker_cpu = [], [], [], []
        for r in range(runs):
            with Store(Path(tmp) / f"run{r}.duckdb") as db:
                c0 = _cpu(pool)
                t0 = time.perf_counter()
                rep = enrol_sources(db, "bench", sources, settings, workers=workers)
                times.append(time.perf_counter() - t0)
                c1 = _cpu(pool)
                parent_cpu.append(c1[0] - c0[0])
                worker_cpu.append(c1[1] - c0[1])
                t0 = time.perf_counter()
                enrol_sources(db, "bench", sources, settings, workers=workers)  # every hash known
                reenrol.append(time.perf_counter() - t0)
                faces = db.vectors.table("bench", settings.model)
            tick(r + 1, f"run {r + 1}")
        ours = {Path(p).name: np.asarray(e, np.float32)
                for p, e in zip(faces["source_path"].to_list(), faces["embedding"].to_list())}
        with Store(Path(tmp) / "one.duckdb") as db:
            enrol_sources(db, "w", sources[:1], settings, workers=1)  # load the models here
            t0 = time.perf_counter()
            enrol_sources(db, "bench", sources, settings, workers=1)
            one = time.perf_counter() - t0
        tick(runs + 1, "one worker")
    costs = None
    if stages:
        costs = stage_costs(files, settings)
        tick(runs + 2, "stages")
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
        tick(runs + 2 + int(stages) + r, f"DeepFace run {r + 1}")
    n = len(files)
    spi = statistics.median(times) / n
    df_spi = statistics.median(df_times) / len(df_files)
    acc, best = _pair_accuracy(ours, pairs, settings.threshold_, settings.metric_)
    df_pairs = [p for p in pairs if {Path(p.a).name, Path(p.b).name} <= {f.name for f in df_files}]
    theirs_settings = Settings(model=DEEPFACE_MODEL)  # DeepFace's vectors are judged as the workbench's Dlib ones
    df_acc, df_best = _pair_accuracy(theirs, df_pairs, theirs_settings.threshold_, theirs_settings.metric_)
    note = "" if settings.model == DEEPFACE_MODEL else DEEPFACE_SFACE_NOTE.replace("SFace", settings.model)
    return EnrolBench(n, runs, workers, settings.detector, settings.model, round(spi, 4), round(1 / spi, 2),
                      round(one / n, 4), round(n / one, 2), round(statistics.median(reenrol) / n, 5),
                      round(statistics.median(parent_cpu) * 1000 / n, 1), round(statistics.median(worker_cpu) * 1000 / n, 1),
                      round(startup, 2), DEEPFACE_MODEL, DEEPFACE_DETECTOR, note, round(df_spi, 4), len(df_files),
                      round(df_spi / spi, 2), rep.enrolled, len(pairs), settings.metric_, settings.threshold_, acc, best,
                      df_acc, df_best, costs, tuple(round(x, 2) for x in os.getloadavg()))

