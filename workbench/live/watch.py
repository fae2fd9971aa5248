"""Watch many cameras at once and keep a sightings log: the driver and single writer.

:class:`Watch` starts one :class:`~workbench.live.camera_worker.CameraWorker` per camera (a
thread here; a process with ``runner="processes"``, :mod:`workbench.live.process_watch`; or a
Ray actor with ``runner="ray"``, :mod:`workbench.live.ray_watch`). Their
events come back on one queue to the thread that called :meth:`Watch.run`, which alone writes
the DuckDB file: it names anonymous identities (:class:`~workbench.search.clusters.IdentityBook`),
decides alerts, and commits sightings in batches of ``batch_size`` (and every ``flush_s``
seconds), each with every camera's progress, in one transaction. A crash loses at most the
batch in progress; a new run of the same files resumes where the last commit left them.

A camera that ends, stalls, disconnects or sends garbage is reported (a status line and its
summary) and never stops the others.

The gallery must exist and hold the watch's model: both are checked before any model loads or
any run is recorded, so a wrong gallery is one line and no run is left behind. Once the run is
recorded it always ends with a status (``completed``, ``stopped``, ``failed`` when it could not
start its cameras, ``interrupted`` when the writer itself stops on an error).
"""

from __future__ import annotations

import collections
import datetime as dt
import queue
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence


from workbench.live.camera_worker import Closed, Conditions, Mark, Opened, Status
from workbench.live.cameras import CameraSpec, PushSource
from workbench.live.sources import videos_in
from workbench.live.watch_records import Alert, CameraSummary, WatchOptions, WatchSummary
from workbench.errors import RangeError
from workbench.pipeline.compare import check_threshold, is_match
from workbench.search.clusters import IdentityBook, checked_identity_threshold, default_identity_threshold
from workbench.store import GalleryMatrix, Progress, RunCamera, SightingRow, SightingUpdate, Store

TERMINAL = ("ended", "failed", "stopped")
__all__ = ["Alert", "CameraSummary", "Watch", "WatchOptions", "WatchSummary"]


def _when(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts)


@dataclass
class OpenSighting:
    """What the writer remembers of a sighting still open, to decide and describe its alert."""

    person: str
    watchlists: tuple[str, ...]
    camera: str
    alerted: bool = False


def _alerting(meta: OpenSighting, distance: float | None, threshold: float) -> bool:
    """Whether a sighting raises its alert now: a watchlisted person, not alerted yet, within ``threshold``."""
    return (bool(meta.watchlists) and not meta.alerted and distance is not None
            and bool(is_match(distance, threshold)))


def _alert(threshold: float, settings) -> float:
    try:
        return check_threshold(threshold, settings.model, settings.metric_)
    except RangeError as err:
        raise RangeError(f"alert {err}") from None


class Watch:
    """A watch of ``specs`` into ``db`` (see the module docstring).

    Args:
        on_alert: called on the writer's thread for every alert.
        on_status: called with a :class:`Status` when a camera changes state.
        on_batch: called with ``(batch number, new sightings, updated sightings)`` after each commit.
        push: frames handed in by the app, per camera name (kind ``push``).
        runner: ``"local"`` (a thread per camera here), ``"processes"`` (a process per camera: all
            the cores) or ``"ray"`` (an actor per camera; ``ray_address`` as ``ray.init``).
    """

    def __init__(self, db: Store, specs: Sequence[CameraSpec], options: WatchOptions, *,
                 on_alert: Callable[[Alert], None] | None = None,
                 on_status: Callable[[Status], None] | None = None,
                 on_batch: Callable[[int, int, int], None] | None = None,
                 push: dict[str, PushSource] | None = None, runner: str = "local",
                 ray_address: str | None = None) -> None:
        s = options.settings
        self.db, self.specs, self.options = db, list(specs), options
        self.on_alert, self.on_status, self.on_batch = on_alert, on_status, on_batch
        self.push = push or {}
        self.runner, self.ray_address = runner, ray_address
        self.threshold = s.threshold_
        self.alert_threshold = self.threshold if options.alert_threshold is None else _alert(options.alert_threshold, s)
        self.identity_threshold = (default_identity_threshold(s.model, s.metric_) if options.identity_threshold is None
                                   else checked_identity_threshold(options.identity_threshold, s.model, s.metric_))
        self.stop_event = threading.Event()
        self.events: queue.Queue = queue.Queue()
        self.summaries = {c.name: CameraSummary(c.name, c.source, c.kind, conditions=c.quality.words) for c in specs}
        self.workers: dict[str, Any] = {}
        self.run_id = -1
        self._ids: list[int] = []
        self._by_key: dict[tuple, int] = {}
        self._meta: dict[int, OpenSighting] = {}
        self._new: dict[int, SightingRow] = {}
        self._updates: dict[int, SightingUpdate] = {}
        self._marks: dict[tuple[str, str], Mark] = {}
        self._marks_dirty = False
        self.batches = self.sightings = self.alerts = self.new_identities = 0
        #: the latest alerts (for the app's toasts), newest last; and the background run's outcome
        self.recent_alerts: collections.deque[Alert] = collections.deque(maxlen=200)
        self.result: WatchSummary | None = None
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None

    # -- setting up ------------------------------------------------------------------------

    def _matrix(self) -> GalleryMatrix:
        """The gallery's vectors, refused (one line) when the gallery is unknown or of another model."""
        return self.db.vectors.matrix(self.options.gallery, self.options.settings.model)

    def start_frames(self) -> dict[str, dict[str, int]]:
        """Where each camera's files resume (``camera -> source -> frame``), from the last
        committed progress (two cameras may play the same file)."""
        files = []
        for c in self.specs:
            files += ([(c.name, c.source)] if c.kind == "file" else
                      [(c.name, str(v)) for v in videos_in(Path(c.source))] if c.kind == "folder" else [])
        if self.options.restart:
            self.db.runs.reset(self.options.gallery, [c.name for c in self.specs])
            return {}
        out: dict[str, dict[str, int]] = {}
        for cam, src in files:
            out.setdefault(cam, {})[src] = self.db.runs.resume(self.options.gallery, cam, src)
        return out

    def start(self) -> None:
        """Check the gallery, record the run and start every camera; a run that cannot start its
        cameras is ended ``failed`` before the error goes on."""
        o, s = self.options, self.options.settings
        matrix = self._matrix()  # unknown gallery, or another model's: before any model time or run
        book = IdentityBook.load(self.db, o.gallery, model=s.model, metric=s.metric_, threshold=self.identity_threshold)
        starts = self.start_frames()
        self.run_id = self.db.runs.start(
            gallery=o.gallery, model=s.model, detector=s.detector, metric=s.metric_, threshold=self.threshold,
            alert_threshold=self.alert_threshold, identity_threshold=self.identity_threshold,
            sources=[c.label() for c in self.specs], mode=self.runner, keep_chips=o.keep_chips,
            cameras=[RunCamera(c.name, c.source, c.quality.spec, c.quality.words) for c in self.specs])
        try:
            self._start_cameras(matrix, starts, book)
        except BaseException as err:
            self.stop()
            self.db.runs.end(self.run_id, "failed", f"the cameras could not start: {err}")
            raise

    def _start_cameras(self, matrix: GalleryMatrix, starts: dict[str, dict[str, int]], book: IdentityBook) -> None:
        o = self.options
        self.book = book
        self.watched = self.db.watchlist.lists_of(o.gallery)
        self.names = dict(zip(matrix.person_ids.tolist(), matrix.people))
        if self.runner == "ray":
            from workbench.live import ray_watch

            self.workers = ray_watch.start_actors(self, matrix, starts)
            return
        if self.runner == "processes":
            from workbench.live import process_watch

            self.workers = process_watch.start_processes(self, matrix, starts)
            return
        from workbench.live.camera_worker import CameraWorker

        for c in self.specs:
            mine = starts.get(c.name, {})
            w = CameraWorker(c, matrix, o.worker_config(), self.events.put, self.stop_event,
                             start_of=lambda src, mine=mine: mine.get(src, 0), push=self.push.get(c.name))
            threading.Thread(target=w.run, daemon=True, name=f"camera-{c.name}").start()
            self.workers[c.name] = w

    # -- the writer's loop -----------------------------------------------------------------

    def run_in_background(self) -> None:
        """:meth:`run` on a thread of its own (the app): :attr:`result` or :attr:`error` when done."""
        def target() -> None:
            try:
                self.result = self.run()
            except BaseException as err:  # noqa: BLE001 - shown by whoever started it
                self.error = err

        self.start()  # errors before any camera runs (unknown model ...) reach the caller
        self._thread = threading.Thread(target=target, daemon=True, name="watch-writer")
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def latest_frames(self) -> dict[str, Any]:
        """The newest annotated frame per camera (with ``draw=True``; thread runner only)."""
        return {name: getattr(w, "latest", None) for name, w in self.workers.items()}

    def stop(self) -> None:
        """Ask every camera to stop; :meth:`run` then writes what is left and returns."""
        self.stop_event.set()
        for src in self.push.values():
            src.close()

    def run(self, progress: Callable[[list[CameraSummary]], None] | None = None,
            every_s: float = 0.5) -> WatchSummary:
        """Start (unless started), write events until every camera is done, and summarise."""
        t0 = time.perf_counter()
        if self.run_id < 0:
            self.start()
        done: set[str] = set()
        last_flush = last_progress = time.perf_counter()
        status = "completed"
        try:
            while len(done) < len(self.specs):
                try:
                    ev = self.events.get(timeout=0.1)
                except queue.Empty:
                    ev = None
                if ev is not None:
                    self._handle(ev, done)
                now = time.perf_counter()
                if len(self._new) + len(self._updates) >= self.options.batch_size or (
                        now - last_flush >= self.options.flush_s):
                    self.flush()
                    last_flush = now
                if progress and now - last_progress >= every_s:
                    progress(list(self.summaries.values()))
                    last_progress = now
        except BaseException:
            status = "interrupted"
            self.stop()
            raise
        finally:
            while True:  # what the cameras sent before stopping is written too
                try:
                    self._handle(self.events.get_nowait(), done)
                except queue.Empty:
                    break
            self.flush()
            failed = [n for n, c in self.summaries.items() if c.state == "failed"]
            if status == "completed" and self.stop_event.is_set():
                status = "stopped"
            self.db.runs.end(self.run_id, status, "failed: " + ", ".join(failed) if failed else "")
            if self.runner == "ray":
                from workbench.live import ray_watch

                ray_watch.stop_actors(self.workers)
            elif self.runner == "processes":
                from workbench.live import process_watch

                process_watch.stop_processes(self.workers)
        if progress:
            progress(list(self.summaries.values()))
        return WatchSummary(self.run_id, self.options.gallery, self.runner, time.perf_counter() - t0,
                            self.sightings, self.alerts, self.batches, self.new_identities,
                            tuple(self.summaries.values()),
                            {"label": self.threshold, "alert": self.alert_threshold,
                             "identity": self.identity_threshold})

    def _handle(self, ev: object, done: set[str]) -> None:
        if isinstance(ev, Opened):
            self._opened(ev)
        elif isinstance(ev, Closed):
            self._closed(ev)
        elif isinstance(ev, Mark):
            if ev.resumable:
                self._marks[(ev.camera, ev.source)] = ev
                self._marks_dirty = True
        elif isinstance(ev, Conditions):  # what the camera's quality setting made of its footage
            self.summaries[ev.camera].conditions = ev.words
            self.db.runs.set_conditions(self.run_id, ev.camera, ev.words)
        elif isinstance(ev, Status):
            c = self.summaries[ev.camera]
            c.state, c.message = ev.state, ev.message or c.message
            for k in ("frames", "dropped", "faces", "fps", "reconnects", "process_cpu_s"):
                if k in ev.stats:
                    setattr(c, k, ev.stats[k])
            if ev.state in TERMINAL:
                done.add(ev.camera)
            if self.on_status:
                self.on_status(ev)

    def _sighting_id(self) -> int:
        if not self._ids:
            self._ids = self.db.runs.allocate_ids("sighting_ids", 64)
        return self._ids.pop(0)

    def _opened(self, ev: Opened) -> None:
        sid = self._sighting_id()
        self._by_key[ev.key] = sid
        summary = self.summaries[ev.camera]
        identity = None
        if ev.person_id is None and ev.vector is not None:  # no vector: no face of the track passed the gate
            n_before = len(self.book)
            identity, _, _ = self.book.assign(ev.vector, lambda: self.db.runs.allocate_ids("identity_ids", 1)[0])
            self.new_identities += len(self.book) - n_before
            summary.identities.add(identity)
        elif ev.person_id is not None:
            summary.people.add(self.names.get(ev.person_id, str(ev.person_id)))
        else:
            summary.gated += 1
        if ev.decision == 1 and ev.first is not None and ev.vector is not None:
            summary.named(ev.first, ev.passed, ev.decided_at)
        lists = self.watched.get(ev.person_id, ()) if ev.person_id is not None else ()
        self._meta[sid] = OpenSighting(self.names.get(ev.person_id, ""), tuple(lists), ev.camera)
        alert = _alerting(self._meta[sid], ev.distance, self.alert_threshold)
        self._new[sid] = SightingRow(
            sid, ev.camera, ev.source, ev.track, ev.decision, ev.first.index, ev.last.index, ev.first.video_s,
            ev.last.video_s, _when(ev.first.wall), _when(ev.last.wall), ev.person_id, ev.candidate_id, identity,
            ev.distance, ev.similarity, self.threshold, self.options.settings.model, ev.box, 1, alert, lists,
            ev.vector, ev.chip, ev.why_unknown)  # every searched sighting keeps its vector: the log can be searched by photo
        summary.sightings += 1
        self.sightings += 1
        if alert:
            self._raise(sid, ev.distance, ev.similarity, ev.first)

    def _raise(self, sid: int, distance: float, similarity: float | None, stamp) -> None:
        meta = self._meta[sid]
        meta.alerted = True
        self.alerts += 1
        self.recent_alerts.append(Alert(sid, meta.camera, meta.person, meta.watchlists, distance, similarity,
                                        stamp.video_s, _when(stamp.wall)))
        self.summaries[meta.camera].alerts += 1
        if self.on_alert:
            self.on_alert(self.recent_alerts[-1])

    def _closed(self, ev: Closed) -> None:
        sid = self._by_key.pop(ev.key, None)
        if sid is None:
            return
        alert = _alerting(self._meta[sid], ev.distance, self.alert_threshold)
        if alert:
            self._raise(sid, ev.distance, ev.similarity, ev.last)
        alerted, lists = self._meta[sid].alerted, self._meta[sid].watchlists
        if sid in self._new:
            self._new[sid] = replace(self._new[sid], last_frame=ev.last.index, last_video_s=ev.last.video_s,
                                     last_seen=_when(ev.last.wall), distance=ev.distance, similarity=ev.similarity,
                                     box=ev.box, checks=ev.checks, alert=alerted, candidate_id=ev.candidate_id,
                                     why_unknown=ev.why_unknown)
        else:
            self._updates[sid] = SightingUpdate(sid, ev.last.index, ev.last.video_s, _when(ev.last.wall),
                                                ev.distance, ev.similarity, ev.box, ev.checks, alerted, lists,
                                                ev.candidate_id, ev.why_unknown)
        if not self._meta[sid].alerted:
            self._meta.pop(sid, None)

    def flush(self) -> None:
        """Commit the pending sightings, identities and progress as one batch."""
        if not (self._new or self._updates or self._marks_dirty):
            return
        marks = [Progress(m.camera, m.source, m.frame, m.video_s) for m in self._marks.values()]
        self.db.sightings.write_batch(self.run_id, self.options.gallery, self.options.settings.model,
                                      list(self._new.values()), list(self._updates.values()), self.book.changes(),
                                      marks)
        if self._new or self._updates:
            self.batches += 1
            if self.on_batch:
                self.on_batch(self.batches, len(self._new), len(self._updates))
        self._new.clear()
        self._updates.clear()
        self._marks_dirty = False
