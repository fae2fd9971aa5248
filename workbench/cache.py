"""The embedding cache: one vector per (image content, model, detector settings), kept in the
gallery's DuckDB file so that an evaluation re-run at another threshold costs no model time.

The key is the image's sha256 (not its path), the model and the detector with its upsampling
and downscaling, since each of these changes the vector. Images without a usable face are
cached too (vector ``NULL`` and the reason), so they are not re-analysed either. The table
is created on first use; :func:`clear` empties it (a full purge must call it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

from workbench import capture
from workbench.errors import WorkbenchError
from workbench.gallery import GalleryDB
from workbench.pipeline import Settings, analyze

TABLE = "embedding_cache"

_DDL = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (image_sha256 VARCHAR NOT NULL, model VARCHAR NOT NULL, "
    "detector VARCHAR NOT NULL, upsample INTEGER NOT NULL, max_side INTEGER NOT NULL, "
    "embedding FLOAT[], box INTEGER[4], faces INTEGER, failure VARCHAR, "
    "cached_at TIMESTAMP DEFAULT current_timestamp, "
    "PRIMARY KEY (image_sha256, model, detector, upsample, max_side))"
)


@dataclass(frozen=True, eq=False)
class Embedded:
    """The largest face of one image file, or why there is none."""

    path: str
    sha256: str
    vector: np.ndarray | None
    faces: int = 0
    failure: str | None = None
    cached: bool = False


@dataclass(frozen=True)
class CacheStats:
    hits: int
    computed: int


def _key(settings: Settings) -> tuple[str, str, int, int]:
    return settings.model, settings.detector, int(settings.upsample), int(settings.max_side or 0)


def ensure_table(db: GalleryDB) -> None:
    with db.transaction() as cur:
        cur.execute(_DDL)


def _has_table(db: GalleryDB) -> bool:
    with db.reading():  # a compaction in another thread waits for this read
        row = db.cursor().execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [TABLE]).fetchone()
    return bool(row and row[0])


def size(db: GalleryDB) -> int:
    """Number of cached images (all models)."""
    if not _has_table(db):
        return 0
    with db.reading():
        return int(db.cursor().execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0])


def clear(db: GalleryDB) -> int:
    """Forget every cached embedding; returns how many were removed."""
    if not _has_table(db):
        return 0
    with db.transaction() as cur:
        n = cur.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
        cur.execute(f"DELETE FROM {TABLE}")
    return int(n)


def _lookup(db: GalleryDB, shas: list[str], settings: Settings) -> dict[str, tuple]:
    if not shas or not _has_table(db):
        return {}
    with db.reading():
        rows = db.cursor().execute(
            f"SELECT image_sha256, embedding, faces, failure FROM {TABLE} WHERE model = ? AND detector = ? "
            "AND upsample = ? AND max_side = ? AND image_sha256 IN (SELECT unnest(?))",
            [*_key(settings), shas]).fetchall()
    return {r[0]: r[1:] for r in rows}


def embed_files(paths: Sequence[str | os.PathLike], settings: Settings = Settings(), db: GalleryDB | None = None,
                progress: Callable[[int, int, str], None] | None = None) -> tuple[list[Embedded], CacheStats]:
    """The largest face's vector of every file, from the cache when possible.

    Unreadable files and files without a face come back with ``vector=None`` and a
    ``failure`` reason instead of raising. New results (vectors, and "no face") are written to
    the cache in one transaction at the end; unreadable files are not (``db=None``: no cache).
    """
    hashed: list[tuple[str, str, bytes | None, str | None]] = []
    for p in paths:
        try:
            data = capture.read_bytes(p)
            hashed.append((str(p), capture.sha256(data), data, None))
        except WorkbenchError as err:
            hashed.append((str(p), "", None, f"unreadable: {getattr(err, 'reason', err)}"))
    known = _lookup(db, sorted({h for _, h, _, _ in hashed if h}), settings) if db is not None else {}
    out: list[Embedded] = []
    new: dict[str, Embedded] = {}
    hits = 0
    for i, (path, sha, data, failure) in enumerate(hashed, 1):
        if failure is not None:
            out.append(Embedded(path, sha, None, 0, failure))
        elif sha in known:
            vec, n, why = known[sha]
            out.append(Embedded(path, sha, None if vec is None else np.asarray(vec, np.float32), n or 0, why, True))
            hits += 1
        elif sha in new:
            out.append(replace(new[sha], path=path))
        else:
            new[sha] = _analyse(path, sha, data, settings)
            out.append(new[sha])
        if progress:
            progress(i, len(hashed), path)
    # an unreadable file is not a result of the model; only real outcomes are kept
    keep = [e for e in new.values() if not (e.failure or "").startswith("unreadable")]
    if db is not None and keep:
        _store(db, keep, settings)
    return out, CacheStats(hits, len(new))


def _analyse(path: str, sha: str, data: bytes, settings: Settings) -> Embedded:
    try:
        analysis = analyze(capture.load_image(data, name=path), settings)
    except WorkbenchError as err:
        return Embedded(path, sha, None, 0, f"unreadable: {getattr(err, 'reason', err)}")
    faces = analysis.embedded
    if not faces:
        return Embedded(path, sha, None, 0, "no_face")
    return Embedded(path, sha, faces[0].embedding.vector, len(analysis.faces))


def _store(db: GalleryDB, items: list[Embedded], settings: Settings) -> None:
    ensure_table(db)
    with db.transaction() as cur:
        cur.executemany(
            f"INSERT OR REPLACE INTO {TABLE} (image_sha256, model, detector, upsample, max_side, embedding, "
            "faces, failure) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [[e.sha256, *_key(settings), None if e.vector is None else e.vector.astype(float).tolist(),
              e.faces, e.failure] for e in items])

