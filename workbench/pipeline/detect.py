"""Stage 2: find faces. Boxes, five landmarks and a score for every face in an RGB image.

Each detector is an entry of the zoo (:mod:`workbench.pipeline.zoo`): ``hog`` (dlib's HOG + linear
SVM, the default), ``cnn`` (dlib's MMOD CNN), ``yunet`` (OpenCV's YuNet, int8, weights shipped in
the package; it looks at the image at its own size), ``haar`` (OpenCV's Haar cascade) and
DeepFace's backends (``retinaface``, ``mtcnn`` ...) when their weights are on disk. This stage
shrinks the image, asks the entry for boxes, maps them back to the original pixels, places dlib's
five points in the boxes of detectors without points of their own (scheme ``dlib5``; see
:mod:`workbench.types` and :mod:`workbench.pipeline.align`) and sorts the faces largest first.
Nothing caps the number of faces: a crowd photo returns every face found.
"""

from __future__ import annotations

import numpy as np

from workbench.pipeline import align, zoo
from workbench.types import DLIB5, Box, Detection, Point

#: The zoo's default detector (declared in :mod:`workbench.pipeline.zoo`), for the callers that import it here.
DEFAULT_DETECTOR = zoo.DEFAULT_DETECTOR

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
        detector: a name from :func:`workbench.pipeline.zoo.detector_names`.
        upsample: times the image is doubled inside the detector to find small faces
            (dlib's ``upsample_num_times``; each step costs about 4x the time). Detectors it does
            not apply to (YuNet, the DeepFace backends: ``Detector.upsample``) ignore it.
        max_side: shrink the image first so its long side is at most this many pixels
            (``None`` keeps full size). Boxes are returned in the original pixels.

    Returns:
        Detections, largest face first. Empty when there is no face.
    """
    entry = zoo.detector(detector)
    h, w = image.shape[:2]
    small, f = _downscale(image, max_side)
    found = entry.detect(small, upsample if entry.upsample else 0)
    detections = []
    for box, score, points in found:
        full = box.scaled(1.0 / f).clipped(w, h) if f != 1.0 else box.clipped(w, h)
        if full.width < 2 or full.height < 2:
            continue
        if points is None:  # dlib's predictor in the box, at full resolution
            detections.append(Detection(full, landmarks_for(image, full), score, detector, DLIB5))
        else:
            detections.append(Detection(full, tuple((x / f, y / f) for x, y in points), score, detector, entry.scheme))
    detections.sort(key=lambda d: d.box.area, reverse=True)
    return detections
