"""What a real camera does to a face, as pure functions: RGB ``uint8`` ``(H, W, 3)`` in, a new
array of the same kind out (the input is never changed). The robustness lab
(:mod:`workbench.evaluation.runners.robustness`) degrades one photo of each pair with these and
measures what each model still recognises.

Every operation is OpenCV's own (albumentations and its kind pull in a second OpenCV package,
which breaks the contrib build), and every random draw is seeded by the image itself, so the same
photo always degrades to the same pixels:

* **width** (distance from the camera): the whole photo shrunk with area interpolation so the face
  is ``value`` pixels wide; never enlarged (a level wider than the face leaves it as it is);
* **gaussian** (out of focus): a Gaussian blur of standard deviation ``value`` pixels *on a face
  100 px wide* (scaled with the face, so the level means the same blur of the face in any photo);
* **motion** (a person walking, a slow shutter): a horizontal line kernel ``value`` px long on a
  face 100 px wide;
* **jpeg** (a camera's or a messenger's compression): encoded and decoded at quality ``value``;
* **night** (low light, amplified): the light cut to ``value`` of the photo's, photon (shot) noise
  for a sensor that collects :data:`FULL_WELL` electrons at white in good light plus
  :data:`READ_NOISE` electrons of read noise, then amplified back to the photo's brightness as a
  camera's automatic gain does;
* **occlusion**: a surgical mask over nose and mouth, sunglasses, or the shadow of a cap's peak
  over forehead and eyes, drawn from the face's box and five points.

The face's box and five points (YuNet's scheme: eye centres, nose tip, mouth corners) come from
the photo as it is (:class:`Reference`); the face *width* throughout is that box's width, about the
face from cheek to cheek.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from workbench.errors import WorkbenchError
from workbench.types import Box

WIDTH, GAUSSIAN, MOTION, JPEG, NIGHT = "width", "gaussian", "motion", "jpeg", "night"
OCCLUSION, AS_IS = "occlusion", "as is"
#: The kinds of degradation, in the order the lab shows them.
KINDS = (WIDTH, GAUSSIAN, MOTION, JPEG, NIGHT, OCCLUSION)
MASK, SUNGLASSES, CAP = "mask", "sunglasses", "cap shadow"
OCCLUSIONS = (MASK, SUNGLASSES, CAP)
#: Blur levels are given for a face this many pixels wide and scaled with the real face.
BLUR_FACE = 100.0
#: The night sensor: electrons collected at white in the photo's own light, and read noise.
FULL_WELL = 2000.0
READ_NOISE = 3.0
#: A version of the operations: results cached under another version are computed again.
VERSION = "degrade/1"


@dataclass(frozen=True)
class Level:
    """One degradation at one level: ``kind`` (one of :data:`KINDS`, or :data:`AS_IS`), its
    ``value`` (pixels of face width, blur pixels on a 100-px face, JPEG quality or light kept),
    and for an occlusion which one (``variant``)."""

    kind: str
    value: float = 0.0
    variant: str = ""

    def __post_init__(self) -> None:
        if self.kind not in (*KINDS, AS_IS):
            raise WorkbenchError(f"unknown degradation {self.kind!r}; choose one of: {', '.join(KINDS)}")
        if not math.isfinite(self.value):
            raise WorkbenchError(f"{self.kind}: the level must be a finite number, got {self.value}")
        bad = {WIDTH: self.value < 4, GAUSSIAN: self.value <= 0, MOTION: self.value < 2,
               JPEG: not 1 <= self.value <= 100, NIGHT: not 0 < self.value <= 1,
               OCCLUSION: self.variant not in OCCLUSIONS}.get(self.kind, False)
        if bad:
            raise WorkbenchError(f"{self.kind}: level {self.variant or self.value:g} is out of range"
                                 if not self.variant else f"unknown occlusion {self.variant!r}; choose one of: "
                                 f"{', '.join(OCCLUSIONS)}")

    @property
    def id(self) -> str:
        """A short stable name: ``width-24``, ``gaussian-4``, ``occlusion-mask``, ``as-is``."""
        if self.kind == AS_IS:
            return "as-is"
        return f"{self.kind}-{self.variant.replace(' ', '-')}" if self.variant else f"{self.kind}-{self.value:g}"

    @property
    def words(self) -> str:
        """The level in plain words (``"a face 24 px wide"``)."""
        v = self.value
        return {AS_IS: "the photo as it is", WIDTH: f"a face {v:g} px wide",
                GAUSSIAN: f"out of focus (Gaussian blur σ {v:g} px on a 100-px face)",
                MOTION: f"motion blur over {v:g} px of a 100-px face",
                JPEG: f"JPEG quality {v:g}", NIGHT: f"night: {v:.0%} of the light, amplified with its noise",
                OCCLUSION: {MASK: "a surgical mask", SUNGLASSES: "sunglasses",
                            CAP: "a cap's shadow over the eyes"}.get(self.variant, self.variant)}[self.kind]


AS_PHOTOGRAPHED = Level(AS_IS)
#: The levels the lab measures by default, mildest first within each kind. LFW's faces are about
#: 95 px wide (YuNet's box), so widths start below that: a photo is never enlarged.
DEFAULT_LEVELS: tuple[Level, ...] = (
    *(Level(WIDTH, w) for w in (64, 48, 40, 32, 24, 16, 12)),
    *(Level(GAUSSIAN, s) for s in (1, 2, 4, 6)),
    *(Level(MOTION, n) for n in (7, 15, 25)),
    *(Level(JPEG, q) for q in (20, 10, 5)),
    *(Level(NIGHT, x) for x in (0.1, 0.03, 0.01)),
    *(Level(OCCLUSION, 0, v) for v in OCCLUSIONS),
)


def parse_level(text: str) -> Level:
    """A level from its :attr:`Level.id` (``width-24``, ``occlusion-mask``, ``as-is``)."""
    t = text.strip().lower()
    if t in ("as-is", "as is"):
        return AS_PHOTOGRAPHED
    kind, sep, value = t.partition("-")
    if not sep:
        raise WorkbenchError(f"a level is KIND-VALUE, like width-24 or occlusion-mask; got {text!r}")
    if kind == OCCLUSION:
        return Level(OCCLUSION, 0, value.replace("-", " "))
    try:
        return Level(kind, float(value))
    except ValueError:
        raise WorkbenchError(f"{text!r}: the level after '{kind}-' must be a number") from None


@dataclass(frozen=True, eq=False)
class Reference:
    """The face as photographed: its box and YuNet's five points ``(5, 2)`` (right eye, left eye,
    nose tip, right and left mouth corners, in image pixels), which place the occlusions."""

    box: Box
    points: np.ndarray

    @property
    def width(self) -> int:
        return int(self.box.width)


def seed_of(image: np.ndarray, level: Level) -> int:
    """A seed drawn from the pixels and the level: the same photo degrades the same way every time."""
    return zlib.crc32(np.ascontiguousarray(image).tobytes(), zlib.crc32(level.id.encode()))


def to_width(image: np.ndarray, face_width: float, width: float) -> np.ndarray:
    """The whole photo shrunk (area interpolation) so a face ``face_width`` px wide becomes ``width``
    px wide; a copy as it is when ``width >= face_width`` (never enlarged)."""
    return scaled(image, float(width) / float(face_width))


def scaled(image: np.ndarray, factor: float) -> np.ndarray:
    """The whole photo shrunk to ``factor`` of its size (area interpolation, as a sensor with fewer
    pixels would record it); a copy as it is when ``factor >= 1`` (never enlarged)."""
    import cv2

    if factor >= 1.0:
        return image.copy()
    h, w = image.shape[:2]
    return cv2.resize(image, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=cv2.INTER_AREA)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of standard deviation ``sigma`` pixels (kernel out to 3 sigma)."""
    import cv2

    k = 2 * math.ceil(3 * sigma) + 1
    return cv2.GaussianBlur(image, (k, k), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT101)


def motion_blur(image: np.ndarray, length: float) -> np.ndarray:
    """A horizontal motion blur: the mean over a line ``length`` pixels long."""
    import cv2

    n = max(1, int(round(length)))
    kernel = np.full((1, n), 1.0 / n, np.float32)
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT101)


def jpeg(image: np.ndarray, quality: float) -> np.ndarray:
    """The photo encoded as JPEG at ``quality`` (1-100) and decoded again (OpenCV's codec)."""
    import cv2

    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(image[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise WorkbenchError("OpenCV could not encode the photo as JPEG")
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1])


def night(image: np.ndarray, light: float, seed: int = 0) -> np.ndarray:
    """``light`` of the photo's light reaching the sensor, with its noise, amplified back (see the
    module docstring): the mean brightness is kept, the noise grows as the light falls."""
    rng = np.random.default_rng(seed)
    electrons = image.astype(np.float64) / 255.0 * FULL_WELL * float(light)
    noisy = rng.poisson(electrons) + rng.normal(0.0, READ_NOISE, image.shape)
    out = noisy / (FULL_WELL * float(light)) * 255.0
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _eyes_nose_mouth(ref: Reference) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    p = np.asarray(ref.points, np.float64).reshape(5, 2)
    return p[0], p[1], p[2], (p[3] + p[4]) / 2.0


def mask(image: np.ndarray, ref: Reference) -> np.ndarray:
    """A light-blue surgical mask from half-way down the nose to the chin, cheek to cheek (NIST's
    digital masks of FRVT Part 6A cover the same part of the face)."""
    import cv2

    eye_r, eye_l, nose, mouth = _eyes_nose_mouth(ref)
    b = ref.box
    eyes_y = (eye_r[1] + eye_l[1]) / 2.0
    top = eyes_y + 0.45 * (nose[1] - eyes_y)
    cx, w = (b.left + b.right) / 2.0, float(b.width)
    poly = np.array([[b.left + 0.02 * w, top], [b.right - 0.02 * w, top], [b.right - 0.02 * w, mouth[1]],
                     [cx + 0.28 * w, b.bottom], [cx - 0.28 * w, b.bottom], [b.left + 0.02 * w, mouth[1]]])
    out = image.copy()
    cv2.fillPoly(out, [np.round(poly).astype(np.int32)], (170, 205, 225), lineType=cv2.LINE_AA)
    return out


def sunglasses(image: np.ndarray, ref: Reference) -> np.ndarray:
    """Two dark lenses over the eyes and a bridge between them."""
    import cv2

    eye_r, eye_l, _, _ = _eyes_nose_mouth(ref)
    d = float(np.linalg.norm(eye_l - eye_r))
    out = image.copy()
    axes = (max(1, round(0.34 * d)), max(1, round(0.24 * d)))
    for eye in (eye_r, eye_l):
        cv2.ellipse(out, (round(eye[0]), round(eye[1])), axes, 0, 0, 360, (18, 18, 22), -1, cv2.LINE_AA)
    cv2.line(out, (round(eye_r[0]), round(eye_r[1])), (round(eye_l[0]), round(eye_l[1])), (18, 18, 22),
             max(1, round(0.06 * d)), cv2.LINE_AA)
    return out


def cap_shadow(image: np.ndarray, ref: Reference, darkness: float = 0.25) -> np.ndarray:
    """The shadow of a cap's peak: everything above a line just under the eyes, across the face
    and a fifth of its width either side, darkened to ``darkness`` of its light (a soft edge of a
    tenth of the face's height)."""
    eye_r, eye_l, nose, _ = _eyes_nose_mouth(ref)
    b = ref.box
    eyes_y = (eye_r[1] + eye_l[1]) / 2.0
    edge = eyes_y + 0.2 * (nose[1] - eyes_y)
    soft = max(1.0, 0.1 * b.height)
    h, w = image.shape[:2]
    ys = np.arange(h, dtype=np.float64)[:, None]
    shade = np.clip((ys - edge) / soft + 0.5, 0.0, 1.0)  # 0 above the edge, 1 below
    factor = darkness + (1.0 - darkness) * shade
    x0, x1 = max(0, int(b.left - 0.2 * b.width)), min(w, int(b.right + 0.2 * b.width))
    out = image.astype(np.float64)
    out[:, x0:x1] *= np.broadcast_to(factor, (h, 1))[:, :, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def apply(image: np.ndarray, level: Level, ref: Reference) -> np.ndarray:
    """``image`` degraded to ``level``; ``ref`` is its face as photographed (size and points)."""
    scale = ref.width / BLUR_FACE
    if level.kind == AS_IS:
        return image.copy()
    if level.kind == WIDTH:
        return to_width(image, ref.width, level.value)
    if level.kind == GAUSSIAN:
        return gaussian_blur(image, level.value * scale)
    if level.kind == MOTION:
        return motion_blur(image, level.value * scale)
    if level.kind == JPEG:
        return jpeg(image, level.value)
    if level.kind == NIGHT:
        return night(image, level.value, seed_of(image, level))
    return {MASK: mask, SUNGLASSES: sunglasses, CAP: cap_shadow}[level.variant](image, ref)


# -- the camera a face width stands for ----------------------------------------------------------

#: The camera the lab's sentences assume: a 1080p sensor (1,920 px across) behind a 90° lens, and
#: a face 16 cm wide.
CAMERA_PIXELS, CAMERA_FOV, FACE_METRES = 1920, 90.0, 0.16
#: IEC 62676-4 (video surveillance) asks 250 px per metre at the subject to *identify* a person.
IDENTIFY_PX_PER_M = 250.0


def camera_distance(face_px: float, pixels: int = CAMERA_PIXELS, fov_degrees: float = CAMERA_FOV,
                    face_m: float = FACE_METRES) -> float:
    """How far (metres) from a camera of ``pixels`` across and a ``fov_degrees`` horizontal field
    of view a face ``face_m`` wide appears ``face_px`` pixels wide. At distance ``D`` the view is
    ``2 D tan(FOV / 2)`` metres wide, so pixels per metre = ``pixels / (2 D tan(FOV / 2))``; the face
    spans ``face_px = face_m x`` that."""
    if face_px <= 0:
        raise WorkbenchError(f"a face width must be positive, got {face_px}")
    per_metre = face_px / face_m
    return pixels / (2.0 * per_metre * math.tan(math.radians(fov_degrees) / 2.0))


def face_width_at(distance_m: float, pixels: int = CAMERA_PIXELS, fov_degrees: float = CAMERA_FOV,
                  face_m: float = FACE_METRES) -> float:
    """The other way round: how many pixels wide a face ``face_m`` wide appears ``distance_m``
    metres from a camera of ``pixels`` across and a ``fov_degrees`` horizontal field of view."""
    if distance_m <= 0:
        raise WorkbenchError(f"a distance must be positive, got {distance_m}")
    return face_m * pixels / (2.0 * distance_m * math.tan(math.radians(fov_degrees) / 2.0))
