"""Stage 3: the quality gate, like Rekognition's UnindexedFaces.

Each face is measured (size, sharpness, brightness, yaw) and either accepted or rejected
with one reason from :data:`REASONS`. Reasons are data: the CLI prints them, the app shows
them next to the thumbnail, enrolment counts them.
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


@dataclass(frozen=True)
class QualityThresholds:
    """Limits of the gate. ``min_size`` is the short side of the box in pixels;
    ``min_sharpness`` the variance of the Laplacian of the normalised grey crop;
    ``min_brightness`` the mean grey level (0-255); ``max_yaw`` the nose's offset from the
    midpoint of the eyes, as a fraction of half the eye distance (0 frontal, 1 profile)."""

    min_size: int = 40
    min_sharpness: float = 25.0
    min_brightness: float = 40.0
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


def measure(image: np.ndarray, detection: Detection) -> tuple[float, float, float]:
    """``(sharpness, brightness, yaw)`` of one face; see :class:`QualityThresholds`."""
    import cv2

    crop = face_crop(image, detection)
    if crop.size == 0:
        return 0.0, 0.0, 1.0
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    brightness = float(gray.mean())
    norm = cv2.resize(gray, (_NORM_SIDE, _NORM_SIDE), interpolation=cv2.INTER_AREA)
    sharpness = float(cv2.Laplacian(norm, cv2.CV_64F).var())
    yaw = yaw_from_landmarks(detection.landmarks_array(), detection.scheme)
    return sharpness, brightness, yaw


def assess(
    image: np.ndarray, detection: Detection, thresholds: QualityThresholds = DEFAULT_THRESHOLDS
) -> Quality:
    """Measure one face of an RGB image and decide: accepted, or rejected with a reason."""
    size = int(min(detection.box.width, detection.box.height))
    sharpness, brightness, yaw = measure(image, detection)
    reason = None
    if size < thresholds.min_size:
        reason = TOO_SMALL
    elif brightness < thresholds.min_brightness:
        reason = TOO_DARK
    elif sharpness < thresholds.min_sharpness:
        reason = BLURRED
    elif abs(yaw) > thresholds.max_yaw:
        reason = EXTREME_POSE
    return Quality(size=size, sharpness=round(sharpness, 2), brightness=round(brightness, 2),
                   yaw=round(yaw, 3), reason=reason)
