"""The sightings log: one row per track per identification decision, with the model of its
vector (the gallery's), and where each camera's file got to. The runs themselves are
:mod:`workbench.store.watch_runs`.

One process writes (the watch's driver, see :mod:`workbench.live.watch`): rows arrive in
batches, each batch one transaction (new sightings, updates of earlier ones, the anonymous
identities they created or moved, and each camera's progress), so a crash loses at most the
batch in progress and never leaves half of one. A batch of another model than its gallery's is
refused whole. Deleting a person or a gallery deletes their sightings through
:func:`forget_sightings` (then the caller compacts the file).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import polars as pl

from workbench.errors import GalleryError, ModelMismatchError
from workbench.files import atomic_path
from workbench.store.db import Database, reads
from workbench.store.galleries import Galleries
from workbench.store.identities import identity_id
from workbench.store.results import first, query_frame


@dataclass(frozen=True, eq=False)
class SightingRow:
    """A new sighting: one track of one camera under one identification decision."""

    id: int
    camera: str
    source: str
    track: int
    decision: int
    first_frame: int
    last_frame: int
    first_video_s: float
    last_video_s: float
    first_seen: dt.datetime
    last_seen: dt.datetime
    person_id: int | None
    candidate_id: int | None
    identity_id: int | None
    distance: float | None
    similarity: float | None
    threshold: float
    model: str
    box: tuple[int, int, int, int]
    checks: int = 1
    alert: bool = False
    watchlists: tuple[str, ...] = ()
    embedding: np.ndarray | None = None
    chip: bytes | None = None
    why_unknown: str | None = None


@dataclass(frozen=True)
class SightingUpdate:
    """A later state of an earlier sighting (the track went on, or ended)."""

    id: int
    last_frame: int
    last_video_s: float
    last_seen: dt.datetime
    distance: float | None
    similarity: float | None
    box: tuple[int, int, int, int]
    checks: int
    alert: bool
    watchlists: tuple[str, ...] = ()
    candidate_id: int | None = None
    why_unknown: str | None = None


@dataclass(frozen=True, eq=False)
class IdentityRow:
    """An anonymous identity as the batch leaves it (``new``: insert, else update)."""

    id: int
    label: str
    centroid: np.ndarray
    members: int
    new: bool = False


@dataclass(frozen=True)
class Progress:
    """How far a camera got in a file: the next frame to process on a resumed run."""

    camera: str
    source: str
    frame: int
    video_s: float


def _vec(v: np.ndarray | None) -> list[float] | None:
    return None if v is None else np.asarray(v, np.float32).reshape(-1).tolist()


def _watch_rows(gallery_id: int, gallery: str, person_ids: Sequence[int] | None) -> list[tuple[str, str, list]]:
    """``(table, WHERE clause, parameters)`` of the rows the watch stored about ``person_ids`` of a
    gallery (their sightings, as the person or as a candidate, the searches of the log that returned
    those, and watchlist rows), or with ``None`` everything it stored for the gallery: one place for
    the deletion and its preview."""
    if person_ids is None:
        return [(t, "gallery_id = ?", [gallery_id]) for t in ("sightings", "identities", "watchlist", "watch_progress")] \
            + [("watch_cameras", "run_id IN (SELECT id FROM watch_runs WHERE gallery = ?)", [gallery]),
               ("watch_runs", "gallery = ?", [gallery])]
    ids = [int(i) for i in person_ids]
    if not ids:
        return []
    theirs = "gallery_id = ? AND (list_contains(?::INTEGER[], person_id) OR list_contains(?::INTEGER[], candidate_id))"
    # searches of the log by photo that returned their sightings go first, while those still exist
    return [("searches", "list_has_any(flatten(result_sighting_ids), "
                         f"(SELECT coalesce(list(id), []) FROM sightings WHERE {theirs}))", [gallery_id, ids, ids]),
            ("sightings", theirs, [gallery_id, ids, ids]),
            ("watchlist", "list_contains(?::INTEGER[], person_id)", [ids])]


#: The watch's tables (they are counted and deleted by :func:`_watch_rows`, not by a generic link).
WATCH_TABLES = ("sightings", "identities", "watchlist", "watch_progress", "watch_cameras", "watch_runs")


def forget_sightings(cur: Any, gallery_id: int, gallery: str, person_ids: Sequence[int] | None = None) -> None:
    """Delete the sightings (and watchlist rows) of ``person_ids`` of a gallery, or with ``None``
    everything the watch stored for the gallery: sightings, identities, watchlists, progress, runs."""
    for table, where, params in _watch_rows(gallery_id, gallery, person_ids):
        cur.execute(f"DELETE FROM {table} WHERE {where}", params)


def count_sightings(cur: Any, gallery_id: int, gallery: str, person_ids: Sequence[int] | None = None,
                    ) -> dict[str, int]:
    """What :func:`forget_sightings` would delete, per table (tables with no such row left out)."""
    counts = {}
    for table, where, params in _watch_rows(gallery_id, gallery, person_ids):
        n = int(first(cur.execute(f"SELECT count(*) FROM {table} WHERE {where}", params))[0])
        if n:
            counts[table] = n
    return counts


_SELECT = (
    "SELECT s.id, s.run_id, g.name AS gallery, s.camera, s.source, s.track, s.decision, s.first_frame, "
    "s.last_frame, s.first_video_s, s.last_video_s, s.first_seen, s.last_seen, "
    "coalesce(p.name, i.label, 'unknown') AS who, p.name AS person, s.identity_id, i.label AS identity, "
    "c.name AS candidate, s.distance, s.similarity, s.threshold, s.model, s.box, s.checks, s.alert, "
    "s.watchlists, s.chip IS NOT NULL AS has_chip, s.why_unknown, coalesce(wc.conditions, 'as recorded') AS conditions "
    "FROM sightings s JOIN galleries g ON g.id = s.gallery_id LEFT JOIN people p ON p.id = s.person_id "
    "LEFT JOIN people c ON c.id = s.candidate_id LEFT JOIN identities i ON i.id = s.identity_id "
    "LEFT JOIN watch_cameras wc ON wc.run_id = s.run_id AND wc.camera = s.camera "
)


class Sightings:
    """The ``sightings`` and ``watch_progress`` tables of ``db``."""

    def __init__(self, db: Database, galleries: Galleries) -> None:
        self.db, self.galleries = db, galleries

    def write_batch(self, run_id: int, gallery: str, model: str, new: Sequence[SightingRow],
                    updates: Sequence[SightingUpdate] = (), identities: Sequence[IdentityRow] = (),
                    progress: Sequence[Progress] = ()) -> None:
        """One batch of the watch, all or nothing: new sightings, updates of earlier ones, the
        anonymous identities touched, each camera's progress and the run's counters. Every
        vector is ``model``'s, the gallery's (:class:`ModelMismatchError` otherwise)."""
        with self.db.transaction() as cur:
            gid = self.galleries.check(gallery, model, cur=cur)
            for r in new:
                if r.model != model:
                    raise ModelMismatchError(gallery, model, r.model)
            for ident in identities:
                if ident.new:
                    cur.execute("INSERT INTO identities (id, gallery_id, model, label, centroid, members) "
                                "VALUES (?, ?, ?, ?, ?, ?)",
                                [ident.id, gid, model, ident.label, _vec(ident.centroid), ident.members])
                else:
                    cur.execute("UPDATE identities SET centroid = ?, members = ? WHERE id = ? AND model = ?",
                                [_vec(ident.centroid), ident.members, ident.id, model])
            if new:
                cur.executemany(
                    "INSERT INTO sightings (id, run_id, gallery_id, camera, source, track, decision, first_frame, "
                    "last_frame, first_video_s, last_video_s, first_seen, last_seen, person_id, candidate_id, "
                    "identity_id, distance, similarity, threshold, model, box, checks, alert, watchlists, "
                    "embedding, chip, why_unknown) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                    "?, ?, ?, ?, ?, ?, ?, ?)",
                    [[r.id, run_id, gid, r.camera, r.source, r.track, r.decision, r.first_frame, r.last_frame,
                      r.first_video_s, r.last_video_s, r.first_seen, r.last_seen, r.person_id, r.candidate_id,
                      r.identity_id, r.distance, r.similarity, r.threshold, r.model, list(r.box), r.checks,
                      r.alert, list(r.watchlists), _vec(r.embedding), r.chip, r.why_unknown] for r in new])
            if updates:
                cur.executemany(
                    "UPDATE sightings SET last_frame = ?, last_video_s = ?, last_seen = ?, distance = ?, "
                    "similarity = ?, box = ?, checks = ?, alert = ?, watchlists = ?, "
                    "candidate_id = coalesce(?, candidate_id), why_unknown = ? WHERE id = ?",
                    [[u.last_frame, u.last_video_s, u.last_seen, u.distance, u.similarity, list(u.box), u.checks,
                      u.alert, list(u.watchlists), u.candidate_id, u.why_unknown, u.id] for u in updates])
            for p in progress:
                cur.execute("DELETE FROM watch_progress WHERE gallery_id = ? AND camera = ? AND source = ?",
                            [gid, p.camera, p.source])
                cur.execute("INSERT INTO watch_progress (gallery_id, camera, source, frame, video_s, run_id) "
                            "VALUES (?, ?, ?, ?, ?, ?)", [gid, p.camera, p.source, int(p.frame),
                                                          float(p.video_s), run_id])
            alerts = sum(r.alert for r in new)
            cur.execute("UPDATE watch_runs SET sightings = sightings + ?, alerts = alerts + ? WHERE id = ?",
                        [len(new), int(alerts), run_id])

    @reads
    def query(self, gallery: str | None = None, *, person: str | None = None,
              identity: int | str | None = None, camera: str | None = None,
              since: dt.datetime | None = None, run_id: int | None = None,
              alerts_only: bool = False, limit: int | None = None,
              ids: Sequence[int] | None = None) -> pl.DataFrame:
        """Sightings, oldest first, with names: ``who`` is the person, the anonymous identity's
        label, or ``unknown``. ``identity`` is spelt as anywhere else (``7``, ``"0007"`` or
        ``"unknown 0007"``, see :func:`~workbench.store.identities.identity_id`); ``ids`` keeps
        only those sightings. Filters combine; an unknown gallery is a :class:`GalleryError`."""
        where, params = [], []
        if ids is not None:
            where.append("list_contains(?::BIGINT[], s.id)")
            params.append([int(i) for i in ids])
        if gallery is not None:
            where.append("s.gallery_id = ?")
            params.append(self.galleries.id(gallery))
        if person is not None:
            where.append("p.name = ?")
            params.append(person)
        if identity is not None:
            where.append("s.identity_id = ?")
            params.append(identity_id(identity))
        if camera is not None:
            where.append("s.camera = ?")
            params.append(camera)
        if since is not None:
            where.append("s.last_seen >= ?")
            params.append(since)
        if run_id is not None:
            where.append("s.run_id = ?")
            params.append(int(run_id))
        if alerts_only:
            where.append("s.alert")
        sql = _SELECT + (f"WHERE {' AND '.join(where)} " if where else "") + "ORDER BY s.first_seen, s.id"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return query_frame(self.db.cursor(), sql, params)

    @reads
    def chip(self, sighting_id: int) -> bytes | None:
        """The JPEG face chip kept with a sighting (``--keep-chips``), if any."""
        row = first(self.db.cursor().execute("SELECT chip FROM sightings WHERE id = ?", [int(sighting_id)]))
        return bytes(row[0]) if row and row[0] is not None else None

    def who_was_there(self, gallery: str, **filters: Any) -> pl.DataFrame:
        """Every identity seen (person, anonymous identity or unknown) with its first and last
        time (wall clock and video), cameras, sightings and alerts; filters as :meth:`query`."""
        s = self.query(gallery, **filters)
        if s.height == 0:
            return pl.DataFrame(schema={"who": pl.String, "kind": pl.String, "cameras": pl.List(pl.String),
                                        "sightings": pl.UInt32, "alerts": pl.UInt32,
                                        "first_seen": pl.Datetime, "last_seen": pl.Datetime,
                                        "first_video_s": pl.Float64, "last_video_s": pl.Float64,
                                        "best_distance": pl.Float64})
        kind = (pl.when(pl.col("person").is_not_null()).then(pl.lit("person"))
                .when(pl.col("identity").is_not_null()).then(pl.lit("anonymous")).otherwise(pl.lit("unknown")))
        return (s.with_columns(kind.alias("kind"))
                .group_by("who", "kind")
                .agg(pl.col("camera").unique().sort().alias("cameras"), pl.len().alias("sightings"),
                     pl.col("alert").sum().cast(pl.UInt32).alias("alerts"),
                     pl.col("first_seen").min(), pl.col("last_seen").max(), pl.col("first_video_s").min(),
                     pl.col("last_video_s").max(), pl.col("distance").min().alias("best_distance"))
                .sort("first_seen", "who"))

    def export(self, path: str | os.PathLike | io.BytesIO, gallery: str, *, kind: str | None = None,
                         **filters: Any) -> int:
        """Write sightings to ``.csv`` or ``.parquet`` (or a buffer, ``kind`` naming the format);
        chips stay out of CSV. Returns the number of rows written."""
        buffer = isinstance(path, io.BytesIO)
        kind = (kind or ("" if buffer else Path(path).suffix)).lower().lstrip(".")
        if kind not in ("csv", "parquet"):
            raise GalleryError(f"{path}: export sightings as .csv or .parquet")
        df = self.query(gallery, **filters)
        if kind == "parquet":
            ids = df["id"].to_list()
            with self.db.reading():
                chips = dict(self.db.cursor().execute(
                    "SELECT id, chip FROM sightings WHERE list_contains(?::BIGINT[], id)", [ids]).fetchall())
            df = df.with_columns(pl.Series("chip", [chips.get(i) for i in ids], dtype=pl.Binary))
            write = df.write_parquet
        else:
            nested = [c for c, t in df.schema.items() if t.is_nested()]
            df = df.with_columns(pl.Series(c, [json.dumps(v) for v in df[c].to_list()], dtype=pl.String)
                                 for c in nested)
            write = df.write_csv
        if buffer:
            write(path)
            return df.height
        with atomic_path(path) as tmp:
            write(tmp)
        return df.height
