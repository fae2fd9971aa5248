"""``workbench bench watch``: N cameras at once (copies of one clip at its own frame rate), on
threads and through a local Ray cluster, plus what one camera costs in CPU per frame size.

Per camera: frames processed per second, frames dropped (a camera does not wait), identity
latency p50/p95 (from the frame a face could first be seen in to its name), and the sightings
written per second; on threads, on a process per camera, and through Ray. Baselines in the
same run: the plain live loop of ``bench video`` on the same clip (one camera, as fast as
possible), and the process runner (the same shape of work without Ray) for Ray's overhead.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from workbench.live.cameras import parse_sources
from workbench.live.watch import Watch, WatchOptions
from workbench.pipeline import Settings
from workbench.store import Store


@dataclass(frozen=True)
class WatchRun:
    runner: str
    cameras: int
    seconds: float
    fps_per_camera: list[float]
    dropped_per_camera: list[int]
    latency_p50_ms: list[float | None]
    latency_p95_ms: list[float | None]
    sightings: int
    sightings_per_s: float
    load_before: float
    load_after: float

    @property
    def min_fps(self) -> float:
        return min(self.fps_per_camera) if self.fps_per_camera else 0.0


@dataclass(frozen=True)
class CpuCost:
    frame_size: str
    frames: int
    video_s: float
    cpu_s: float
    cores_per_camera: float  # CPU seconds per second of video: cores one real-time camera needs


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _cpu_seconds(pids: set[int]) -> float:
    """CPU seconds of this process and of the given children (the embedding workers)."""
    import psutil

    total = sum(psutil.Process().cpu_times()[:2])
    for pid in pids:
        try:
            total += sum(psutil.Process(pid).cpu_times()[:2])
        except psutil.Error:
            pass
    return total


def _watch(db: Store, clip: Path, n: int, *, runner: str, fast: bool, max_frames: int | None,
           settings: Settings) -> tuple[object, float]:
    specs = parse_sources([f"cam{i + 1}={clip}" for i in range(n)])
    opts = WatchOptions("bench", settings, fast=fast, restart=True, max_frames=max_frames)
    t0 = time.perf_counter()
    summary = Watch(db, specs, opts, runner=runner).run()
    return summary, time.perf_counter() - t0


def _run(db: Store, clip: Path, n: int, runner: str, max_frames: int | None, settings: Settings) -> WatchRun:
    before = _load()
    s, seconds = _watch(db, clip, n, runner=runner, fast=False, max_frames=max_frames, settings=settings)
    cams = [c.as_dict() for c in s.cameras]
    return WatchRun(runner, n, round(seconds, 2), [c["fps"] for c in cams], [c["dropped"] for c in cams],
                    [c["identity_latency_p50_ms"] for c in cams], [c["identity_latency_p95_ms"] for c in cams],
                    s.sightings, round(s.sightings / seconds, 3) if seconds > 0 else 0.0, before, _load())


def _resized(clip: Path, size: tuple[int, int], out: Path, max_frames: int | None) -> Path:
    import cv2

    from workbench.pipeline.capture import iter_frames, video_info

    fps = video_info(clip)[1] or 25.0
    w = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for f in iter_frames(clip, max_frames=max_frames):
        w.write(cv2.cvtColor(cv2.resize(f.image, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR))
    w.release()
    return out


def cpu_cost(db: Store, clip: Path, size: tuple[int, int], workdir: Path, max_frames: int | None,
             settings: Settings) -> CpuCost:
    """CPU seconds (this process and its embedding workers) per second of video, one camera,
    every frame processed (``--fast``): the cores a real-time camera of this size needs."""
    from workbench.pipeline.capture import video_info

    import psutil

    sized = _resized(clip, size, workdir / f"clip-{size[0]}x{size[1]}.mp4", max_frames)
    frames, fps = video_info(sized)
    workers = {p.pid for p in psutil.Process().children(recursive=True)}  # the pool: alive before and after
    c0 = _cpu_seconds(workers)
    s, _ = _watch(db, sized, 1, runner="local", fast=True, max_frames=max_frames, settings=settings)
    cpu = _cpu_seconds(workers) - c0
    n = s.cameras[0].frames
    video_s = n / (fps or 25.0)
    return CpuCost(f"{size[0]}x{size[1]}", n, round(video_s, 2), round(cpu, 2),
                   round(cpu / video_s, 3) if video_s else 0.0)


def plain_loop_fps(clip: Path, matrix, settings: Settings, max_frames: int | None) -> float:
    """``bench video``'s measure: the real-time preset on every frame, as fast as possible."""
    from workbench.live import LiveProcessor
    from workbench.pipeline.capture import iter_frames

    warm = LiveProcessor.realtime(settings, matrix)
    for f in iter_frames(clip, max_frames=3):  # models loaded, buffers allocated: not timed
        warm.process(f.image)
    warm.flush()
    proc = LiveProcessor.realtime(settings, matrix)
    t0 = time.perf_counter()
    n = 0
    for f in iter_frames(clip, max_frames=max_frames):
        proc.process(f.image)
        n += 1
    proc.flush()
    return round(n / (time.perf_counter() - t0), 2)


def bench_watch(clip: str | os.PathLike, *, cameras: list[int], ray: bool = False, max_frames: int | None = None,
                sizes: list[tuple[int, int]] = (), gallery_folder: str | os.PathLike | None = None,
                progress: Callable[[int, int, str], None] | None = None) -> dict:
    """Everything above in one run; returns a strict-JSON-ready dict (see the module docstring)."""
    from workbench.pipeline import parallel
    from workbench.search.enrol import demo_folder, enrol_path

    settings = Settings()
    clip = Path(clip)
    steps = 2 + len(cameras) * (3 if ray else 2) + len(sizes)
    done = 0

    def step(label: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, steps, label)

    parallel.submit_embed_chips([np.zeros((150, 150, 3), np.uint8)] * 2, settings.model).result()  # pool up
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.duckdb") as db:
        folder = gallery_folder or demo_folder()
        if folder:
            enrol_path(db, "bench", folder, settings)
        else:
            db.galleries.create("bench", settings.model)
        baseline = plain_loop_fps(clip, db.vectors.matrix("bench", settings.model), settings, max_frames)
        step("bench video loop")
        single, _ = _watch(db, clip, 1, runner="local", fast=True, max_frames=max_frames, settings=settings)
        single_fps = single.cameras[0].fps
        step("one camera, as fast as possible")
        local = []
        for n in cameras:
            local.append(_run(db, clip, n, "local", max_frames, settings))
            step(f"{n} camera(s), threads")
        procs = []
        for n in cameras:
            procs.append(_run(db, clip, n, "processes", max_frames, settings))
            step(f"{n} camera(s), processes")
        costs = []  # before Ray starts: its processes would be counted as children
        for size in sizes:
            costs.append(cpu_cost(db, clip, size, Path(tmp), max_frames, settings))
            step(f"CPU per camera at {size[0]}x{size[1]}")
        rays = []
        if ray:
            from workbench.pipeline import raycluster

            raycluster.connect("local")
            for n in cameras:
                rays.append(_run(db, clip, n, "ray", max_frames, settings))
                step(f"{n} camera(s), Ray")
    by_n = {r.cameras: r for r in procs}  # the same shape of work without Ray: a process per camera
    overhead = {str(r.cameras): round(by_n[r.cameras].min_fps / r.min_fps, 3) if r.min_fps else None
                for r in rays if r.cameras in by_n}
    return {"clip": str(clip), "cpus": os.cpu_count(), "bench_video_fps": baseline,
            "one_camera_fast_fps": single_fps,
            "one_camera_vs_bench_video": round(single_fps / baseline, 3) if baseline else None,
            "local": [asdict(r) for r in local], "processes": [asdict(r) for r in procs],
            "ray": [asdict(r) for r in rays], "ray_overhead_processes_over_ray_min_fps": overhead, "cpu_per_camera": [asdict(c) for c in costs]}
