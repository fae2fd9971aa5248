"""Galleries, people and faces: the rows a search runs over.

A mixin of :class:`workbench.store.GalleryDB`: every method runs on the database's
connection and locks (:mod:`workbench.store.db`). Deleting a face, a person or a gallery
also forgets the search-log rows that returned them (and a person's or gallery's sightings),
then compacts the file.

Each gallery states its model (``galleries.model``). Writes and reads that name a model
(``add_faces``, ``has_image``, ``matrix``) refuse a gallery of another model with
:class:`~workbench.errors.ModelMismatchError`; an empty gallery takes the model of its first faces.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import polars as pl

from workbench.errors import DatabaseError, GalleryError
from workbench.pipeline.embed import model_info
from workbench.store import schema
from workbench.store.audit import forget_in_log
from workbench.store.db import reads
from workbench.store.gallery_models import GalleryModels
from workbench.store.results import first
from workbench.store.sightings import forget_sightings
from workbench.types import Consent


@dataclass(frozen=True, eq=False)
class FaceRecord:
    """A face ready to be stored: who it is, where it came from, and its vector."""

    person: str
    image_sha256: str
    source_path: str
    box: Sequence[int]
    landmarks: Sequence[float]
    quality: dict[str, float]
    det_score: float
    detector: str
    embedding: np.ndarray
    thumbnail: bytes = b""


@dataclass(frozen=True, eq=False)
class GalleryMatrix:
    """All vectors of one gallery, for vectorised search: rows align with the id arrays."""

    face_ids: np.ndarray
    person_ids: np.ndarray
    people: list[str]
    sources: list[str]
    vectors: np.ndarray
    #: the model that made the vectors (the gallery's)
    model: str = ""

    def signature(self) -> str:
        """Which faces of which people this snapshot holds: changes when a face is added,
        deleted or moved to another person, even when the count stays the same."""
        h = hashlib.blake2b(digest_size=16)
        h.update(np.ascontiguousarray(self.face_ids, np.int64).tobytes())
        h.update(np.ascontiguousarray(self.person_ids, np.int64).tobytes())
        h.update("\0".join(self.people).encode())
        return h.hexdigest()


def people_sql(cur: Any) -> str:
    """``people`` with the consent columns a file opened read-only may not have yet (NULL)."""
    have = {r[0] for r in cur.execute("DESCRIBE people").fetchall()}
    extra = ", ".join(f"NULL::{t} AS {n}" for n, t in schema.PEOPLE_COLUMNS if n not in have)
    return "SELECT *" + (f", {extra}" if extra else "") + " FROM people"


def as_consent(value: bool | Consent | None) -> Consent | None:
    """A consent choice from ``True`` / a :class:`Consent` / ``None``; a refusal without a
    stated exception is an error (nobody is enrolled against their will without a reason)."""
    if value is None:
        return None
    c = value if isinstance(value, Consent) else Consent(bool(value))
    if not c.given and not (c.reason or "").strip():
        raise GalleryError("enrolling a person without their consent needs a stated reason "
                           "(a public figure, a research exception ...); nothing was changed")
    return Consent(c.given, "" if c.given else c.reason.strip())


class GalleryStore(GalleryModels):
    """Galleries, people and faces (a mixin of :class:`~workbench.store.GalleryDB`)."""

    _matrix_cache: dict[int, tuple[Any, GalleryMatrix]]

    @reads
    def gallery_id(self, name: str, *, create: bool = False, cur: Any = None, model: str | None = None) -> int:
        """Id of gallery ``name``; created (for ``model``, default this session's) when ``create``,
        else :class:`GalleryError` if unknown."""
        cur = cur or self.cursor()
        row = first(cur.execute("SELECT id FROM galleries WHERE name = ?", [name]))
        if row:
            return int(row[0])
        if not create:
            known = [r[0] for r in cur.execute("SELECT name FROM galleries ORDER BY name").fetchall()]
            hint = f"; known: {', '.join(known)}" if known else "; there are no galleries yet"
            raise GalleryError(f"unknown gallery {name!r}{hint}")
        if not name or not name.strip():
            raise GalleryError("a gallery needs a non-empty name")
        return int(first(cur.execute("INSERT INTO galleries (name, model) VALUES (?, ?) RETURNING id",
                                     [name, model or self.model]))[0])

    def create_gallery(self, name: str, model: str | None = None) -> int:
        with self.transaction() as cur:
            return self.gallery_id(name, create=True, cur=cur, model=model)

    def _empty(self, name: str, *, drop: bool) -> int:
        with self.transaction() as cur:
            gid = self.gallery_id(name, cur=cur)
            n = first(cur.execute("SELECT count(*) FROM faces WHERE gallery_id = ?", [gid]))[0]
            cur.execute("DELETE FROM searches WHERE gallery = ?", [name])
            forget_sightings(cur, gid, name)
            cur.execute("DELETE FROM faces WHERE gallery_id = ?", [gid])
            cur.execute("DELETE FROM people WHERE gallery_id = ?", [gid])
            if drop:
                cur.execute("DELETE FROM galleries WHERE id = ?", [gid])
        self._faces_changed(gid)
        self.compact()
        return int(n)

    def delete_gallery(self, name: str) -> int:
        """Remove a gallery with its people, faces and search-log rows, and compact the file;
        returns the number of faces removed."""
        return self._empty(name, drop=True)

    def purge_gallery(self, name: str) -> int:
        """Empty a gallery (faces, people, its search-log rows) but keep it, and compact the file;
        returns faces removed."""
        return self._empty(name, drop=False)

    # -- people and faces -----------------------------------------------------------------

    @reads
    def people(self, gallery: str) -> pl.DataFrame:
        """People of a gallery with their face counts and consent: ``consent_status`` says it in
        words ("consent given", "no consent: <reason>", "NOT RECORDED")."""
        gid = self.gallery_id(gallery)
        return self._frame(
            f"WITH p AS ({people_sql(self.cursor())}) "
            "SELECT p.id, p.name, p.notes, p.consent, p.consent_reason, "
            "CASE WHEN p.consent THEN 'consent given' "
            "WHEN coalesce(trim(p.consent_reason), '') <> '' THEN 'no consent: ' || p.consent_reason "
            "ELSE 'NOT RECORDED' END AS consent_status, count(f.id) AS faces, p.created_at "
            "FROM people p LEFT JOIN faces f ON f.person_id = p.id "
            "WHERE p.gallery_id = ? GROUP BY ALL ORDER BY p.name", [gid]
        )

    @reads
    def faces(self, gallery: str, with_embeddings: bool = False) -> pl.DataFrame:
        gid = self.gallery_id(gallery)
        emb = ", f.embedding" if with_embeddings else ""
        return self._frame(
            "SELECT f.id, p.name AS person, f.source_path, f.image_sha256, f.box, f.landmarks, "
            f"f.quality, f.det_score, f.model, f.detector, f.enrolled_at{emb} "
            "FROM faces f JOIN people p ON p.id = f.person_id WHERE f.gallery_id = ? "
            "ORDER BY p.name, f.id", [gid]
        )

    def _person_id(self, cur: Any, gid: int, name: str, notes: str | None,
                   consent: bool | Consent | None) -> int:
        if not name or not name.strip():
            raise GalleryError("a person needs a non-empty name")
        c = as_consent(consent)
        row = first(cur.execute("SELECT id FROM people WHERE gallery_id = ? AND name = ?", [gid, name]))
        if row:
            pid = int(row[0])
            if notes is not None:
                cur.execute("UPDATE people SET notes = ? WHERE id = ?", [notes, pid])
            if c is not None:
                cur.execute("UPDATE people SET consent = ?, consent_reason = ?, consent_at = current_timestamp "
                            "WHERE id = ?", [c.given, c.reason or None, pid])
            return pid
        return int(first(cur.execute(
            "INSERT INTO people (gallery_id, name, notes, consent, consent_reason, consent_at) "
            "VALUES (?, ?, ?, ?, ?, CASE WHEN ? THEN current_timestamp END) RETURNING id",
            [gid, name, notes or "", None if c is None else c.given, None if c is None else (c.reason or None),
             c is not None],
        ))[0])

    @reads
    def has_image(self, gallery: str, sha: str, model: str | None = None) -> bool:
        """Whether an image with this content hash is already enrolled for ``model`` (default this session's)."""
        row = first(self.cursor().execute(
            "SELECT 1 FROM faces f JOIN galleries g ON g.id = f.gallery_id "
            "WHERE g.name = ? AND f.image_sha256 = ? AND f.model = ? LIMIT 1", [gallery, sha, model or self.model]
        ))
        return row is not None

    def add_faces(self, gallery: str, records: Sequence[FaceRecord], *, create_gallery: bool = True,
                  consent: bool | Consent | None = None, notes: str | None = None,
                  people_meta: dict[str, tuple[str | None, bool | Consent | None]] | None = None,
                  model: str | None = None) -> tuple[list[int], int]:
        """Store faces of ``model`` (default this session's) in one transaction; returns
        ``(new face ids, duplicates skipped)``.

        A record whose image (sha256) is already in the gallery for this model is skipped, so
        enrolling the same folder twice stores nothing the second time. ``notes``/``consent``
        apply to every person of the call, ``people_meta`` (name -> (notes, consent)) per person.
        ``consent`` is a :class:`~workbench.types.Consent` (or ``True``); ``None`` leaves it as
        it is ("not recorded" for a new person); ``False`` without a stated reason is refused.
        A gallery holding another model's faces is refused (:class:`ModelMismatchError`).
        Any error rolls back every record of the call.
        """
        ids: list[int] = []
        skipped = 0
        model = model or self.model
        if model_info(model).dim != self.dim:
            raise DatabaseError(f"{self.path}: holds {self.dim}-d vectors; {model} makes {model_info(model).dim}-d "
                                "vectors, which need a file of their own; nothing was changed")
        with self.transaction() as cur:
            gid = self.gallery_id(gallery, create=create_gallery, cur=cur, model=model)
            self._adopt_model(cur, gid, gallery, model)
            persons: dict[str, int] = {}
            seen_before = set()
            for rec in records:
                vec = np.asarray(rec.embedding, dtype=np.float32).reshape(-1)
                if vec.shape[0] != self.dim:
                    raise DatabaseError(
                        f"{self.path}: a {vec.shape[0]}-d vector cannot go in a {model} "
                        f"({self.dim}-d) gallery; nothing was changed"
                    )
                if not np.isfinite(vec).all():
                    raise DatabaseError(f"{self.path}: a vector of {rec.person!r} holds NaN or infinite values; "
                                        "nothing was changed")
                if rec.image_sha256 not in seen_before:
                    dup = first(cur.execute(
                        "SELECT 1 FROM faces WHERE gallery_id = ? AND image_sha256 = ? AND model = ? LIMIT 1",
                        [gid, rec.image_sha256, model],
                    ))
                    if dup:
                        skipped += 1
                        continue
                if rec.person not in persons:
                    n, c = (people_meta or {}).get(rec.person, (notes, consent))
                    persons[rec.person] = self._person_id(cur, gid, rec.person, n, c)
                q = rec.quality
                row = first(cur.execute(
                    "INSERT INTO faces (gallery_id, person_id, image_sha256, source_path, box, "
                    "landmarks, quality, det_score, model, detector, embedding, thumbnail) VALUES "
                    "(?, ?, ?, ?, ?, ?, {'size': ?, 'sharpness': ?, 'brightness': ?, 'yaw': ?}, "
                    "?, ?, ?, ?, ?) RETURNING id",
                    [gid, persons[rec.person], rec.image_sha256, rec.source_path, list(map(int, rec.box)),
                     [float(v) for v in rec.landmarks], int(q.get("size", 0)), float(q.get("sharpness", 0)),
                     float(q.get("brightness", 0)), float(q.get("yaw", 0)), float(rec.det_score),
                     model, rec.detector, vec.tolist(), rec.thumbnail or None],
                ))
                ids.append(int(row[0]))
                seen_before.add(rec.image_sha256)
        if ids:
            self._faces_changed(gid)
        return ids, skipped

    @reads
    def thumbnail(self, face_id: int) -> bytes | None:
        """The JPEG thumbnail stored with a face, if any."""
        row = first(self.cursor().execute("SELECT thumbnail FROM faces WHERE id = ?", [face_id]))
        return bytes(row[0]) if row and row[0] is not None else None

    def delete_face(self, gallery: str, face_id: int) -> None:
        """Remove one face of ``gallery``, the search-log rows that returned it, and compact
        the file. A face id of another gallery is refused (naming where it is), not deleted."""
        with self.transaction() as cur:
            gid = self.gallery_id(gallery, cur=cur)
            row = first(cur.execute("SELECT g.name FROM faces f JOIN galleries g ON g.id = f.gallery_id "
                              "WHERE f.id = ?", [face_id]))
            if not row:
                raise GalleryError(f"no face with id {face_id}")
            if row[0] != gallery:
                raise GalleryError(f"face {face_id} is in gallery {row[0]!r}, not in {gallery!r}; "
                                   "nothing was deleted")
            forget_in_log(cur, [face_id])
            cur.execute("DELETE FROM faces WHERE id = ?", [face_id])
        self._faces_changed(gid)
        self.compact()

    def delete_person(self, gallery: str, name: str) -> int:
        """Remove a person, all their faces and the search-log rows that returned them; returns
        faces removed. The file is compacted so the deleted bytes are gone from it."""
        with self.transaction() as cur:
            gid = self.gallery_id(gallery, cur=cur)
            row = first(cur.execute("SELECT id FROM people WHERE gallery_id = ? AND name = ?", [gid, name]))
            if not row:
                raise GalleryError(f"no person {name!r} in gallery {gallery!r}")
            ids = [r[0] for r in cur.execute("SELECT id FROM faces WHERE person_id = ?", [row[0]]).fetchall()]
            forget_in_log(cur, ids)
            forget_sightings(cur, gid, gallery, [row[0]])
            cur.execute("DELETE FROM faces WHERE person_id = ?", [row[0]])
            cur.execute("DELETE FROM people WHERE id = ?", [row[0]])
        self._faces_changed(gid)
        self.compact()
        return len(ids)

    # -- vectors for search ---------------------------------------------------------------

    @reads
    def matrix(self, gallery: str, model: str | None = None) -> GalleryMatrix:
        """All vectors of a gallery as one ``(N, dim)`` float32 array, cached until a write.

        With ``model``, a gallery holding another model's vectors is refused
        (:class:`ModelMismatchError`): pass the model of the vectors you will compare with these.
        """
        gid = self.gallery_id(gallery)
        if model is not None:
            self.check_gallery_model(gallery, model, must_exist=True)
        version = self.faces_version(gid)  # read first: a write meanwhile makes the copy stale
        cached = self._matrix_cache.get(gid)
        if cached and cached[0] == version:
            return cached[1]
        df = self._frame(
            "SELECT f.id, f.person_id, p.name, coalesce(f.source_path, '') AS source, f.embedding "
            "FROM faces f JOIN people p ON p.id = f.person_id WHERE f.gallery_id = ? ORDER BY f.id",
            [gid],
        )
        vectors = (df["embedding"].to_numpy().astype(np.float32).reshape(-1, self.dim)
                   if df.height else np.zeros((0, self.dim), np.float32))
        m = GalleryMatrix(
            face_ids=df["id"].to_numpy().astype(np.int64),
            person_ids=df["person_id"].to_numpy().astype(np.int64),
            people=df["name"].to_list(),
            sources=df["source"].to_list(),
            vectors=np.ascontiguousarray(vectors),
            model=self.gallery_model(gallery),
        )
        self._matrix_cache[gid] = (version, m)
        return m

    @reads
    def matrix_of(self, gallery: str, face_ids: np.ndarray, model: str | None = None) -> GalleryMatrix:
        """Like :meth:`matrix`, for the given faces only (the candidates an index proposed)."""
        gid = self.gallery_id(gallery)
        if model is not None:
            self.check_gallery_model(gallery, model, must_exist=True)
        df = self._frame(
            "SELECT f.id, f.person_id, p.name, coalesce(f.source_path, '') AS source, f.embedding "
            "FROM faces f JOIN people p ON p.id = f.person_id "
            "WHERE f.gallery_id = ? AND f.id IN (SELECT unnest(?::BIGINT[])) ORDER BY f.id",
            [gid, [int(i) for i in np.unique(face_ids[face_ids >= 0])]],
        )
        vectors = (df["embedding"].to_numpy().astype(np.float32).reshape(-1, self.dim)
                   if df.height else np.zeros((0, self.dim), np.float32))
        return GalleryMatrix(face_ids=df["id"].to_numpy().astype(np.int64),
                             person_ids=df["person_id"].to_numpy().astype(np.int64),
                             people=df["name"].to_list(), sources=df["source"].to_list(),
                             vectors=np.ascontiguousarray(vectors), model=self.gallery_model(gallery))

