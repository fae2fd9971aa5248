"""Who was seen in one run of a video (or a webcam session): a per-identity summary built from
the :class:`~workbench.live.processor.LiveProcessor`'s own tracks and identifications.

Each track (a face followed from frame to frame) keeps when it was first and last on screen,
how many processed frames showed it, and which label each of its identifications gave. A
track belongs to the person most of its identified frames named; tracks never named are
unknown faces. Nothing is stored: this is the run's summary, in memory (a persistent log of
sightings across runs and cameras is another feature).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

UNKNOWN = "unknown"


@dataclass
class Appearance:
    """One track's time on screen and what it was called."""

    track: int
    first_s: float
    last_s: float
    frames: int = 0
    labels: Counter = field(default_factory=Counter)  # label -> processed frames showing it
    best_similarity: float | None = None               # the highest similarity when called a known person

    def see(self, at_s: float, label: str, similarity: float | None) -> None:
        self.last_s = max(self.last_s, at_s)
        self.first_s = min(self.first_s, at_s)
        self.frames += 1
        self.labels[label] += 1
        if label != UNKNOWN and similarity is not None:
            self.best_similarity = max(self.best_similarity or 0.0, float(similarity))

    @property
    def identity(self) -> str:
        known = [(n, label) for label, n in self.labels.items() if label != UNKNOWN]
        return max(known)[1] if known else UNKNOWN


@dataclass(frozen=True)
class Seen:
    """One row of the summary: a person (or one unknown face) and when they were on screen."""

    who: str
    known: bool
    tracks: int
    first_s: float
    last_s: float
    on_screen_s: float     # sum of the tracks' spans
    frames: int
    best_similarity: float | None


def summarise(appearances: list[Appearance], *, min_frames: int = 2) -> list[Seen]:
    """Known people first (earliest first), then each unknown face (earliest first).

    Tracks shown in fewer than ``min_frames`` processed frames are left out (a detector's
    one-frame false alarm is not a person).
    """
    kept = [a for a in appearances if a.frames >= min_frames]
    people: dict[str, list[Appearance]] = {}
    for a in kept:
        people.setdefault(a.identity, []).append(a)
    rows = [Seen(who, True, len(tr), min(a.first_s for a in tr), max(a.last_s for a in tr),
                 sum(a.last_s - a.first_s for a in tr), sum(a.frames for a in tr),
                 max((a.best_similarity for a in tr if a.best_similarity is not None), default=None))
            for who, tr in people.items() if who != UNKNOWN]
    rows.sort(key=lambda r: r.first_s)
    unknown = sorted(people.get(UNKNOWN, []), key=lambda a: a.first_s)
    rows += [Seen(f"unknown face {i}", False, 1, a.first_s, a.last_s, a.last_s - a.first_s, a.frames, None)
             for i, a in enumerate(unknown, 1)]
    return rows


def as_rows(seen: list[Seen]) -> list[dict]:
    """The summary as table rows (times in seconds, one decimal)."""
    return [{"who": s.who, "seen from (s)": round(s.first_s, 1), "to (s)": round(s.last_s, 1),
             "on screen (s)": round(s.on_screen_s, 1), "appearances": s.tracks, "frames": s.frames,
             "best similarity %": None if s.best_similarity is None else round(s.best_similarity, 1)}
            for s in seen]
