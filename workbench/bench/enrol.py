"""``workbench bench enrol``: our enrolment against ``DeepFace.represent`` on the same photos."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from workbench.bench.common import quiet
from workbench.pipeline.capture import is_image

if TYPE_CHECKING:
    from workbench.evaluation.runners.verification import Pair


def _pair_accuracy(vecs: dict[str, np.ndarray], pairs: list[Pair], threshold: float,
                   ) -> tuple[float | None, float | None]:
    """``(accuracy at threshold, best accuracy)`` on labelled pairs, ``vecs`` keyed by file
    name; a missing face decides "not same". ``None`` when there are no pairs."""
    from workbench.evaluation.runners.verification import best_threshold

    if not pairs:
        return None, None
    names = [(Path(p.a).name, Path(p.b).name) for p in pairs]
    d = np.array([float(np.linalg.norm(vecs[a] - vecs[b])) if a in vecs and b in vecs else 1e9 for a, b in names])
    same = np.array([p.same for p in pairs])
    return round(float(((d <= threshold) == same).mean()), 4), round(best_threshold(d, same)[1], 4)



def deepface_represent(path_or_bgr: str | np.ndarray) -> np.ndarray | None:
    """DeepFace's own pipeline (``Dlib`` model, ``dlib`` detector): the largest face's vector."""
    from workbench.pipeline import models

    models.prepare_deepface()
    from deepface import DeepFace

    try:
        with quiet():
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
    """Enrol every image of ``folder`` into a fresh gallery (median of ``runs``), with hog + Dlib (the
    2017 comparison pair, not the default), against ``DeepFace.represent`` with the same Dlib model on
    the same files, in the same run.

    Pair accuracy comes from ``master.csv`` in the folder when there is one (DeepFace's
    unit-test pairs), for both pipelines' vectors.
    """
    import tempfile

    from workbench.evaluation.runners.verification import read_pairs
    from workbench.pipeline import Settings, parallel, zoo
    from workbench.search.enrol import Source, enrol_sources
    from workbench.store import Store

    root = Path(folder)
    files = sorted(p for p in root.iterdir() if is_image(p))
    if not files:
        from workbench.errors import WorkbenchError

        raise WorkbenchError(f"{folder}: no images to enrol")
    sources = [Source(str(f), f.stem, f) for f in files]
    workers = parallel.default_workers() if workers is None else workers
    pairs = read_pairs(root / "master.csv") if (root / "master.csv").is_file() else []
    # hog + Dlib, not the default: the same model as DeepFace's side, and the pairs' euclidean distances
    settings = Settings(detector=zoo.COMPARISON_DETECTOR, model=zoo.COMPARISON_MODEL)
    steps = runs + 2 + deepface_runs
    tick = (lambda i, label: progress(i, steps, label)) if progress else (lambda i, label: None)
    with tempfile.TemporaryDirectory() as tmp:
        with Store(Path(tmp) / "warm.duckdb") as db:  # start the pool and load its models
            enrol_sources(db, "warm", sources[: max(parallel.MIN_PARALLEL, workers) * 2], settings, workers=workers)
        times, reenrol = [], []
        for r in range(runs):
            with Store(Path(tmp) / f"run{r}.duckdb") as db:
                t0 = time.perf_counter()
                rep = enrol_sources(db, "bench", sources, settings, workers=workers)
                times.append(time.perf_counter() - t0)
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


