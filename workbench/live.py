"""Per-frame processing for live video: detect, track, embed once per track, search, draw.

A :class:`LiveProcessor` is built by the page with a snapshot of the gallery's vectors and
the settings; its :meth:`~LiveProcessor.process` runs on the video thread. It does array
work only: no Streamlit calls and no database writes. Faces are followed from frame to
frame by box overlap (IoU), so a face is embedded when it first appears and re-checked every
``recheck_every`` frames, not on every frame. Per-frame statistics go to a bounded buffer
that the page reads for its live charts.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from workbench import detect, embed
from workbench.capture import iter_frames
from workbench.gallery import GalleryMatrix
from workbench.pipeline import Settings
from workbench.search import rank
from workbench.types import Box

UNKNOWN = "unknown"


@dataclass
class Track:
    """A face followed across frames, with its last identification."""

    id: int
    box: Box
    label: str = UNKNOWN
    distance: float | None = None
    similarity: float | None = None
    embedded_at: int = -1
    missed: int = 0


@dataclass(frozen=True)
class FrameStats:
    """What one frame cost and found."""

    frame: int
    time_s: float
    detect_ms: float
    embed_ms: float
    search_ms: float
    total_ms: float
    faces: int
    embedded: int
    matches: tuple[tuple[str, float], ...] = ()


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
    tracks: list[Track] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stats: collections.deque[FrameStats] = collections.deque(maxlen=self.history)
        self._frame = 0
        self._next_id = 1
        self._t0 = time.perf_counter()
        self.faces_seen = 0

    # -- reading, from the page's thread --------------------------------------------------

    def stats(self) -> list[FrameStats]:
        with self._lock:
            return list(self._stats)

    def fps(self) -> float:
        s = self.stats()
        if len(s) < 2:
            return 0.0
        span = s[-1].time_s - s[0].time_s
        return (len(s) - 1) / span if span > 0 else 0.0

    # -- processing, on the video thread --------------------------------------------------

    def _assign(self, boxes: list[Box]) -> list[Track]:
        """Greedy IoU matching of this frame's boxes to live tracks; new boxes open tracks."""
        free = list(self.tracks)
        out: list[Track] = []
        for box in boxes:
            best = max(free, key=lambda t: t.box.iou(box), default=None)
            if best is not None and best.box.iou(box) >= self.iou_match:
                free.remove(best)
                best.box, best.missed = box, 0
                out.append(best)
            else:
                out.append(Track(self._next_id, box))
                self._next_id += 1
        for t in free:
            t.missed += 1
        self.tracks = out + [t for t in free if t.missed <= self.max_missed]
        return out

    def process(self, image: np.ndarray) -> tuple[np.ndarray, FrameStats]:
        """Process one RGB frame; returns the annotated frame (a copy) and its statistics."""
        t0 = time.perf_counter()
        s = self.settings
        dets = detect.detect_faces(image, s.detector, upsample=s.upsample, max_side=self.max_side)
        t1 = time.perf_counter()
        current = self._assign([d.box for d in dets])
        due = [i for i, t in enumerate(current)
               if self.matrix is not None and (t.embedded_at < 0 or self._frame - t.embedded_at >= self.recheck_every)]
        embed_ms = search_ms = 0.0
        matches: list[tuple[str, float]] = []
        if due:
            vecs = embed.embed_faces(image, [dets[i] for i in due], s.model)
            t2 = time.perf_counter()
            ranked = rank(vecs, self.matrix, metric=s.metric_, threshold=s.threshold_, top_k=1,
                          similarity_base=s.similarity_base)
            t3 = time.perf_counter()
            embed_ms, search_ms = (t2 - t1) * 1000, (t3 - t2) * 1000
            for i, best in zip(due, ranked):
                tr = current[i]
                tr.embedded_at = self._frame
                if best:
                    m = best[0]
                    tr.label = m.person if m.match else UNKNOWN
                    tr.distance, tr.similarity = m.distance, m.similarity
                    matches.append((m.person, m.distance))
        annotated = draw_tracks(image, current)
        total_ms = (time.perf_counter() - t0) * 1000
        st = FrameStats(self._frame, time.perf_counter() - self._t0, (t1 - t0) * 1000, embed_ms, search_ms,
                        total_ms, len(dets), len(due), tuple(matches))
        with self._lock:
            self._stats.append(st)
            self.faces_seen += len(dets)
        self._frame += 1
        return annotated, st


def draw_tracks(image: np.ndarray, tracks: list[Track]) -> np.ndarray:
    """A copy of an RGB frame with each track's box, name and distance drawn on it."""
    import cv2

    out = image.copy()
    for t in tracks:
        known = t.label != UNKNOWN
        colour = (40, 200, 60) if known else (230, 60, 40)
        b = t.box
        cv2.rectangle(out, (b.left, b.top), (b.right - 1, b.bottom - 1), colour, 2)
        text = t.label if t.distance is None else f"{t.label} {t.distance:.2f} ({t.similarity:.0f}%)"
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
        y = max(b.top - 4, th + 4)
        cv2.rectangle(out, (b.left, y - th - 4), (b.left + tw + 4, y + 2), colour, -1)
        cv2.putText(out, text, (b.left + 2, y - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def process_video(path: str, processor: LiveProcessor, *, every: int = 1,
                  max_frames: int | None = None) -> Iterator[tuple[int, np.ndarray, FrameStats]]:
    """Run a video file through ``processor``: yields ``(frame index, annotated, stats)``."""
    for i, frame in enumerate(iter_frames(path, max_frames=max_frames)):
        if i % max(every, 1):
            continue
        annotated, st = processor.process(frame.image)
        yield frame.index, annotated, st
