"""Landmarks and alignment: where each model wants a face's five points, and how to get them.

Two landmark schemes exist (:mod:`workbench.types`): dlib's five points (eye corners and the
base of the nose, from dlib's shape predictor, used by every detector but YuNet) and YuNet's
(eye centres, nose tip, mouth corners, which OpenCV's SFace aligns on). Each embedding model
aligns on its own scheme; a detection in the other scheme is converted here:

* **dlib points -> SFace**: a fixed template says where dlib's five points sit, on average, in
  SFace's 112 x 112 aligned frame (mean over 577 UTKFace crops found by both HOG and YuNet;
  sd 1.6-2.9 px; research12 ``scripts/learn_templates.py``). The similarity transform that puts
  a face's dlib points on that template aligns it for SFace. Same face, HOG + template vs
  YuNet's own points: SFace cosine 0.959 median (0.875 at the 5th percentile, 144 faces), about
  what a 1-pixel shift of YuNet's points costs on a small face.
* **YuNet box -> dlib**: dlib's shape predictor is run inside the square box HOG would have
  drawn around that face (HOG's side is 1.137 x YuNet's width = 0.856 x its height, centred
  0.029 w left of and 0.042 h below YuNet's centre: medians over 3,300 LFW faces found by both).
  Same face, YuNet box vs HOG's own: dlib vectors 0.038 apart (median; the threshold is 0.6).
  Converting YuNet's points by template instead gave 0.165: dlib's chip is sensitive to its
  own corner points, so the predictor is worth its ~1 ms.
"""

from __future__ import annotations

import numpy as np

from workbench.pipeline import models
from workbench.types import DLIB5, YUNET5, Box, Detection, Point

#: SFace's alignment target in its 112 x 112 input, YuNet's point order (OpenCV's
#: ``face_recognize.cpp``): right eye, left eye, nose tip, right and left mouth corners.
SFACE_TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                           [41.5493, 92.3655], [70.7299, 92.2041]])
#: dlib's five points in the same 112 x 112 frame (see the module docstring).
DLIB5_IN_SFACE112 = np.array([[83.0377, 53.0159], [67.9587, 54.3453], [29.9304, 54.3217],
                              [45.1627, 54.9441], [57.1793, 80.9762]])


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The least-squares similarity (rotation, one scale, shift) taking ``src`` points to ``dst``
    (Umeyama 1991; the fit OpenCV's ``FaceRecognizerSF.alignCrop`` makes). ``(N, 2)`` each;
    returns the ``2 x 3`` matrix."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    sc, dc = src - ms, dst - md
    u, s, vt = np.linalg.svd(dc.T @ sc / len(src))
    d = np.diag([1.0, -1.0 if np.linalg.det(u) * np.linalg.det(vt) < 0 else 1.0])
    r = u @ d @ vt
    scale = np.trace(np.diag(s) @ d) / max((sc ** 2).sum() / len(src), 1e-12)
    return np.hstack([scale * r, (md - scale * r @ ms)[:, None]])


def apply(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points`` ``(N, 2)`` moved by the ``2 x 3`` matrix ``m``."""
    return np.asarray(points, np.float64) @ m[:, :2].T + m[:, 2]


def yunet5_from_dlib5(points: np.ndarray) -> np.ndarray:
    """Where YuNet's five points would be, from dlib's five (``(5, 2)`` each)."""
    m = similarity_transform(DLIB5_IN_SFACE112, points)  # the 112 frame -> this image
    return apply(m, SFACE_TEMPLATE)


def hog_like_box(box: Box) -> Box:
    """The square box HOG would have drawn around the face YuNet boxed (see the module docstring)."""
    w, h = box.width, box.height
    cx = box.left + w / 2 - 0.029 * w
    cy = box.top + h / 2 + 0.042 * h
    side = (1.137 * w + 0.856 * h) / 2
    return Box(int(round(cx - side / 2)), int(round(cy - side / 2)), int(round(cx + side / 2)),
               int(round(cy + side / 2)))


def dlib5_in_box(image: np.ndarray, box: Box) -> tuple[Point, ...]:
    """dlib's five landmarks inside ``box`` of an RGB image, as ``(x, y)`` tuples."""
    import dlib

    rect = dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1)
    with models.use("dlib.shape5") as predictor:
        shape = predictor(image, rect)
    return tuple((float(p.x), float(p.y)) for p in shape.parts())


def dlib5_of(image: np.ndarray, det: Detection) -> tuple[tuple[Point, ...], Box]:
    """dlib's five points for a detection, and the box they belong to (for dlib's chip)."""
    if det.scheme == DLIB5:
        return det.landmarks, det.box
    box = hog_like_box(det.box)
    return dlib5_in_box(image, box), box


def yunet5_of(det: Detection) -> np.ndarray:
    """YuNet's five points ``(5, 2)`` for a detection (converted from dlib's when needed)."""
    pts = det.landmarks_array().astype(np.float64)
    return pts if det.scheme == YUNET5 else yunet5_from_dlib5(pts)


def eyes_and_nose(landmarks: np.ndarray, scheme: str = DLIB5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(eye on the image's right, eye on the image's left, nose)`` of five points in ``scheme``."""
    pts = np.asarray(landmarks, np.float64).reshape(-1, 2)
    if scheme == YUNET5:
        return pts[1], pts[0], pts[2]
    return pts[0:2].mean(axis=0), pts[2:4].mean(axis=0), pts[4]
