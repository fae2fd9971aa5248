"""Watch runs: one row per run of ``workbench watch`` (or the Cameras page), with the model,
thresholds and cameras it ran with, its status and counters; and where each camera's file got
to, so a new run resumes a killed one.

A run is started only on a gallery that exists and holds the run's model (checked before any
model time; nothing is created). A run ends itself (``completed``, ``stopped``, ``failed``,
``interrupted``); one that cannot (its process was killed) is marked ``interrupted`` by the
next run started on the file, so no page shows a dead run as live. Only one process writes a
DuckDB file at a time, so a ``running`` row this object did not start is dead.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Sequence

import polars as pl

from workbench.store.audit import SearchAudit, SearchLog
from workbench.store.db import Database, reads
from workbench.store.galleries import Galleries
from workbench.store.results import first, query_frame

@dataclass(frozen=True)
class RunCamera:
    """One camera of a run as recorded: its source as shown, its camera-quality setting (as
    ``workbench.live.camera_quality.parse_quality`` reads it, ``""`` as recorded) and the
    conditions it made, in words."""

    camera: str
    source: str
    quality: str = ""
    conditions: str = "as recorded"


#: What the next run writes into a dead run's notes.
DEAD_RUN = "it never ended (its process was killed or crashed); marked when run {run} started"


class WatchRuns:
    """The ``watch_runs`` table of ``db`` and the resume points in ``watch_progress``."""

    def __init__(self, db: Database, galleries: Galleries, search_log: SearchLog) -> None:
        self.db, self.galleries, self.search_log = db, galleries, search_log
        self._lock = threading.Lock()
        self._live: set[int] = set()  # runs started here and not ended yet

    def allocate_ids(self, sequence: str, n: int) -> list[int]:
        """``n`` fresh ids of ``sighting_ids`` or ``identity_ids`` (a crash only skips some)."""
        if sequence not in ("sighting_ids", "identity_ids") or n <= 0:
            return []
        return self.db.next_ids(sequence, n)

    def start(self, *, gallery: str, model: str, detector: str, metric: str, threshold: float,
              alert_threshold: float, identity_threshold: float, sources: Sequence[str], mode: str,
              keep_chips: bool, cameras: Sequence[RunCamera] = ()) -> int:
        """Record a run on ``gallery`` with ``model`` and its ``cameras`` (and a row of the search
        log naming it); returns its id. An unknown gallery, or one of another model, is refused;
        runs left ``running`` by a dead process are marked ``interrupted``."""
        with self._lock:
            live = sorted(self._live)
        with self.db.transaction() as cur:
            self.galleries.check(gallery, model, cur=cur)
            run = int(first(cur.execute(
                "INSERT INTO watch_runs (gallery, model, detector, metric, threshold, alert_threshold, "
                "identity_threshold, sources, mode, keep_chips, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "'running') RETURNING id",
                [gallery, model, detector, metric, float(threshold), float(alert_threshold),
                 float(identity_threshold), list(sources), mode, bool(keep_chips)]))[0])
            if cameras:
                cur.executemany("INSERT INTO watch_cameras (run_id, camera, source, quality, conditions) "
                                "VALUES (?, ?, ?, ?, ?)",
                                [[run, c.camera, c.source, c.quality, c.conditions] for c in cameras])
            cur.execute("UPDATE watch_runs SET status = 'interrupted', ended_at = current_timestamp, "
                        "notes = ? WHERE status = 'running' AND id <> ? AND NOT list_contains(?::INTEGER[], id)",
                        [DEAD_RUN.format(run=run), run, live])
        with self._lock:
            self._live.add(run)
        self.search_log.add(gallery=gallery, model=model, detector=detector, metric=metric, threshold=threshold,
                            top_k=1, result_face_ids=[], result_distances=[], detect_ms=0.0, embed_ms=0.0,
                            search_ms=0.0, source=f"watch run {run}: " + "; ".join(sources),
                            audit=SearchAudit(client="watch", upsample=None))
        return run

    def end(self, run_id: int, status: str, notes: str = "") -> None:
        """Close a run with its status (``completed``, ``stopped``, ``failed``, ``interrupted``)."""
        with self.db.transaction() as cur:
            cur.execute("UPDATE watch_runs SET ended_at = current_timestamp, status = ?, notes = ? WHERE id = ?",
                        [status, notes, int(run_id)])
        with self._lock:
            self._live.discard(int(run_id))

    def set_conditions(self, run_id: int, camera: str, conditions: str) -> None:
        """What a camera's quality setting made of its footage, once measured (see :class:`RunCamera`)."""
        with self.db.transaction() as cur:
            cur.execute("UPDATE watch_cameras SET conditions = ? WHERE run_id = ? AND camera = ?",
                        [conditions, int(run_id), camera])

    @reads
    def cameras(self, run_ids: Sequence[int]) -> list[tuple[int, RunCamera]]:
        """The cameras of runs ``run_ids`` as recorded, ``(run id, camera)`` in run and camera order."""
        rows = self.db.cursor().execute(
            "SELECT run_id, camera, source, quality, conditions FROM watch_cameras "
            "WHERE list_contains(?::INTEGER[], run_id) ORDER BY run_id, camera", [[int(r) for r in run_ids]]).fetchall()
        return [(int(r[0]), RunCamera(r[1], r[2] or "", r[3] or "", r[4] or "as recorded")) for r in rows]

    @reads
    def list(self, gallery: str | None = None) -> pl.DataFrame:
        """Every run (of ``gallery``), oldest first."""
        where, params = ("WHERE gallery = ?", [gallery]) if gallery else ("", [])
        return query_frame(self.db.cursor(), f"SELECT * FROM watch_runs {where} ORDER BY id", params)

    @reads
    def progress(self, gallery: str, camera: str, source: str) -> int:
        """The frame a resumed run of ``camera`` on file ``source`` starts from (0: from the start)."""
        row = first(self.db.cursor().execute(
            "SELECT w.frame FROM watch_progress w JOIN galleries g ON g.id = w.gallery_id "
            "WHERE g.name = ? AND w.camera = ? AND w.source = ?", [gallery, camera, source]))
        return int(row[0]) if row else 0

    def resume(self, gallery: str, camera: str, source: str) -> int:
        """The frame a new run of ``camera`` on file ``source`` resumes from; sightings an earlier
        (killed) run logged from that frame on are removed first, since the new run logs them
        again (no duplicates), with identities left empty by that. 0: play from the start."""
        with self.db.transaction() as cur:
            row = first(cur.execute(
                "SELECT w.frame, w.gallery_id FROM watch_progress w JOIN galleries g ON g.id = w.gallery_id "
                "WHERE g.name = ? AND w.camera = ? AND w.source = ?", [gallery, camera, source]))
            if not row or not row[0]:
                return 0
            cur.execute("DELETE FROM sightings WHERE gallery_id = ? AND camera = ? AND source = ? AND first_frame >= ?",
                        [row[1], camera, source, int(row[0])])
            cur.execute("DELETE FROM identities i WHERE gallery_id = ? AND NOT EXISTS "
                        "(SELECT 1 FROM sightings s WHERE s.identity_id = i.id)", [row[1]])
        return int(row[0])

    def reset(self, gallery: str, cameras: Sequence[str]) -> None:
        """Forget where ``cameras`` got to in ``gallery`` (which must exist), so their files play
        from the start again."""
        with self.db.transaction() as cur:
            gid = self.galleries.id(gallery, cur=cur)
            cur.execute("DELETE FROM watch_progress WHERE gallery_id = ? AND list_contains(?, camera)",
                        [gid, list(cameras)])
