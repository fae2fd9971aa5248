"""Watchlists: named lists of enrolled people of a gallery whose sightings raise alerts."""

from __future__ import annotations

from typing import Any

import polars as pl

from workbench.errors import GalleryError
from workbench.store.db import Database, reads
from workbench.store.galleries import Galleries
from workbench.store.results import first, query_frame


def _person(cur: Any, gid: int, gallery: str, person: str) -> int:
    row = first(cur.execute("SELECT id FROM people WHERE gallery_id = ? AND name = ?", [gid, person]))
    if not row:
        raise GalleryError(f"no person {person!r} in gallery {gallery!r}")
    return int(row[0])


class Watchlist:
    """The ``watchlist`` table of ``db``."""

    def __init__(self, db: Database, galleries: Galleries) -> None:
        self.db, self.galleries = db, galleries

    def add(self, gallery: str, person: str, watchlist: str = "default") -> None:
        """Put an enrolled person on a named watchlist of their gallery (idempotent)."""
        if not watchlist or not watchlist.strip():
            raise GalleryError("a watchlist needs a non-empty name")
        with self.db.transaction() as cur:
            gid = self.galleries.id(gallery, cur=cur)
            pid = _person(cur, gid, gallery, person)
            if not first(cur.execute("SELECT 1 FROM watchlist WHERE person_id = ? AND list = ?", [pid, watchlist])):
                cur.execute("INSERT INTO watchlist (gallery_id, person_id, list) VALUES (?, ?, ?)",
                            [gid, pid, watchlist])

    def remove(self, gallery: str, person: str, watchlist: str | None = None) -> int:
        """Take a person off one watchlist (or all with ``None``); returns rows removed."""
        with self.db.transaction() as cur:
            gid = self.galleries.id(gallery, cur=cur)
            pid = _person(cur, gid, gallery, person)
            where, params = ("AND list = ?", [pid, watchlist]) if watchlist else ("", [pid])
            n = first(cur.execute(f"SELECT count(*) FROM watchlist WHERE person_id = ? {where}", params))[0]
            cur.execute(f"DELETE FROM watchlist WHERE person_id = ? {where}", params)
        return int(n)

    @reads
    def list(self, gallery: str) -> pl.DataFrame:
        """``person, list, added_at`` for every watchlisted person of a gallery."""
        gid = self.galleries.id(gallery)
        return query_frame(self.db.cursor(),
            "SELECT p.name AS person, w.list, w.added_at FROM watchlist w JOIN people p ON p.id = w.person_id "
            "WHERE w.gallery_id = ? ORDER BY p.name, w.list", [gid])

    @reads
    def lists_of(self, gallery: str) -> dict[int, tuple[str, ...]]:
        """``person id -> watchlist names`` for a gallery (empty for an unknown one)."""
        rows = self.db.cursor().execute(
            "SELECT w.person_id, list(w.list ORDER BY w.list) FROM watchlist w JOIN galleries g "
            "ON g.id = w.gallery_id WHERE g.name = ? GROUP BY w.person_id", [gallery]).fetchall()
        return {int(r[0]): tuple(r[1]) for r in rows}
