"""One camera of a watch: its source through a :class:`LiveProcessor`, turned into sighting
events. Runs on a thread of the watch's process, or inside a Ray actor on another machine;
either way it writes nothing: events go back to the one writer (:mod:`workbench.live.watch`).

A sighting is one track under one identification decision: it opens at the track's first
decision, re-checks that give the same answer fold into it (closest distance kept), a re-check
that names someone else closes it and opens another, and it closes when the track ends. A track
that ends with no decision because none of its faces passed the quality gate is a sighting too,
with no vector, saying which rule kept it out; every unknown sighting says why
(:mod:`workbench.live.unknown`). Only vectors, boxes, distances and (when asked) face chips leave
the camera; frames stay here.

The camera's quality setting (``spec.quality``, :mod:`workbench.live.camera_quality`) is applied
to each frame here, as it is decoded and before detection, whichever runner runs the camera; the
conditions it made (with the footage's measured face width) are sent once as :class:`Conditions`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from workbench.live import unknown
from workbench.live.camera_quality import CameraFilter, sample_frames
from workbench.live.cameras import (CameraFrame, CameraSpec, PushSource, SourceCounters, Stamp, file_frames,
                                    folder_frames, stream_frames)
from workbench.live.processor import LiveProcessor
from workbench.live.sources import videos_in
from workbench.live.tracking import Track
from workbench.pipeline import Settings
from workbench.store import GalleryMatrix

#: A progress mark and the camera's counters go to the writer every this many processed frames.
MARK_EVERY = 15


@dataclass(frozen=True, eq=False)
class Opened:
    """A new sighting (see the module docstring). ``key`` is unique within the watch."""

    key: tuple[str, int, int]
    camera: str
    source: str
    track: int
    decision: int
    first: Stamp
    last: Stamp
    person_id: int | None
    candidate_id: int | None
    distance: float | None
    similarity: float | None
    box: tuple[int, int, int, int]
    vector: np.ndarray | None  # None: no face of the track passed the gate
    chip: bytes | None
    decided_at: float  # perf_counter: identity latency is decided_at - first.arrived
    why_unknown: str | None = None
    #: the first frame with a face of the track past the quality gate (first decisions of searched
    #: tracks): ``passed.arrived - first.arrived`` is the gate's wait, ``decided_at - passed.arrived``
    #: the pipeline's own latency
    passed: Stamp | None = None


@dataclass(frozen=True)
class Closed:
    """The end state of a sighting opened earlier (its track ended or changed name)."""

    key: tuple[str, int, int]
    last: Stamp
    distance: float | None
    similarity: float | None
    box: tuple[int, int, int, int]
    checks: int
    candidate_id: int | None = None
    why_unknown: str | None = None


@dataclass(frozen=True)
class Conditions:
    """Under which conditions a camera's frames were watched (its quality setting in words, with
    the footage's measured face width and the factor frames were shrunk by)."""

    camera: str
    spec: str
    words: str


@dataclass(frozen=True)
class Mark:
    """Every frame of ``source`` before ``frame`` is processed and its events were sent."""

    camera: str
    source: str
    frame: int
    video_s: float
    resumable: bool


@dataclass(frozen=True)
class Status:
    """A camera's state: starting, running, reconnecting ..., ended, failed, stopped."""

    camera: str
    state: str
    message: str = ""
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Open:
    key: tuple[str, int, int]
    person_id: int | None
    distance: float | None
    similarity: float | None
    box: tuple[int, int, int, int]
    candidate_id: int | None = None
    why_unknown: str | None = None
    checks: int = 1


@dataclass(frozen=True)
class WorkerConfig:
    """What a camera needs besides its source (picklable: it travels to Ray actors)."""

    settings: Settings
    fast: bool = False
    keep_chips: bool = False
    embed_async: bool = True
    max_frames: int | None = None
    retries: int = 5
    backoff: float = 0.5
    backoff_max: float = 8.0
    draw: bool = False
    #: OpenCV's threads in a process that runs one camera (processes, Ray); ``None`` keeps OpenCV's
    #: default, one per core in every process. One thread each cost 3 % less CPU a frame (2 cameras,
    #: every frame) but, on a machine shared with other work, got the cameras a smaller share of it:
    #: 20 fps instead of 27 (``workbench bench watch --one-thread``, load 15); re-measure it quiet.
    cv_threads: int | None = None


def _best(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


class CameraWorker:
    """Runs one camera to its end (or ``stop``), handing every event to ``emit``.

    ``start_of(source)`` gives the frame a file resumes from. With ``config.draw`` the newest
    annotated frame is kept in :attr:`latest` (for the app).
    """

    def __init__(self, spec: CameraSpec, matrix: GalleryMatrix, config: WorkerConfig,
                 emit: Callable[[object], None], stop: threading.Event | None = None,
                 start_of: Callable[[str], int] = lambda _s: 0, push: PushSource | None = None) -> None:
        self.spec, self.config, self.emit = spec, config, emit
        self.stop = stop or threading.Event()
        self.start_of = start_of
        self.push = push
        self.counters = push.counters if push is not None else SourceCounters()
        self.latest: np.ndarray | None = None
        self.state = "starting"
        self.faces = 0
        self.frames = 0
        self._open: dict[int, _Open] = {}
        self._decisions: dict[int, int] = {}
        self._t0 = time.perf_counter()
        self._cpu0: float | None = None  # CPU seconds of this process when the first frame came
        kw = dict(embed_async=config.embed_async, draw=config.draw, want_chips=config.keep_chips,
                  on_decision=self._on_decision, on_track_end=self._on_track_end)
        self.proc = LiveProcessor.realtime(config.settings, matrix, **kw)

    # -- events --------------------------------------------------------------------------

    def _status(self, state: str, message: str = "") -> None:
        self.state = state if not state.startswith("reconnecting") else "reconnecting"
        # messages may echo the URL (OpenCV's, an exception's): its secrets never leave the camera
        message = self.spec.scrub(message or (state if state != self.state else ""))
        self.emit(Status(self.spec.name, self.state, message, self.stats()))

    def stats(self) -> dict[str, Any]:
        span = time.perf_counter() - self._t0
        cpu = None if self._cpu0 is None else round(time.process_time() - self._cpu0, 3)
        return {"frames": self.frames, "dropped": self.counters.dropped, "faces": self.faces,
                "reconnects": self.counters.reconnects, "fps": round(self.frames / span, 2) if span > 0 else 0.0,
                "process_cpu_s": cpu}

    def _why(self, match: Any) -> str | None:
        """Why a decision leaves the track unknown (``None`` when it names someone)."""
        if match is not None and match.match:
            return None
        st = self.config.settings
        return unknown.under_threshold(match, st.threshold_, st.similarity_base)

    def _on_decision(self, tr: Track, match: Any, vec: np.ndarray, chip: np.ndarray | None) -> None:
        pid = match.person_id if match is not None and match.match else None
        cand = match.person_id if match is not None else None
        dist = None if match is None else float(match.distance)
        sim = None if match is None else float(match.similarity)
        box = tuple(tr.box.as_list())
        cur = self._open.get(tr.id)
        if cur is not None and cur.person_id == pid:
            cur.checks += 1
            if dist is not None and (cur.distance is None or dist < cur.distance):
                cur.distance, cur.similarity, cur.box = dist, sim, box
                cur.candidate_id, cur.why_unknown = cand, self._why(match)
            return
        if cur is not None:
            self._close(tr, cur)
        n = self._decisions.get(tr.id, 0) + 1
        self._decisions[tr.id] = n
        key = (self.spec.name, tr.id, n)
        why = self._why(match)
        self._open[tr.id] = _Open(key, pid, dist, sim, box, cand, why)
        jpeg = None
        if chip is not None:
            from workbench.pipeline.capture import encode_jpeg

            jpeg = encode_jpeg(np.ascontiguousarray(chip))
        first = tr.first_stamp if n == 1 else tr.last_stamp
        self.emit(Opened(key, self.spec.name, (first or tr.last_stamp).source, tr.id, n, first, tr.last_stamp, pid,
                         cand, dist, sim, box, np.asarray(vec, np.float32), jpeg, time.perf_counter(), why,
                         tr.passed_stamp if n == 1 else None))

    def _close(self, tr: Track, cur: _Open) -> None:
        self.emit(Closed(cur.key, tr.last_stamp, cur.distance, cur.similarity, cur.box, cur.checks, cur.candidate_id,
                         cur.why_unknown))

    def _on_track_end(self, tr: Track) -> None:
        cur = self._open.pop(tr.id, None)
        self._decisions.pop(tr.id, None)
        if cur is not None and tr.last_stamp is not None:
            self._close(tr, cur)
        elif cur is None and tr.identified_at < 0 and not tr.pending and tr.rejection is not None \
                and tr.first_stamp is not None:
            # no face of the track passed the gate: a sighting of nobody, saying which rule kept it out
            self.emit(Opened((self.spec.name, tr.id, 1), self.spec.name, tr.first_stamp.source, tr.id, 1,
                             tr.first_stamp, tr.last_stamp or tr.first_stamp, None, None, None, None,
                             tuple(tr.box.as_list()), None, None, time.perf_counter(), unknown.gated(tr.rejection)))

    # -- the loop ------------------------------------------------------------------------

    def frames_iter(self) -> Iterator[CameraFrame]:
        spec, c = self.spec, self.config
        if self.push is not None:
            return iter(self.push)
        if spec.kind == "file":
            return file_frames(spec.source, fast=c.fast, start=self.start_of(spec.source), stop=self.stop,
                               counters=self.counters)
        if spec.kind == "folder":
            return folder_frames(spec.source, fast=c.fast, stop=self.stop, counters=self.counters,
                                 start_of=self.start_of)
        # the full URL (user and password) only to connect; everything else names spec.source
        target: str | int = int(spec.source) if spec.kind == "device" else spec.target
        return stream_frames(target, stop=self.stop, counters=self.counters, retries=c.retries, backoff=c.backoff,
                             backoff_max=c.backoff_max, status=self._status, shown=spec.source)

    def _mark(self, frame: CameraFrame, resumable: bool) -> Mark:
        """Progress up to this frame, held back to the first frame of any track still waiting
        for its decision (a resumed run must see that face again, or its sighting is lost)."""
        waiting = [t.first_stamp.index for t in self.proc.undecided()
                   if t.first_stamp is not None and t.first_stamp.source == frame.source]
        return Mark(self.spec.name, frame.source, min([frame.index + 1, *waiting]), frame.video_s, resumable)

    def camera_filter(self) -> CameraFilter:
        """The camera's quality, with a file's (or a folder's first) faces measured up front when a
        distance needs their width; a live source's are measured on its first frame with a face."""
        cam = CameraFilter(self.spec.quality)
        if not cam.ready and self.spec.kind in ("file", "folder"):
            videos = [self.spec.source] if self.spec.kind == "file" else [str(v) for v in videos_in(Path(self.spec.source))]
            for video in videos:
                if cam.measure(sample_frames(video)):
                    break
        return cam

    def run(self) -> None:
        """Process the camera to its end; the last event is a :class:`Status` ended/failed/stopped."""
        resumable = self.spec.kind in ("file", "folder")
        last: CameraFrame | None = None
        self._status("running")
        try:
            cam = self.camera_filter()
            said = cam.quality.as_recorded
            for frame in self.frames_iter():
                if self.stop.is_set():
                    break
                if not cam.keeps(frame.video_s):
                    continue
                if not cam.ready and not cam.measure([frame.image]):
                    continue  # no face yet to measure the footage by (nor to see at any distance)
                if not said:
                    self.emit(Conditions(self.spec.name, cam.quality.spec, cam.conditions(frame.image.shape[1])))
                    said = True
                if self._cpu0 is None:
                    self._cpu0 = time.process_time()
                annotated, st = self.proc.process(cam.apply(frame.image, frame.index), stamp=frame.stamp())
                self.frames += 1
                self.faces += st.faces if st.detected else 0
                if self.config.draw:
                    self.latest = annotated
                last = frame
                if self.frames % MARK_EVERY == 0:
                    self.emit(self._mark(frame, resumable))
                    self._status("running")  # the counters as they go, not only when the state changes
                if self.config.max_frames and self.frames >= self.config.max_frames:
                    break
            self.proc.finish()
        except Exception as err:  # noqa: BLE001 - one camera's failure is reported, never the others'
            self.proc.finish() if self.proc.tracks else None
            self._status("failed", f"{self.spec.name}: {type(err).__name__}: {err}")
            return
        if last is not None:
            self.emit(Mark(self.spec.name, last.source, last.index + 1, last.video_s, resumable))
        problem = self.counters.problem
        if self.stop.is_set():
            self._status("stopped")
        elif problem and (self.frames == 0 or self.spec.kind in ("stream", "device")):
            self._status("failed", f"{self.spec.name}: {problem}")
        elif self.frames == 0 and resumable and self.spec.kind == "file" and self.start_of(self.spec.source) > 0:
            self._status("ended", f"{self.spec.name}: already watched to the end (restart to watch it again)")
        elif self.frames == 0:
            self._status("failed", f"{self.spec.name}: no readable frames")
        else:
            self._status("ended", problem)


def warm_up(config: WorkerConfig) -> None:
    """In a process of its own (processes, Ray): OpenCV's threads set to ``config.cv_threads`` (when
    given), then the detector and the embedding model loaded now, not on the camera's first frames (a live
    camera does not wait for a model to load: its frames would be dropped meanwhile)."""
    from workbench.pipeline import models, zoo

    models.limit_threads(config.cv_threads)
    zoo.detector(config.settings.detector).warm_up()
    zoo.embedder(config.settings.model).warm_up()
