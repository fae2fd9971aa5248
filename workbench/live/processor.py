"""Per-frame processing for live video: detect, track, embed once per track, search, draw.

A :class:`LiveProcessor` is built by the page with a snapshot of the gallery's vectors and
the settings; its :meth:`~LiveProcessor.process` runs on the video thread. It does array
work only: no Streamlit calls and no database writes. Faces are followed from frame to
frame by :mod:`workbench.live.tracking` (box overlap, one optimal assignment per frame), so a
face is embedded when it first appears and re-checked every ``recheck_every`` frames, not on
every frame; frames are annotated by :mod:`workbench.pipeline.annotate`. Per-frame statistics go to a bounded buffer
that the page reads for its live charts.

For real time on a small CPU (see ``workbench bench video``): ``detect_every=k`` runs the
detector on every k-th frame only and moves the boxes by their last velocity in between;
``upsample=0`` skips dlib's 4x-costlier upsampling; ``embed_async=True`` sends new faces'
aligned chips (dlib's 150 px chip, or SFace's 112 px one) to a worker process
(:mod:`workbench.pipeline.parallel`) so the ~25-150 ms embedding runs on the second core while this
thread keeps drawing frames; the name appears when it is back. With ``detector="yunet"`` the
frame is searched by YuNet (about 10 ms at 640 x 360, faces from about 10 px, turned faces too).

A face is embedded only once it passes the model's quality gate (:func:`live_gate`); a track
whose faces all fail keeps the verdict on its largest one (``Track.rejection``), so a sighting
can say why it stayed unknown.
"""

from __future__ import annotations

import collections
import logging
import math
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator

import numpy as np

from workbench.live.camera_quality import CameraFilter, CameraQuality, sample_frames
from workbench.live.summary import Appearance, Seen, summarise
from workbench.live.tracking import UNKNOWN, Track, Tracker
from workbench.pipeline import Settings, annotate, detect, embed, quality
from workbench.pipeline.capture import iter_frames
from workbench.search import rank
from workbench.store import GalleryMatrix
from workbench.types import Box, FrameStats

#: The real-time preset (:meth:`LiveProcessor.realtime`): what keeps a 2-core laptop at
#: camera speed (README, "Performance").
REALTIME: dict[str, Any] = {"detect_every": 2, "upsample": 0, "embed_async": True, "recheck_every": 30}
log = logging.getLogger(__name__)


def live_gate(settings: Settings) -> quality.QualityThresholds:
    """The gate a face of a video passes before it is embedded: the model's own limits of size,
    light and sharpness, without the pose rule. On the packaged clip the pose rule (yaw from
    YuNet's points, which runs 1.1 to 2.1 on three-quarter faces there) rejects Obama's face in
    every frame, and Lacamoire's turned face at the piano, which SFace names at 97.5 % and 86 %."""
    return replace(settings.gate_, max_yaw=math.inf)


@dataclass
class LiveProcessor:
    """Stateful per-frame pipeline for one video stream.

    Args:
        settings: pipeline choices (detector, model, threshold ...).
        matrix: the gallery's vectors, or ``None`` to only detect.
        recheck_every: re-embed a tracked face after this many frames.
        max_side: frames are detected at most this wide (speed over tiny faces).
        iou_match: minimum box overlap to continue a track.
        history: how many frames of statistics to keep.
    """

    settings: Settings = field(default_factory=Settings)
    matrix: GalleryMatrix | None = None
    recheck_every: int = 15
    max_side: int = 640
    iou_match: float = 0.3
    max_missed: int = 5
    history: int = 300
    detect_every: int = 1
    upsample: int | None = None
    embed_async: bool = False
    #: ``on_decision(track, best match or None, vector float32 (dim,), aligned chip or None)``,
    #: called on the video thread after each identification decision (first and re-checks);
    #: must be cheap (hand the work to a queue). ``on_track_end(track)`` when a track is dropped.
    on_decision: Callable[[Track, Any, np.ndarray, np.ndarray | None], None] | None = None
    on_track_end: Callable[[Track], None] | None = None
    #: pass the aligned chip to ``on_decision`` (sighting logs that keep chips)
    want_chips: bool = False
    #: annotate frames (off for headless watching: the returned frame is the input)
    draw: bool = True

    @classmethod
    def realtime(cls, settings: Settings, matrix: GalleryMatrix | None, **overrides: Any) -> LiveProcessor:
        """The real-time preset, used by the Live page's webcam and by ``workbench bench video``:
        detection every 2nd frame without upsampling, new faces embedded in a worker process,
        each track re-checked every 30 frames (about once a second)."""
        return cls(settings=settings, matrix=matrix, **{**REALTIME, **overrides})

    def __post_init__(self) -> None:
        if self.matrix is not None and self.matrix.model and self.matrix.model != self.settings.model:
            from workbench.errors import ModelMismatchError

            raise ModelMismatchError(self.matrix.gallery or "(live)", self.matrix.model, self.settings.model)
        self._lock = threading.Lock()
        self._stats: collections.deque[FrameStats] = collections.deque(maxlen=self.history)
        self._frame = 0
        self._tracker = Tracker(self.iou_match, self.max_missed)
        self._gate = live_gate(self.settings)
        self._t0 = time.perf_counter()
        self.faces_seen = 0
        self._inflight: list[tuple[Any, list[Track], float, list]] = []
        self._stamp: Any = None
        #: first and later identifications: ``(track id, frame opened, frame identified, perf_counter time)``
        self.identified: collections.deque[tuple[int, int, int, float]] = collections.deque(maxlen=1000)
        #: every track of this run: when it was on screen and what it was called (see :meth:`seen`)
        self.appearances: dict[int, Appearance] = {}

    # -- reading, from the page's thread --------------------------------------------------

    def stats(self) -> list[FrameStats]:
        with self._lock:
            return list(self._stats)

    def seen(self, min_frames: int = 2) -> list[Seen]:
        """Who was seen in this run, and when (video seconds for a file, else since the start)."""
        with self._lock:
            appearances = [Appearance(a.track, a.first_s, a.last_s, a.frames, a.labels.copy(), a.best_similarity)
                           for a in self.appearances.values()]
        return summarise(appearances, min_frames=min_frames)

    def fps(self) -> float:
        s = self.stats()
        if len(s) < 2:
            return 0.0
        span = s[-1].time_s - s[0].time_s
        return (len(s) - 1) / span if span > 0 else 0.0

    # -- processing, on the video thread --------------------------------------------------

    @property
    def tracks(self) -> list[Track]:
        """The live tracks (:class:`~workbench.live.tracking.Tracker`)."""
        return self._tracker.tracks

    def _assign(self, boxes: list[Box]) -> list[Track]:
        """This frame's boxes to tracks (:mod:`workbench.live.tracking`); ended tracks are reported."""
        current, ended = self._tracker.update(boxes, self._frame, self._stamp)
        if self.on_track_end is not None:
            for t in ended:
                self.on_track_end(t)
        return current

    def _identify(self, tr: Track, best: list, vec: np.ndarray | None = None,
                  chip: np.ndarray | None = None) -> tuple[str, float] | None:
        """Label a track from its ranked candidates and log when; returns ``(person, distance)``."""
        tr.pending = False
        if tr.identified_at < 0:
            tr.identified_at = self._frame
        self.identified.append((tr.id, tr.opened_at, self._frame, time.perf_counter()))
        m = best[0] if best else None
        if m is not None:
            tr.label = m.person if m.match else UNKNOWN
            tr.distance, tr.similarity = m.distance, m.similarity
        if self.on_decision is not None and vec is not None:
            self.on_decision(tr, m, vec, chip)
        return None if m is None else (m.person, m.distance)

    def _rank(self, vecs: np.ndarray) -> list:
        s = self.settings
        return rank(vecs, self.matrix, metric=s.metric_, threshold=s.threshold_, top_k=1,
                    similarity_base=s.similarity_base)

    def _collect(self, wait: bool = False) -> tuple[list[tuple[str, float]], float]:
        """Results of finished background embeddings: ``(matches, search ms)``."""
        matches: list[tuple[str, float]] = []
        search_ms = 0.0
        still = []
        for fut, tracks, sent, chips in list(self._inflight):
            if not (wait or fut.done()):
                still.append((fut, tracks, sent, chips))
                continue
            try:
                vecs = fut.result()
            except Exception as err:  # noqa: BLE001 - a failed worker: embed here from now on
                self._embed_here(err)
                for tr in tracks:  # retried at the next detection
                    tr.pending, tr.embedded_at = False, -1
                continue
            t = time.perf_counter()
            for k, (tr, best) in enumerate(zip(tracks, self._rank(vecs))):
                found = self._identify(tr, best, vecs[k], chips[k] if self.want_chips else None)
                if found:
                    matches.append(found)
            search_ms += (time.perf_counter() - t) * 1000
        self._inflight = still
        return matches, search_ms

    def _submit(self, image: np.ndarray, dets: list, current: list[Track], due: list[int]) -> bool:
        """Send the due faces' aligned chips to a worker process; False (said once) when that fails."""
        from workbench.pipeline import parallel

        chips = embed.aligned_chips(image, [dets[i] for i in due], model=self.settings.model)
        try:
            fut = parallel.submit_embed_chips(chips, self.settings.model)
        except Exception as err:  # noqa: BLE001 - a broken pool: embed here from now on
            self._embed_here(err)
            return False
        tracks = [current[i] for i in due]
        for tr in tracks:
            tr.pending, tr.embedded_at = True, self._frame
        self._inflight.append((fut, tracks, time.perf_counter(), chips))
        return True

    def _gated(self, image: np.ndarray, dets: list, current: list[Track], due: list[int]) -> list[int]:
        """The due faces that pass the gate; a rejected one is tried again at the next detection,
        and its track keeps the verdict on the largest face it showed."""
        kept = []
        for i in due:
            q = quality.assess(image, dets[i], self._gate)
            tr = current[i]
            if q.accepted:
                kept.append(i)
                if tr.passed_stamp is None:
                    tr.passed_stamp = self._stamp
            elif tr.rejection is None or q.size >= tr.rejection.size:
                tr.rejection = q
        return kept

    def _embed_here(self, err: BaseException) -> None:
        """Embed on this thread from now on, after a worker failed: said once, in words."""
        from workbench.pipeline import parallel

        if self.embed_async:
            log.warning("live embedding in a worker process failed (%s): faces are now embedded on the video "
                        "thread, which is slower; none is lost", parallel.failure(err))
        self.embed_async = False
        parallel.discard_broken_pool(err)

    def flush(self) -> None:
        """Wait for background embeddings still running (end of a video)."""
        self._collect(wait=True)

    def undecided(self) -> list[Track]:
        """Tracks still waiting for their first decision: live ones not yet embedded, and those
        whose vectors are being computed (even if the track has ended meanwhile)."""
        out = {id(t): t for t in self.tracks if t.identified_at < 0}
        for _fut, tracks, _sent, _chips in self._inflight:
            out.update({id(t): t for t in tracks if t.identified_at < 0})
        return list(out.values())

    def finish(self) -> None:
        """End of the stream: wait for background embeddings, then end every track."""
        self.flush()
        ended = self._tracker.end_all()
        if self.on_track_end is not None:
            for t in ended:
                self.on_track_end(t)

    def process(self, image: np.ndarray, at_s: float | None = None, stamp: Any = None,
                ) -> tuple[np.ndarray, FrameStats]:
        """Process one RGB frame; returns the annotated frame (a copy) and its statistics.

        ``at_s``: the frame's time in the video (default: seconds since the processor started),
        for :meth:`seen`. ``stamp`` is the caller's record of this frame (source frame index,
        video time, wall time ...): tracks keep the stamps of their first and last frames.
        """
        t0 = time.perf_counter()
        self._stamp = stamp
        s = self.settings
        detected = self._frame % max(self.detect_every, 1) == 0
        up = s.upsample if self.upsample is None else self.upsample
        if detected:
            dets = detect.detect_faces(image, s.detector, upsample=up, max_side=self.max_side)
            current = self._assign([d.box for d in dets])
        else:
            dets, current = [], self._tracker.coast(self._frame)
        t1 = time.perf_counter()
        matches, search_ms = self._collect() if self._inflight else ([], 0.0)
        due = [i for i, t in enumerate(current)
               if detected and self.matrix is not None and not t.pending
               and (t.embedded_at < 0 or self._frame - t.embedded_at >= self.recheck_every)]
        embed_ms = 0.0
        due = self._gated(image, dets, current, due) if due else due
        if due:
            submitted = self.embed_async and embed.takes_chips(s.model) and self._submit(image, dets, current, due)
            if submitted:
                embed_ms = (time.perf_counter() - t1) * 1000
            else:
                vecs = embed.embed_faces(image, [dets[i] for i in due], s.model)
                t2 = time.perf_counter()
                ranked = self._rank(vecs)
                embed_ms = (t2 - t1) * 1000
                search_ms += (time.perf_counter() - t2) * 1000
                chips = (embed.aligned_chips(image, [dets[i] for i in due], model=s.model) if self.want_chips
                         else [None] * len(due))
                for k, (i, best) in enumerate(zip(due, ranked)):
                    tr = current[i]
                    tr.embedded_at = self._frame
                    found = self._identify(tr, best, vecs[k], chips[k])
                    if found:
                        matches.append(found)
        annotated = annotate.draw(image, [t.label_for_drawing() for t in current]) if self.draw else image
        total_ms = (time.perf_counter() - t0) * 1000
        st = FrameStats(self._frame, time.perf_counter() - self._t0, (t1 - t0) * 1000 if detected else 0.0,
                        embed_ms, search_ms, total_ms, len(current), len(due), tuple(matches), detected)
        when = at_s if at_s is not None else t0 - self._t0
        with self._lock:
            self._stats.append(st)
            self.faces_seen += len(dets)
            for tr in current:
                self.appearances.setdefault(tr.id, Appearance(tr.id, when, when)).see(when, tr.label, tr.similarity)
        self._frame += 1
        return annotated, st


def stage_summary(stats: list[FrameStats]) -> list[dict[str, float | str]]:
    """p50 / p95 / max milliseconds per stage over frames (detection over the frames that ran it),
    the same figures ``workbench bench video`` reports."""
    rows = []
    for stage, values in (("detect", [s.detect_ms for s in stats if s.detected]),
                          ("embed", [s.embed_ms for s in stats if s.embedded]),
                          ("search", [s.search_ms for s in stats if s.search_ms]),
                          ("frame total", [s.total_ms for s in stats])):
        if values:
            a = np.asarray(values)
            rows.append({"stage": stage, "frames": int(a.size), "p50_ms": round(float(np.percentile(a, 50)), 1),
                         "p95_ms": round(float(np.percentile(a, 95)), 1), "max_ms": round(float(a.max()), 1)})
    return rows


def process_video(path: str, processor: LiveProcessor, *, every: int = 1, max_frames: int | None = None,
                  quality: CameraQuality | None = None) -> Iterator[tuple[int, np.ndarray, FrameStats]]:
    """Run a video file through ``processor``: yields ``(frame index, annotated, stats)``. With
    ``quality``, every frame is first made what that camera would record
    (:mod:`workbench.live.camera_quality`, as a watch's camera does)."""
    every = max(every, 1)
    cam = CameraFilter(quality or CameraQuality())
    if not cam.ready:
        cam.measure(sample_frames(path))
    # frames with index < max_frames and index % every == 0; the others are grabbed, not decoded
    kept = None if max_frames is None else -(-max_frames // every)
    for frame in iter_frames(path, max_frames=kept, every=every):
        if not cam.keeps(frame.time_s) or (not cam.ready and not cam.measure([frame.image])):
            continue
        annotated, st = processor.process(cam.apply(frame.image, frame.index), at_s=frame.time_s)
        yield frame.index, annotated, st
