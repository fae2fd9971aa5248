"""The second algorithm: OpenCV's YuNet detector and SFace embedding, on weights shipped in the
package (sha256 checked), beside dlib's, with the landmark conversions between them."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from click.testing import CliRunner

from workbench.errors import WeightsCorruptError, WeightsMissingError
from workbench.pipeline import Settings, align, analyze, compare, models
from workbench.pipeline.capture import load_image
from workbench.pipeline.detect import detect_faces
from workbench.pipeline.embed import aligned_chips, embed_chips, embed_faces
from workbench.pipeline.zoo import opencv_models
from workbench.types import DLIB5, YUNET5


def test_shipped_weights_are_the_files_their_sums_and_sources_name():
    sums = dict(line.split()[::-1] for line in (models.WEIGHTS_DIR / "SHA256SUMS").read_text().splitlines())
    assert sums == models.VENDORED_SHA256
    for name, digest in sums.items():
        assert hashlib.sha256((models.WEIGHTS_DIR / name).read_bytes()).hexdigest() == digest
        assert name in (models.WEIGHTS_DIR / "SOURCES.md").read_text()
    assert (models.WEIGHTS_DIR / "LICENSE-yunet-MIT.txt").is_file()
    assert (models.WEIGHTS_DIR / "LICENSE-sface-Apache-2.0.txt").is_file()


def test_damaged_or_missing_weights_fail_with_one_clear_line(tmp_path, astronaut_png, monkeypatch):
    data = bytearray((models.WEIGHTS_DIR / opencv_models.YUNET_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    (tmp_path / opencv_models.YUNET_FILE).write_bytes(bytes(data))
    with pytest.raises(WeightsCorruptError) as exc:
        models.vendored_weights(opencv_models.YUNET_FILE, tmp_path)
    msg = str(exc.value)
    assert "\n" not in msg and "sha256" in msg and "reinstall" in msg and opencv_models.YUNET_FILE in msg
    with pytest.raises(WeightsMissingError, match="missing model weights"):
        models.vendored_weights(opencv_models.SFACE_FILE, tmp_path)
    # the same line through the CLI, from a fresh registry pointed at the damaged copy
    from workbench.cli import cli

    monkeypatch.setattr(models, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setattr(models, "_cache", {})
    out = CliRunner().invoke(cli, ["--detector", "yunet", "detect", str(astronaut_png)])
    assert out.exit_code == 1
    lines = [ln for ln in out.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "damaged or were replaced" in lines[0], out.output


def test_alignment_templates_and_transform():
    # the template conversion maps dlib's mean points onto SFace's template exactly
    assert np.allclose(align.yunet5_from_dlib5(align.DLIB5_IN_SFACE112), align.SFACE_TEMPLATE, atol=1e-6)
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (5, 2))
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -4.0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    m = align.similarity_transform(src, src @ (scale * rot).T + shift)
    assert np.allclose(m[:, :2], scale * rot) and np.allclose(m[:, 2], shift)


def test_yunet_gives_its_own_five_points_in_its_order(astronaut):
    dets = detect_faces(astronaut, "yunet")
    assert dets and dets[0].scheme == YUNET5 and dets[0].detector == "yunet"
    pts = dets[0].landmarks_array()
    b = dets[0].box
    assert pts[0, 0] < pts[1, 0]  # the subject's right eye is on the image's left
    assert all(b.left <= x <= b.right and b.top <= y <= b.bottom for x, y in pts)
    assert pts[3, 1] > pts[2, 1] > pts[0, 1]  # mouth under nose under eyes
    q = analyze(astronaut, Settings(detector="yunet", model="SFace")).faces[0].quality
    assert abs(q.yaw) < 0.3, q  # a frontal face is frontal in either scheme
    assert detect_faces(astronaut, "hog")[0].scheme == DLIB5


def test_sface_chips_give_the_vectors_of_the_photo_at_unit_length(astronaut):
    for detector in ("yunet", "hog"):
        dets = detect_faces(astronaut, detector)[:1]
        direct = embed_faces(astronaut, dets, "SFace")
        chips = aligned_chips(astronaut, dets, model="SFace")
        assert chips[0].shape == (112, 112, 3)
        assert np.allclose(embed_chips(chips, "SFace"), direct, atol=1e-5)
        assert abs(float(np.linalg.norm(direct[0])) - 1.0) < 1e-5


@pytest.mark.integration
def test_yunet_finds_over_a_hundred_faces_in_the_crowd_photo(demo_photos):
    dets = detect_faces(load_image(demo_photos / "retinaface" / "img3.jpg"), "yunet")
    assert len(dets) >= 100, len(dets)
    assert len(detect_faces(load_image(demo_photos / "retinaface" / "img3.jpg"), "hog")) < 30  # HOG: about 23


@pytest.mark.integration
@pytest.mark.parametrize("detector,model", [("hog", "Dlib"), ("yunet", "SFace"), ("hog", "SFace"),
                                            ("yunet", "Dlib")])
def test_each_model_puts_a_same_and_a_different_pair_on_the_right_side(demo_photos, detector, model):
    unit = demo_photos / "deepface-unit"
    s = Settings(detector=detector, model=model)
    emb = {n: analyze(load_image(unit / n), s).embedded[0].embedding for n in ("img2.jpg", "img5.jpg", "img20.jpg")}
    same = compare.verify_embeddings(emb["img2.jpg"], emb["img5.jpg"])  # master.csv: Yes
    other = compare.verify_embeddings(emb["img20.jpg"], emb["img2.jpg"])  # master.csv: No
    assert same.verified and not other.verified, (same, other)
    assert same.similarity > 80 > other.similarity  # one similarity scale for both models


def test_live_pipeline_names_a_face_with_yunet_and_sface_embedded_in_a_worker(astronaut, monkeypatch):
    from workbench.errors import ModelMismatchError
    from workbench.live import LiveProcessor
    from workbench.store import GalleryMatrix

    s = Settings(detector="yunet", model="SFace")
    vec = analyze(astronaut, s).faces[0].embedding.vector
    matrix = GalleryMatrix(np.array([1]), np.array([1]), ["eileen"], [""], vec[None], model="SFace")
    proc = LiveProcessor.realtime(s, matrix)

    def not_here(*args, **kwargs):
        raise AssertionError("embedded on the video thread, not in the worker")

    monkeypatch.setattr("workbench.pipeline.embed.embed_faces", not_here)
    for _ in range(3):
        proc.process(astronaut)
    proc.flush()
    assert proc.tracks[0].label == "eileen" and proc.tracks[0].distance < 0.05, proc.tracks
    assert len(proc.identified) == 1  # embedded once, in the worker
    with pytest.raises(ModelMismatchError):  # Dlib vectors are never searched in an SFace gallery
        LiveProcessor(settings=Settings(model="Dlib"), matrix=matrix)


def test_detect_bench_runs_any_detector(astronaut):
    from workbench.bench.detect import bench_detect

    rows = bench_detect(astronaut, [256], repeat=1, detector="yunet")
    assert [(r.detector, r.max_side) for r in rows] == [("yunet", None), ("yunet", 256)]
    assert all(r.faces >= 1 for r in rows)
