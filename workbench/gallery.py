"""The gallery: one DuckDB file holding collections, people, face vectors and a search log.

One :class:`GalleryDB` per process owns the single DuckDB connection; each thread works on
its own ``cursor()``. Every write happens in one transaction, so a failure leaves no
half-written rows. A database file is bound to one embedding model and dimension (the
``faces.embedding`` column is ``FLOAT[dim]``); opening it for another model is refused.

Privacy: every deletion (a face, a person, a gallery, everything) also removes the search-log
rows that name the deleted faces, then rewrites the file (:meth:`GalleryDB.compact`), because
DuckDB keeps deleted rows' bytes in freed blocks of the file. ``path=":memory:"`` (classroom
mode) keeps everything in memory and writes nothing to disk.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import polars as pl

from workbench.embed import model_info
from workbench.errors import DatabaseError, GalleryError

SCHEMA_VERSION = "1"

#: The path that means "keep the gallery in memory, write nothing to disk" (classroom mode).
MEMORY = ":memory:"


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

    def signature(self) -> str:
        """Which faces of which people this snapshot holds: changes when a face is added,
        deleted or moved to another person, even when the count stays the same."""
        h = hashlib.blake2b(digest_size=16)
        h.update(np.ascontiguousarray(self.face_ids, np.int64).tobytes())
        h.update(np.ascontiguousarray(self.person_ids, np.int64).tobytes())
        h.update("\0".join(self.people).encode())
        return h.hexdigest()


def _locked_message(path: Path, err: Exception) -> str:
    pid = re.search(r"PID (\d+)", str(err))
    who = f" (process {pid.group(1)})" if pid else ""
    return (
        f"{path}: the database is locked by another process{who}; "
        "close the other workbench (app or CLI) and retry"
    )


class _SharedLock:
    """Many readers at once, or one exclusive holder (compaction, which swaps the connection).

    Re-entrant for readers, so a read method may call another.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._exclusive = False
        self._local = threading.local()

    @contextmanager
    def shared(self) -> Iterator[None]:
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            with self._cond:
                self._cond.wait_for(lambda: not self._exclusive)
                self._readers += 1
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            if depth == 0:
                with self._cond:
                    self._readers -= 1
                    self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._exclusive)
            self._exclusive = True
            self._cond.wait_for(lambda: self._readers == 0)
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


def _reads(method):
    """A read method: runs while no compaction is swapping the connection underneath it."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._rw.shared():
            return method(self, *args, **kwargs)
    return wrapper


class GalleryDB:
    """The workbench database at ``path``, for vectors of ``model``.

    Args:
        path: the DuckDB file; created (with its folder) when missing unless ``create`` is false.
        model: the embedding model whose vectors this database stores.
        create: create a missing file; when false, a missing file is a :class:`DatabaseError`.
        read_only: open without write access (several readers may share the file).
    """

    def __init__(self, path: str | os.PathLike, model: str = "Dlib", *, create: bool = True,
                 read_only: bool = False) -> None:
        import duckdb

        self.path = Path(path)
        self.model = model
        self.dim = model_info(model).dim
        self.in_memory = str(path) == MEMORY
        self.read_only = read_only
        self._local = threading.local()
        self._generation = 0  # bumped when compact() reconnects: cursors of the old connection are stale
        self._rw = _SharedLock()  # read methods share it; compact() takes it alone
        # DuckDB allows one writer per process at a time anyway; serialising our own
        # transactions turns write-write conflicts between threads into a short wait.
        self._write_lock = threading.RLock()
        self._version = 0
        self._matrix_cache: dict[int, tuple[int, GalleryMatrix]] = {}
        if self.in_memory:
            self._con = duckdb.connect(MEMORY)
            self._create_schema()
            return
        exists = self.path.exists()
        if exists and self.path.is_dir():
            raise DatabaseError(f"{self.path}: is a folder, not a database file")
        if exists and self.path.stat().st_size == 0:
            raise DatabaseError(f"{self.path}: empty file, not a DuckDB database")
        if not exists and (not create or read_only):
            raise DatabaseError(f"{self.path}: no database here yet (enrol some faces first)")
        if not exists:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = _connect(self.path, read_only)
        if not read_only:  # a compaction killed before its swap leaves a stale copy; the old file is intact
            for leftover in (".compact", ".compact.wal"):
                self.path.with_name(self.path.name + leftover).unlink(missing_ok=True)
        try:
            if exists and self._blank():  # a creation killed before its schema was committed
                if read_only:
                    raise DatabaseError(f"{self.path}: an empty database (its creation was interrupted); "
                                        "enrol some faces first")
                self._create_schema()
            elif exists:
                self._check_meta()
                if not read_only:
                    self._add_audit_columns(self.cursor())
            else:
                self._create_schema()
        except Exception:
            self._con.close()
            if not exists:  # a half-created file must not be left behind
                for leftover in (self.path, self.path.with_name(self.path.name + ".wal")):
                    leftover.unlink(missing_ok=True)
            raise

    # -- connection plumbing ------------------------------------------------------------

    def cursor(self):
        """This thread's cursor on the shared connection.

        Code outside this class that reads through it should do so inside :meth:`reading`, so
        a compaction in another thread does not close the connection under the query.
        """
        cur = getattr(self._local, "cur", None)
        if cur is None or getattr(self._local, "generation", -1) != self._generation:
            cur = self._con.cursor()
            self._local.cur = cur
            self._local.generation = self._generation
        return cur

    def close(self) -> None:
        self._con.close()

    def reading(self):
        """``with db.reading(): db.cursor().execute(...)``: a read that compaction waits for."""
        return self._rw.shared()

    def __enter__(self) -> GalleryDB:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor inside ``BEGIN ... COMMIT``; any exception rolls everything back."""
        import duckdb

        cur = self.cursor()
        with self._write_lock:
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException as err:
                cur.execute("ROLLBACK")
                if isinstance(err, duckdb.Error) and not isinstance(err, GalleryError):
                    raise DatabaseError(
                        f"{self.path}: write failed, nothing was changed ({_first_line(err)})") from err
                raise
            finally:
                self._version += 1

    def _create_schema(self) -> None:
        d = self.dim
        with self.transaction() as cur:
            for seq in ("gallery_ids", "person_ids", "face_ids", "search_ids"):
                cur.execute(f"CREATE SEQUENCE {seq}")
            cur.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
            cur.execute(
                "CREATE TABLE galleries (id INTEGER PRIMARY KEY DEFAULT nextval('gallery_ids'), "
                "name VARCHAR NOT NULL UNIQUE, created_at TIMESTAMP DEFAULT current_timestamp)"
            )
            cur.execute(
                "CREATE TABLE people (id INTEGER PRIMARY KEY DEFAULT nextval('person_ids'), "
                "gallery_id INTEGER NOT NULL, name VARCHAR NOT NULL, notes VARCHAR DEFAULT '', "
                "consent BOOLEAN DEFAULT false, created_at TIMESTAMP DEFAULT current_timestamp)"
            )
            cur.execute(
                "CREATE TABLE faces (id BIGINT PRIMARY KEY DEFAULT nextval('face_ids'), "
                "gallery_id INTEGER NOT NULL, person_id INTEGER NOT NULL, "
                "image_sha256 VARCHAR NOT NULL, source_path VARCHAR, box INTEGER[4], "
                "landmarks FLOAT[10], quality STRUCT(size INTEGER, sharpness DOUBLE, "
                "brightness DOUBLE, yaw DOUBLE), det_score DOUBLE, model VARCHAR NOT NULL, "
                f"detector VARCHAR, embedding FLOAT[{d}] NOT NULL, thumbnail BLOB, "
                "enrolled_at TIMESTAMP DEFAULT current_timestamp)"
            )
            cur.execute(
                "CREATE TABLE searches (id BIGINT PRIMARY KEY DEFAULT nextval('search_ids'), "
                "searched_at TIMESTAMP DEFAULT current_timestamp, gallery VARCHAR, model VARCHAR, "
                "detector VARCHAR, metric VARCHAR, threshold DOUBLE, top_k INTEGER, "
                "n_faces INTEGER, result_face_ids BIGINT[][], result_distances FLOAT[][], "
                "detect_ms DOUBLE, embed_ms DOUBLE, search_ms DOUBLE, source VARCHAR, "
                + ", ".join(f"{name} {sql_type}" for name, sql_type in AUDIT_COLUMNS) + ")"
            )
            cur.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [["schema_version", SCHEMA_VERSION], ["model", self.model], ["dim", str(d)]],
            )

    def _blank(self) -> bool:
        """No table at all: DuckDB made the file, and the process died before our schema landed."""
        return self.cursor().execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()").fetchone()[0] == 0

    def _check_meta(self) -> None:
        import duckdb

        try:
            meta = dict(self.cursor().execute("SELECT key, value FROM meta").fetchall())
        except duckdb.Error:
            raise DatabaseError(f"{self.path}: not a workbench database (no meta table)") from None
        if meta.get("model") != self.model or meta.get("dim") != str(self.dim):
            raise DatabaseError(
                f"{self.path}: built for model {meta.get('model')} ({meta.get('dim')}-d), "
                f"not {self.model} ({self.dim}-d); use --db for another file or the matching --model"
            )

    # -- galleries ------------------------------------------------------------------------

    @_reads
    def galleries(self) -> pl.DataFrame:
        """Every gallery with its people and face counts."""
        return self.cursor().execute(
            "SELECT g.name AS gallery, "
            "(SELECT count(*) FROM people p WHERE p.gallery_id = g.id) AS people, "
            "(SELECT count(*) FROM faces f WHERE f.gallery_id = g.id) AS faces, g.created_at "
            "FROM galleries g ORDER BY g.name"
        ).pl()

    @_reads
    def gallery_id(self, name: str, *, create: bool = False, cur: Any = None) -> int:
        """Id of gallery ``name``; created when ``create``, else :class:`GalleryError` if unknown."""
        cur = cur or self.cursor()
        row = cur.execute("SELECT id FROM galleries WHERE name = ?", [name]).fetchone()
        if row:
            return int(row[0])
        if not create:
            known = [r[0] for r in cur.execute("SELECT name FROM galleries ORDER BY name").fetchall()]
            hint = f"; known: {', '.join(known)}" if known else "; there are no galleries yet"
            raise GalleryError(f"unknown gallery {name!r}{hint}")
        if not name or not name.strip():
            raise GalleryError("a gallery needs a non-empty name")
        return int(cur.execute("INSERT INTO galleries (name) VALUES (?) RETURNING id", [name]).fetchone()[0])

    def create_gallery(self, name: str) -> int:
        with self.transaction() as cur:
            return self.gallery_id(name, create=True, cur=cur)

    def _empty(self, name: str, *, drop: bool) -> int:
        with self.transaction() as cur:
            gid = self.gallery_id(name, cur=cur)
            n = cur.execute("SELECT count(*) FROM faces WHERE gallery_id = ?", [gid]).fetchone()[0]
            cur.execute("DELETE FROM searches WHERE gallery = ?", [name])
            cur.execute("DELETE FROM faces WHERE gallery_id = ?", [gid])
            cur.execute("DELETE FROM people WHERE gallery_id = ?", [gid])
            if drop:
                cur.execute("DELETE FROM galleries WHERE id = ?", [gid])
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

    @_reads
    def people(self, gallery: str) -> pl.DataFrame:
        gid = self.gallery_id(gallery)
        return self.cursor().execute(
            "SELECT p.id, p.name, p.notes, p.consent, count(f.id) AS faces, p.created_at "
            "FROM people p LEFT JOIN faces f ON f.person_id = p.id "
            "WHERE p.gallery_id = ? GROUP BY ALL ORDER BY p.name", [gid]
        ).pl()

    @_reads
    def faces(self, gallery: str, with_embeddings: bool = False) -> pl.DataFrame:
        gid = self.gallery_id(gallery)
        emb = ", f.embedding" if with_embeddings else ""
        return self.cursor().execute(
            "SELECT f.id, p.name AS person, f.source_path, f.image_sha256, f.box, f.landmarks, "
            f"f.quality, f.det_score, f.model, f.detector, f.enrolled_at{emb} "
            "FROM faces f JOIN people p ON p.id = f.person_id WHERE f.gallery_id = ? "
            "ORDER BY p.name, f.id", [gid]
        ).pl()

    def _person_id(self, cur: Any, gid: int, name: str, notes: str | None, consent: bool | None) -> int:
        if not name or not name.strip():
            raise GalleryError("a person needs a non-empty name")
        row = cur.execute("SELECT id FROM people WHERE gallery_id = ? AND name = ?", [gid, name]).fetchone()
        if row:
            pid = int(row[0])
            if notes is not None:
                cur.execute("UPDATE people SET notes = ? WHERE id = ?", [notes, pid])
            if consent is not None:
                cur.execute("UPDATE people SET consent = ? WHERE id = ?", [consent, pid])
            return pid
        return int(cur.execute(
            "INSERT INTO people (gallery_id, name, notes, consent) VALUES (?, ?, ?, ?) RETURNING id",
            [gid, name, notes or "", bool(consent)],
        ).fetchone()[0])

    def set_person(self, gallery: str, name: str, *, notes: str | None = None,
                   consent: bool | None = None) -> int:
        """Create or update a person (notes, consent flag); returns the person id."""
        with self.transaction() as cur:
            gid = self.gallery_id(gallery, cur=cur)
            return self._person_id(cur, gid, name, notes, consent)

    @_reads
    def has_image(self, gallery: str, sha: str) -> bool:
        """Whether an image with this content hash is already enrolled for this model."""
        row = self.cursor().execute(
            "SELECT 1 FROM faces f JOIN galleries g ON g.id = f.gallery_id "
            "WHERE g.name = ? AND f.image_sha256 = ? AND f.model = ? LIMIT 1", [gallery, sha, self.model]
        ).fetchone()
        return row is not None

    def add_faces(self, gallery: str, records: Sequence[FaceRecord], *, create_gallery: bool = True,
                  consent: bool | None = None, notes: str | None = None,
                  people_meta: dict[str, tuple[str | None, bool | None]] | None = None,
                  ) -> tuple[list[int], int]:
        """Store faces in one transaction; returns ``(new face ids, duplicates skipped)``.

        A record whose image (sha256) is already in the gallery for this model is skipped, so
        enrolling the same folder twice stores nothing the second time. ``notes``/``consent``
        apply to every person of the call, ``people_meta`` (name -> (notes, consent)) per person.
        Any error rolls back every record of the call.
        """
        ids: list[int] = []
        skipped = 0
        with self.transaction() as cur:
            gid = self.gallery_id(gallery, create=create_gallery, cur=cur)
            persons: dict[str, int] = {}
            seen_before = set()
            for rec in records:
                vec = np.asarray(rec.embedding, dtype=np.float32).reshape(-1)
                if vec.shape[0] != self.dim:
                    raise DatabaseError(
                        f"{self.path}: a {vec.shape[0]}-d vector cannot go in a {self.model} "
                        f"({self.dim}-d) database; nothing was changed"
                    )
                if rec.image_sha256 not in seen_before:
                    dup = cur.execute(
                        "SELECT 1 FROM faces WHERE gallery_id = ? AND image_sha256 = ? AND model = ? LIMIT 1",
                        [gid, rec.image_sha256, self.model],
                    ).fetchone()
                    if dup:
                        skipped += 1
                        continue
                if rec.person not in persons:
                    n, c = (people_meta or {}).get(rec.person, (notes, consent))
                    persons[rec.person] = self._person_id(cur, gid, rec.person, n, c)
                q = rec.quality
                row = cur.execute(
                    "INSERT INTO faces (gallery_id, person_id, image_sha256, source_path, box, "
                    "landmarks, quality, det_score, model, detector, embedding, thumbnail) VALUES "
                    "(?, ?, ?, ?, ?, ?, {'size': ?, 'sharpness': ?, 'brightness': ?, 'yaw': ?}, "
                    "?, ?, ?, ?, ?) RETURNING id",
                    [gid, persons[rec.person], rec.image_sha256, rec.source_path, list(map(int, rec.box)),
                     [float(v) for v in rec.landmarks], int(q.get("size", 0)), float(q.get("sharpness", 0)),
                     float(q.get("brightness", 0)), float(q.get("yaw", 0)), float(rec.det_score),
                     self.model, rec.detector, vec.tolist(), rec.thumbnail or None],
                ).fetchone()
                ids.append(int(row[0]))
                seen_before.add(rec.image_sha256)
        return ids, skipped

    @_reads
    def thumbnail(self, face_id: int) -> bytes | None:
        """The JPEG thumbnail stored with a face, if any."""
        row = self.cursor().execute("SELECT thumbnail FROM faces WHERE id = ?", [face_id]).fetchone()
        return bytes(row[0]) if row and row[0] is not None else None

    def delete_face(self, face_id: int) -> None:
        """Remove one face, the search-log rows that returned it, and compact the file."""
        with self.transaction() as cur:
            if not cur.execute("SELECT 1 FROM faces WHERE id = ?", [face_id]).fetchone():
                raise GalleryError(f"no face with id {face_id}")
            _forget_in_log(cur, [face_id])
            cur.execute("DELETE FROM faces WHERE id = ?", [face_id])
        self.compact()

    def delete_person(self, gallery: str, name: str) -> int:
        """Remove a person, all their faces and the search-log rows that returned them; returns
        faces removed. The file is compacted so the deleted bytes are gone from it."""
        with self.transaction() as cur:
            gid = self.gallery_id(gallery, cur=cur)
            row = cur.execute("SELECT id FROM people WHERE gallery_id = ? AND name = ?", [gid, name]).fetchone()
            if not row:
                raise GalleryError(f"no person {name!r} in gallery {gallery!r}")
            ids = [r[0] for r in cur.execute("SELECT id FROM faces WHERE person_id = ?", [row[0]]).fetchall()]
            _forget_in_log(cur, ids)
            cur.execute("DELETE FROM faces WHERE person_id = ?", [row[0]])
            cur.execute("DELETE FROM people WHERE id = ?", [row[0]])
        self.compact()
        return len(ids)

    # -- vectors for search ---------------------------------------------------------------

    @_reads
    def matrix(self, gallery: str) -> GalleryMatrix:
        """All vectors of a gallery as one ``(N, dim)`` float32 array, cached until a write."""
        gid = self.gallery_id(gallery)
        cached = self._matrix_cache.get(gid)
        if cached and cached[0] == self._version:
            return cached[1]
        df = self.cursor().execute(
            "SELECT f.id, f.person_id, p.name, coalesce(f.source_path, '') AS source, f.embedding "
            "FROM faces f JOIN people p ON p.id = f.person_id WHERE f.gallery_id = ? ORDER BY f.id",
            [gid],
        ).pl()
        vectors = (df["embedding"].to_numpy().astype(np.float32).reshape(-1, self.dim)
                   if df.height else np.zeros((0, self.dim), np.float32))
        m = GalleryMatrix(
            face_ids=df["id"].to_numpy().astype(np.int64),
            person_ids=df["person_id"].to_numpy().astype(np.int64),
            people=df["name"].to_list(),
            sources=df["source"].to_list(),
            vectors=np.ascontiguousarray(vectors),
        )
        self._matrix_cache[gid] = (self._version, m)
        return m

    @_reads
    def matrix_of(self, gallery: str, face_ids: np.ndarray) -> GalleryMatrix:
        """Like :meth:`matrix`, for the given faces only (the candidates an index proposed)."""
        gid = self.gallery_id(gallery)
        df = self.cursor().execute(
            "SELECT f.id, f.person_id, p.name, coalesce(f.source_path, '') AS source, f.embedding "
            "FROM faces f JOIN people p ON p.id = f.person_id "
            "WHERE f.gallery_id = ? AND f.id IN (SELECT unnest(?::BIGINT[])) ORDER BY f.id",
            [gid, [int(i) for i in np.unique(face_ids[face_ids >= 0])]],
        ).pl()
        vectors = (df["embedding"].to_numpy().astype(np.float32).reshape(-1, self.dim)
                   if df.height else np.zeros((0, self.dim), np.float32))
        return GalleryMatrix(face_ids=df["id"].to_numpy().astype(np.int64),
                             person_ids=df["person_id"].to_numpy().astype(np.int64),
                             people=df["name"].to_list(), sources=df["source"].to_list(),
                             vectors=np.ascontiguousarray(vectors))

    # -- search log -----------------------------------------------------------------------

    def log_search(self, *, gallery: str, detector: str, metric: str, threshold: float, top_k: int,
                   result_face_ids: list[list[int]], result_distances: list[list[float]],
                   detect_ms: float, embed_ms: float, search_ms: float, source: str = "",
                   audit: SearchAudit | None = None) -> None:
        """Append one search to the log; ``audit`` adds what an auditor needs (see :class:`SearchAudit`)."""
        a = audit or SearchAudit()
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO searches (gallery, model, detector, metric, threshold, top_k, n_faces, "
                "result_face_ids, result_distances, detect_ms, embed_ms, search_ms, source, "
                "workbench_version, client, probe_sha256, probe_width, probe_height, probe_boxes, "
                "upsample, max_side, per_person, similarity_base, gallery_faces, result_people, "
                "result_match, probe_image) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [gallery, self.model, detector, metric, float(threshold), int(top_k), len(result_face_ids),
                 result_face_ids, result_distances, float(detect_ms), float(embed_ms), float(search_ms), source,
                 _version(), a.client, a.probe_sha256, a.probe_width, a.probe_height,
                 [list(map(int, b)) for b in a.probe_boxes], a.upsample, a.max_side, a.per_person,
                 a.similarity_base, a.gallery_faces, [list(p) for p in a.result_people],
                 [list(m) for m in a.result_match], a.probe_image],
            )

    @_reads
    def search_log(self, limit: int | None = None) -> pl.DataFrame:
        sql = "SELECT * FROM searches ORDER BY id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return self.cursor().execute(sql).pl()

    # -- export / import ------------------------------------------------------------------

    @_reads
    def export_parquet(self, gallery: str, path: str | os.PathLike | io.BytesIO) -> int:
        """Write a gallery's people and faces (with vectors) to one Parquet file (or buffer)."""
        gid = self.gallery_id(gallery)
        df = self.cursor().execute(
            "SELECT g.name AS gallery, p.name AS person, p.notes, p.consent, f.image_sha256, "
            "f.source_path, f.box, f.landmarks, f.quality, f.det_score, f.model, f.detector, "
            "f.embedding, f.thumbnail, f.enrolled_at FROM faces f JOIN people p ON p.id = f.person_id "
            "JOIN galleries g ON g.id = f.gallery_id WHERE f.gallery_id = ? ORDER BY f.id", [gid]
        ).pl()
        if isinstance(path, io.BytesIO):  # a download built in memory: nothing touches the disk
            df.write_parquet(path)
            return df.height
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        df.write_parquet(tmp)
        tmp.replace(out)
        return df.height

    def import_parquet(self, path: str | os.PathLike, gallery: str | None = None) -> tuple[int, int]:
        """Load a Parquet export into ``gallery`` (default: the one it was exported from).

        Returns ``(faces added, duplicates skipped)``; all or nothing.
        """
        p = Path(path)
        try:
            df = pl.read_parquet(p)
        except FileNotFoundError:
            raise GalleryError(f"{p}: no such file") from None
        except Exception as err:  # polars raises several kinds for a bad file
            raise GalleryError(f"{p}: not a readable Parquet file ({_first_line(err)})") from None
        needed = {"gallery", "person", "image_sha256", "model", "embedding", "box", "landmarks"}
        missing = needed - set(df.columns)
        if missing:
            raise GalleryError(f"{p}: not a workbench export (missing columns: {', '.join(sorted(missing))})")
        models_in = set(df["model"].unique().to_list())
        if df.height and models_in != {self.model}:
            raise DatabaseError(
                f"{p}: holds {', '.join(sorted(map(str, models_in)))} vectors; this database stores {self.model}"
            )
        target = gallery or (df["gallery"][0] if df.height else None)
        if not target:
            raise GalleryError(f"{p}: empty export and no --gallery given")
        records = []
        for row in df.iter_rows(named=True):
            q = row.get("quality") or {}
            records.append(FaceRecord(
                person=row["person"], image_sha256=row["image_sha256"], source_path=row.get("source_path") or "",
                box=row["box"], landmarks=row["landmarks"], quality=q, det_score=row.get("det_score") or 0.0,
                detector=row.get("detector") or "", embedding=np.asarray(row["embedding"], np.float32),
                thumbnail=row.get("thumbnail") or b"",
            ))
        meta = {r["person"]: (r.get("notes"), r.get("consent")) for r in df.iter_rows(named=True)}
        ids, skipped = self.add_faces(target, records, people_meta=meta)
        return len(ids), skipped

    # -- privacy: purge everything, compaction, search-log audit and export (issue 6) --------

    def _add_audit_columns(self, cur: Any) -> None:
        """Give a database made before the audit columns its missing ones, and checkpoint at once.

        DuckDB 1.5 cannot replay an ``ALTER TABLE ... ADD COLUMN`` from its write-ahead log on a
        table whose defaults call ``nextval`` (an internal error: the file no longer opens after
        a crash), so the change must never stay in the WAL. New files get the columns in
        ``CREATE TABLE``; nothing is written when no column is missing.
        """
        have = {r[0] for r in cur.execute("DESCRIBE searches").fetchall()}
        missing = [(n, t) for n, t in AUDIT_COLUMNS if n not in have]
        if not missing:
            return
        with self._write_lock:
            for name, sql_type in missing:
                cur.execute(f"ALTER TABLE searches ADD COLUMN {name} {sql_type}")
            cur.execute("CHECKPOINT")

    @_reads
    def data_tables(self) -> list[str]:
        """Every table of this database except ``meta``: all that may hold face data."""
        rows = self.cursor().execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = current_schema() AND table_name <> 'meta' ORDER BY table_name").fetchall()
        return [r[0] for r in rows]

    def purge_all(self) -> dict[str, int]:
        """Purge everything: empty every table but ``meta`` (galleries, people, faces, the search
        log and any table added later, such as caches), remove registered side files, compact.

        Returns the number of rows removed per table.
        """
        removed: dict[str, int] = {}
        with self.transaction() as cur:
            for table in self.data_tables():
                removed[table] = int(cur.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
                cur.execute(f'DELETE FROM "{table}"')
        self.compact()  # removes the side files too
        return removed

    def compact(self) -> int:
        """Rewrite the database into a fresh file and swap it in atomically; returns its size.

        DuckDB reuses freed blocks but never clears them, and neither ``CHECKPOINT`` nor
        ``VACUUM`` removes a deleted row's bytes from the file. Copying the live rows into a new
        file (``COPY FROM DATABASE``) and replacing the old one leaves nothing deleted in it.
        Holds the write lock; other threads' cursors are renewed on their next use.
        """
        import duckdb

        if self.in_memory:
            with self._write_lock, self._rw.exclusive():
                self.cursor().execute("CHECKPOINT")  # vacuums deleted rows of in-memory tables
            return 0
        if self.read_only:
            raise DatabaseError(f"{self.path}: opened read-only, cannot compact")
        tmp = self.path.with_name(self.path.name + ".compact")
        with self._write_lock, self._rw.exclusive():
            self._remove_side_files()  # derived copies (indexes) would keep deleted vectors
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                leftover.unlink(missing_ok=True)
            con = self._con
            try:
                con.execute("CHECKPOINT")
                source = con.execute("SELECT current_database()").fetchone()[0]
                target = str(tmp).replace("'", "''")
                con.execute(f"ATTACH '{target}' AS workbench_compact")
                try:
                    con.execute(f'COPY FROM DATABASE "{source}" TO workbench_compact')
                finally:
                    con.execute("DETACH workbench_compact")
            except duckdb.Error as err:
                tmp.unlink(missing_ok=True)
                raise DatabaseError(f"{self.path}: could not compact the file, so deleted data may still be "
                                    f"in it; retry with `workbench gallery compact` ({_first_line(err)})") from None
            con.close()  # checkpoints: the old file's WAL is merged and gone before the swap
            self.path.with_name(self.path.name + ".wal").unlink(missing_ok=True)
            os.replace(tmp, self.path)  # atomic: a crash leaves the old file or the new one
            _fsync_dir(self.path.parent)
            self._con = _connect(self.path, False)
            self._generation += 1
            self._version += 1
        return self.path.stat().st_size

    def _remove_side_files(self) -> None:
        """Delete the files beside the database that copy its rows (see ``SIDE_FILE_SUFFIXES``)."""
        import glob

        for suffix in SIDE_FILE_SUFFIXES:
            for f in self.path.parent.glob(glob.escape(self.path.name) + suffix):
                f.unlink(missing_ok=True)

    def export_search_log(self, path: str | os.PathLike | io.BytesIO, *, kind: str | None = None,
                          with_probes: bool = False) -> int:
        """Write the search log to ``.csv``, ``.json`` (one object per line) or ``.parquet``.

        ``path`` may be an in-memory buffer (then ``kind`` names the format), so the app can
        offer a download without writing a file. Nested columns become JSON text in CSV.
        Stored probe images go only into Parquet, and only with ``with_probes``. Returns the
        number of searches written.
        """
        buffer = isinstance(path, io.BytesIO)
        kind = (kind or ("" if buffer else Path(path).suffix)).lower().lstrip(".")
        if kind not in ("csv", "json", "jsonl", "parquet"):
            raise GalleryError(f"{path}: export the search log as .csv, .json or .parquet")
        log = self.search_log().sort("id")
        if not (with_probes and kind == "parquet"):
            log = log.drop("probe_image", strict=False)
        if kind == "csv":
            nested = [c for c, t in log.schema.items() if t.is_nested()]
            log = log.with_columns(pl.col(c).map_elements(_json_list, return_dtype=pl.String) for c in nested)
        write = {"parquet": log.write_parquet, "csv": log.write_csv}.get(kind, log.write_ndjson)
        if buffer:
            write(path)
            return log.height
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        write(tmp)
        tmp.replace(out)
        return log.height


    # -- bulk insert (issue 5: galleries at benchmark scale) ------------------------------

    def add_vectors_bulk(self, gallery: str, people: Sequence[str], person_index: np.ndarray,
                         vectors: np.ndarray, *, sha_prefix: str = "bulk:", detector: str = "",
                         chunk: int = 500_000) -> int:
        """Append many faces at once through Arrow, in one transaction; returns faces added.

        For synthetic galleries of millions of faces (no thumbnails, landmarks or quality).
        ``people`` names the identities, ``person_index[i]`` is row ``i``'s index into it, and
        each row's image hash is ``sha_prefix`` followed by its row number.
        """
        import pyarrow as pa

        vecs = np.asarray(vectors, np.float32)
        if vecs.ndim != 2 or vecs.shape[1] != self.dim:
            raise DatabaseError(f"{self.path}: vectors must be (N, {self.dim}) for {self.model}; nothing was changed")
        pidx = np.asarray(person_index, np.int64)
        with self.transaction() as cur:
            gid = self.gallery_id(gallery, create=True, cur=cur)
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
                    "embedding": pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1)), self.dim),
                })
                cur.register("_bulk_faces", part)
                cur.execute(
                    "INSERT INTO faces (gallery_id, person_id, image_sha256, source_path, model, detector, "
                    f"embedding) SELECT ?, person_id, ? || n, '', ?, ?, embedding::FLOAT[{self.dim}] "
                    "FROM _bulk_faces ORDER BY n", [gid, sha_prefix, self.model, detector])
                cur.unregister("_bulk_faces")
        return int(len(vecs))


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


# -- privacy helpers (issue 6) ---------------------------------------------------------------

#: Files next to the database (``<db file><suffix>``, the suffix may hold glob wildcards) that
#: copy face data, such as a saved search index. They are derived and rebuilt on demand, so
#: :meth:`GalleryDB.compact` (run after every deletion and by purge) deletes them. Modules that
#: create one register its suffix here.
SIDE_FILE_SUFFIXES: list[str] = []

#: Search-log columns an auditor needs beyond the original ones (who/when is out of scope:
#: there are no accounts; ``searched_at`` says when).
AUDIT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("workbench_version", "VARCHAR"), ("client", "VARCHAR"), ("probe_sha256", "VARCHAR"),
    ("probe_width", "INTEGER"), ("probe_height", "INTEGER"), ("probe_boxes", "INTEGER[][]"),
    ("upsample", "INTEGER"), ("max_side", "INTEGER"), ("per_person", "BOOLEAN"),
    ("similarity_base", "DOUBLE"), ("gallery_faces", "INTEGER"), ("result_people", "VARCHAR[][]"),
    ("result_match", "BOOLEAN[][]"), ("probe_image", "BLOB"),
)


@dataclass(frozen=True)
class SearchAudit:
    """What a search log row records besides results and latency, to audit it later.

    ``probe_image`` (JPEG bytes) is stored only when the user asked to keep the probe;
    otherwise only its sha256, size and face boxes are kept.
    """

    client: str = "library"
    probe_sha256: str = ""
    probe_width: int = 0
    probe_height: int = 0
    probe_boxes: tuple[tuple[int, int, int, int], ...] = ()
    upsample: int | None = None
    max_side: int | None = None
    per_person: bool | None = None
    similarity_base: float | None = None
    gallery_faces: int | None = None
    result_people: tuple[tuple[str, ...], ...] = ()
    result_match: tuple[tuple[bool, ...], ...] = ()
    probe_image: bytes | None = None


def _connect(path: Path, read_only: bool):  # -> duckdb.DuckDBPyConnection
    """Open the DuckDB file, turning lock, permission and corruption errors into one line."""
    import duckdb

    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as err:
        msg = str(err).lower()
        if "could not set lock" in msg or "conflicting lock" in msg:
            raise DatabaseError(_locked_message(path, err)) from None
        if "permission denied" in msg or "read-only file system" in msg:
            raise DatabaseError(f"{path}: the database file is read-only here (permission denied); "
                                "use a copy, or a command that only reads") from None
        raise DatabaseError(f"{path}: not a readable DuckDB database ({_first_line(err)})") from None
    except duckdb.Error as err:
        raise DatabaseError(f"{path}: not a readable DuckDB database ({_first_line(err)})") from None


def _forget_in_log(cur: Any, face_ids: Sequence[int]) -> None:
    """Delete the search-log rows whose results include any of ``face_ids``."""
    if face_ids:
        cur.execute("DELETE FROM searches WHERE list_has_any(flatten(result_face_ids), ?::BIGINT[])",
                    [list(map(int, face_ids))])


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _json_list(value: Any) -> str:
    import json

    return json.dumps(value.to_list() if isinstance(value, pl.Series) else value)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("face-workbench")
    except Exception:  # noqa: BLE001 - a source checkout that is not installed
        return "unknown"
