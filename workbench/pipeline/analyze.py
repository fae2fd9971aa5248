"""The stages chained: image -> detections -> quality -> vectors, with per-stage timings.

:class:`Settings` is the one bundle of choices (detector, model, threshold ...) that the
CLI, the app and the notebooks pass around.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from workbench.errors import ModelError, NoFaceError, WorkbenchError
from workbench.pipeline import compare, detect, embed, quality, zoo
from workbench.pipeline.capture import ImageSource, load_image
from workbench.types import Box, Face, Timings


@dataclass(frozen=True)
class Settings:
    """Every knob of the pipeline. ``metric``, ``threshold`` and the quality ``gate`` default to the
    model's own (its zoo entry); ``model`` defaults to the zoo's (yunet + SFace for a new gallery), and
    ``detector`` to the one the model ships with (``Settings(model="Dlib")`` is hog + Dlib)."""

    detector: str = None  # type: ignore[assignment]  # set in __post_init__: the model's own
    model: str = zoo.DEFAULT_MODEL
    upsample: int = 1
    max_side: int | None = detect.DEFAULT_MAX_SIDE
    metric: str | None = None
    threshold: float | None = None
    gate: quality.QualityThresholds | None = None

    def __post_init__(self) -> None:
        if self.detector is None:
            object.__setattr__(self, "detector", zoo.own_detector(self.model))
        if self.metric is not None and self.metric not in compare.METRICS:
            raise ModelError(f"unknown metric {self.metric!r}; choose one of: {', '.join(compare.METRICS)}")
        if self.threshold is not None:  # every entry point (CLI, app, library) builds its choices here
            compare.check_threshold(self.threshold, self.model, self.metric_)

    @property
    def metric_(self) -> str:
        return self.metric or compare.default_metric(self.model)

    @property
    def threshold_(self) -> float:
        if self.threshold is not None:
            return float(self.threshold)
        return compare.default_threshold(self.model, self.metric_)

    @property
    def gate_(self) -> quality.QualityThresholds:
        """The quality gate's limits: the given ones, else the model's (a face can pass for one model
        and fail for another)."""
        return self.gate if self.gate is not None else zoo.embedder(self.model).gate

    @property
    def similarity_base(self) -> float:
        """The model's default threshold: the distance shown as 80 % similarity."""
        return compare.default_threshold(self.model, self.metric_)


@dataclass(frozen=True, eq=False)
class Analysis:
    """All faces of one image (largest first) and how long each stage took."""

    faces: tuple[Face, ...]
    timings: Timings
    shape: tuple[int, ...]

    @property
    def accepted(self) -> list[Face]:
        return [f for f in self.faces if f.quality.accepted]

    @property
    def embedded(self) -> list[Face]:
        return [f for f in self.faces if f.embedding is not None]

    def vectors(self) -> np.ndarray:
        """``(n_embedded, dim)`` float32 vectors of the embedded faces, in face order."""
        emb = [f.embedding.vector for f in self.embedded]
        return np.stack(emb).astype(np.float32) if emb else np.zeros((0, 0), np.float32)


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def analyze(image: np.ndarray, settings: Settings = Settings(), *, embed_faces: str = "all",
            load_ms: float = 0.0) -> Analysis:
    """Detect, gate and embed the faces of one RGB image.

    Args:
        image: RGB ``uint8`` ``(H, W, 3)``.
        settings: pipeline choices.
        embed_faces: ``"all"`` (search, verify), ``"accepted"`` (enrolment: only faces that
            pass the quality gate) or ``"none"`` (detection only).
    """
    t0 = time.perf_counter()
    dets = detect.detect_faces(image, settings.detector, upsample=settings.upsample,
                               max_side=settings.max_side)
    gate = settings.gate_
    verdicts = [quality.assess(image, d, gate) for d in dets]
    detect_ms = _ms(t0)
    t1 = time.perf_counter()
    chosen = [i for i, q in enumerate(verdicts)
              if embed_faces == "all" or (embed_faces == "accepted" and q.accepted)]
    vectors = embed.embed_faces(image, [dets[i] for i in chosen], settings.model) if chosen else None
    embed_ms = _ms(t1) if chosen else 0.0
    by_index = {i: embed.to_embeddings(vectors[k : k + 1], settings.model)[0] for k, i in enumerate(chosen)}
    faces = tuple(Face(d, q, by_index.get(i)) for i, (d, q) in enumerate(zip(dets, verdicts)))
    return Analysis(faces, Timings(load_ms=load_ms, detect_ms=detect_ms, embed_ms=embed_ms), image.shape)


def analyze_source(source: ImageSource, settings: Settings = Settings(), *, embed_faces: str = "all") -> Analysis:
    """:func:`analyze` on a path, bytes or array (loading is timed too)."""
    t0 = time.perf_counter()
    image = load_image(source)
    return analyze(image, settings, embed_faces=embed_faces, load_ms=_ms(t0))


def face_score(box: Box, width: int, height: int) -> float:
    """How strongly a face claims to be the photo's subject: its size, weighted by how near it
    is to the image centre.

    ``score = sqrt(area) * max(0, 1 - d / R)``, where ``area`` is the box's area in pixels,
    ``d`` the distance from the box centre to the image centre and ``R`` half the image
    diagonal (so the weight is 1 at the centre and 0 in a corner). A face at the edge must be
    ``1 / (1 - d / R)`` times as wide as a central one to win: an LFW-style bystander cut by the
    border (``d / R`` about 0.7) needs to be over three times wider than the centred subject.
    """
    cx, cy = width / 2.0, height / 2.0
    radius = max(math.hypot(cx, cy), 1e-9)
    fx, fy = box.center
    weight = max(0.0, 1.0 - math.hypot(fx - cx, fy - cy) / radius)
    return math.sqrt(box.area) * weight


#: The rule, in words, for messages and docs, and its version (caches key on it).
CHOICE_RULE = "the face nearest the image centre, weighted by its size"
CHOICE_RULE_ID = "centre-weighted-size/2"


@dataclass(frozen=True, eq=False)
class FaceChoice:
    """Which face of an analysed photo was used, and how it was chosen.

    ``index`` is 0-based into ``analysis.faces``; faces are shown and asked for 1-based
    (``number``), in the analysis order (largest first), as ``workbench detect`` lists them.
    """

    analysis: Analysis
    index: int
    by_user: bool
    name: str = "image"

    @property
    def face(self) -> Face:
        return self.analysis.faces[self.index]

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def found(self) -> int:
        return len(self.analysis.faces)

    def describe(self) -> str:
        """One line: how many faces were found and which one was used, in words."""
        if self.found == 1:
            text = "1 face found"
        else:
            how = "as asked" if self.by_user else f"by the rule: {CHOICE_RULE}"
            text = f"{self.found} faces found, compared face {self.number} (outlined; {how})"
        if not self.face.quality.accepted:
            text += f"; that face failed the quality gate ({quality.describe(self.face.quality)}): unreliable"
        return text


def choose_face(analysis: Analysis, face: int | None = None, name: str = "image") -> FaceChoice:
    """The face of a photo to compare: face number ``face`` (1-based) when given, else the one
    :func:`face_score` ranks first among the embedded faces (:func:`central_face`). When that face
    fails the quality gate, the choice says the comparison is unreliable.

    Raises:
        NoFaceError: no face was found (or none was embedded).
        WorkbenchError: ``face`` is not one of the faces found.
    """
    faces = analysis.faces
    if face is not None:
        if not 1 <= int(face) <= len(faces):
            found = f"{len(faces)} face{'s' if len(faces) != 1 else ''} found"
            raise WorkbenchError(f"{name}: there is no face {face}; {found} (numbered 1 to {len(faces)}, "
                                 "largest first, as `workbench detect` lists them)")
        if faces[int(face) - 1].embedding is None:
            raise NoFaceError(f"{name}: face {face} was not embedded")
        return FaceChoice(analysis, int(face) - 1, True, name)
    best = central_face(faces, analysis.shape)
    if best is None:
        raise NoFaceError(f"{name}: no face found")
    return FaceChoice(analysis, best, False, name)


def central_face(faces: Sequence[Face], shape: tuple[int, ...]) -> int | None:
    """The index of the face :func:`face_score` ranks first among the embedded faces; ``None``
    when none is embedded.

    The quality gate does not take part: preferring faces it accepts swapped a rejected subject
    for an accepted bystander. On LFW View 2 (6,000 pairs, 10 folds) that cost yunet + SFace
    99.38 -> 99.05 % and hog + Dlib 98.48 -> 98.35 %; a rejected subject is compared and the
    answer says it is unreliable (:meth:`FaceChoice.describe`)."""
    embedded = [i for i, f in enumerate(faces) if f.embedding is not None]
    if not embedded:
        return None
    h, w = shape[:2]
    return max(embedded, key=lambda i: (face_score(faces[i].box, w, h), -i))  # ties: the larger face


def main_face(analysis: Analysis, name: str = "image") -> Face:
    """The face :func:`choose_face` picks (nearest the centre, weighted by size), or
    :class:`NoFaceError`."""
    return choose_face(analysis, None, name).face


@dataclass(frozen=True, eq=False)
class Comparison:
    """A 1:1 comparison: the verdict and which face of each photo it compared."""

    verdict: compare.Verdict
    a: FaceChoice
    b: FaceChoice


def compare_photos(source_a: ImageSource, source_b: ImageSource, settings: Settings = Settings(), *,
                   face_a: int | None = None, face_b: int | None = None) -> Comparison:
    """Same person? Compares one face of each photo: ``face_a``/``face_b`` (1-based) when given,
    else the one :func:`choose_face` picks, and says which (see :meth:`FaceChoice.describe`)."""
    return compare_analyses(analyze_source(source_a, settings), analyze_source(source_b, settings), settings,
                            face_a=face_a, face_b=face_b, names=(_name(source_a), _name(source_b)))


def compare_analyses(a: Analysis, b: Analysis, settings: Settings = Settings(), *, face_a: int | None = None,
                     face_b: int | None = None, names: tuple[str, str] = ("image", "image")) -> Comparison:
    """:func:`compare_photos` on photos already analysed (choosing another face costs no model time)."""
    ca = choose_face(a, face_a, names[0])
    cb = choose_face(b, face_b, names[1])
    v = compare.verify_embeddings(ca.face.embedding, cb.face.embedding, settings.metric_, settings.threshold_)
    return Comparison(v, ca, cb)


def verify(source_a: ImageSource, source_b: ImageSource, settings: Settings = Settings(), *,
           face_a: int | None = None, face_b: int | None = None) -> compare.Verdict:
    """The verdict of :func:`compare_photos` alone."""
    return compare_photos(source_a, source_b, settings, face_a=face_a, face_b=face_b).verdict


def _name(source: ImageSource) -> str:
    return "image" if isinstance(source, (bytes, bytearray, np.ndarray)) else str(source)
