"""Reading a gallery's vectors: the search matrix (cached until the faces change), the
candidates an index proposed, and bulk reads straight from Arrow for indexes and benchmarks.

Every read names the model of the vectors it will be compared with, and a gallery of another
model is refused (:meth:`~workbench.store.galleries.Galleries.check`) before anything is read.
:class:`FaceVersions` says when a gallery's faces changed in this process: every writer of
faces bumps it, and the matrix cache is kept until then (a logged search changes no face).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

import numpy as np
import polars as pl

from workbench.store.db import Database, reads
from workbench.store.galleries import Galleries
from workbench.store.results import first, query_arrow


@dataclass(frozen=True, eq=False)
class GalleryMatrix:
    """All vectors of one gallery, for vectorised search: rows align with the id arrays."""

    face_ids: np.ndarray
    person_ids: np.ndarray
    people: list[str]
    sources: list[str]
    vectors: np.ndarray
    #: the model that made the vectors (the gallery's), and the gallery's name
    model: str = ""
    gallery: str = ""

    def signature(self) -> str:
        """Which faces of which people this snapshot holds: changes when a face is added,
        deleted or moved to another person, even when the count stays the same."""
        h = hashlib.blake2b(digest_size=16)
        h.update(np.ascontiguousarray(self.face_ids, np.int64).tobytes())
        h.update(np.ascontiguousarray(self.person_ids, np.int64).tobytes())
        h.update("\0".join(self.people).encode())
        return h.hexdigest()


class FaceVersions:
    """Per gallery id, a value that changes whenever its faces change in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_gallery: dict[int, int] = {}
        self._epoch = 0  # bumped when every gallery's faces change at once (purge-all)

    def of(self, gallery_id: int) -> tuple[int, int]:
        with self._lock:
            return self._epoch, self._by_gallery.get(gallery_id, 0)

    def changed(self, gallery_id: int | None = None) -> None:
        """Call after a write that adds, removes or re-labels faces (``None``: every gallery)."""
        with self._lock:
            if gallery_id is None:
                self._epoch += 1
            else:
                self._by_gallery[gallery_id] = self._by_gallery.get(gallery_id, 0) + 1


_ROWS = ("SELECT f.id, f.person_id, p.name, coalesce(f.source_path, '') AS source, f.embedding "
         "FROM faces f JOIN people p ON p.id = f.person_id WHERE f.gallery_id = ? ")


class Vectors:
    """Reads of the face vectors of ``db``'s galleries, each for one model."""

    def __init__(self, db: Database, galleries: Galleries, versions: FaceVersions) -> None:
        self.db, self.galleries, self.versions = db, galleries, versions
        self._cache: dict[int, tuple[tuple[int, int], GalleryMatrix]] = {}

    def _matrix(self, df: pl.DataFrame, model: str, gallery: str) -> GalleryMatrix:
        dim = self.db.dim
        vectors = (df["embedding"].to_numpy().astype(np.float32).reshape(-1, dim)
                   if df.height else np.zeros((0, dim), np.float32))
        return GalleryMatrix(face_ids=df["id"].to_numpy().astype(np.int64),
                             person_ids=df["person_id"].to_numpy().astype(np.int64),
                             people=df["name"].to_list(), sources=df["source"].to_list(),
                             vectors=np.ascontiguousarray(vectors), model=model, gallery=gallery)

    @reads
    def matrix(self, gallery: str, model: str) -> GalleryMatrix:
        """All vectors of ``gallery`` as one ``(N, dim)`` float32 array, cached until its faces
        change. ``model`` is the model of the vectors they will be compared with: a gallery of
        another model is refused (:class:`~workbench.errors.ModelMismatchError`), an unknown one
        is a :class:`~workbench.errors.GalleryError`."""
        gid = self.galleries.check(gallery, model)
        version = self.versions.of(gid)  # read first: a write meanwhile makes the copy stale
        cached = self._cache.get(gid)
        if cached and cached[0] == version and cached[1].gallery == gallery:
            return cached[1]
        m = self._matrix(self.db.frame(_ROWS + "ORDER BY f.id", [gid]), model, gallery)
        self._cache[gid] = (version, m)
        return m

    @reads
    def matrix_of(self, gallery: str, face_ids: np.ndarray, model: str) -> GalleryMatrix:
        """Like :meth:`matrix`, for the given faces only (the candidates an index proposed)."""
        gid = self.galleries.check(gallery, model)
        wanted = [int(i) for i in np.unique(face_ids[face_ids >= 0])]
        df = self.db.frame(_ROWS + "AND f.id IN (SELECT unnest(?::BIGINT[])) ORDER BY f.id", [gid, wanted])
        return self._matrix(df, model, gallery)

    @reads
    def table(self, gallery: str, model: str) -> pl.DataFrame:
        """Every face of ``gallery`` with its person, source and vector (``embedding``), by person."""
        gid = self.galleries.check(gallery, model)
        return self.db.frame(
            "SELECT f.id, p.name AS person, f.source_path, f.image_sha256, f.model, f.detector, f.embedding "
            "FROM faces f JOIN people p ON p.id = f.person_id WHERE f.gallery_id = ? ORDER BY p.name, f.id", [gid])

    @reads
    def load(self, gallery: str, model: str, *, min_id: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(face ids int64 (N,), vectors float32 (N, dim))`` of a gallery of ``model``, by id,
        straight from Arrow; ``min_id`` keeps only faces with an id from that value on."""
        gid = self.galleries.check(gallery, model)
        where, params = ("AND id >= ?", [gid, int(min_id)]) if min_id is not None else ("", [gid])
        tbl = query_arrow(self.db.cursor(), f"SELECT id, embedding FROM faces WHERE gallery_id = ? {where} "
                          "ORDER BY id", params)
        ids = tbl.column("id").to_numpy().astype(np.int64)
        dim = self.db.dim
        if not len(ids):
            return ids, np.zeros((0, dim), np.float32)
        emb = tbl.column("embedding").combine_chunks()
        vecs = emb.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
        return ids, np.ascontiguousarray(vecs.reshape(-1, dim))

    @reads
    def people_of(self, gallery: str, model: str) -> tuple[np.ndarray, np.ndarray]:
        """``(face ids int64 (N,), person ids int64 (N,))`` of a gallery of ``model``, by face id
        (the rows of :meth:`load`): whose face each vector is, without the vectors."""
        gid = self.galleries.check(gallery, model)
        tbl = query_arrow(self.db.cursor(), "SELECT id, person_id FROM faces WHERE gallery_id = ? ORDER BY id", [gid])
        return (tbl.column("id").to_numpy().astype(np.int64),
                tbl.column("person_id").to_numpy().astype(np.int64))

    @reads
    def fingerprint(self, gallery: str) -> tuple[int, int, int]:
        """``(faces, max id, xor of id hashes)`` of a gallery: changes on any add or delete."""
        gid = self.galleries.id(gallery)
        row = first(self.db.cursor().execute(
            "SELECT count(*), coalesce(max(id), 0), coalesce(bit_xor(hash(id)), 0) FROM faces "
            "WHERE gallery_id = ?", [gid]))
        return int(row[0]), int(row[1]), int(row[2])

    @reads
    def face_ids(self, gallery: str) -> np.ndarray:
        """Every face id of a gallery, int64, in no particular order."""
        gid = self.galleries.id(gallery)
        tbl = query_arrow(self.db.cursor(), "SELECT id FROM faces WHERE gallery_id = ?", [gid])
        return tbl.column("id").to_numpy().astype(np.int64)
