"""Vectors of many image files through the embedding cache, so that an evaluation re-run at
another threshold costs no model time (the table itself: :mod:`workbench.store.cache`).

The key is the image's sha256 (not its path), the model and the detector with its upsampling
and downscaling, since each of these changes the vector. Images without a usable face are
cached too (vector ``NULL`` and the reason), so they are not re-analysed either. The table
is created on first use.
"""

from __future__ import annotations

import os
from pathlib import Path
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

from workbench.errors import WorkbenchError
from workbench.pipeline import Settings, analyze, capture
from workbench.store import GalleryDB


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


def size(db: GalleryDB) -> int:
    """Number of cached images (all models)."""
    return db.cache_size()


def clear(db: GalleryDB) -> int:
    """Forget every cached embedding; returns how many were removed."""
    return db.cache_clear()


def embed_files(paths: Sequence[str | os.PathLike], settings: Settings = Settings(), db: GalleryDB | None = None,
                progress: Callable[[int, int, str], None] | None = None) -> tuple[list[Embedded], CacheStats]:
    """The largest face's vector of every file, from the cache when possible.

    Unreadable files and files without a face come back with ``vector=None`` and a
    ``failure`` reason instead of raising. New results (vectors, and "no face") are written to
    the cache in one transaction at the end; unreadable files are not (``db=None``: no cache).
    """
    hashed: list[tuple[str, str, bytes | None, str | None]] = []
    for p in paths:
        if progress:  # reading thousands of files takes a while too: say so from the first one
            progress(0, len(paths), f"reading {Path(p).name}")
        try:
            data = capture.read_bytes(p)
            hashed.append((str(p), capture.sha256(data), data, None))
        except WorkbenchError as err:
            hashed.append((str(p), "", None, f"unreadable: {getattr(err, 'reason', err)}"))
    known = db.cache_lookup(sorted({h for _, h, _, _ in hashed if h}), _key(settings)) if db is not None else {}
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
    db.cache_store([(e.sha256, None if e.vector is None else e.vector.astype(float).tolist(), e.faces, e.failure)
                    for e in items], _key(settings))
