"""The registry's two kinds of entry, :class:`Embedder` and :class:`Detector`, and its tables.

An entry says what a model is (name, vector size, metric, thresholds, chip, landmark scheme,
quality-gate limits, the weights it loads) and does what it does (load, warm up, detect, or align
and embed). Entries are frozen dataclasses; a family of models is a subclass whose verbs call its
library. Nothing is loaded when an entry is made or registered: the verbs load through
:mod:`workbench.pipeline.models` (lazily, once per process).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Sequence, TypeVar

import numpy as np

from workbench.errors import ModelError
from workbench.pipeline import models
from workbench.pipeline.quality import QualityThresholds
from workbench.types import DLIB5, Box, Detection, Point

#: The defaults for a new gallery, declared here and nowhere else: the CLI, the app, the notebooks and
#: :class:`Settings` read them. yunet + SFace (2021-23) beats hog + Dlib on every axis the workbench
#: measures (README, "Two algorithms"); an existing gallery keeps the model it was made for.
DEFAULT_MODEL = "SFace"
DEFAULT_DETECTOR = "yunet"
#: The 2017 pair the audit, the robustness curves and the Story set beside the default.
COMPARISON_MODEL = "Dlib"
COMPARISON_DETECTOR = "hog"

METRICS = ("cosine", "euclidean")

#: What a detector returns for each face, at the size of the image it was given: the box, its
#: score and the detector's own five points (``None``: dlib's predictor places them in the box).
Found = tuple[Box, float, "tuple[Point, ...] | None"]


@dataclass(frozen=True)
class Thresholds:
    """A model's default match distance under each metric (its own metric's is the 80 % anchor)."""

    cosine: float
    euclidean: float

    def of(self, metric: str) -> float:
        if metric not in METRICS:
            raise ModelError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
        return float(getattr(self, metric))


@dataclass(frozen=True)
class Embedder:
    """An embedding model: faces of an RGB image in, one ``float32 (dim,)`` vector per face out.

    Data: ``metric`` is the one its threshold is quoted in; ``scheme`` the five points it aligns on
    (:mod:`workbench.types`); ``chip_side`` the side of its aligned chip when :meth:`embed_chips`
    is offered (the live pipeline's worker path), else ``None``; ``norm`` the range of vector
    lengths it really produces, where measured; ``gate`` the quality gate's limits for faces this
    model embeds; ``shipped`` whether its weights ship with the package; ``detector`` the detector it
    ships with (the audit's combinations); ``published`` its published LFW accuracy, in words;
    ``loads`` the names in :mod:`workbench.pipeline.models` it needs.
    """

    name: str
    dim: int
    metric: str
    thresholds: Thresholds
    scheme: str = DLIB5
    chip_side: int | None = None
    unit_length: bool = False
    norm: tuple[float, float] | None = None
    gate: QualityThresholds = field(default_factory=QualityThresholds)
    shipped: bool = False
    detector: str | None = None
    published: str = ""
    loads: tuple[str, ...] = ()

    def load(self) -> None:
        """Load the weights into this process (once; later calls cost nothing)."""
        for name in self.loads:
            models.get(name)

    def warm_up(self) -> None:
        """Load, then embed one blank chip, so the first real face pays for neither."""
        self.load()
        if self.chip_side:
            self.embed_chips([np.zeros((self.chip_side, self.chip_side, 3), np.uint8)])

    def aligned_chips(self, image: np.ndarray, detections: Sequence[Detection]) -> list[np.ndarray]:
        """The faces aligned as this model wants them: RGB ``uint8`` chips."""
        raise NotImplementedError

    def embed_chips(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """Vectors ``float32 (len(chips), dim)`` of chips made by :meth:`aligned_chips`."""
        raise ModelError(f"embedding pre-aligned chips is not offered for {self.name!r}")

    def embed(self, image: np.ndarray, detections: Sequence[Detection]) -> np.ndarray:
        """Vectors ``float32 (len(detections), dim)`` of the detected faces of one RGB image."""
        return self.embed_chips(self.aligned_chips(image, detections))

    def implausible(self, vectors: np.ndarray) -> tuple[np.ndarray, str]:
        """Which rows of ``vectors`` ``(N, dim)`` this model cannot have made, and the rule in words.

        A vector must be finite, and its length (L2 norm) inside :attr:`norm`, or above zero where
        that range was not measured. Returns a boolean mask ``(N,)`` (True = refused) and the rule.
        """
        v = np.asarray(vectors, np.float64).reshape(len(vectors), -1)
        finite = np.isfinite(v).all(axis=1)
        norms = np.where(finite, np.linalg.norm(np.where(np.isfinite(v), v, 0.0), axis=1), np.nan)
        lo, hi = self.norm or (0.0, np.inf)
        with np.errstate(invalid="ignore"):
            bad = ~finite | (norms <= 0) | (norms < lo) | (norms > hi)
        rule = (f"finite values, of length {lo:g} to {hi:g} (the range of real {self.name} vectors)" if self.norm
                else "finite values, not all zero")
        return bad, rule


@dataclass(frozen=True)
class Detector:
    """A face detector: boxes, scores and (for some) five points of every face in an RGB image.

    ``scheme`` is the landmark scheme of its detections (``dlib5``: dlib's predictor is run in its
    boxes); ``upsample`` whether the ``upsample`` knob applies to it; ``loads`` as for
    :class:`Embedder`.
    """

    name: str
    scheme: str = DLIB5
    upsample: bool = False
    shipped: bool = False
    loads: tuple[str, ...] = ()

    def load(self) -> None:
        for name in self.loads:
            models.get(name)

    def warm_up(self) -> None:
        """Load, then search one blank image."""
        self.load()
        self.detect(np.zeros((64, 64, 3), np.uint8), 0)

    def detect(self, image: np.ndarray, upsample: int) -> list[Found]:
        """Every face of an RGB image, in its pixels (see :data:`Found`)."""
        raise NotImplementedError


E = TypeVar("E", Embedder, Detector)
_embedders: dict[str, Embedder] = {}
_detectors: dict[str, Detector] = {}


def _table(entry: Embedder | Detector) -> dict:
    return _embedders if isinstance(entry, Embedder) else _detectors


def register(entry: E) -> E:
    """Add an entry (an :class:`Embedder` or a :class:`Detector`); a name is registered once."""
    table = _table(entry)
    if entry.name in table:
        raise ModelError(f"{entry.name!r} is already registered")
    table[entry.name] = entry
    return entry


def unregister(entry: Embedder | Detector) -> None:
    _table(entry).pop(entry.name, None)


@contextmanager
def registered(*entries: Embedder | Detector) -> Iterator[None]:
    """The entries registered while the block runs (tests, notebooks)."""
    for e in entries:
        register(e)
    try:
        yield
    finally:
        for e in entries:
            unregister(e)


def embedder(name: str) -> Embedder:
    try:
        return _embedders[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; choose one of: {', '.join(embedder_names())}") from None


def detector(name: str) -> Detector:
    try:
        return _detectors[name]
    except KeyError:
        raise ModelError(f"unknown detector {name!r}; choose one of: {', '.join(detector_names())}") from None


def has_embedder(name: str) -> bool:
    return name in _embedders


def own_detector(model: str) -> str:
    """The detector ``model`` ships with (hog for Dlib, yunet for SFace), else :data:`DEFAULT_DETECTOR`
    (a model without one of its own, or an unknown name: its own error comes where it is used)."""
    entry = _embedders.get(model)
    return (entry.detector if entry is not None and entry.detector else None) or DEFAULT_DETECTOR


def _ordered(table: dict, default: str) -> list[str]:
    """The default first, then the shipped entries, then the rest (each in registration order)."""
    return sorted(table, key=lambda n: (n != default, not table[n].shipped))


def embedder_names() -> list[str]:
    return _ordered(_embedders, DEFAULT_MODEL)


def detector_names() -> list[str]:
    return _ordered(_detectors, DEFAULT_DETECTOR)


def combos() -> dict[str, tuple[str, str]]:
    """``"detector + model"`` -> ``(detector, model)``: each shipped model with the detector it ships
    with, then each of those detectors with the other shipped models."""
    shipped = [embedder(n) for n in embedder_names() if embedder(n).shipped and embedder(n).detector]
    pairs = [(m.detector, m.name) for m in shipped]
    pairs += [(d, m.name) for d, _ in list(pairs) for m in shipped if m.detector != d]
    return {f"{d} + {m}": (d, m) for d, m in pairs}
