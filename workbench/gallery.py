"""The gallery: one DuckDB file holding collections, people, face vectors and a search log.

One :class:`GalleryDB` per process owns the single DuckDB connection; each thread works on
its own ``cursor()``. Every write happens in one transaction, so a failure leaves no
half-written rows. A database file is bound to one embedding model and dimension (the
``faces.embedding`` column is ``FLOAT[dim]``); opening it for another model is refused.
"""

from __future__ import annotations

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


def _locked_message(path: Path, err: Exception) -> str:
    pid = re.search(r"PID (\d+)", str(err))
    who = f" (process {pid.group(1)})" if pid else ""
    return (
        f"{path}: the database is locked by another process{who}; "
        "close the other workbench (app or CLI) and retry"
    )


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
        self._local = threading.local()
        # DuckDB allows one writer per process at a time anyway; serialising our own
        # transactions turns write-write conflicts between threads into a short wait.
        self._write_lock = threading.RLock()
        self._version = 0
        self._matrix_cache: dict[int, tuple[int, GalleryMatrix]] = {}
        exists = self.path.exists()
        if exists and self.path.is_dir():
            raise DatabaseError(f"{self.path}: is a folder, not a database file")
        if exists and self.path.stat().st_size == 0:
            raise DatabaseError(f"{self.path}: empty file, not a DuckDB database")
        if not exists and (not create or read_only):
            raise DatabaseError(f"{self.path}: no database here yet (enrol some faces first)")
        if not exists:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as err:
            msg = str(err).lower()
            if "could not set lock" in msg or "conflicting lock" in msg:
                raise DatabaseError(_locked_message(self.path, err)) from None
            raise DatabaseError(f"{self.path}: not a readable DuckDB database ({_first_line(err)})") from None
        except duckdb.Error as err:
            raise DatabaseError(f"{self.path}: not a readable DuckDB database ({_first_line(err)})") from None
        try:
            if exists:
                self._check_meta()
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
        """This thread's cursor on the shared connection."""
        cur = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._con.cursor()
            self._local.cur = cur
        return cur

    def close(self) -> None:
        self._con.close()

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
                "detect_ms DOUBLE, embed_ms DOUBLE, search_ms DOUBLE, source VARCHAR)"
            )
            cur.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [["schema_version", SCHEMA_VERSION], ["model", self.model], ["dim", str(d)]],
            )

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

    def galleries(self) -> pl.DataFrame:
        """Every gallery with its people and face counts."""
        return self.cursor().execute(
            "SELECT g.name AS gallery, "
            "(SELECT count(*) FROM people p WHERE p.gallery_id = g.id) AS people, "
            "(SELECT count(*) FROM faces f WHERE f.gallery_id = g.id) AS faces, g.created_at "
            "FROM galleries g ORDER BY g.name"
        ).pl()

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
            cur.execute("DELETE FROM faces WHERE gallery_id = ?", [gid])
            cur.execute("DELETE FROM people WHERE gallery_id = ?", [gid])
            if drop:
                cur.execute("DELETE FROM galleries WHERE id = ?", [gid])
        return int(n)

    def delete_gallery(self, name: str) -> int:
        """Remove a gallery with its people and faces; returns the number of faces removed."""
        return self._empty(name, drop=True)

    def purge_gallery(self, name: str) -> int:
        """Empty a gallery (faces and people) but keep it; returns faces removed."""
        return self._empty(name, drop=False)

    # -- people and faces -----------------------------------------------------------------

    def people(self, gallery: str) -> pl.DataFrame:
        gid = self.gallery_id(gallery)
        return self.cursor().execute(
            "SELECT p.id, p.name, p.notes, p.consent, count(f.id) AS faces, p.created_at "
            "FROM people p LEFT JOIN faces f ON f.person_id = p.id "
            "WHERE p.gallery_id = ? GROUP BY ALL ORDER BY p.name", [gid]
        ).pl()

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

    def thumbnail(self, face_id: int) -> bytes | None:
        """The JPEG thumbnail stored with a face, if any."""
        row = self.cursor().execute("SELECT thumbnail FROM faces WHERE id = ?", [face_id]).fetchone()
        return bytes(row[0]) if row and row[0] is not None else None

    def delete_face(self, face_id: int) -> None:
        with self.transaction() as cur:
            if not cur.execute("SELECT 1 FROM faces WHERE id = ?", [face_id]).fetchone():
                raise GalleryError(f"no face with id {face_id}")
            cur.execute("DELETE FROM faces WHERE id = ?", [face_id])

    def delete_person(self, gallery: str, name: str) -> int:
        """Remove a person and all their faces; returns faces removed."""
        with self.transaction() as cur:
            gid = self.gallery_id(gallery, cur=cur)
            row = cur.execute("SELECT id FROM people WHERE gallery_id = ? AND name = ?", [gid, name]).fetchone()
            if not row:
                raise GalleryError(f"no person {name!r} in gallery {gallery!r}")
            n = cur.execute("SELECT count(*) FROM faces WHERE person_id = ?", [row[0]]).fetchone()[0]
            cur.execute("DELETE FROM faces WHERE person_id = ?", [row[0]])
            cur.execute("DELETE FROM people WHERE id = ?", [row[0]])
        return int(n)

    # -- vectors for search ---------------------------------------------------------------

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

    # -- search log -----------------------------------------------------------------------

    def log_search(self, *, gallery: str, detector: str, metric: str, threshold: float, top_k: int,
                   result_face_ids: list[list[int]], result_distances: list[list[float]],
                   detect_ms: float, embed_ms: float, search_ms: float, source: str = "") -> None:
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO searches (gallery, model, detector, metric, threshold, top_k, n_faces, "
                "result_face_ids, result_distances, detect_ms, embed_ms, search_ms, source) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [gallery, self.model, detector, metric, float(threshold), int(top_k), len(result_face_ids),
                 result_face_ids, result_distances, float(detect_ms), float(embed_ms), float(search_ms), source],
            )

    def search_log(self, limit: int | None = None) -> pl.DataFrame:
        sql = "SELECT * FROM searches ORDER BY id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return self.cursor().execute(sql).pl()

    # -- export / import ------------------------------------------------------------------

    def export_parquet(self, gallery: str, path: str | os.PathLike) -> int:
        """Write a gallery's people and faces (with vectors) to one Parquet file."""
        gid = self.gallery_id(gallery)
        df = self.cursor().execute(
            "SELECT g.name AS gallery, p.name AS person, p.notes, p.consent, f.image_sha256, "
            "f.source_path, f.box, f.landmarks, f.quality, f.det_score, f.model, f.detector, "
            "f.embedding, f.thumbnail, f.enrolled_at FROM faces f JOIN people p ON p.id = f.person_id "
            "JOIN galleries g ON g.id = f.gallery_id WHERE f.gallery_id = ? ORDER BY f.id", [gid]
        ).pl()
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
