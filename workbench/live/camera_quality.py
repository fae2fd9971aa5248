"""What a worse camera would have made of a source: the camera-quality setting of one camera of a
watch, applied to every frame where the camera decodes it, before detection.

A :class:`CameraQuality` says how the camera differs from the footage: faces as seen from
``distance_m`` metres (or every frame at ``scale`` of its size), a camera ``pixels`` wide, JPEG
``jpeg`` quality, ``fps`` frames a second, and ``night`` (the fraction of the light). Every pixel
operation is :mod:`workbench.pipeline.degrade`'s, the robustness lab's own:

* **distance** (and **resolution**): a face 16 cm wide, ``D`` metres from a camera ``R`` px across
  behind a ``FOV`` lens, is ``0.16 R / (2 D tan(FOV / 2))`` px wide
  (:func:`~workbench.pipeline.degrade.face_width_at`; 1080p and 90° unless said). The footage's own
  faces are measured once per camera (:func:`reference_width`: the median width of the largest face
  YuNet finds in 12 frames spread over a file, or the first frame with a face of a stream), and
  every frame is shrunk by one factor so that face gets that width. A frame is never enlarged: a
  distance nearer than the footage's own leaves it as it is, and the recorded conditions say so.
  **resolution** alone shrinks the frames to that many pixels across (the same view, fewer pixels);
* **night**: the sensor's noise at that fraction of the light, amplified back (seeded by the frame
  index, so a re-run gives the same pixels), after the shrink: noise is made at the sensor's pixels;
* **jpeg**: encoded and decoded at that quality, last, as a camera's encoder does;
* **fps**: frames are kept by their video time, the first of each ``1/fps`` slot, never by how
  late they arrive: a file watched with ``--fast`` keeps the same frames every time.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, fields
from typing import Iterable

import numpy as np

from workbench.errors import WorkbenchError
from workbench.pipeline import degrade

#: Camera resolutions by name (pixels across).
RESOLUTIONS = {"720p": 1280, "1080p": 1920, "1440p": 2560, "4k": 3840}
#: Frames of a file measured for its faces' width.
REFERENCE_FRAMES = 12
#: The domain of each setting: (smallest, largest) allowed, and its unit in words.
DOMAIN = {"distance_m": (0.1, 1000.0, "metres"), "scale": (0.01, 1.0, "of the frame's size"),
          "pixels": (64, 16384, "pixels across"), "fov": (1.0, 170.0, "degrees"),
          "jpeg": (1, 100, "JPEG quality"), "fps": (0.1, 240.0, "frames a second"),
          "night": (0.001, 1.0, "of the light")}
#: How the settings are spelt in a spec (``distance=25,jpeg=30``), by field.
KEYS = {"distance": "distance_m", "scale": "scale", "resolution": "pixels", "fov": "fov", "jpeg": "jpeg",
        "fps": "fps", "night": "night"}


def _camera(pixels: int) -> str:
    """``"a 1080p camera (1,920 px across)"``."""
    named = {v: k.replace("k", "K") for k, v in RESOLUTIONS.items()}
    return f"a {named[pixels]} camera ({pixels:,} px across)" if pixels in named else f"a camera {pixels:,} px across"


def _pct(fraction: float) -> str:
    return f"{fraction * 100:.3g} %"


@dataclass(frozen=True)
class CameraQuality:
    """One camera's quality (see the module docstring); every field ``None`` is the footage as
    recorded. ``distance_m`` and ``scale`` exclude each other; ``fov`` goes with ``distance_m``."""

    distance_m: float | None = None
    scale: float | None = None
    pixels: int | None = None
    fov: float | None = None
    jpeg: int | None = None
    fps: float | None = None
    night: float | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None:
                continue
            lo, hi, unit = DOMAIN[f.name]
            key = next(k for k, name in KEYS.items() if name == f.name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise WorkbenchError(f"camera quality: {key} must be a finite number, got {v!r}")
            if not lo <= v <= hi:
                raise WorkbenchError(f"camera quality: {key} {v:g} is out of range ({lo:g} to {hi:g} {unit})")
            if f.name in ("pixels", "jpeg") and v != int(v):
                raise WorkbenchError(f"camera quality: {key} must be a whole number, got {v:g}")
        if self.distance_m is not None and self.scale is not None:
            raise WorkbenchError("camera quality: give a distance or a scale, not both")
        if self.fov is not None and self.distance_m is None:
            raise WorkbenchError("camera quality: fov (the lens) only goes with a distance")

    @property
    def as_recorded(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))

    @property
    def camera_pixels(self) -> int:
        return int(self.pixels or degrade.CAMERA_PIXELS)

    @property
    def lens(self) -> float:
        return float(self.fov or degrade.CAMERA_FOV)

    @property
    def face_px(self) -> float | None:
        """How wide a 16-cm face is at :attr:`distance_m` (``None`` without a distance)."""
        if self.distance_m is None:
            return None
        return degrade.face_width_at(self.distance_m, self.camera_pixels, self.lens)

    @property
    def needs_reference(self) -> bool:
        """Whether the footage's own face width must be measured first (a distance was asked)."""
        return self.distance_m is not None

    @property
    def spec(self) -> str:
        """The setting as :func:`parse_quality` reads it (``distance=25,jpeg=30``; ``""`` as recorded)."""
        parts = []
        for key, name in KEYS.items():
            v = getattr(self, name)
            if v is not None:
                parts.append(f"{key}={v:g}")
        return ",".join(parts)

    @property
    def words(self) -> str:
        """The setting in plain words, before the footage is measured."""
        if self.as_recorded:
            return "as recorded"
        parts = []
        if self.distance_m is not None:
            parts.append(f"{self.distance_m:g} m from {_camera(self.camera_pixels)} with a {self.lens:g}° lens, "
                         f"where a 16-cm face is {self.face_px:.1f} px wide")
        elif self.scale is not None:
            parts.append(f"every frame at {_pct(self.scale)} of its size")
        if self.pixels is not None and self.distance_m is None:
            parts.append(_camera(self.pixels))
        if self.night is not None:
            parts.append(f"night: {_pct(self.night)} of the light, amplified with its sensor noise")
        if self.jpeg is not None:
            parts.append(f"JPEG quality {self.jpeg}")
        if self.fps is not None:
            parts.append(f"{self.fps:g} frames a second")
        return "; ".join(parts)

    def frame_scale(self, reference_px: float | None, frame_width: int) -> float:
        """The factor (at most 1) every frame is shrunk by: from the distance and the footage's
        face width ``reference_px``, from :attr:`scale`, or from the resolution and the frame's
        width; 1 when nothing shrinks it."""
        if self.distance_m is not None:
            if not reference_px:
                raise WorkbenchError("camera quality: the footage's face width is needed for a distance")
            return min(1.0, self.face_px / float(reference_px))
        if self.scale is not None:
            return float(self.scale)
        if self.pixels is not None:
            return min(1.0, self.pixels / float(frame_width))
        return 1.0

    def conditions(self, reference_px: float | None, frame_width: int) -> str:
        """:attr:`words` with what the measured footage made of them (the run records this)."""
        s = self.frame_scale(reference_px, frame_width)
        if self.distance_m is not None:
            was = degrade.camera_distance(reference_px, self.camera_pixels, self.lens)
            tail = (f"frames at {_pct(s)} of their size" if s < 1 else
                    "already smaller than that, so frames are left at their size")
            return (f"{self.words}; this footage's faces measure {reference_px:.0f} px (as if {was:.1f} m away): "
                    + tail)
        if self.pixels is not None and self.scale is None:
            tail = f"frames {frame_width} px wide shrunk to {_pct(s)}" if s < 1 else \
                f"frames {frame_width} px wide: left at their size"
            return f"{self.words}; {tail}"
        return self.words


def parse_quality(text: str) -> CameraQuality:
    """A setting from ``KEY=VALUE`` pairs separated by commas: ``distance=25`` (metres, ``25m``
    too), ``scale=0.2``, ``resolution=720p`` (720p, 1080p, 1440p, 4K or pixels across), ``fov=60``
    (degrees), ``jpeg=30``, ``fps=10``, ``night=0.03`` (or ``3%``). Errors are one line."""
    values: dict[str, float] = {}
    for item in (p.strip() for p in text.split(",")):
        if not item:
            continue
        key, eq, raw = (x.strip().lower() for x in item.partition("="))
        if not eq or not raw:
            raise WorkbenchError(f"camera quality: {item!r} is not KEY=VALUE (like distance=25)")
        if key not in KEYS:
            raise WorkbenchError(f"camera quality: unknown setting {key!r}; choose from {', '.join(KEYS)}")
        if KEYS[key] in values:
            raise WorkbenchError(f"camera quality: {key} is given twice")
        values[KEYS[key]] = _value(key, raw)
    return CameraQuality(**{k: int(v) if k in ("pixels", "jpeg") and v == int(v) else v
                            for k, v in values.items()})


def _value(key: str, raw: str) -> float:
    if key == "resolution" and raw in RESOLUTIONS:
        return float(RESOLUTIONS[raw])
    if key == "resolution" and raw.endswith("p") and raw[:-1].isdigit():
        return round(int(raw[:-1]) * 16 / 9)
    number, percent = raw, False
    if key == "distance" and raw.endswith("m"):
        number = raw[:-1]
    elif key == "night" and raw.endswith("%"):
        number, percent = raw[:-1], True
    try:
        v = float(number)
    except ValueError:
        raise WorkbenchError(f"camera quality: {key} wants a number, got {raw!r}") from None
    return v / 100.0 if percent else v


def degrade_frame(image: np.ndarray, quality: CameraQuality, scale: float, index: int) -> np.ndarray:
    """One frame (RGB ``uint8`` ``(H, W, 3)``) as the camera of ``quality`` records it: shrunk by
    ``scale``, the night's noise (seeded by the frame ``index``), then JPEG. The input is unchanged."""
    out = degrade.scaled(image, scale) if scale < 1.0 else image
    if quality.night is not None:
        out = degrade.night(out, quality.night, seed=index)
    if quality.jpeg is not None:
        out = degrade.jpeg(out, quality.jpeg)
    return out


def reference_width(images: Iterable[np.ndarray]) -> float | None:
    """The footage's face width: the median, over ``images``, of the widest face YuNet finds in
    each (the lab measures its photos with the same detector); ``None`` when no image has a face."""
    from workbench.pipeline import detect

    widths = []
    for image in images:
        found = detect.detect_faces(image, "yunet", max_side=None)
        if found:
            widths.append(max(d.box.width for d in found))
    return float(statistics.median(widths)) if widths else None


def sample_frames(path: str, n: int = REFERENCE_FRAMES) -> list[np.ndarray]:
    """``n`` frames spread evenly over a video file (RGB), whatever frame a watch resumes from."""
    import cv2

    from workbench.pipeline.capture import bgr_to_rgb

    cap = cv2.VideoCapture(str(path))
    try:
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        out = []
        for k in range(n):
            if total > 0:
                cap.set(cv2.CAP_PROP_POS_FRAMES, int(k * total / n))
            ok, frame = cap.read()
            if ok and frame is not None:
                out.append(bgr_to_rgb(frame))
        return out
    finally:
        cap.release()


class CameraFilter:
    """One camera's quality applied frame by frame: which frames the frame rate keeps
    (:meth:`keeps`), the footage's face width once measured (:meth:`measure`), and the frame as
    the camera records it (:meth:`apply`)."""

    def __init__(self, quality: CameraQuality) -> None:
        self.quality = quality
        self.reference_px: float | None = None
        self._slot = -1

    @property
    def ready(self) -> bool:
        """Whether the footage's face width is known (or not needed)."""
        return not self.quality.needs_reference or self.reference_px is not None

    def measure(self, images: Iterable[np.ndarray]) -> bool:
        """Measure the footage's faces on ``images`` (until known); True once known."""
        if not self.ready:
            self.reference_px = reference_width(images)
        return self.ready

    def keeps(self, video_s: float) -> bool:
        """Whether a frame at ``video_s`` is kept at the setting's frame rate (the first of its slot)."""
        if self.quality.fps is None:
            return True
        slot = math.floor(video_s * self.quality.fps + 1e-6)
        if slot <= self._slot:
            return False
        self._slot = slot
        return True

    def conditions(self, frame_width: int) -> str:
        return self.quality.conditions(self.reference_px, frame_width)

    def apply(self, image: np.ndarray, index: int) -> np.ndarray:
        """The frame as this camera records it (the frame itself when as recorded)."""
        if self.quality.as_recorded:
            return image
        scale = self.quality.frame_scale(self.reference_px, image.shape[1])
        return degrade_frame(image, self.quality, scale, index)
