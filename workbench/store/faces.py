"""People and faces: the rows a search runs over, and how they are written.

Every write names the model of its vectors and goes through
:meth:`~workbench.store.galleries.Galleries.writable`, so a gallery of another model is refused
before anything is written, and any error rolls back every record of the call. Reading the
vectors is :mod:`workbench.store.vectors`; deleting is :mod:`workbench.store.removal`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import polars as pl

from workbench.errors import DatabaseError, GalleryError
from workbench.store import schema
from workbench.store.db import Database, reads
from workbench.store.galleries import Galleries
from workbench.store.results import first
from workbench.store.vectors import FaceVersions
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


def upsert_person(cur: Any, gid: int, name: str, notes: str | None, consent: bool | Consent | None) -> int:
    """Inside a write: the id of person ``name`` of gallery ``gid``, made when missing; ``notes``
    and ``consent`` (when not ``None``) are recorded on them."""
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


class Faces:
    """The ``people`` and ``faces`` tables of ``db``."""

    def __init__(self, db: Database, galleries: Galleries, versions: FaceVersions) -> None:
        self.db, self.galleries, self.versions = db, galleries, versions

    @reads
    def people(self, gallery: str) -> pl.DataFrame:
        """People of a gallery with their face counts and consent: ``consent_status`` says it in
        words ("consent given", "no consent: <reason>", "NOT RECORDED")."""
        gid = self.galleries.id(gallery)
        return self.db.frame(
            f"WITH p AS ({people_sql(self.db.cursor())}) "
            "SELECT p.id, p.name, p.notes, p.consent, p.consent_reason, "
            "CASE WHEN p.consent THEN 'consent given' "
            "WHEN coalesce(trim(p.consent_reason), '') <> '' THEN 'no consent: ' || p.consent_reason "
            "ELSE 'NOT RECORDED' END AS consent_status, count(f.id) AS faces, p.created_at "
            "FROM people p LEFT JOIN faces f ON f.person_id = p.id "
            "WHERE p.gallery_id = ? GROUP BY ALL ORDER BY p.name", [gid]
        )

    @reads
    def list(self, gallery: str) -> pl.DataFrame:
        """Every face of a gallery, without its vector (see :meth:`Vectors.table` for those)."""
        gid = self.galleries.id(gallery)
        return self.db.frame(
            "SELECT f.id, p.name AS person, f.source_path, f.image_sha256, f.box, f.landmarks, "
            "f.quality, f.det_score, f.model, f.detector, f.enrolled_at "
            "FROM faces f JOIN people p ON p.id = f.person_id WHERE f.gallery_id = ? "
            "ORDER BY p.name, f.id", [gid]
        )

    @reads
    def has_image(self, gallery: str, sha: str, model: str) -> bool:
        """Whether an image with this content hash is already enrolled in ``gallery`` for ``model``."""
        row = first(self.db.cursor().execute(
            "SELECT 1 FROM faces f JOIN galleries g ON g.id = f.gallery_id "
            "WHERE g.name = ? AND f.image_sha256 = ? AND f.model = ? LIMIT 1", [gallery, sha, model]
        ))
        return row is not None

    @reads
    def thumbnail(self, face_id: int) -> bytes | None:
        """The JPEG thumbnail stored with a face, if any."""
        row = first(self.db.cursor().execute("SELECT thumbnail FROM faces WHERE id = ?", [face_id]))
        return bytes(row[0]) if row and row[0] is not None else None

    def _vector(self, rec: FaceRecord, model: str) -> list[float]:
        vec = np.asarray(rec.embedding, dtype=np.float32).reshape(-1)
        if vec.shape[0] != self.db.dim:
            raise DatabaseError(f"{self.db.path}: a {vec.shape[0]}-d vector cannot go in a {model} "
                                f"({self.db.dim}-d) gallery; nothing was changed")
        if not np.isfinite(vec).all():
            raise DatabaseError(f"{self.db.path}: a vector of {rec.person!r} holds NaN or infinite values; "
                                "nothing was changed")
        return vec.tolist()

    def add(self, gallery: str, records: Sequence[FaceRecord], *, model: str, create_gallery: bool = True,
            consent: bool | Consent | None = None, notes: str | None = None,
            people_meta: dict[str, tuple[str | None, bool | Consent | None]] | None = None,
            ) -> tuple[list[int], int]:
        """Store faces whose vectors ``model`` made, in one transaction; returns
        ``(new face ids, duplicates skipped)``.

        A record whose image (sha256) is already in the gallery for this model is skipped, so
        enrolling the same folder twice stores nothing the second time. ``notes``/``consent``
        apply to every person of the call, ``people_meta`` (name -> (notes, consent)) per person.
        ``consent`` is a :class:`~workbench.types.Consent` (or ``True``); ``None`` leaves it as
        it is ("not recorded" for a new person); ``False`` without a stated reason is refused.
        A missing gallery is made for ``model`` (with ``create_gallery``); one of another model
        is refused (:class:`~workbench.errors.ModelMismatchError`). Any error rolls back every
        record of the call.
        """
        ids: list[int] = []
        skipped = 0
        with self.db.transaction() as cur:
            gid = self.galleries.writable(cur, gallery, model, create=create_gallery)
            persons: dict[str, int] = {}
            seen_before = set()
            for rec in records:
                vec = self._vector(rec, model)
                if rec.image_sha256 not in seen_before and first(cur.execute(
                        "SELECT 1 FROM faces WHERE gallery_id = ? AND image_sha256 = ? AND model = ? LIMIT 1",
                        [gid, rec.image_sha256, model])):
                    skipped += 1
                    continue
                if rec.person not in persons:
                    n, c = (people_meta or {}).get(rec.person, (notes, consent))
                    persons[rec.person] = upsert_person(cur, gid, rec.person, n, c)
                q = rec.quality
                row = first(cur.execute(
                    "INSERT INTO faces (gallery_id, person_id, image_sha256, source_path, box, "
                    "landmarks, quality, det_score, model, detector, embedding, thumbnail) VALUES "
                    "(?, ?, ?, ?, ?, ?, {'size': ?, 'sharpness': ?, 'brightness': ?, 'yaw': ?}, "
                    "?, ?, ?, ?, ?) RETURNING id",
                    [gid, persons[rec.person], rec.image_sha256, rec.source_path, list(map(int, rec.box)),
                     [float(v) for v in rec.landmarks], int(q.get("size", 0)), float(q.get("sharpness", 0)),
                     float(q.get("brightness", 0)), float(q.get("yaw", 0)), float(rec.det_score),
                     model, rec.detector, vec, rec.thumbnail or None],
                ))
                ids.append(int(row[0]))
                seen_before.add(rec.image_sha256)
        if ids:
            self.versions.changed(gid)
        return ids, skipped

    def add_bulk(self, gallery: str, people: Sequence[str], person_index: np.ndarray, vectors: np.ndarray, *,
                 model: str, sha_prefix: str = "bulk:", detector: str = "", chunk: int = 500_000) -> int:
        """Append many faces of ``model`` at once through Arrow, in one transaction; returns faces added.

        For synthetic galleries of millions of faces (no thumbnails, landmarks or quality).
        ``people`` names the identities, ``person_index[i]`` is row ``i``'s index into it, and
        each row's image hash is ``sha_prefix`` followed by its row number.
        """
        import pyarrow as pa

        vecs = np.asarray(vectors, np.float32)
        dim = self.db.dim
        if vecs.ndim != 2 or vecs.shape[1] != dim:
            raise DatabaseError(f"{self.db.path}: vectors must be (N, {dim}) for {model}; nothing was changed")
        pidx = np.asarray(person_index, np.int64)
        with self.db.transaction() as cur:
            gid = self.galleries.writable(cur, gallery, model, create=True)
            cur.register("_bulk_people", pa.table({"name": pa.array(list(people), pa.string())}))
            cur.execute("INSERT INTO people (gallery_id, name) SELECT DISTINCT ?, name FROM _bulk_people "
                        "WHERE name NOT IN (SELECT name FROM people WHERE gallery_id = ?)", [gid, gid])
            cur.unregister("_bulk_people")
            ids = dict(cur.execute("SELECT name, id FROM people WHERE gallery_id = ?", [gid]).fetchall())
            pid_of = np.array([ids[p] for p in people], np.int64)
            for s in range(0, len(vecs), chunk):
                v = np.ascontiguousarray(vecs[s:s + chunk])
                part = pa.table({
                    "n": pa.array(np.arange(s, s + len(v), dtype=np.int64)),
                    "person_id": pa.array(pid_of[pidx[s:s + chunk]]),
                    "embedding": pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1)), dim),
                })
                cur.register("_bulk_faces", part)
                cur.execute(
                    "INSERT INTO faces (gallery_id, person_id, image_sha256, source_path, model, detector, "
                    f"embedding) SELECT ?, person_id, ? || n, '', ?, ?, embedding::FLOAT[{dim}] "
                    "FROM _bulk_faces ORDER BY n", [gid, sha_prefix, model, detector])
                cur.unregister("_bulk_faces")
        self.versions.changed(gid)
        return int(len(vecs))
