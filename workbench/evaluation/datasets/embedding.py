"""Vectors of many image files through the embedding cache, so that an evaluation re-run at
another threshold costs no model time (the table itself: :mod:`workbench.store.cache`).

The key is the image's sha256 (not its path), the model and the detector with its upsampling
and downscaling, since each of these changes the vector, and the face choice. Images without a
usable face are cached too (vector ``NULL`` and the reason), so they are not re-analysed
either. The table is created on first use.

Which face of a photo is compared is decided in one place, :func:`pick_face`: ``central`` (the
project's rule, :func:`~workbench.pipeline.choose_face`: the face nearest the centre, weighted by
its size) or ``largest`` (the old rule, kept to measure
what the choice changes). With ``whole_image``, a photo in which the detector finds no face is
embedded as if the whole image were the face box (for data sets of pre-cropped faces, such as
UTKFace's aligned chips); such vectors are counted (``Embedded.whole_image``), never mixed in
silently.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from workbench.errors import WorkbenchError
from workbench.pipeline import Settings, analyze, capture, embed, workpool
from workbench.pipeline.align import dlib5_in_box
from workbench.pipeline.analyze import CHOICE_RULE_ID, central_face, face_score  # noqa: F401  (face_score: one rule)
from workbench.store import Store
from workbench.types import DLIB5, Box, Detection, Face

#: How an evaluation picks the face of a photo with several (see :func:`pick_face`).
FACE_RULES = ("central", "largest")
#: Rows written to the cache at a time: a long run that stops keeps what it computed.
STORE_EVERY = 250
#: Why a photo gave no vector: no face was found in it (a *failure to acquire*), or the
#: file could not be read as an image (``unreadable: ...``).
NO_FACE = "no_face"


@dataclass(frozen=True, eq=False)
class Embedded:
    """The face of one image file that an evaluation compares (the one :func:`pick_face`
    picks), or why there is none."""

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

    @property
    def whole_image(self) -> bool:
        """Embedded with the whole image as the face box (the detector found none)."""
        return self.vector is not None and self.faces == 0


@dataclass(frozen=True)
class CacheStats:
    hits: int
    computed: int


def _key(settings: Settings, rule: str = "central", whole_image: bool = False) -> tuple[str, str, int, int]:
    # a choice other than the project's rides on the detector name, so each has its own rows
    detector = settings.detector + ("|largest" if rule == "largest" else "") + ("|whole-image" if whole_image else "")
    return settings.model, detector, int(settings.upsample), int(settings.max_side or 0)


def _rule(settings: Settings) -> str:
    """How the one face of a photo is chosen (its version: a cache row of another rule is not used)."""
    return CHOICE_RULE_ID


def pick_face(faces: Sequence[Face], shape: tuple[int, ...], rule: str = "central") -> Face | None:
    """The one call that decides which embedded face of a photo an evaluation compares: the
    project's rule (``central``, as :func:`~workbench.pipeline.choose_face`) or the largest
    (faces come largest first). ``None`` when no face was embedded."""
    if rule not in FACE_RULES:
        raise WorkbenchError(f"unknown face rule {rule!r}; choose one of: {', '.join(FACE_RULES)}")
    if rule == "largest":
        return next((f for f in faces if f.embedding is not None), None)
    i = central_face(faces, shape)
    return None if i is None else faces[i]


def whole_image_vector(image: np.ndarray, settings: Settings) -> np.ndarray:
    """The vector of an image taken whole as the face (dlib's five points found inside it)."""
    h, w = image.shape[:2]
    box = Box(0, 0, w, h)
    det = Detection(box, dlib5_in_box(image, box), 0.0, f"{settings.detector} (whole image)", DLIB5)
    return embed.embed_faces(image, [det], settings.model)[0]


def size(db: Store) -> int:
    """Number of cached images (all models)."""
    return db.cache.size()


def clear(db: Store) -> int:
    """Forget every cached embedding; returns how many were removed."""
    return db.cache.clear()


def embed_files(paths: Sequence[str | os.PathLike], settings: Settings = Settings(), db: Store | None = None,
                progress: Callable[[int, int, str], None] | None = None, *, rule: str = "central",
                whole_image: bool = False) -> tuple[list[Embedded], CacheStats]:
    """The vector of every file's face (the one :func:`pick_face` picks by ``rule``), from the
    cache when possible.

    Unreadable files and files without a face come back with ``vector=None`` and a
    ``failure`` reason instead of raising (with ``whole_image``, a file without a detected face
    is embedded whole instead: ``Embedded.whole_image``). New results (vectors, and "no face")
    are written to the cache every :data:`STORE_EVERY` images, so a long run that stops keeps
    what it computed; unreadable files are not (``db=None``: no cache).

    Raises:
        ModelError: a missing model or weights file (or an unknown model): it would fail every
            photo the same way, so it stops the run at the first photo.
        WorkbenchError: an unknown ``rule``.
    """
    if rule not in FACE_RULES:
        raise WorkbenchError(f"unknown face rule {rule!r}; choose one of: {', '.join(FACE_RULES)}")
    hashed: list[tuple[str, str, bytes | None, str | None]] = []
    for p in paths:
        if progress:  # reading thousands of files takes a while too: say so from the first one
            progress(0, len(paths), f"reading {Path(p).name}")
        try:
            data = capture.read_bytes(p)
            hashed.append((str(p), capture.sha256(data), data, None))
        except WorkbenchError as err:
            hashed.append((str(p), "", None, f"unreadable: {getattr(err, 'reason', err)}"))
    key, face_rule = _key(settings, rule, whole_image), _rule(settings)
    known = (db.cache.lookup(sorted({h for _, h, _, _ in hashed if h}), key, face_rule)
             if db is not None else {})
    out: list[Embedded] = []
    new: dict[str, Embedded] = {}
    unsaved: list[Embedded] = []
    hits = 0
    todo: dict[str, tuple] = {}  # each new photo once, in order: analysed here, or in the app's batch lane
    for path, sha, data, failure in hashed:
        if failure is None and sha not in known and sha not in todo:
            todo[sha] = (path, sha, data, settings, rule, whole_image)
    analysed = workpool.map_batch(_analyse, list(todo.values()))
    try:
        for i, (path, sha, data, failure) in enumerate(hashed, 1):
            if failure is not None:
                out.append(Embedded(path, sha, None, 0, failure))
            elif sha in known:
                vec, n, why, box = known[sha]
                out.append(Embedded(path, sha, None if vec is None else np.asarray(vec, np.float32), n or 0, why,
                                    True, tuple(box) if box is not None else None))
                hits += 1
            elif sha in new:
                out.append(replace(new[sha], path=path))
            else:
                new[sha] = next(analysed)
                out.append(new[sha])
                # an unreadable file is not a result of the model; only real outcomes are kept
                if not (new[sha].failure or "").startswith("unreadable"):
                    unsaved.append(new[sha])
            if db is not None and len(unsaved) >= STORE_EVERY:
                _store(db, unsaved, key, face_rule)
                unsaved = []
            if progress:
                progress(i, len(hashed), path)
    finally:
        analysed.close()  # a run stopped half-way drops the photos still queued
    if db is not None and unsaved:
        _store(db, unsaved, key, face_rule)
    return out, CacheStats(hits, len(new))


def _analyse(path: str, sha: str, data: bytes, settings: Settings, rule: str, whole_image: bool) -> Embedded:
    try:
        image = capture.load_image(data, name=path)
    except WorkbenchError as err:
        return Embedded(path, sha, None, 0, f"unreadable: {getattr(err, 'reason', err)}")
    analysis = analyze(image, settings)  # a ModelError (weights, model) is the setup's, not the photo's
    face = pick_face(analysis.faces, analysis.shape, rule)
    if face is not None:
        return Embedded(path, sha, face.embedding.vector, len(analysis.faces), box=tuple(face.box.as_list()))
    if whole_image:
        h, w = image.shape[:2]
        return Embedded(path, sha, whole_image_vector(image, settings), 0, box=(0, 0, w, h))
    return Embedded(path, sha, None, len(analysis.faces), NO_FACE)


def _store(db: Store, items: list[Embedded], key: tuple, face_rule: str) -> None:
    db.cache.store([(e.sha256, None if e.vector is None else e.vector.astype(float).tolist(), e.faces, e.failure,
                     e.box) for e in items], key, face_rule)
