"""Enrolment and cameras with yunet + SFace, made cheaper without changing what they find: the same
chips, exposures and channel swaps as before, OpenCV's threads per camera process as asked, and
``bench enrol`` saying what it compares and where the time goes."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.live.camera_worker import WorkerConfig, warm_up
from workbench.pipeline import Settings, align, capture, models, quality
from workbench.pipeline.detect import detect_faces
from workbench.pipeline.embed import aligned_chips
from workbench.pipeline.zoo import opencv_models

SFACE = Settings(detector="yunet", model="SFace")


def test_sface_chips_cut_from_the_rgb_photo_are_the_chips_of_its_bgr_copy_flipped_back(demo_photos):
    photo = capture.load_image(demo_photos / "deepface-unit" / "selfie-many-people.jpg")
    dets = detect_faces(photo, "yunet")
    assert len(dets) >= 2
    rows = [np.array([d.box.left, d.box.top, d.box.width, d.box.height, *align.yunet5_of(d).reshape(-1), d.score],
                     np.float32) for d in dets]
    bgr = np.ascontiguousarray(photo[:, :, ::-1])
    with models.use(opencv_models.SFACE) as net:
        before = [np.ascontiguousarray(net.alignCrop(bgr, r)[:, :, ::-1]) for r in rows]  # the old path
    chips = aligned_chips(photo, dets, model="SFace")
    assert len(chips) == len(before)
    for new, old in zip(chips, before):
        assert new.shape == (112, 112, 3) and new.dtype == np.uint8 and np.array_equal(new, old)


@pytest.mark.parametrize("shape", [(37, 53, 3), (360, 640, 3), (1, 1, 3)])
def test_channel_swaps_are_numpys_reversal_in_a_new_contiguous_array(shape):
    a = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    for swap in (capture.rgb_to_bgr, capture.bgr_to_rgb):
        out = swap(a)
        assert np.array_equal(out, a[:, :, ::-1]) and out.flags.c_contiguous and out is not a
    view = a[:, ::-1]  # a strided view goes through too
    assert np.array_equal(capture.rgb_to_bgr(view), view[:, :, ::-1])
    bgra = np.random.default_rng(1).integers(0, 256, (5, 7, 4), dtype=np.uint8)  # alpha dropped, as before
    assert np.array_equal(capture.bgr_to_rgb(bgra), bgra[:, :, 2::-1])


def test_exposure_is_the_brightest_median_patch_of_the_largest_channel():
    from workbench.types import YUNET5, Box, Detection

    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    image[100:140, 150:190, 1] = 255  # a bright patch in one channel only
    det = Detection(Box(120, 80, 260, 220), ((0.0, 0.0),) * 5, 0.9, "yunet", YUNET5)
    import cv2

    crop = image[80:220, 120:260]
    want = float(cv2.medianBlur(np.ascontiguousarray(crop.max(axis=2)), quality.HIGHLIGHT_PATCH).max())
    assert quality.exposure(image, det) == want == 255.0


def test_a_camera_process_runs_opencv_on_its_default_threads_unless_told(monkeypatch):
    import cv2

    asked = []
    monkeypatch.setattr(models, "limit_threads", asked.append)
    warm_up(WorkerConfig(SFACE))
    warm_up(WorkerConfig(SFACE, cv_threads=1))
    assert asked == [None, 1]
    before = cv2.getNumThreads()
    try:
        monkeypatch.undo()
        models.limit_threads(1)
        assert cv2.getNumThreads() == 1
        models.limit_threads(None)  # leaves it alone
        assert cv2.getNumThreads() == 1
    finally:
        cv2.setNumThreads(before)


def test_bench_enrol_names_the_pair_and_the_deepface_model_it_is_timed_against(tmp_path, demo_photos, monkeypatch):
    from workbench.bench import enrol as bench

    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("obama", "biden"):
        src = next((demo_photos / "face-recognition-examples" / "knn_examples" / "train" / name).iterdir())
        (folder / f"{name}.jpg").write_bytes(src.read_bytes())
    monkeypatch.setattr(bench, "deepface_represent", lambda path: np.ones(128, np.float32))  # DeepFace's own time is not the point
    r = bench.bench_enrol(str(folder), runs=1, workers=1, settings=SFACE)
    assert (r.detector, r.model, r.images, r.enrolled) == ("yunet", "SFace", 2, 2)
    assert (r.deepface_model, r.deepface_detector) == ("Dlib", "dlib")
    assert "does not work offline" in r.deepface_note and "against DeepFace Dlib" in r.deepface_note
    assert r.photos_per_second > 0 and r.workers_cpu_ms_per_image >= 0 and len(r.load_average) == 3
    s = r.stages
    assert s.photos == 2 and s.faces == 2 and s.detect_side == "long side capped at 1280 px"
    assert s.detect_ms > 0 and s.embed_ms > 0 and s.decode_ms > 0
    dlib = bench.bench_enrol(str(folder), runs=1, workers=1, stages=False,
                             settings=Settings(model="Dlib"))  # Dlib against Dlib: nothing to say
    assert dlib.model == "Dlib" and dlib.deepface_note == "" and dlib.stages is None
