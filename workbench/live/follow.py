"""Where was this face seen? One probe photo searched against every logged sighting of a gallery
(known people and anonymous faces, every camera and run), with the vectors the log keeps.

:func:`follow_face` picks the probe's face (the one :func:`~workbench.pipeline.choose_face`
picks, or ``face``), refuses a face the quality gate rejects (a "match" on it means nothing),
searches the log for every sighting within the threshold (:mod:`workbench.search.log_search`),
logs the search like any other (the probe's hash and boxes, the sightings returned; the photo only
when asked), and answers with the sightings best first, a timeline per camera (seconds into the
video for recorded files, wall-clock time for live sources), the distinct tracks, the threshold,
and how the false-match risk grows with the number of sightings searched
(:mod:`workbench.live.log_risk`). Every sighting returned is the system's call at the threshold,
not a fact.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass
from typing import Any

import polars as pl

from workbench.errors import GalleryError, WorkbenchError
from workbench.live.log_risk import LogRisk, log_risk
from workbench.live.sources import recorded
from workbench.pipeline import Settings, analyze, capture, choose_face, compare, quality
from workbench.pipeline.capture import ImageSource
from workbench.search.log_search import index_for
from workbench.store import SearchAudit, Store

#: What every answer says, as every search does: a sighting returned is a call, not a fact.
CAUTION = ("Each sighting is the system's call at the threshold, not a fact: any of them may be a false match, "
           "a stranger who looks alike to the model, and a face that was filmed may be missed (small, turned, "
           "blurred or dark faces are missed more often). Check each one by eye before it is used.")


@dataclass(frozen=True)
class Hit:
    """One sighting within the threshold of the probe, as the log recorded it."""

    rank: int
    sighting_id: int
    run_id: int
    camera: str
    source: str
    track: int
    who: str  # what the watch called it: a person, an anonymous identity, or unknown
    first_video_s: float
    last_video_s: float
    first_seen: dt.datetime
    last_seen: dt.datetime
    distance: float
    similarity: float
    has_chip: bool

    @property
    def recorded(self) -> bool:
        """A recorded file (times are seconds into the video), not a live source (wall clock)."""
        return recorded(self.source)

    @property
    def track_key(self) -> tuple[int, str, str, int]:
        return self.run_id, self.camera, self.source, self.track

    def when(self) -> str:
        """``"2.7 s to 3.7 s into the video"`` or ``"2026-12-06 14:03:45 to 14:03:47"``."""
        if self.recorded:
            return f"{self.first_video_s:.1f} s to {self.last_video_s:.1f} s into the video"
        return f"{self.first_seen:%Y-%m-%d %H:%M:%S} to {self.last_seen:%H:%M:%S}"


@dataclass(frozen=True)
class CameraTrail:
    """The sightings of one camera, in time order."""

    camera: str
    hits: tuple[Hit, ...]

    @property
    def tracks(self) -> int:
        return len({h.track_key for h in self.hits})

    @property
    def recorded(self) -> bool:
        return all(h.recorded for h in self.hits)

    def line(self) -> str:
        times = "; ".join(f"{h.when()} ({h.similarity:.1f} %)" for h in self.hits)
        return (f"{self.camera}: {len(self.hits)} sighting{'s' if len(self.hits) != 1 else ''}, {self.tracks} "
                f"track{'s' if self.tracks != 1 else ''}: {times}")


@dataclass(frozen=True, eq=False)
class FollowResult:
    """The answer of :func:`follow_face` (see the module docstring)."""

    gallery: str
    model: str
    detector: str
    metric: str
    threshold: float
    similarity_base: float
    probe: str            # the probe's name
    face: str             # which face of it was searched, in words
    searched: int         # sightings compared
    unsearchable: int     # sightings of the gallery without a vector
    hits: tuple[Hit, ...]  # best first
    risk: LogRisk | None
    search_ms: float

    @property
    def threshold_similarity(self) -> float:
        return float(compare.similarity(self.threshold, self.similarity_base))

    @property
    def tracks(self) -> int:
        return len({h.track_key for h in self.hits})

    def cameras(self) -> list[CameraTrail]:
        """A trail per camera, cameras in order of their first sighting (wall clock); each camera's
        sightings in the order of its own clock (video time for a recorded file, else wall clock)."""
        by_wall = sorted(self.hits, key=lambda h: (h.first_seen, h.sighting_id))
        out = []
        for camera in dict.fromkeys(h.camera for h in by_wall):
            mine = [h for h in by_wall if h.camera == camera]
            if all(h.recorded for h in mine):
                mine.sort(key=lambda h: (h.first_video_s, h.sighting_id))
            out.append(CameraTrail(camera, tuple(mine)))
        return out

    def threshold_words(self) -> str:
        return f"{self.threshold_similarity:.0f} % similarity (distance {self.threshold:.3f}, {self.metric})"

    def summary(self) -> str:
        """One line: what was searched and what was found."""
        head = f"{self.probe} ({self.face}) against {self.searched:,} sightings of gallery {self.gallery!r}"
        if not self.hits:
            text = (f"{head}: no sighting within {self.threshold_words()}. Not seen, or not recognised: a missed "
                    "match is possible.")
        else:
            cams = self.cameras()
            best = self.hits[0]
            text = (f"{head}: {len(self.hits)} sighting{'s' if len(self.hits) != 1 else ''} ({self.tracks} "
                    f"track{'s' if self.tracks != 1 else ''}) on {len(cams)} camera{'s' if len(cams) != 1 else ''} "
                    f"within {self.threshold_words()}; closest {best.distance:.3f} ({best.similarity:.1f} %) on "
                    f"{best.camera}.")
        if self.unsearchable:
            text += (f" {self.unsearchable} sighting{'s' if self.unsearchable != 1 else ''} logged before every "
                     "sighting kept its vector could not be searched.")
        return text

    def table(self) -> pl.DataFrame:
        """The sightings, best first, as a reader wants them (times in words, similarity in %)."""
        rows = [{"rank": h.rank, "sighting": h.sighting_id, "camera": h.camera, "when": h.when(),
                 "logged as": h.who, "distance": round(h.distance, 4), "similarity %": round(h.similarity, 1),
                 "track": f"run {h.run_id}, track {h.track}", "chip kept": h.has_chip} for h in self.hits]
        schema = {"rank": pl.Int64, "sighting": pl.Int64, "camera": pl.String, "when": pl.String,
                  "logged as": pl.String, "distance": pl.Float64, "similarity %": pl.Float64,
                  "track": pl.String, "chip kept": pl.Boolean}
        return pl.DataFrame(rows, schema=schema)

    def as_dict(self) -> dict[str, Any]:
        """Strict-JSON-ready (datetimes as ISO text)."""
        return {"gallery": self.gallery, "model": self.model, "detector": self.detector, "metric": self.metric,
                "threshold": self.threshold, "threshold_similarity": round(self.threshold_similarity, 2),
                "probe": self.probe, "face": self.face, "sightings_searched": self.searched,
                "sightings_unsearchable": self.unsearchable, "found": len(self.hits), "tracks": self.tracks,
                "summary": self.summary(), "caution": CAUTION, "search_ms": round(self.search_ms, 3),
                "cameras": [{"camera": c.camera, "sightings": len(c.hits), "tracks": c.tracks,
                             "clock": "video" if c.recorded else "wall",
                             "sighting_ids": [h.sighting_id for h in c.hits]} for c in self.cameras()],
                "sightings": [{"rank": h.rank, "id": h.sighting_id, "run_id": h.run_id, "camera": h.camera,
                               "source": h.source, "track": h.track, "logged_as": h.who,
                               "first_video_s": h.first_video_s, "last_video_s": h.last_video_s,
                               "first_seen": h.first_seen.isoformat(), "last_seen": h.last_seen.isoformat(),
                               "distance": h.distance, "similarity": h.similarity, "chip": h.has_chip}
                              for h in self.hits],
                "at_scale": self.risk.as_dict() if self.risk is not None else None}


def searchable(db: Store, gallery: str, model: str) -> int:
    """Sightings of ``gallery`` a probe of ``model`` can be compared with, once the gallery is
    known to exist and hold ``model``'s vectors; a log with none is refused in one line (it would
    answer "not seen" for everyone)."""
    m = db.sighting_vectors.matrix(gallery, model)
    if m.size == 0:
        why = (f"its {m.unsearchable} sightings were logged before every sighting kept its vector: watch the "
               "footage again" if m.unsearchable else "watch cameras into it first (workbench watch, or the "
               "Cameras page)")
        raise GalleryError(f"gallery {gallery!r} has no sightings to search: {why}")
    return m.size


def follow_face(db: Store, gallery: str, photo: ImageSource, settings: Settings = Settings(), *,
                face: int | None = None, name: str = "", log: bool = True, client: str = "library",
                keep_probe: bool = False, at_scale: bool = True) -> FollowResult:
    """Every logged sighting of ``gallery`` within ``settings``' threshold of one face of ``photo``.

    Raises, in one line and before any model time where it can: an unknown gallery, one of another
    model than ``settings.model`` (the probe would be embedded with another model), a log with
    nothing to search; then an unreadable photo, no face, no face ``face``, or a face the quality
    gate rejects.
    """
    searchable(db, gallery, settings.model)
    given = photo if isinstance(photo, (bytes, bytearray, memoryview)) else capture.read_bytes(photo)
    name = name or (str(photo) if isinstance(photo, (str, os.PathLike)) else "probe")
    image = capture.load_image(given, name)
    analysis = analyze(image, settings, embed_faces="all")
    choice = choose_face(analysis, face, name)
    if not choice.face.quality.accepted:
        raise WorkbenchError(f"{name}: face {choice.number} is not searched: {quality.describe(choice.face.quality)}"
                             + ("; choose another face (--face N)" if choice.found > 1 else "; try a larger, sharper photo"))
    t0 = time.perf_counter()
    matrix = db.sighting_vectors.matrix(gallery, settings.model)
    found = index_for(matrix, settings.metric_).within(choice.face.embedding, settings.threshold_,
                                                         settings.similarity_base)
    search_ms = (time.perf_counter() - t0) * 1000.0
    rows = {r["id"]: r for r in db.sightings.query(gallery, ids=[m.sighting_id for m in found]).iter_rows(named=True)}
    kept = [(m, rows[m.sighting_id]) for m in found if m.sighting_id in rows]
    hits = tuple(Hit(k, m.sighting_id, r["run_id"], r["camera"], r["source"] or "", r["track"], r["who"],
                     r["first_video_s"], r["last_video_s"], r["first_seen"], r["last_seen"], m.distance,
                     m.similarity, bool(r["has_chip"])) for k, (m, r) in enumerate(kept, 1))
    if log:
        _log(db, gallery, settings, name, given, image, analysis, choice.index, hits, matrix.size, search_ms,
             client, keep_probe)
    risk = log_risk(matrix.size, settings, db) if at_scale else None
    return FollowResult(gallery, settings.model, settings.detector, settings.metric_, settings.threshold_,
                        settings.similarity_base, str(name), choice.describe(), matrix.size, matrix.unsearchable,
                        hits, risk, search_ms)


def _log(db: Store, gallery: str, settings: Settings, name: str, given: bytes, image, analysis, searched: int,
         hits: tuple[Hit, ...], compared: int, search_ms: float, client: str, keep_probe: bool) -> None:
    """The search in the search log, like any other: every face found (only face ``searched`` was
    searched), the sightings returned and how many were compared; the photo only with ``keep_probe``."""
    faces = analysis.faces
    mine = [i == searched for i in range(len(faces))]
    db.search_log.add(
        gallery=gallery, model=settings.model, detector=settings.detector, metric=settings.metric_,
        threshold=settings.threshold_, top_k=len(hits), result_face_ids=[[] for _ in faces],
        result_distances=[[h.distance for h in hits] if m else [] for m in mine],
        detect_ms=analysis.timings.detect_ms, embed_ms=analysis.timings.embed_ms, search_ms=search_ms,
        source=f"sightings: {name}", audit=SearchAudit(
            client=client, probe_sha256=capture.sha256(given), probe_width=int(image.shape[1]),
            probe_height=int(image.shape[0]), probe_boxes=tuple(tuple(f.box.as_list()) for f in faces),
            probe_quality=tuple(f.quality.reason or "ok" for f in faces), upsample=settings.upsample,
            max_side=settings.max_side, similarity_base=settings.similarity_base,
            result_people=tuple(tuple(h.who for h in hits) if m else () for m in mine),
            result_match=tuple(tuple(True for _ in hits) if m else () for m in mine),
            probe_image=capture.encode_jpeg(image) if keep_probe else None,
            result_sighting_ids=tuple(tuple(h.sighting_id for h in hits) if m else () for m in mine),
            sightings_searched=compared))
