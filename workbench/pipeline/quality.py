"""Stage 3: the quality gate, like Rekognition's UnindexedFaces.

Each face is measured (size, sharpness, exposure, yaw) and either accepted or rejected
with one reason from :data:`REASONS` and the rule that decided, in words (:func:`describe`).
Reasons are data: the CLI prints them, the app shows them next to the thumbnail, enrolment and
the demographic audit count them.

**Too dark measures the light, not the skin.** The gate used to reject a face whose mean grey
level was under 40: a number that measures skin tone as much as exposure. With every UTKFace
photo dimmed to 40 % of its brightness it rejected 37.1 % of Black faces against 4.4 % of White
ones. The exposure measure now is the level the brightest 1 % of the pixels on and around the
face reach (the 99th percentile of the brightest channel, in the face box grown by a quarter on
each side): a well-lit face has highlights near the top of the range whatever its skin
(specular light on forehead and nose, the whites of the eyes, hair, collar, background), and a
dim photo has none. The same dimming now rejects 1.9 % of Black faces against 0.5 % of White ones
(research12; the audit re-measures it per group: ``workbench eval audit --exposures``).

**Blurred measures blur, not light, either.** The variance of the Laplacian scales with the
square of the face's contrast, so a dimmed (or low-contrast) face looked "blurred": at 40 % of
its light, 55-82 % of UTKFace's faces were rejected as blurred. Sharpness is now the Laplacian's
variance relative to the grey level variance of the same normalised crop (fine detail per unit
of contrast), which a change of exposure leaves alone; 0.010 rejects a face blurred like a
Gaussian of 1.5 px on a 112 px face, as 25 did on the old scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.pipeline.align import eyes_and_nose
from workbench.types import DLIB5, Detection, Quality

TOO_SMALL = "too_small"
TOO_DARK = "too_dark"
BLURRED = "blurred"
EXTREME_POSE = "extreme_pose"
#: Rejection reasons, in the order they are checked.
REASONS = (TOO_SMALL, TOO_DARK, BLURRED, EXTREME_POSE)

#: The face crop is resized to this side before sharpness is measured, so the number
#: does not depend on the photo's resolution.
_NORM_SIDE = 112


#: The face box is grown by this fraction of its size on each side to measure exposure.
EXPOSURE_MARGIN = 0.25


@dataclass(frozen=True)
class QualityThresholds:
    """Limits of the gate. ``min_size`` is the short side of the box in pixels;
    ``min_sharpness`` the variance of the Laplacian of the normalised grey crop relative to the
    crop's own grey variance;
    ``min_exposure`` the level (0-255) the brightest 1 % of the pixels on and around the face
    must reach (see the module docstring); ``max_yaw`` the nose's offset from the midpoint of
    the eyes, as a fraction of half the eye distance (0 frontal, 1 profile). The face's mean
    grey level is still measured (``Quality.brightness``) but decides nothing."""

    min_size: int = 40
    min_sharpness: float = 0.010
    min_exposure: float = 64.0
    max_yaw: float = 0.7


DEFAULT_THRESHOLDS = QualityThresholds()


def yaw_from_landmarks(landmarks: np.ndarray, scheme: str = DLIB5) -> float:
    """Signed yaw proxy from five points ``(5, 2)`` in ``scheme``: 0 frontal, about +-1 in profile."""
    eye_a, eye_b, nose = eyes_and_nose(landmarks, scheme)
    axis = eye_a - eye_b
    norm2 = float(axis @ axis)
    if norm2 < 1e-6:
        return 1.0
    t = float((nose - eye_b) @ axis) / norm2  # 0.5 when the nose sits between the eyes
    return (t - 0.5) * 2.0


def face_crop(image: np.ndarray, detection: Detection) -> np.ndarray:
    """The RGB pixels inside the detection box (a view, not a copy)."""
    b = detection.box
    return image[b.top : b.bottom, b.left : b.right]


def exposure(image: np.ndarray, detection: Detection, margin: float = EXPOSURE_MARGIN) -> float:
    """The level (0-255) the brightest 1 % of the pixels on and around a face reach: the 99th
    percentile of ``max(R, G, B)`` in the box grown by ``margin`` of its size on each side."""
    b = detection.box
    h, w = image.shape[:2]
    dx, dy = int(margin * b.width), int(margin * b.height)
    region = image[max(b.top - dy, 0):min(b.bottom + dy, h), max(b.left - dx, 0):min(b.right + dx, w)]
    return float(np.percentile(region.max(axis=2), 99)) if region.size else 0.0


def measure(image: np.ndarray, detection: Detection) -> tuple[float, float, float]:
    """``(sharpness, brightness, yaw)`` of one face; see :class:`QualityThresholds`."""
    import cv2

    crop = face_crop(image, detection)
    if crop.size == 0:
        return 0.0, 0.0, 1.0
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    brightness = float(gray.mean())
    norm = cv2.resize(gray, (_NORM_SIDE, _NORM_SIDE), interpolation=cv2.INTER_AREA)
    sharpness = float(cv2.Laplacian(norm, cv2.CV_64F).var()) / max(float(norm.var()), 1e-6)
    yaw = yaw_from_landmarks(detection.landmarks_array(), detection.scheme)
    return sharpness, brightness, yaw


def assess(
    image: np.ndarray, detection: Detection, thresholds: QualityThresholds = DEFAULT_THRESHOLDS
) -> Quality:
    """Measure one face of an RGB image and decide: accepted, or rejected with a reason."""
    size = int(min(detection.box.width, detection.box.height))
    sharpness, brightness, yaw = measure(image, detection)
    light = exposure(image, detection)
    reason, rule = None, ""
    t = thresholds
    if size < t.min_size:
        reason, rule = TOO_SMALL, f"the face is {size} px, the gate needs at least {t.min_size} px"
    elif light < t.min_exposure:
        reason, rule = TOO_DARK, (f"the brightest 1 % of the pixels on and around the face reach {light:.0f} of "
                                  f"255, the gate needs {t.min_exposure:.0f}: the photo is under-exposed "
                                  "(measured on the highlights, not on the skin)")
    elif sharpness < t.min_sharpness:
        reason, rule = BLURRED, (f"sharpness {sharpness:.4f} (fine detail per unit of the face's contrast), the gate "
                                 f"needs at least {t.min_sharpness:.3f}")
    elif abs(yaw) > t.max_yaw:
        reason, rule = EXTREME_POSE, (f"head turned {abs(yaw):.2f} of the way to profile, the gate allows "
                                      f"up to {t.max_yaw:.2f}")
    return Quality(size=size, sharpness=round(sharpness, 5), brightness=round(brightness, 2),
                   yaw=round(yaw, 3), reason=reason, exposure=round(light, 1), rule=rule)


#: Each rejection reason in plain words.
WORDS = {TOO_SMALL: "too small", TOO_DARK: "too dark", BLURRED: "blurred", EXTREME_POSE: "turned too far away"}


def describe(q: Quality) -> str:
    """A verdict in words with the rule that decided it: ``"accepted"`` or, for example,
    ``"too dark: the brightest 1 % of the pixels ... reach 41 of 255, the gate needs 64 ..."``."""
    if q.reason is None:
        return "accepted"
    words = WORDS.get(q.reason, q.reason.replace("_", " "))
    return f"{words}: {q.rule}" if q.rule else words
