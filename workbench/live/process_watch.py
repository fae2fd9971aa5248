"""Cameras as processes of this machine: one spawned process per camera, events back on a
queue to the watch's driver, which stays the single DuckDB writer.

Threads share one interpreter lock, and dlib's detector holds it, so camera threads together
use about one core; a process per camera uses them all (and, on a machine shared with other
work, gets its own share of the CPU). Each process loads its models before any camera starts
(a live camera would drop frames while a model loads), embeds inline, and leaves when the
watch's process is gone (even after a SIGKILL).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from typing import Any

from workbench.live.camera_worker import CameraWorker, Status, WorkerConfig, warm_up
from workbench.live.cameras import CameraSpec
from workbench.store import GalleryMatrix

TERMINAL = ("ended", "failed", "stopped")
#: Seconds a camera process may take to load its models before it is reported failed.
START_TIMEOUT = 300


def _camera_main(spec: CameraSpec, matrix: GalleryMatrix, config: WorkerConfig, starts: dict[str, int],
                 events: Any, ready: Any, go: Any, stop: Any, parent: int) -> None:
    from workbench.pipeline.parallel import _exit_with_parent

    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    warm_up(config)
    ready.set()
    go.wait()
    local_stop = threading.Event()

    def watch_stop() -> None:
        stop.wait()
        local_stop.set()

    threading.Thread(target=watch_stop, daemon=True).start()
    CameraWorker(spec, matrix, config, events.put, local_stop, start_of=lambda src: starts.get(src, 0)).run()


def _forward(procs: dict[str, Any], events: Any, out: Any, stop: threading.Event, mp_stop: Any) -> None:
    """Move the processes' events onto the watch's queue until every camera is done; a process
    that died without saying so is reported failed."""
    done: set[str] = set()
    while len(done) < len(procs):
        if stop.is_set():
            mp_stop.set()
        try:
            ev = events.get(timeout=0.2)
        except queue.Empty:
            for name, p in procs.items():
                if name not in done and not p.is_alive():
                    done.add(name)
                    out.put(Status(name, "failed", f"{name}: the camera's process died (exit code {p.exitcode})"))
            continue
        out.put(ev)
        if isinstance(ev, Status) and ev.state in TERMINAL:
            done.add(ev.camera)


def start_processes(watch: Any, matrix: GalleryMatrix, starts: dict[str, dict[str, int]]) -> dict[str, Any]:
    """One spawned process per camera of ``watch``; returns name -> process (started together)."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")  # not fork: this process holds DuckDB, models and threads
    events, go, mp_stop = ctx.Queue(), ctx.Event(), ctx.Event()
    config = watch.options.worker_config(embed_async=False, draw=False)
    procs, readies = {}, {}
    for spec in watch.specs:
        readies[spec.name] = ctx.Event()
        procs[spec.name] = ctx.Process(target=_camera_main, daemon=True, name=f"camera-{spec.name}",
                                       args=(spec, matrix, config, starts.get(spec.name, {}), events,
                                             readies[spec.name], go, mp_stop, os.getpid()))
        procs[spec.name].start()
    deadline = time.monotonic() + START_TIMEOUT
    for name, ready in readies.items():
        while not ready.wait(0.2) and procs[name].is_alive() and time.monotonic() < deadline:
            pass
    go.set()
    threading.Thread(target=_forward, args=(procs, events, watch.events, watch.stop_event, mp_stop), daemon=True,
                     name="camera-processes").start()
    return procs


def stop_processes(procs: dict[str, Any]) -> None:
    for p in procs.values():
        p.join(timeout=5)
        if p.is_alive():
            p.terminate()
