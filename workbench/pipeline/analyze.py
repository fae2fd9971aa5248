"""The stages chained: image -> detections -> quality -> vectors, with per-stage timings.

:class:`Settings` is the one bundle of choices (detector, model, threshold ...) that the
CLI, the app and the notebooks pass around.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from workbench.errors import ModelError, NoFaceError
from workbench.pipeline import compare, detect, embed, quality
from workbench.pipeline.capture import ImageSource, load_image
from workbench.types import Face, Timings


@dataclass(frozen=True)
class Settings:
    """Every knob of the pipeline. ``metric``/``threshold`` default to the model's own."""

    detector: str = detect.DEFAULT_DETECTOR
    model: str = embed.DEFAULT_MODEL
    upsample: int = 1
    max_side: int | None = detect.DEFAULT_MAX_SIDE
    metric: str | None = None
    threshold: float | None = None
    gate: quality.QualityThresholds = field(default_factory=quality.QualityThresholds)

    def __post_init__(self) -> None:
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
    verdicts = [quality.assess(image, d, settings.gate) for d in dets]
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


def main_face(analysis: Analysis, name: str = "image") -> Face:
    """The largest embedded face of an analysis, or :class:`NoFaceError`."""
    embedded = analysis.embedded
    if not embedded:
        raise NoFaceError(f"{name}: no face found")
    return embedded[0]


def verify(source_a: ImageSource, source_b: ImageSource, settings: Settings = Settings()) -> compare.Verdict:
    """Same person? Compares the largest face of each image (like Rekognition CompareFaces)."""
    fa = main_face(analyze_source(source_a, settings), _name(source_a))
    fb = main_face(analyze_source(source_b, settings), _name(source_b))
    return compare.verify_embeddings(fa.embedding, fb.embedding, settings.metric_, settings.threshold_)


def _name(source: ImageSource) -> str:
    return "image" if isinstance(source, (bytes, bytearray, np.ndarray)) else str(source)
