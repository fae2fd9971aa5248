import numpy as np
import pytest

from workbench.errors import ModelError
from workbench.pipeline import quality
from workbench.pipeline.detect import detect_faces
from workbench.types import Box, Detection


def _inside(det: Detection, margin: int = 10) -> bool:
    b = det.box
    return all(b.left - margin <= x <= b.right + margin and b.top - margin <= y <= b.bottom + margin
               for x, y in det.landmarks)


def test_hog_finds_the_astronaut_with_five_landmarks(astronaut):
    dets = detect_faces(astronaut, "hog")
    d = dets[0]  # largest first; HOG also reports a weak hit on the suit's badge
    assert 80 < d.box.width < 130 and 150 < d.box.left < 220 and 50 < d.box.top < 110
    assert len(d.landmarks) == 5 and _inside(d)
    assert d.detector == "hog" and d.score > 0


@pytest.mark.parametrize("detector", ["cnn", "haar"])
def test_other_builtin_detectors_agree_on_the_face(astronaut, detector):
    hog = detect_faces(astronaut)[0].box
    dets = detect_faces(astronaut, detector, upsample=0)
    assert dets, f"{detector} found nothing"
    assert max(d.box.iou(hog) for d in dets) > 0.4
    assert all(len(d.landmarks) == 5 for d in dets)


def test_large_images_are_downscaled_and_boxes_mapped_back(astronaut):
    import cv2

    big = cv2.resize(astronaut, (2048, 2048), interpolation=cv2.INTER_CUBIC)
    small_box = detect_faces(astronaut)[0].box
    big_box = detect_faces(big, max_side=1024)[0].box
    assert big_box.iou(small_box.scaled(4.0)) > 0.7


def test_more_than_a_hundred_faces_in_one_image(astronaut):
    """A 12 x 10 mosaic of the astronaut's face: every tile is found, no cap on the count."""
    import cv2

    b = detect_faces(astronaut)[0].box
    crop = astronaut[max(b.top - 40, 0) : b.bottom + 40, max(b.left - 40, 0) : b.right + 40]
    tile = cv2.resize(crop, (120, 120))
    mosaic = np.vstack([np.hstack([tile] * 12)] * 10)  # 1440 x 1200
    dets = detect_faces(mosaic, max_side=None)
    assert len(dets) >= 100


def test_no_face_is_an_empty_list():
    assert detect_faces(np.full((200, 200, 3), 127, np.uint8)) == []


def test_unknown_detector_is_a_clear_error(astronaut):
    with pytest.raises(ModelError, match="unknown detector"):
        detect_faces(astronaut, "nonsense")


def test_quality_accepts_a_good_face(astronaut):
    d = detect_faces(astronaut)[0]
    q = quality.assess(astronaut, d)
    assert q.accepted and q.reason is None and q.size >= 80


def test_quality_rejects_blur_darkness_and_small_faces(astronaut):
    import cv2

    d = detect_faces(astronaut)[0]
    blurred = cv2.GaussianBlur(astronaut, (0, 0), 2.0)
    assert quality.assess(blurred, d).reason == quality.BLURRED
    dark = (astronaut * 0.12).astype(np.uint8)
    assert quality.assess(dark, d).reason == quality.TOO_DARK
    small = cv2.resize(astronaut, (170, 170), interpolation=cv2.INTER_AREA)
    dets = detect_faces(small, upsample=2)
    assert dets and quality.assess(small, dets[0]).reason == quality.TOO_SMALL


def test_quality_rejects_extreme_pose(astronaut):
    frontal = detect_faces(astronaut, "hog")[0]  # dlib's five points: eye corners and the nose
    pts = frontal.landmarks_array()
    eye_b = pts[2:4].mean(axis=0)
    turned = pts.copy()
    turned[4] = eye_b + np.array([0.0, 30.0])  # nose under one eye: a profile-like face
    profile = Detection(frontal.box, tuple(map(tuple, turned)), frontal.score, "hog")
    assert abs(quality.yaw_from_landmarks(pts)) < 0.3
    assert quality.assess(astronaut, profile).reason == quality.EXTREME_POSE


def test_box_helpers():
    a, b = Box(0, 0, 10, 10), Box(5, 0, 15, 10)
    assert a.iou(b) == pytest.approx(50 / 150)
    assert Box(-5, -5, 30, 30).clipped(20, 20) == Box(0, 0, 20, 20)
