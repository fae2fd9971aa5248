"""Stage 3: the quality gate, like Rekognition's UnindexedFaces.

Each face is measured (size, sharpness, exposure, yaw) and either accepted or rejected
with one reason from :data:`REASONS` and the rule that decided, in words (:func:`describe`).
Reasons are data: the CLI prints them, the app shows them next to the thumbnail, enrolment and
the demographic audit count them.

**Too dark measures the light, not the skin.** The gate used to reject a face whose mean grey
level was under 40: a number that measures skin tone as much as exposure. With every UTKFace
photo dimmed to 40 % of its brightness it rejected 37.1 % of Black faces against 4.4 % of White
ones. The exposure measure now is the face's *highlight*: the brightest 5 x 5 patch (median
filtered, so one hot pixel does not count) of the brightest colour channel in the face box. A
well-lit face has a patch near the top of the range whatever its skin (specular light on
forehead, nose or cheek, the whites of the eyes, teeth), and an under-exposed photo has none:
its median on the undimmed UTKFace crops is 248-253 in every group. Under 64 (a quarter of full
scale, where SFace's misses on LFW start to climb: 2x at a fifth of the light, 5x at a tenth) the
face is too dark. The same dimming to 40 % now rejects 1.1 / 0 / 0.5 / 0 / 0.5 % of Black /
Indian / Others / Asian / White faces (research12, section 6; the audit re-measures it per group
and detector: ``workbench eval audit --exposures``).

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
from workbench.types import DLIB5, YUNET5, Detection, Quality

TOO_SMALL = "too_small"
TOO_DARK = "too_dark"
BLURRED = "blurred"
EXTREME_POSE = "extreme_pose"
#: Rejection reasons, in the order they are checked.
REASONS = (TOO_SMALL, TOO_DARK, BLURRED, EXTREME_POSE)

#: The face crop is resized to this side before sharpness is measured, so the number
#: does not depend on the photo's resolution.
_NORM_SIDE = 112


#: Side of the median filter that keeps a single hot pixel from passing for a highlight.
HIGHLIGHT_PATCH = 5
#: Yaw from YuNet's points (eye centres, nose tip) runs 1.145 x the yaw from dlib's points on the
#: same faces (LFW, r = 0.886; research12): divided by it, one ``max_yaw`` serves both schemes.
YUNET_YAW_SLOPE = 1.145


@dataclass(frozen=True)
class QualityThresholds:
    """Limits of the gate. Each model's zoo entry carries its own (``Embedder.gate``: the face
    size and sharpness a model needs are its own); these defaults are every shipped model's today.
    ``min_size`` is the short side of the box in pixels;
    ``min_sharpness`` the variance of the Laplacian of the normalised grey crop relative to the
    crop's own grey variance; ``min_exposure`` the level (0-255) the face's highlight must reach
    (see the module docstring); ``max_yaw`` the nose's offset from the midpoint of the eyes, as a
    fraction of half the eye distance (0 frontal, 1 profile). The face's mean grey level is
    still measured (``Quality.brightness``) but decides nothing."""

    #: 36, not 40: dlib's HOG detector (upsampling once) finds faces down to a 37-px box, and the
    #: embedding holds up to there. Measured on LFW fold 1 (592 pairs, each face shrunk to S px,
    #: `workbench bench face-size`): accuracy 98.3 % at 36 px, 98.5 % at 40, 98.65 % as photographed,
    #: but 97.3 % at 32 px (twice the missed pairs) and 95.1 % at 24. A 40-px rule rejected 22 of
    #: the 23 faces of a crowd photo that the detector had found.
    min_size: int = 36
    min_sharpness: float = 0.010
    min_exposure: float = 64.0
    max_yaw: float = 0.7
    #: Whose limits these are (a model's name), so a rejection says so: "SFace needs at least 20 px";
    #: empty for limits given by hand ("the gate needs ...").
    owner: str = ""

    @property
    def who(self) -> str:
        return f"{self.owner}'s gate" if self.owner else "the gate"


DEFAULT_THRESHOLDS = QualityThresholds()


def yaw_from_landmarks(landmarks: np.ndarray, scheme: str = DLIB5) -> float:
    """Signed yaw proxy from five points ``(5, 2)`` in ``scheme``: 0 frontal, about +-1 in profile
    (YuNet's points are put on dlib's scale: :data:`YUNET_YAW_SLOPE`)."""
    eye_a, eye_b, nose = eyes_and_nose(landmarks, scheme)
    axis = eye_a - eye_b
    norm2 = float(axis @ axis)
    if norm2 < 1e-6:
        return 1.0
    t = float((nose - eye_b) @ axis) / norm2  # 0.5 when the nose sits between the eyes
    return (t - 0.5) * 2.0 / (YUNET_YAW_SLOPE if scheme == YUNET5 else 1.0)


def face_crop(image: np.ndarray, detection: Detection) -> np.ndarray:
    """The RGB pixels inside the detection box (a view, not a copy)."""
    b = detection.box
    return image[b.top : b.bottom, b.left : b.right]


def exposure(image: np.ndarray, detection: Detection) -> float:
    """The face's highlight (0-255): the brightest :data:`HIGHLIGHT_PATCH`-pixel median patch of
    ``max(R, G, B)`` in the face box. It measures the light, not the skin (module docstring)."""
    import cv2

    crop = face_crop(image, detection)
    if crop.shape[0] < HIGHLIGHT_PATCH or crop.shape[1] < HIGHLIGHT_PATCH:
        return 0.0
    # max(R, G, B) as two element-wise maxima: the same values as crop.max(axis=2), whose reduction
    # over the 3-wide axis of a strided view took 10.5 ms for a 700-px face against 0.6 ms
    # (3/4 of an enrolment's gate on deepface-unit's photos)
    brightest = np.maximum(np.maximum(crop[:, :, 0], crop[:, :, 1]), crop[:, :, 2])
    return float(cv2.medianBlur(np.ascontiguousarray(brightest), HIGHLIGHT_PATCH).max())


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
    reason, rule = decide(size, light, sharpness, yaw, thresholds)
    return Quality(size=size, sharpness=round(sharpness, 5), brightness=round(brightness, 2),
                   yaw=round(yaw, 3), reason=reason, exposure=round(light, 1), rule=rule)


def decide(size: int, light: float, sharpness: float, yaw: float,
           thresholds: QualityThresholds = DEFAULT_THRESHOLDS) -> tuple[str | None, str]:
    """``(reason, rule in words)`` for a face's measurements (``(None, "")``: accepted), checked in
    the order of :data:`REASONS`. The robustness lab re-decides stored measurements with other
    limits through this one function."""
    t = thresholds
    if size < t.min_size:
        return TOO_SMALL, f"the face is {size} px, {t.who} needs at least {t.min_size} px"
    if light < t.min_exposure:
        return TOO_DARK, (f"the brightest patch of the face reaches {light:.0f} of 255, the gate needs "
                          f"{t.min_exposure:.0f}: the photo is under-exposed (measured on the face's "
                          "highlights, not on its skin tone)")
    if sharpness < t.min_sharpness:
        return BLURRED, (f"sharpness {sharpness:.4f} (fine detail per unit of the face's contrast), {t.who} "
                         f"needs at least {t.min_sharpness:.4f}")
    if abs(yaw) > t.max_yaw:
        return EXTREME_POSE, f"head turned {abs(yaw):.2f} of the way to profile, the gate allows up to {t.max_yaw:.2f}"
    return None, ""


#: Each rejection reason in plain words.
WORDS = {TOO_SMALL: "too small", TOO_DARK: "too dark", BLURRED: "blurred", EXTREME_POSE: "turned too far away"}


def large_enough(found: int, large: int, recogniser: str, min_size: int) -> str:
    """A crowd in words: ``"159 faces found, 2 large enough for yunet + SFace to recognise (at
    least 36 px)"`` (the face size a model needs is its own: its gate's ``min_size``)."""
    faces = f"{found} face{'s' if found != 1 else ''} found"
    return f"{faces}, {large} large enough for {recogniser} to recognise (at least {min_size} px)"


def describe(q: Quality) -> str:
    """A verdict in words with the rule that decided it: ``"accepted"`` or, for example,
    ``"too small: the face is 30 px, the gate needs at least 36 px"``."""
    if q.reason is None:
        return "accepted"
    words = WORDS.get(q.reason, q.reason.replace("_", " "))
    return f"{words}: {q.rule}" if q.rule else words
