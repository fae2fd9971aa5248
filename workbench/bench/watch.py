"""``workbench bench watch``: N cameras at once (copies of one clip at its own frame rate), on
threads and through a local Ray cluster, plus what one camera costs in CPU per frame size.

Per camera: frames processed per second, frames dropped (a camera does not wait), identity
latency p50/p95 (from the frame a face could first be seen in to its name; and apart, from its
first face past the quality gate, the pipeline's own part, with how many tracks the gate held
back first: a face turned away waits for one it lets through), and the sightings
written per second; on threads, on a process per camera, and through Ray. Baselines in the
same run: the plain live loop of ``bench video`` on the same clip (one camera, as fast as
possible), the process runner (the same shape of work without Ray) for Ray's overhead, and with
``one_thread`` the process runner with OpenCV on one thread in each camera process
(:data:`ONE_THREAD`), just ahead of the default's (OpenCV's own threads, one per core). CPU seconds are counted per run for the camera processes
(from their first frames) and the watch's own process (the single writer), and
:func:`stage_costs` says where one camera's CPU goes.
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
    #: OpenCV's threads per camera process (``None``: OpenCV's default, one per core)
    cv_threads: int | None = None
    #: CPU seconds during the run: the camera processes together from their first frames (models
    #: loaded), and the watch's own process (the writer; with threads, the cameras too)
    cameras_cpu_s: float | None = None
    writer_cpu_s: float | None = None
    frames_per_camera: list[int] | None = None
    #: the camera processes' CPU milliseconds per processed frame: what a frame costs, whatever the load
    cpu_ms_per_frame: float | None = None
    #: identity latency from a track's first face past the quality gate (the pipeline's own part),
    #: and the named tracks per camera that the gate held back first (their wait is in latency_p95_ms)
    after_gate_p50_ms: list[float | None] | None = None
    after_gate_p95_ms: list[float | None] | None = None
    held_at_gate: list[int] | None = None

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


#: The alternative ``one_thread`` times beside the default: one OpenCV thread in every camera process.
ONE_THREAD = {"cv_threads": 1}


def _watch(db: Store, clip: Path, n: int, *, runner: str, fast: bool, max_frames: int | None,
           settings: Settings, **options) -> tuple[object, float]:
    specs = parse_sources([f"cam{i + 1}={clip}" for i in range(n)])
    opts = WatchOptions("bench", settings, fast=fast, restart=True, max_frames=max_frames, **options)
    t0 = time.perf_counter()
    summary = Watch(db, specs, opts, runner=runner).run()
    return summary, time.perf_counter() - t0


def _run(db: Store, clip: Path, n: int, runner: str, max_frames: int | None, settings: Settings,
         fast: bool = False, **options) -> WatchRun:
    import psutil

    before = _load()
    me = psutil.Process()
    c0 = sum(me.cpu_times()[:2])
    s, seconds = _watch(db, clip, n, runner=runner, fast=fast, max_frames=max_frames, settings=settings, **options)
    writer = round(sum(me.cpu_times()[:2]) - c0, 2)
    cams = [c.as_dict() for c in s.cameras]
    frames = [c["frames"] for c in cams]
    cpu = (round(sum(c["process_cpu_s"] or 0.0 for c in cams), 2)
           if runner == "processes" and all(c["process_cpu_s"] is not None for c in cams) else None)
    return WatchRun(runner, n, round(seconds, 2), [c["fps"] for c in cams], [c["dropped"] for c in cams],
                    [c["identity_latency_p50_ms"] for c in cams], [c["identity_latency_p95_ms"] for c in cams],
                    s.sightings, round(s.sightings / seconds, 3) if seconds > 0 else 0.0, before, _load(),
                    options.get("cv_threads"), cpu, writer, frames,
                    round(cpu * 1000 / sum(frames), 2) if cpu is not None and sum(frames) else None,
                    [c["latency_after_gate_p50_ms"] for c in cams], [c["latency_after_gate_p95_ms"] for c in cams],
                    [c["named_tracks_held_at_the_gate"] for c in cams])


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


@dataclass(frozen=True)
class StageCosts:
    """Where one camera's CPU goes: CPU milliseconds per frame (decode) or per searched frame
    (detection at ``detect_side`` px, as :class:`~workbench.live.LiveProcessor` searches; the gate),
    one camera, every frame, in this process with OpenCV's threads as they are here; ``align_ms``
    and ``embed_ms`` per face that passes the gate, one at a time; ``rank_ms`` per search."""

    frames: int
    searched: int
    detect_side: int
    faces: int
    decode_ms: float
    detect_ms: float
    gate_ms: float
    align_ms: float
    embed_ms: float
    rank_ms: float


def stage_costs(clip: Path, settings: Settings, matrix, max_frames: int | None = None) -> StageCosts:
    """CPU time of each stage of a camera's loop on ``clip`` (detection on every 2nd frame, as the
    real-time preset does; every face that passes the gate embedded and searched)."""
    from workbench.live.processor import REALTIME, LiveProcessor, live_gate
    from workbench.pipeline import detect, embed, quality, zoo
    from workbench.pipeline.capture import iter_frames
    from workbench.search import rank

    zoo.detector(settings.detector).warm_up()
    zoo.embedder(settings.model).warm_up()
    gate = live_gate(settings)
    cpu = time.process_time
    t = dict.fromkeys(("decode", "detect", "gate", "align", "embed", "rank"), 0.0)
    frames = searched = faces = embedded = ranked = 0
    side = LiveProcessor.max_side
    it = iter(iter_frames(clip, max_frames=max_frames))
    while True:
        c = cpu()
        frame = next(it, None)
        t["decode"] += cpu() - c
        if frame is None:
            break
        frames += 1
        if (frames - 1) % REALTIME["detect_every"]:
            continue
        img = frame.image
        searched += 1
        c1 = cpu()
        dets = detect.detect_faces(img, settings.detector, upsample=0, max_side=side)
        c2 = cpu()
        kept = [d for d in dets if quality.assess(img, d, gate).accepted]
        c3 = cpu()
        chips = embed.aligned_chips(img, kept, model=settings.model) if kept and embed.takes_chips(settings.model) else []
        c4 = cpu()
        vecs = (embed.embed_chips(chips, settings.model) if chips else embed.embed_faces(img, kept, settings.model)
                ) if kept else None
        c5 = cpu()
        if vecs is not None and matrix is not None:
            rank(vecs, matrix, metric=settings.metric_, threshold=settings.threshold_, top_k=1)
            ranked += 1
        c6 = cpu()
        for k, v in zip(("detect", "gate", "align", "embed", "rank"), (c2 - c1, c3 - c2, c4 - c3, c5 - c4, c6 - c5)):
            t[k] += v
        faces += len(dets)
        embedded += len(kept)

    def per(v: float, n: int) -> float:
        return round(v * 1000 / max(n, 1), 2)

    return StageCosts(frames, searched, side, faces, per(t["decode"], frames), per(t["detect"], searched),
                      per(t["gate"], searched), per(t["align"], embedded), per(t["embed"], embedded),
                      per(t["rank"], ranked))


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
                settings: Settings | None = None, runners: tuple[str, ...] = ("local", "processes"),
                one_thread: bool = False, stages: bool = True, progress: Callable[[int, int, str], None] | None = None) -> dict:
    """Everything above in one run; returns a strict-JSON-ready dict (see the module docstring)."""
    from workbench.pipeline import parallel, zoo
    from workbench.search.enrol import demo_folder, enrol_path

    settings = settings or Settings()
    clip = Path(clip)
    steps = 2 + len(cameras) * (len(runners) + int(ray) + int(one_thread)) + len(sizes) + int(stages) + 2 * int(one_thread)
    done = 0

    def step(label: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, steps, label)

    side = zoo.embedder(settings.model).chip_side or 150
    parallel.submit_embed_chips([np.zeros((side, side, 3), np.uint8)] * 2, settings.model).result()  # pool up
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
        local, procs, single = [], [], []
        for runner, rows, words in (("local", local, "threads"), ("processes", procs, "processes")):
            for n in cameras if runner in runners else ():
                if runner == "processes" and one_thread:  # the same cameras, just ahead of the default's
                    single.append(_run(db, clip, n, runner, max_frames, settings, **ONE_THREAD))
                    step(f"{n} camera(s), processes, one OpenCV thread each")
                rows.append(_run(db, clip, n, runner, max_frames, settings))
                step(f"{n} camera(s), {words}")
        per_frame = []  # every frame processed, 2 camera processes (one per core): a frame's CPU either way
        for options in ({}, ONE_THREAD) if one_thread else ():
            per_frame.append(_run(db, clip, 2, "processes", max_frames, settings, fast=True, **options))
            step("2 cameras, every frame, " + ("one OpenCV thread each" if options else "OpenCV's threads"))
        costs_by_stage = None
        if stages:
            costs_by_stage = stage_costs(clip, settings, db.vectors.matrix("bench", settings.model), max_frames)
            step("CPU per stage")
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
            "detector": settings.detector, "model": settings.model,
            "local": [asdict(r) for r in local], "processes": [asdict(r) for r in procs],
            "processes_one_thread": [asdict(r) for r in single],
            "one_thread_over_default_min_fps": {str(b.cameras): round(b.min_fps / a.min_fps, 3) if a.min_fps else None
                                                for b, a in zip(single, procs)},
            "stages": asdict(costs_by_stage) if costs_by_stage else None,
            "every_frame_default_and_one_thread": [asdict(r) for r in per_frame],
            "ray": [asdict(r) for r in rays], "ray_overhead_processes_over_ray_min_fps": overhead, "cpu_per_camera": [asdict(c) for c in costs]}
