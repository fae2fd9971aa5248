"""Vectors of many image files through the embedding cache, so that an evaluation re-run at
another threshold costs no model time (the table itself: :mod:`workbench.store.cache`).

The key is the image's sha256 (not its path), the model and the detector with its upsampling
and downscaling, since each of these changes the vector, and the face choice (``rule``,
``whole_image``). Images without a usable face are cached too (vector ``NULL`` and the
reason), so they are not re-analysed either. The table is created on first use.

Which face of a photo is compared is decided in one place, :func:`pick_face`: ``largest``
(what verify and search did until now) or ``central`` (the face nearest the centre, weighted by
its size: LFW's subject is the centred face, and a bystander at the edge is often larger).
With ``whole_image``, a photo in which the detector finds no face is embedded as if the whole
image were the face box (for data sets of pre-cropped faces, such as UTKFace's aligned chips);
such vectors are counted (``Embedded.whole_image``), never mixed in silently.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

import math

from workbench.errors import WorkbenchError
from workbench.pipeline import Settings, analyze, capture, embed
from workbench.pipeline.align import dlib5_in_box
from workbench.store import GalleryDB
from workbench.types import DLIB5, Box, Detection, Face

#: How an evaluation picks the face of a photo with several (see :func:`pick_face`).
FACE_RULES = ("largest", "central")
#: Rows written to the cache at a time: a long run that stops keeps what it computed.
STORE_EVERY = 250


@dataclass(frozen=True, eq=False)
class Embedded:
    """The largest face of one image file, or why there is none."""

    path: str
    sha256: str
    vector: np.ndarray | None
    faces: int = 0
    failure: str | None = None
    cached: bool = False

    @property
    def whole_image(self) -> bool:
        """Embedded with the whole image as the face box (the detector found none)."""
        return self.vector is not None and self.faces == 0


@dataclass(frozen=True)
class CacheStats:
    hits: int
    computed: int


def _key(settings: Settings, rule: str = "largest", whole_image: bool = False) -> tuple[str, str, int, int]:
    # the face choice rides on the detector name, so the cache table (and its rows from before
    # the choice existed: "largest", no fallback) stays as it is
    detector = settings.detector + (f"|{rule}" if rule != "largest" else "") + ("|whole-image" if whole_image else "")
    return settings.model, detector, int(settings.upsample), int(settings.max_side or 0)


def face_score(box: Box, width: int, height: int) -> float:
    """How strongly a face claims to be the photo's subject: ``sqrt(area) * max(0, 1 - d / R)``,
    ``d`` the distance from the box centre to the image centre, ``R`` half the diagonal."""
    radius = max(math.hypot(width / 2.0, height / 2.0), 1e-9)
    fx, fy = box.center
    return math.sqrt(box.area) * max(0.0, 1.0 - math.hypot(fx - width / 2.0, fy - height / 2.0) / radius)


def pick_face(faces: Sequence[Face], shape: tuple[int, ...], rule: str = "largest") -> Face | None:
    """The one call that decides which embedded face of a photo an evaluation compares: the
    largest (faces come largest first) or the most central one weighted by size (``central``;
    the same rule as issue 15's face choice for verify and Compare). ``None`` when no face."""
    embedded = [f for f in faces if f.embedding is not None]
    if not embedded:
        return None
    if rule == "largest":
        return embedded[0]
    if rule != "central":
        raise WorkbenchError(f"unknown face rule {rule!r}; choose one of: {', '.join(FACE_RULES)}")
    h, w = shape[:2]
    return max(embedded, key=lambda f: face_score(f.box, w, h))


def whole_image_vector(image: np.ndarray, settings: Settings) -> np.ndarray:
    """The vector of an image taken whole as the face (dlib's five points found inside it)."""
    h, w = image.shape[:2]
    box = Box(0, 0, w, h)
    det = Detection(box, dlib5_in_box(image, box), 0.0, f"{settings.detector} (whole image)", DLIB5)
    return embed.embed_faces(image, [det], settings.model)[0]


def size(db: GalleryDB) -> int:
    """Number of cached images (all models)."""
    return db.cache_size()


def clear(db: GalleryDB) -> int:
    """Forget every cached embedding; returns how many were removed."""
    return db.cache_clear()


#: Every face choice an analysis is cached under: one analysis serves them all (every face of a
#: photo is embedded anyway), so re-running with another ``rule`` or ``whole_image`` costs no model time.
VARIANTS = tuple((r, w) for r in FACE_RULES for w in (False, True))


def embed_files(paths: Sequence[str | os.PathLike], settings: Settings = Settings(), db: GalleryDB | None = None,
                progress: Callable[[int, int, str], None] | None = None, *, rule: str = "largest",
                whole_image: bool = False) -> tuple[list[Embedded], CacheStats]:
    """The vector of every file's face (the one :func:`pick_face` picks by ``rule``), from the
    cache when possible.

    Unreadable files and files without a face come back with ``vector=None`` and a
    ``failure`` reason instead of raising (with ``whole_image``, a file without a detected face
    is embedded whole instead: ``Embedded.whole_image``). New results (vectors, and "no face")
    are written to the cache every :data:`STORE_EVERY` images (for every face choice of
    :data:`VARIANTS` when a choice other than the largest face was asked); unreadable files are
    not (``db=None``: no cache).
    """
    if rule not in FACE_RULES:
        raise WorkbenchError(f"unknown face rule {rule!r}; choose one of: {', '.join(FACE_RULES)}")
    hashed: list[tuple[str, str, bytes | None, str | None]] = []
    for p in paths:
        try:
            data = capture.read_bytes(p)
            hashed.append((str(p), capture.sha256(data), data, None))
        except WorkbenchError as err:
            hashed.append((str(p), "", None, f"unreadable: {getattr(err, 'reason', err)}"))
    key = _key(settings, rule, whole_image)
    # the evaluations that choose faces (LFW, the audit) keep every choice; the others their own
    every = (rule, whole_image) != ("largest", False)
    known = db.cache_lookup(sorted({h for _, h, _, _ in hashed if h}), key) if db is not None else {}
    out: list[Embedded] = []
    new: dict[str, Embedded] = {}
    unsaved: list[dict[tuple[str, bool], Embedded]] = []
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
            variants = _analyse(path, sha, data, settings)
            new[sha] = variants[(rule, whole_image)]
            out.append(new[sha])
            # an unreadable file is not a result of the model; only real outcomes are kept
            if not (new[sha].failure or "").startswith("unreadable"):
                unsaved.append(variants)
        if db is not None and len(unsaved) >= STORE_EVERY:
            _store(db, unsaved, settings, every)
            unsaved = []
        if progress:
            progress(i, len(hashed), path)
    if db is not None and unsaved:
        _store(db, unsaved, settings, every)
    return out, CacheStats(hits, len(new))


def _analyse(path: str, sha: str, data: bytes, settings: Settings) -> dict[tuple[str, bool], Embedded]:
    """The photo's vector under every face choice of :data:`VARIANTS`, from one analysis."""
    try:
        image = capture.load_image(data, name=path)
    except WorkbenchError as err:
        bad = Embedded(path, sha, None, 0, f"unreadable: {getattr(err, 'reason', err)}")
        return {v: bad for v in VARIANTS}
    analysis = analyze(image, settings)
    out: dict[tuple[str, bool], Embedded] = {}
    whole: Embedded | None = None
    for rule, whole_image in VARIANTS:
        face = pick_face(analysis.faces, analysis.shape, rule)
        if face is not None:
            out[(rule, whole_image)] = Embedded(path, sha, face.embedding.vector, len(analysis.faces))
        elif whole_image:
            whole = whole or Embedded(path, sha, whole_image_vector(image, settings), 0)
            out[(rule, whole_image)] = whole
        else:
            out[(rule, whole_image)] = Embedded(path, sha, None, 0, "no_face")
    return out


def _store(db: GalleryDB, items: list[dict[tuple[str, bool], Embedded]], settings: Settings, every: bool) -> None:
    for variant in VARIANTS if every else (("largest", False),):
        db.cache_store([(e.sha256, None if e.vector is None else e.vector.astype(float).tolist(), e.faces, e.failure)
                        for e in (item[variant] for item in items)], _key(settings, *variant))
