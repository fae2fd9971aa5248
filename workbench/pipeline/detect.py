"""Stage 2: find faces. Boxes, five landmarks and a score for every face in an RGB image.

Detectors (``DETECTORS``):

* ``hog``   dlib's HOG + linear SVM (default; fast on a CPU, frontal faces);
* ``cnn``   dlib's MMOD CNN (slower, finds more angles);
* ``yunet`` OpenCV's YuNet (2023, int8; weights shipped in the package): a small CNN that
  finds faces from about 10 px, with five landmarks of its own. It looks at the image at its
  own size: ``upsample`` does not apply to it;
* ``haar``  OpenCV's Haar cascade (the classic; many false positives);
* any DeepFace backend (``retinaface``, ``mtcnn``, ``ssd``, ``centerface``, ``yolov8n`` ...)
  when its weights are on disk.

YuNet's detections carry YuNet's own five points (scheme ``yunet5``); every other detector's
landmarks come from dlib's 5-point shape predictor run inside its box (scheme ``dlib5``; see
:mod:`workbench.types` and :mod:`workbench.pipeline.align`). Nothing caps the number of
faces: a crowd photo returns every face found.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.errors import ModelError
from workbench.pipeline import align, models
from workbench.types import DLIB5, YUNET5, Box, Detection, Point

DLIB_DETECTORS = ("hog", "cnn", "haar")
#: Detectors that run offline on weights shipped with the package (beside dlib's).
OPENCV_DETECTORS = ("yunet",)
# DeepFace's own "yunet" would need a weight file it cannot download: OpenCV's YuNet (above) wins.
DEEPFACE_DETECTORS = (
    "retinaface", "mtcnn", "fastmtcnn", "ssd", "centerface", "opencv", "mediapipe",
    "yolov8n", "yolov11n", "yolov11s", "yolov11m",
)
DETECTORS = DLIB_DETECTORS[:2] + OPENCV_DETECTORS + DLIB_DETECTORS[2:] + DEEPFACE_DETECTORS
DEFAULT_DETECTOR = "hog"

#: Images whose long side exceeds this are shrunk before detection, then boxes are mapped
#: back: a 1080p frame is searched at 1280 px (HOG cost grows with the pixel count).
DEFAULT_MAX_SIDE = 1280


def _downscale(image: np.ndarray, max_side: int | None) -> tuple[np.ndarray, float]:
    """``(image, factor)`` with the long side at most ``max_side``; factor = new / old."""
    h, w = image.shape[:2]
    if not max_side or max(h, w) <= max_side:
        return image, 1.0
    import cv2

    f = max_side / float(max(h, w))
    small = cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    return small, f


def _rect_to_box(rect: Any) -> Box:
    return Box(int(rect.left()), int(rect.top()), int(rect.right()) + 1, int(rect.bottom()) + 1)


def _hog(image: np.ndarray, upsample: int) -> list[tuple[Box, float]]:
    with models.use("dlib.hog") as hog:
        rects, scores, _ = hog.run(image, upsample, 0.0)
    return [(_rect_to_box(r), float(s)) for r, s in zip(rects, scores)]


def _cnn(image: np.ndarray, upsample: int) -> list[tuple[Box, float]]:
    with models.use("dlib.cnn") as cnn:
        found = cnn(image, upsample)
    return [(_rect_to_box(d.rect), float(d.confidence)) for d in found]


def _haar(image: np.ndarray, upsample: int) -> list[tuple[Box, float]]:
    import cv2

    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    gray = cv2.equalizeHist(gray)
    f = 2.0**upsample
    if upsample:
        gray = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_LINEAR)
    with models.use("opencv.haar") as haar:
        rects, _, weights = haar.detectMultiScale3(
            gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24), outputRejectLevels=True
        )
    out = []
    for (x, y, w, h), s in zip(np.asarray(rects).reshape(-1, 4), np.asarray(weights).reshape(-1)):
        out.append((Box(int(x), int(y), int(x + w), int(y + h)).scaled(1.0 / f), float(s)))
    return out


Found = list[tuple[Box, float, "tuple[Point, ...] | None"]]


def _yunet(image: np.ndarray) -> Found:
    """YuNet on an RGB image at its own size: boxes, scores and YuNet's five points."""
    from workbench.pipeline.capture import rgb_to_bgr

    h, w = image.shape[:2]
    with models.use("opencv.yunet") as net:
        net.setInputSize((w, h))
        _, rows = net.detect(rgb_to_bgr(image))
    out: Found = []
    for r in ([] if rows is None else rows):
        if not np.all(np.isfinite(r[:15])):  # seen on a noisy night photo: a row of infinities is no face
            continue
        x, y, bw, bh = (float(v) for v in r[:4])
        box = Box(int(round(x)), int(round(y)), int(round(x + bw)), int(round(y + bh)))
        out.append((box, float(r[14]), tuple((float(r[4 + 2 * k]), float(r[5 + 2 * k])) for k in range(5))))
    return out


def _deepface(image: np.ndarray, backend: str) -> list[tuple[Box, float]]:
    from workbench.pipeline.capture import rgb_to_bgr

    with models.use_deepface("face_detector", backend) as detector:
        regions = detector.detect_faces(rgb_to_bgr(image))
    return [
        (Box(int(r.x), int(r.y), int(r.x + r.w), int(r.y + r.h)), float(r.confidence or 0.0))
        for r in regions
    ]


def landmarks_for(image: np.ndarray, box: Box) -> tuple[Point, ...]:
    """dlib's five landmarks inside ``box`` of an RGB image, as ``(x, y)`` tuples."""
    return align.dlib5_in_box(image, box)


def detect_faces(
    image: np.ndarray,
    detector: str = DEFAULT_DETECTOR,
    *,
    upsample: int = 1,
    max_side: int | None = DEFAULT_MAX_SIDE,
) -> list[Detection]:
    """Detect every face in an image.

    Args:
        image: RGB ``uint8`` array ``(H, W, 3)``.
        detector: one of :data:`DETECTORS`.
        upsample: times the image is doubled inside the detector to find small faces
            (dlib's ``upsample_num_times``; each step costs about 4x the time). YuNet and the
            DeepFace backends ignore it.
        max_side: shrink the image first so its long side is at most this many pixels
            (``None`` keeps full size). Boxes are returned in the original pixels.

    Returns:
        Detections, largest face first. Empty when there is no face.
    """
    if detector not in DETECTORS:
        raise ModelError(f"unknown detector {detector!r}; choose one of: {', '.join(DETECTORS)}")
    h, w = image.shape[:2]
    small, f = _downscale(image, max_side)
    if detector == "yunet":
        found = _yunet(small)
    else:
        if detector == "hog":
            boxes = _hog(small, upsample)
        elif detector == "cnn":
            boxes = _cnn(small, upsample)
        elif detector == "haar":
            boxes = _haar(small, upsample)
        else:
            boxes = _deepface(small, detector)
        found = [(b, s, None) for b, s in boxes]
    detections = []
    for box, score, points in found:
        full = box.scaled(1.0 / f).clipped(w, h) if f != 1.0 else box.clipped(w, h)
        if full.width < 2 or full.height < 2:
            continue
        if points is None:  # dlib's predictor in the box, at full resolution
            detections.append(Detection(full, landmarks_for(image, full), score, detector, DLIB5))
        else:
            detections.append(Detection(full, tuple((x / f, y / f) for x, y in points), score, detector, YUNET5))
    detections.sort(key=lambda d: d.box.area, reverse=True)
    return detections
