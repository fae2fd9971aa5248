"""Stage 3: the quality gate, like Rekognition's UnindexedFaces.

Each face is measured (size, sharpness, brightness, yaw) and either accepted or rejected
with one reason from :data:`REASONS`. Reasons are data: the CLI prints them, the app shows
them next to the thumbnail, enrolment counts them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.types import Detection, Quality

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

    #: 36, not 40: dlib's HOG detector (upsampling once) finds faces down to a 37-px box, and the
    #: embedding holds up to there. Measured on LFW fold 1 (592 pairs, each face shrunk to S px,
    #: `workbench bench face-size`): accuracy 98.3 % at 36 px, 98.5 % at 40, 98.65 % as photographed,
    #: but 97.3 % at 32 px (twice the missed pairs) and 95.1 % at 24. A 40-px rule rejected 22 of
    #: the 23 faces of a crowd photo that the detector had found.
    min_size: int = 36
    min_sharpness: float = 25.0
    min_brightness: float = 40.0
    max_yaw: float = 0.7


DEFAULT_THRESHOLDS = QualityThresholds()


def yaw_from_landmarks(landmarks: np.ndarray) -> float:
    """Signed yaw proxy from dlib's 5 points ``(5, 2)``: 0 frontal, about +-1 in profile."""
    eye_a = landmarks[0:2].mean(axis=0)
    eye_b = landmarks[2:4].mean(axis=0)
    nose = landmarks[4]
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
    yaw = yaw_from_landmarks(detection.landmarks_array())
    return sharpness, brightness, yaw


def assess(
    image: np.ndarray, detection: Detection, thresholds: QualityThresholds = DEFAULT_THRESHOLDS
) -> Quality:
    """Measure one face of an RGB image and decide: accepted, or rejected with a reason."""
    size = int(min(detection.box.width, detection.box.height))
    sharpness, brightness, yaw = measure(image, detection)
    reason, rule = None, ""
    t = thresholds
    if size < t.min_size:
        reason, rule = TOO_SMALL, f"the face is {size} px, the gate needs at least {t.min_size} px"
    elif brightness < t.min_brightness:
        reason, rule = TOO_DARK, (f"mean grey level {brightness:.0f} of 255, the gate needs at least "
                                  f"{t.min_brightness:.0f}")
    elif sharpness < t.min_sharpness:
        reason, rule = BLURRED, f"sharpness {sharpness:.0f}, the gate needs at least {t.min_sharpness:.0f}"
    elif abs(yaw) > t.max_yaw:
        reason, rule = EXTREME_POSE, (f"head turned {abs(yaw):.2f} of the way to profile, the gate allows "
                                      f"up to {t.max_yaw:.2f}")
    return Quality(size=size, sharpness=round(sharpness, 2), brightness=round(brightness, 2),
                   yaw=round(yaw, 3), reason=reason, rule=rule)


#: Each rejection reason in plain words.
WORDS = {TOO_SMALL: "too small", TOO_DARK: "too dark", BLURRED: "blurred", EXTREME_POSE: "turned too far away"}


def describe(q: Quality) -> str:
    """A verdict in words with the rule that decided it: ``"accepted"`` or, for example,
    ``"too small: the face is 37 px, the gate needs at least 40 px"``."""
    if q.reason is None:
        return "accepted"
    words = WORDS.get(q.reason, q.reason.replace("_", " "))
    return f"{words}: {q.rule}" if q.rule else words
