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
from workbench.pipeline import Settings, analyze, capture, choose_face
from workbench.pipeline.analyze import CHOICE_RULE_ID
from workbench.store import GalleryDB


#: Why a photo gave no vector: no face was found in it (a *failure to acquire*), or the
#: file could not be read as an image (``unreadable: ...``).
NO_FACE = "no_face"


@dataclass(frozen=True, eq=False)
class Embedded:
    """The face of one image file that an evaluation compares (the one
    :func:`~workbench.pipeline.choose_face` picks), or why there is none."""

    path: str
    sha256: str
    vector: np.ndarray | None
    faces: int = 0
    failure: str | None = None
    cached: bool = False
    box: tuple[int, ...] | None = None

    @property
    def no_face(self) -> bool:
        """A readable photo in which no face was found: a failure to acquire."""
        return self.failure == NO_FACE


@dataclass(frozen=True)
class CacheStats:
    hits: int
    computed: int


def _key(settings: Settings) -> tuple[str, str, int, int]:
    return settings.model, settings.detector, int(settings.upsample), int(settings.max_side or 0)


def _rule(settings: Settings) -> str:
    """How the one face of a photo is chosen: the rule, and the quality gate it prefers faces by."""
    return f"{CHOICE_RULE_ID};{settings.gate!r}"


def size(db: GalleryDB) -> int:
    """Number of cached images (all models)."""
    return db.cache_size()


def clear(db: GalleryDB) -> int:
    """Forget every cached embedding; returns how many were removed."""
    return db.cache_clear()


def embed_files(paths: Sequence[str | os.PathLike], settings: Settings = Settings(), db: GalleryDB | None = None,
                progress: Callable[[int, int, str], None] | None = None) -> tuple[list[Embedded], CacheStats]:
    """The vector of every file's face (chosen by :func:`~workbench.pipeline.choose_face`), from
    the cache when possible.

    Unreadable files and files without a face come back with ``vector=None`` and a
    ``failure`` reason instead of raising. New results (vectors, and "no face") are written to
    the cache in one transaction at the end; unreadable files are not (``db=None``: no cache).

    Raises:
        ModelError: a missing model or weights file (or an unknown model): it would fail every
            photo the same way, so it stops the run at the first photo.
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
    known = (db.cache_lookup(sorted({h for _, h, _, _ in hashed if h}), _key(settings), _rule(settings))
             if db is not None else {})
    out: list[Embedded] = []
    new: dict[str, Embedded] = {}
    hits = 0
    for i, (path, sha, data, failure) in enumerate(hashed, 1):
        if failure is not None:
            out.append(Embedded(path, sha, None, 0, failure))
        elif sha in known:
            vec, n, why, box = known[sha]
            out.append(Embedded(path, sha, None if vec is None else np.asarray(vec, np.float32), n or 0, why, True,
                                tuple(box) if box is not None else None))
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
        image = capture.load_image(data, name=path)
    except WorkbenchError as err:
        return Embedded(path, sha, None, 0, f"unreadable: {getattr(err, 'reason', err)}")
    analysis = analyze(image, settings)  # a ModelError (weights, model) is the setup's, not the photo's
    if not analysis.embedded:
        return Embedded(path, sha, None, len(analysis.faces), NO_FACE)
    chosen = choose_face(analysis, None, path)
    return Embedded(path, sha, chosen.face.embedding.vector, len(analysis.faces),
                    box=tuple(chosen.face.box.as_list()))


def _store(db: GalleryDB, items: list[Embedded], settings: Settings) -> None:
    db.cache_store([(e.sha256, None if e.vector is None else e.vector.astype(float).tolist(), e.faces, e.failure,
                     e.box) for e in items], _key(settings), _rule(settings))
