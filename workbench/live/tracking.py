"""Faces followed from frame to frame: :class:`Track` and its assignment (:class:`Tracker`).

Each detected box is matched to a live track by box overlap (IoU) with where that track is
expected now: its last detected box moved by its velocity. The matching is one optimal
assignment over all pairs (the Hungarian method, ``scipy.optimize.linear_sum_assignment``),
not box by box: two faces that cross paths keep their tracks, where a greedy match lets the
first box take the other face's track and splits both sightings. A pair under ``min_iou``
never matches; an unmatched box opens a track, and a track unmatched for more than
``max_missed`` detections ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.pipeline.annotate import Label
from workbench.types import Box

UNKNOWN = "unknown"
#: Weight of the earlier velocity in each update (exponential smoothing).
SMOOTHING = 0.5


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
    velocity: tuple[float, float] = (0.0, 0.0)
    opened_at: int = -1
    identified_at: int = -1
    pending: bool = False
    seen_at: int = -1
    seen_box: Box | None = None
    #: the caller's stamps (see :meth:`~workbench.live.processor.LiveProcessor.process`) of the
    #: frame that opened the track and of the last frame it was detected in
    first_stamp: Any = None
    last_stamp: Any = None
    #: the stamp of the first frame in which a face of the track passed the quality gate (``None``
    #: while none has): the time before it is the gate's wait, the time after it the pipeline's
    passed_stamp: Any = None
    #: the gate's verdict on the largest face of the track it rejected (a ``Quality``), while no
    #: face of it has passed: why the track stays unknown if none ever does
    rejection: Any = None

    def expected(self, frame: int) -> Box:
        """Where the face should be at ``frame``: its last detected box moved by its velocity."""
        b = self.seen_box or self.box
        steps = frame - self.seen_at if self.seen_at >= 0 else 0
        dx, dy = (int(round(v * steps)) for v in self.velocity)
        return Box(b.left + dx, b.top + dy, b.right + dx, b.bottom + dy)

    def label_for_drawing(self) -> Label:
        """The overlay's tab: the name, and for a searched face its distance and similarity %."""
        text = self.label if self.distance is None else (
            f"{self.label} {self.distance:.2f} ({self.similarity:.0f} %)")
        return Label(self.box, text, "unknown" if self.label == UNKNOWN else "match")


def iou_matrix(a: list[Box], b: list[Box]) -> np.ndarray:
    """IoU of every box of ``a`` (rows) with every box of ``b`` (columns), float64."""
    out = np.zeros((len(a), len(b)))
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            out[i, j] = x.iou(y)
    return out


def assign(expected: list[Box], boxes: list[Box], min_iou: float) -> list[tuple[int, int]]:
    """``(track index, box index)`` pairs of the assignment that maximises the summed IoU,
    keeping only pairs whose IoU is at least ``min_iou``."""
    if not expected or not boxes:
        return []
    from scipy.optimize import linear_sum_assignment

    iou = iou_matrix(expected, boxes)
    rows, cols = linear_sum_assignment(iou, maximize=True)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if iou[r, c] >= min_iou]


class Tracker:
    """The live tracks of one stream (see the module docstring).

    :meth:`update` takes a frame's detected boxes; :meth:`coast` moves the tracks between
    detections. Both return the tracks on screen in this frame.
    """

    def __init__(self, min_iou: float = 0.3, max_missed: int = 5) -> None:
        self.min_iou, self.max_missed = min_iou, max_missed
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(self, boxes: list[Box], frame: int, stamp: Any = None) -> tuple[list[Track], list[Track]]:
        """Match ``boxes`` (in order) to tracks; returns ``(a track per box, tracks that ended)``."""
        pairs = dict((j, i) for i, j in assign([t.expected(frame) for t in self.tracks], boxes, self.min_iou))
        out: list[Track] = []
        for j, box in enumerate(boxes):
            if j in pairs:
                t = self.tracks[pairs[j]]
                if t.seen_box is not None:
                    steps = max(frame - t.seen_at, 1)
                    (ox, oy), (nx, ny) = t.seen_box.center, box.center
                    v = ((nx - ox) / steps, (ny - oy) / steps)
                    # smoothed: one jittery detection must not throw the next prediction off
                    t.velocity = v if t.seen_at == t.opened_at else tuple(
                        SMOOTHING * old + (1 - SMOOTHING) * new for old, new in zip(t.velocity, v))
                t.box, t.missed, t.seen_box, t.seen_at, t.last_stamp = box, 0, box, frame, stamp
            else:
                t = Track(self._next_id, box, opened_at=frame, seen_at=frame, seen_box=box, first_stamp=stamp,
                          last_stamp=stamp)
                self._next_id += 1
            out.append(t)
        matched = set(pairs.values())
        free = [t for i, t in enumerate(self.tracks) if i not in matched]
        for t in free:
            t.missed += 1
        ended = [t for t in free if t.missed > self.max_missed]
        self.tracks = out + [t for t in free if t.missed <= self.max_missed]
        return out, ended

    def coast(self, frame: int) -> list[Track]:
        """Between detections: the tracks seen at the last detection move by their velocity."""
        for t in self.tracks:
            if t.missed == 0 and t.seen_box is not None:
                t.box = t.expected(frame)
        return [t for t in self.tracks if t.missed == 0]

    def end_all(self) -> list[Track]:
        """End every track (the end of the stream); returns them."""
        ended, self.tracks = self.tracks, []
        return ended
