"""What a watch is asked to do and what it reports: options, per-camera summaries, alerts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.live.camera_worker import WorkerConfig
from workbench.pipeline import Settings


@dataclass(frozen=True)
class WatchOptions:
    """How to watch. Thresholds are distances; ``None`` means the defaults: labelling at the
    model's (or the settings') threshold, alerts at the same, identities at
    :func:`~workbench.search.clusters.default_identity_threshold`."""

    gallery: str
    settings: Settings = field(default_factory=Settings)
    fast: bool = False
    keep_chips: bool = False
    batch_size: int = 32
    flush_s: float = 2.0
    alert_threshold: float | None = None
    identity_threshold: float | None = None
    restart: bool = False
    max_frames: int | None = None
    retries: int = 5
    backoff: float = 0.5
    backoff_max: float = 8.0
    draw: bool = False
    embed_async: bool = True
    #: see :class:`~workbench.live.camera_worker.WorkerConfig` (``bench watch --one-thread`` sets 1)
    cv_threads: int | None = None

    def worker_config(self, **over: Any) -> WorkerConfig:
        return WorkerConfig(**{**dict(settings=self.settings, fast=self.fast, keep_chips=self.keep_chips,
                                      embed_async=self.embed_async, max_frames=self.max_frames,
                                      retries=self.retries, backoff=self.backoff, backoff_max=self.backoff_max,
                                      draw=self.draw, cv_threads=self.cv_threads),
                                 **over})


@dataclass
class CameraSummary:
    """What one camera did in a watch (JSON-ready through :meth:`as_dict`)."""

    name: str
    source: str
    kind: str
    state: str = "starting"
    message: str = ""
    frames: int = 0
    dropped: int = 0
    faces: int = 0
    fps: float = 0.0
    reconnects: int = 0
    sightings: int = 0
    alerts: int = 0
    people: set[str] = field(default_factory=set)
    identities: set[int] = field(default_factory=set)
    #: per searched track, from its first frame to its first decision (identity latency) ...
    latency_ms: list[float] = field(default_factory=list)
    #: ... and from its first face past the quality gate: the pipeline's own part of it
    after_gate_ms: list[float] = field(default_factory=list)
    #: per searched track, the frames it showed before a face of it passed the gate (0: its first)
    gate_wait_frames: list[int] = field(default_factory=list)
    #: tracks none of whose faces passed the quality gate (sightings of nobody, with the rule)
    gated: int = 0
    #: the camera's quality setting in words (with the footage's measured faces, once known)
    conditions: str = "as recorded"
    #: CPU seconds of the process that ran the camera, from its first frame on (the camera's own
    #: cost when it has a process of its own: processes, Ray; with threads, the whole watch's)
    process_cpu_s: float | None = None

    def named(self, first: Any, passed: Any, decided_at: float) -> None:
        """A searched track's first decision: ``first`` and ``passed`` are the stamps of its first
        frame and of its first face past the gate (``None``: not known, counted as its first)."""
        passed = passed or first
        self.latency_ms.append((decided_at - first.arrived) * 1000)
        self.after_gate_ms.append((decided_at - passed.arrived) * 1000)
        self.gate_wait_frames.append(max(passed.index - first.index, 0) if passed.source == first.source else 0)

    def as_dict(self) -> dict[str, Any]:
        def pct(values: list[float], q: float) -> float | None:
            return round(float(np.percentile(values, q)), 1) if values else None

        return {"camera": self.name, "source": self.source, "kind": self.kind, "state": self.state,
                "message": self.message, "frames": self.frames, "dropped": self.dropped, "faces": self.faces,
                "fps": self.fps, "reconnects": self.reconnects, "sightings": self.sightings, "alerts": self.alerts,
                "people": sorted(self.people), "anonymous_identities": len(self.identities),
                "tracks_failing_the_gate": self.gated, "conditions": self.conditions,
                "named_tracks": len(self.latency_ms), "process_cpu_s": self.process_cpu_s,
                "identity_latency_p50_ms": pct(self.latency_ms, 50),
                "identity_latency_p95_ms": pct(self.latency_ms, 95),
                "named_tracks_held_at_the_gate": sum(1 for n in self.gate_wait_frames if n > 0),
                "latency_after_gate_p50_ms": pct(self.after_gate_ms, 50),
                "latency_after_gate_p95_ms": pct(self.after_gate_ms, 95)}


@dataclass(frozen=True)
class Alert:
    """A watchlisted person seen within the alert threshold."""

    sighting_id: int
    camera: str
    person: str
    watchlists: tuple[str, ...]
    distance: float
    similarity: float | None
    video_s: float
    wall: dt.datetime


@dataclass(frozen=True)
class WatchSummary:
    run_id: int
    gallery: str
    mode: str
    seconds: float
    sightings: int
    alerts: int
    batches: int
    new_identities: int
    cameras: tuple[CameraSummary, ...]
    thresholds: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "gallery": self.gallery, "mode": self.mode, "seconds": round(self.seconds, 2),
                "sightings": self.sightings, "alerts": self.alerts, "batches": self.batches,
                "new_identities": self.new_identities, "thresholds": self.thresholds,
                "sightings_per_s": round(self.sightings / self.seconds, 3) if self.seconds > 0 else None,
                "cameras": [c.as_dict() for c in self.cameras]}
