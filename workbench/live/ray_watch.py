"""Cameras as Ray actors: each camera's :class:`~workbench.live.camera_worker.CameraWorker`
runs in an actor (a process of the cluster, on any node); the watch's driver polls the actors
for events and stays the single DuckDB writer.

What moves over the wire: the gallery's vectors and names once per actor (through Ray's
object store), then only events: a vector (512 bytes for 128-d), a box, distances and the
face chip when ``--keep-chips`` asks for it. Frames are decoded and processed on the actor's
node and never travel (the source must be reachable from there: a path on that node, or a
stream URL). Actors embed inline (a worker pool per actor would oversubscribe the node) and
each reserves ``CPUs / cameras`` of the cluster (at most one CPU).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from workbench.live.camera_worker import CameraWorker, Status, WorkerConfig, warm_up
from workbench.live.cameras import CameraSpec
from workbench.store import GalleryMatrix

TERMINAL = ("ended", "failed", "stopped")


class CameraActor:
    """One camera in a Ray actor: :meth:`start` it, :meth:`poll` its events, :meth:`stop` it."""

    def __init__(self, spec: CameraSpec, matrix: GalleryMatrix, config: WorkerConfig, starts: dict[str, int]) -> None:
        self._events: list = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.worker = CameraWorker(spec, matrix, config, self._emit, self._stop,
                                   start_of=lambda src: starts.get(src, 0))
        warm_up(config)

    def ready(self) -> bool:
        """True once constructed (models loaded): the driver starts every camera together."""
        return True

    def _emit(self, ev: object) -> None:
        with self._lock:
            self._events.append(ev)

    def start(self) -> bool:
        threading.Thread(target=self.worker.run, daemon=True, name="camera").start()
        return True

    def poll(self) -> list:
        with self._lock:
            out, self._events = self._events, []
        return out

    def stop(self) -> bool:
        self._stop.set()
        return True

    def pid(self) -> int:
        import os

        return os.getpid()


def _poll(handle: Any, name: str, events: Any, stop: threading.Event) -> None:
    """Driver side: move an actor's events onto the watch's queue until its camera is done."""
    import ray

    asked_to_stop = False
    while True:
        if stop.is_set() and not asked_to_stop:
            handle.stop.remote()
            asked_to_stop = True
        try:
            batch = ray.get(handle.poll.remote(), timeout=60)
        except Exception as err:  # noqa: BLE001 - a dead actor or node is this camera's failure only
            events.put(Status(name, "failed", f"{name}: the Ray actor stopped answering ({type(err).__name__})"))
            return
        for ev in batch:
            events.put(ev)
        if any(isinstance(ev, Status) and ev.state in TERMINAL for ev in batch):
            return
        if not batch:
            time.sleep(0.05)


def start_actors(watch: Any, matrix: GalleryMatrix, starts: dict[str, dict[str, int]]) -> dict[str, Any]:
    """One actor per camera of ``watch`` (connected to Ray already); returns name -> handle."""
    import ray

    from workbench.pipeline import raycluster

    actor = ray.remote(CameraActor)
    cpus = min(1.0, max(0.01, round(raycluster.cluster_cpus() / max(len(watch.specs), 1), 2)))
    shared = ray.put(matrix)
    config = watch.options.worker_config(embed_async=False, draw=False)
    handles = {spec.name: actor.options(num_cpus=cpus).remote(spec, shared, config, starts.get(spec.name, {}))
               for spec in watch.specs}
    ray.get([h.ready.remote() for h in handles.values()])  # every actor has its models: start them together
    for spec in watch.specs:
        h = handles[spec.name]
        h.start.remote()
        threading.Thread(target=_poll, args=(h, spec.name, watch.events, watch.stop_event), daemon=True,
                         name=f"ray-{spec.name}").start()
    return handles


def stop_actors(handles: dict[str, Any]) -> None:
    import ray

    for h in handles.values():
        try:
            ray.kill(h)
        except Exception:  # noqa: BLE001 - already gone
            pass
