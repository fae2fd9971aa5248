"""Anonymous identities ("unknown 0007"): sightings of tracks that matched nobody, grouped.

An identity's centroid is the mean of its members' vectors (see :mod:`workbench.search.clusters`
for how tracks are assigned and re-clustered); like every vector of a gallery, they are the
gallery's model's, and every read and write here names that model. Naming an identity enrols
its vectors (and kept chips) as faces of a person, with the consent choice, and its sightings
become that person's. An identity is spelt one way everywhere: its number (``7``) or its label
(``unknown 0007``), both read by :func:`identity_id`.
"""

from __future__ import annotations

from typing import Sequence

import re

import numpy as np
import polars as pl

from workbench.errors import GalleryError
from workbench.store.db import Database, reads
from workbench.store.faces import upsert_person
from workbench.store.galleries import Galleries
from workbench.store.results import first, query_frame
from workbench.store.vectors import FaceVersions
from workbench.types import Consent

_LABEL = re.compile(r"(?:unknown\s+)?0*(\d{1,9})", re.IGNORECASE)


def identity_label(identity_id: int) -> str:
    """How an identity is shown: ``unknown 0007``."""
    return f"unknown {identity_id:04d}"


def identity_id(spelt: int | str) -> int:
    """The id of an identity spelt as a page or a command shows it: ``7``, ``"7"``, ``"0007"``
    or ``"unknown 0007"``; anything else is a :class:`GalleryError` in one line."""
    if isinstance(spelt, (int, np.integer)) and not isinstance(spelt, bool):
        return int(spelt)
    m = _LABEL.fullmatch(" ".join(str(spelt).split()))
    if not m:
        raise GalleryError(f"{spelt!r} is not an anonymous identity: give its number (7) or its label "
                           "('unknown 0007')")
    return int(m.group(1))


class Identities:
    """The ``identities`` table of ``db`` (and the anonymous sightings' vectors)."""

    def __init__(self, db: Database, galleries: Galleries, versions: FaceVersions) -> None:
        self.db, self.galleries, self.versions = db, galleries, versions

    @reads
    def book(self, gallery: str, model: str) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
        """``(ids int64, labels, centroids float32 (n, dim), members int64)`` of the identities of
        ``gallery``, which holds ``model``'s vectors (checked)."""
        gid = self.galleries.check(gallery, model)
        rows = self.db.cursor().execute(
            "SELECT id, label, centroid, members FROM identities WHERE gallery_id = ? AND model = ? ORDER BY id",
            [gid, model]).fetchall()
        ids = np.array([r[0] for r in rows], np.int64)
        cents = (np.asarray([r[2] for r in rows], np.float32).reshape(len(rows), -1) if rows
                 else np.zeros((0, self.db.dim), np.float32))
        return ids, [r[1] for r in rows], cents, np.array([r[3] for r in rows], np.int64)

    @reads
    def list(self, gallery: str) -> pl.DataFrame:
        """Every anonymous identity of a gallery: sightings, cameras, first/last seen, chips kept."""
        gid = self.galleries.id(gallery)
        return query_frame(self.db.cursor(),
            "SELECT i.id, i.label, count(s.id) AS sightings, list(DISTINCT s.camera ORDER BY s.camera) "
            "FILTER (WHERE s.camera IS NOT NULL) AS cameras, min(s.first_seen) AS first_seen, "
            "max(s.last_seen) AS last_seen, count(s.chip) AS chips, i.created_at FROM identities i "
            "LEFT JOIN sightings s ON s.identity_id = i.id WHERE i.gallery_id = ? GROUP BY ALL ORDER BY i.id",
            [gid])

    @reads
    def anonymous_vectors(self, gallery: str, model: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(sighting ids, identity ids, vectors float32 (n, dim))`` of every anonymous sighting
        of ``gallery``, which holds ``model``'s vectors (checked): what re-clustering works on."""
        gid = self.galleries.check(gallery, model)
        rows = self.db.cursor().execute(
            "SELECT id, identity_id, embedding FROM sightings WHERE gallery_id = ? AND identity_id IS NOT NULL "
            "AND embedding IS NOT NULL AND model = ? ORDER BY id", [gid, model]).fetchall()
        vecs = (np.asarray([r[2] for r in rows], np.float32).reshape(len(rows), -1) if rows
                else np.zeros((0, self.db.dim), np.float32))
        return np.array([r[0] for r in rows], np.int64), np.array([r[1] for r in rows], np.int64), vecs

    def assign(self, gallery: str, model: str, sighting_ids: Sequence[int], identity_ids: Sequence[int],
               centroids: dict[int, np.ndarray]) -> None:
        """Move sightings to identities and set each touched identity's centroid (``model``'s,
        the gallery's: checked), in one transaction; identities left without a sighting are
        deleted, new ids are created (the ids come from
        :meth:`~workbench.store.watch_runs.WatchRuns.allocate_ids`)."""
        with self.db.transaction() as cur:
            gid = self.galleries.check(gallery, model, cur=cur)
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
                                [iid, gid, model, identity_label(iid), vec, counts.get(iid, 0)])
            cur.executemany("UPDATE sightings SET identity_id = ? WHERE id = ? AND gallery_id = ?",
                            [[int(i), int(s), gid] for s, i in zip(sighting_ids, identity_ids)])
            cur.execute("DELETE FROM identities i WHERE gallery_id = ? AND NOT EXISTS "
                        "(SELECT 1 FROM sightings s WHERE s.identity_id = i.id)", [gid])

    def name(self, gallery: str, identity: int | str, person: str, *, model: str,
             consent: bool | Consent | None = None, notes: str | None = None) -> int:
        """Enrol an anonymous identity as ``person``: each of its sightings' vectors becomes a face
        (with its kept chip as thumbnail), its sightings become that person's, and the identity
        is gone. Returns faces enrolled. ``model`` is the gallery's: a gallery of another model,
        or an identity (or a sighting of it) whose vectors are not the gallery's model's, is
        refused and nothing is written."""
        if not person or not person.strip():
            raise GalleryError("a person needs a non-empty name")
        iid = identity_id(identity)
        with self.db.transaction() as cur:
            gid = self.galleries.check(gallery, model, cur=cur)
            row = first(cur.execute("SELECT model FROM identities WHERE id = ? AND gallery_id = ?", [iid, gid]))
            if not row:
                raise GalleryError(f"no anonymous identity {identity_label(iid)} in gallery {gallery!r}")
            rows = cur.execute("SELECT id, camera, source, first_frame, box, embedding, chip, model FROM sightings "
                               "WHERE identity_id = ? AND embedding IS NOT NULL ORDER BY id", [iid]).fetchall()
            other = {row[0], *(r[7] for r in rows)} - {model}
            if other:
                raise GalleryError(f"{identity_label(iid)} holds {', '.join(sorted(map(str, other)))} vectors, and "
                                   f"gallery {gallery!r} holds {model} vectors: they never meet; nothing was named")
            pid = upsert_person(cur, gid, person, notes, consent)
            for sid, camera, source, frame, box, emb, chip, _ in rows:
                cur.execute(
                    "INSERT INTO faces (gallery_id, person_id, image_sha256, source_path, box, landmarks, "
                    "det_score, model, detector, embedding, thumbnail) VALUES (?, ?, ?, ?, ?, ?, 1.0, ?, ?, ?, ?)",
                    [gid, pid, f"sighting:{sid}", f"{camera}: {source} #frame{frame}", box, [0.0] * 10,
                     model, "watch", emb, chip])
            cur.execute("UPDATE sightings SET person_id = ?, candidate_id = ?, identity_id = NULL, embedding = NULL "
                        "WHERE identity_id = ?", [pid, pid, iid])
            cur.execute("DELETE FROM identities WHERE id = ?", [iid])
        self.versions.changed(gid)
        self.db.compact()  # the identity's vectors now live in faces only
        return len(rows)
