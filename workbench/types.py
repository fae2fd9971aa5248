"""Typed, frozen records that travel between pipeline stages.

Conventions, fixed here once for the whole package:

* images are RGB ``uint8`` arrays of shape ``(H, W, 3)``;
* a :class:`Box` is ``(left, top, right, bottom)`` in pixels, right/bottom exclusive;
* landmarks are five ``(x, y)`` points in image pixels; which five is the detection's
  ``scheme``:

  - :data:`DLIB5` (dlib's 5-point shape predictor, every detector but YuNet): the two
    corners (outer, inner) of the subject's left eye (image right), the two corners (outer,
    inner) of the subject's right eye (image left), then the base of the nose;
  - :data:`YUNET5` (OpenCV's YuNet, the points SFace aligns on): the centre of the
    subject's right eye (image left), the centre of the left eye (image right), the tip of
    the nose, the right mouth corner (image left), the left mouth corner (image right).

  :mod:`workbench.pipeline.align` converts between the two when a model needs the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Point = tuple[float, float]

#: Landmark schemes (see the module docstring).
DLIB5 = "dlib5"
YUNET5 = "yunet5"


@dataclass(frozen=True)
class Box:
    """An axis-aligned face box in pixels: ``left <= x < right``, ``top <= y < bottom``."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        return max(self.width, 0) * max(self.height, 0)

    @property
    def center(self) -> Point:
        return ((self.left + self.right) / 2.0, (self.top + self.bottom) / 2.0)

    def as_list(self) -> list[int]:
        return [self.left, self.top, self.right, self.bottom]

    def scaled(self, factor: float) -> Box:
        """This box with every coordinate multiplied by ``factor`` (rounded)."""
        return Box(*(int(round(v * factor)) for v in self.as_list()))

    def clipped(self, width: int, height: int) -> Box:
        """This box clipped to an image of ``width`` x ``height`` pixels."""
        return Box(
            min(max(self.left, 0), width),
            min(max(self.top, 0), height),
            min(max(self.right, 0), width),
            min(max(self.bottom, 0), height),
        )

    def iou(self, other: Box) -> float:
        """Intersection over union with ``other``, in ``[0, 1]``."""
        inter = Box(
            max(self.left, other.left),
            max(self.top, other.top),
            min(self.right, other.right),
            min(self.bottom, other.bottom),
        )
        if inter.width <= 0 or inter.height <= 0:
            return 0.0
        union = self.area + other.area - inter.area
        return inter.area / union if union else 0.0


@dataclass(frozen=True)
class Detection:
    """One detected face: where it is, its five landmarks (in ``scheme``), and the detector's score."""

    box: Box
    landmarks: tuple[Point, ...]
    score: float
    detector: str
    scheme: str = DLIB5

    def landmarks_array(self) -> np.ndarray:
        """Landmarks as a ``(5, 2)`` float32 array of ``(x, y)``."""
        return np.asarray(self.landmarks, dtype=np.float32).reshape(-1, 2)


@dataclass(frozen=True)
class Quality:
    """Measurements of one face crop and the gate's verdict.

    ``reason`` is ``None`` for an accepted face, else one of
    :data:`workbench.pipeline.quality.REASONS` (like Rekognition's UnindexedFaces reasons); ``rule``
    then states the measurement against the limit that failed, in words ("the face is 30 px, the
    gate needs at least 36 px"), so no rejection is shown without its rule. ``exposure`` is the
    level the face's highlights reach (what the too-dark rule decides on); ``brightness`` the
    face's mean grey level, shown but not used (it measures skin tone as much as light).
    """

    size: int
    sharpness: float
    brightness: float
    yaw: float
    reason: str | None = None
    exposure: float = 255.0
    rule: str = ""

    @property
    def accepted(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class Consent:
    """Why a person may be in a gallery: they consented (``given``), or they did not and the
    enroller states an exception in ``reason`` (a public figure, a research exception ...).

    Enrolment without either is refused by the CLI and the app; a person enrolled by older
    versions or by library code that passed nothing shows as "not recorded".
    """

    given: bool
    reason: str = ""

    @property
    def words(self) -> str:
        return "consent given" if self.given else f"no consent: {self.reason}"


@dataclass(frozen=True, eq=False)
class Embedding:
    """One face vector and the model that made it: vectors of different models never mix."""

    vector: np.ndarray
    model: str

    @property
    def dim(self) -> int:
        return int(self.vector.shape[-1])


@dataclass(frozen=True, eq=False)
class Face:
    """A detection with its quality verdict and, when accepted and embedded, its vector."""

    detection: Detection
    quality: Quality
    embedding: Embedding | None = None

    @property
    def box(self) -> Box:
        return self.detection.box


@dataclass(frozen=True)
class Match:
    """One gallery candidate for a probe face, best first by ``rank`` (1-based)."""

    face_id: int
    person_id: int
    person: str
    distance: float
    similarity: float
    rank: int
    match: bool
    source_path: str = ""


@dataclass(frozen=True)
class Timings:
    """Per-stage latency of one pipeline run, in milliseconds."""

    load_ms: float = 0.0
    detect_ms: float = 0.0
    embed_ms: float = 0.0
    search_ms: float = 0.0


@dataclass(frozen=True)
class FrameStats:
    """What one frame cost and found."""

    frame: int
    time_s: float
    detect_ms: float
    embed_ms: float
    search_ms: float
    total_ms: float
    faces: int
    embedded: int
    matches: tuple[tuple[str, float], ...] = ()
    detected: bool = True
