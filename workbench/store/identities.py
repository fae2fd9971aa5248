"""Anonymous identities ("unknown 0007") and watchlists. A mixin of :class:`workbench.store.GalleryDB`.

An anonymous identity groups sightings of tracks that matched nobody; its centroid is the
mean of its members' vectors (see :mod:`workbench.search.clusters` for how tracks are
assigned and re-clustered). Naming an identity enrols its vectors (and kept chips) as faces of
a person, with the consent flag, and its sightings become that person's.
A watchlist is a named list of people of a gallery whose sightings raise alerts.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import polars as pl

from workbench.errors import GalleryError
from workbench.types import Consent
from workbench.store.db import reads
from workbench.store.results import first, query_frame


def identity_label(identity_id: int) -> str:
    return f"unknown {identity_id:04d}"


class Identities:
    """The ``identities`` and ``watchlist`` tables (a mixin of :class:`~workbench.store.GalleryDB`)."""

    # -- anonymous identities ----------------------------------------------------------------

    @reads
    def identity_book(self, gallery: str) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
        """``(ids int64, labels, centroids float32 (n, dim), members int64)`` of this model's
        identities in ``gallery`` (empty arrays for a new gallery)."""
        row = first(self.cursor().execute("SELECT id FROM galleries WHERE name = ?", [gallery]))
        rows = [] if not row else self.cursor().execute(
            "SELECT id, label, centroid, members FROM identities WHERE gallery_id = ? AND model = ? ORDER BY id",
            [row[0], self.model]).fetchall()
        ids = np.array([r[0] for r in rows], np.int64)
        cents = (np.asarray([r[2] for r in rows], np.float32).reshape(len(rows), -1) if rows
                 else np.zeros((0, self.dim), np.float32))
        return ids, [r[1] for r in rows], cents, np.array([r[3] for r in rows], np.int64)

    @reads
    def identities(self, gallery: str) -> pl.DataFrame:
        """Every anonymous identity of a gallery: sightings, cameras, first/last seen, chips kept."""
        gid = self.gallery_id(gallery)
        return query_frame(self.cursor(),
            "SELECT i.id, i.label, count(s.id) AS sightings, list(DISTINCT s.camera ORDER BY s.camera) "
            "FILTER (WHERE s.camera IS NOT NULL) AS cameras, min(s.first_seen) AS first_seen, "
            "max(s.last_seen) AS last_seen, count(s.chip) AS chips, i.created_at FROM identities i "
            "LEFT JOIN sightings s ON s.identity_id = i.id WHERE i.gallery_id = ? GROUP BY ALL ORDER BY i.id",
            [gid])

    @reads
    def anonymous_vectors(self, gallery: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(sighting ids, identity ids, vectors float32 (n, dim))`` of every anonymous sighting
        of this model in ``gallery`` (what re-clustering works on)."""
        gid = self.gallery_id(gallery)
        rows = self.cursor().execute(
            "SELECT id, identity_id, embedding FROM sightings WHERE gallery_id = ? AND identity_id IS NOT NULL "
            "AND embedding IS NOT NULL AND model = ? ORDER BY id", [gid, self.model]).fetchall()
        vecs = (np.asarray([r[2] for r in rows], np.float32).reshape(len(rows), -1) if rows
                else np.zeros((0, self.dim), np.float32))
        return np.array([r[0] for r in rows], np.int64), np.array([r[1] for r in rows], np.int64), vecs

    def assign_identities(self, gallery: str, sighting_ids: Sequence[int], identity_ids: Sequence[int],
                          centroids: dict[int, np.ndarray]) -> None:
        """Move sightings to identities and set each touched identity's centroid, in one
        transaction; identities left without a sighting are deleted, new ids are created
        (the ids come from :meth:`allocate_ids`)."""
        with self.transaction() as cur:
            gid = self.gallery_id(gallery, cur=cur)
            known = {r[0] for r in cur.execute("SELECT id FROM identities WHERE gallery_id = ?", [gid]).fetchall()}
            counts: dict[int, int] = {}
            for i in identity_ids:
                counts[int(i)] = counts.get(int(i), 0) + 1
            for iid, centroid in centroids.items():
                vec = np.asarray(centroid, np.float32).reshape(-1).tolist()
                if iid in known:
                    cur.execute("UPDATE identities SET centroid = ?, members = ? WHERE id = ?",
                                [vec, counts.get(iid, 0), iid])
                else:
                    cur.execute("INSERT INTO identities (id, gallery_id, model, label, centroid, members) "
                                "VALUES (?, ?, ?, ?, ?, ?)",
                                [iid, gid, self.model, identity_label(iid), vec, counts.get(iid, 0)])
            cur.executemany("UPDATE sightings SET identity_id = ? WHERE id = ? AND gallery_id = ?",
                            [[int(i), int(s), gid] for s, i in zip(sighting_ids, identity_ids)])
            cur.execute("DELETE FROM identities i WHERE gallery_id = ? AND NOT EXISTS "
                        "(SELECT 1 FROM sightings s WHERE s.identity_id = i.id)", [gid])

    def name_identity(self, gallery: str, identity_id: int, person: str, *, consent: bool | Consent | None = None,
                      notes: str | None = None) -> int:
        """Enrol an anonymous identity as ``person``: each of its sightings' vectors becomes a face
        (with its kept chip as thumbnail), its sightings become that person's, and the identity
        is gone. Returns faces enrolled."""
        if not person or not person.strip():
            raise GalleryError("a person needs a non-empty name")
        with self.transaction() as cur:
            gid = self.gallery_id(gallery, cur=cur)
            row = first(cur.execute("SELECT model FROM identities WHERE id = ? AND gallery_id = ?",
                              [int(identity_id), gid]))
            if not row:
                raise GalleryError(f"no anonymous identity {identity_id} in gallery {gallery!r}")
            if row[0] != self.model:
                raise GalleryError(f"identity {identity_id} holds {row[0]} vectors; this database stores {self.model}")
            rows = cur.execute("SELECT id, camera, source, first_frame, box, embedding, chip FROM sightings "
                               "WHERE identity_id = ? AND embedding IS NOT NULL ORDER BY id",
                               [int(identity_id)]).fetchall()
            pid = self._person_id(cur, gid, person, notes, consent)
            for sid, camera, source, frame, box, emb, chip in rows:
                cur.execute(
                    "INSERT INTO faces (gallery_id, person_id, image_sha256, source_path, box, landmarks, "
                    "det_score, model, detector, embedding, thumbnail) VALUES (?, ?, ?, ?, ?, ?, 1.0, ?, ?, ?, ?)",
                    [gid, pid, f"sighting:{sid}", f"{camera}: {source} #frame{frame}", box, [0.0] * 10,
                     self.model, "watch", emb, chip])
            cur.execute("UPDATE sightings SET person_id = ?, candidate_id = ?, identity_id = NULL, embedding = NULL "
                        "WHERE identity_id = ?", [pid, pid, int(identity_id)])
            cur.execute("DELETE FROM identities WHERE id = ?", [int(identity_id)])
        self._faces_changed(gid)
        self.compact()  # the identity's vectors now live in faces only
        return len(rows)

    # -- watchlists ---------------------------------------------------------------------------

    def add_to_watchlist(self, gallery: str, person: str, watchlist: str = "default") -> None:
        """Put an enrolled person on a named watchlist of their gallery (idempotent)."""
        if not watchlist or not watchlist.strip():
            raise GalleryError("a watchlist needs a non-empty name")
        with self.transaction() as cur:
            gid = self.gallery_id(gallery, cur=cur)
            pid = _person(cur, gid, gallery, person)
            if not first(cur.execute("SELECT 1 FROM watchlist WHERE person_id = ? AND list = ?", [pid, watchlist])):
                cur.execute("INSERT INTO watchlist (gallery_id, person_id, list) VALUES (?, ?, ?)",
                            [gid, pid, watchlist])

    def remove_from_watchlist(self, gallery: str, person: str, watchlist: str | None = None) -> int:
        """Take a person off one watchlist (or all with ``None``); returns rows removed."""
        with self.transaction() as cur:
            gid = self.gallery_id(gallery, cur=cur)
            pid = _person(cur, gid, gallery, person)
            where, params = ("AND list = ?", [pid, watchlist]) if watchlist else ("", [pid])
            n = first(cur.execute(f"SELECT count(*) FROM watchlist WHERE person_id = ? {where}", params))[0]
            cur.execute(f"DELETE FROM watchlist WHERE person_id = ? {where}", params)
        return int(n)

    @reads
    def watchlist(self, gallery: str) -> pl.DataFrame:
        """``person, list, added_at`` for every watchlisted person of a gallery."""
        gid = self.gallery_id(gallery)
        return query_frame(self.cursor(),
            "SELECT p.name AS person, w.list, w.added_at FROM watchlist w JOIN people p ON p.id = w.person_id "
            "WHERE w.gallery_id = ? ORDER BY p.name, w.list", [gid])

    @reads
    def watchlisted(self, gallery: str) -> dict[int, tuple[str, ...]]:
        """``person id -> watchlist names`` for a gallery (empty for an unknown one)."""
        rows = self.cursor().execute(
            "SELECT w.person_id, list(w.list ORDER BY w.list) FROM watchlist w JOIN galleries g "
            "ON g.id = w.gallery_id WHERE g.name = ? GROUP BY w.person_id", [gallery]).fetchall()
        return {int(r[0]): tuple(r[1]) for r in rows}


def _person(cur: Any, gid: int, gallery: str, person: str) -> int:
    row = first(cur.execute("SELECT id FROM people WHERE gallery_id = ? AND name = ?", [gid, person]))
    if not row:
        raise GalleryError(f"no person {person!r} in gallery {gallery!r}")
    return int(row[0])
