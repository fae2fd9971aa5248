"""Real photos: the demo photos packaged in workbench/demo, and deepface's full master.csv from
../shared/data/faces (skipped with a reason when that folder is absent)."""

import json

import pytest
from click.testing import CliRunner

from workbench.cli import cli
from workbench.pipeline.capture import load_image
from workbench.pipeline.detect import detect_faces

pytestmark = pytest.mark.integration


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_eval_pairs_reaches_99_percent(faces_deepface, db_path):
    unit = faces_deepface / "deepface-unit"
    r = run("--db", db_path, "eval", "pairs", unit / "master.csv", "--images", unit, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert set(out) >= {"accuracy", "best_threshold", "accuracy_at_default", "pairs", "failed_images"}
    assert out["pairs"] >= 290
    assert out["accuracy"] >= 0.99 and out["best_accuracy"] >= out["accuracy"]
    assert out["accuracy_at_default"] >= 0.98


def test_knn_gallery_returns_the_right_person_first(demo_photos, db_path):
    knn = demo_photos / "face-recognition-examples" / "knn_examples"
    r = run("--db", db_path, "enrol", knn / "train", "--gallery", "knn", "--consent", "--json")
    assert r.exit_code == 0, r.output
    enrolled = json.loads(r.stdout)
    assert enrolled["enrolled"] == 9 and sorted(enrolled["people"]) == [
        "alex_lacamoire", "biden", "kit_harington", "obama", "rose_leslie"]
    expected = {"alex_lacamoire1.jpg": {"alex_lacamoire"}, "johnsnow_test1.jpg": {"kit_harington"},
                "kit_with_rose.jpg": {"kit_harington", "rose_leslie"}, "obama1.jpg": {"obama"},
                "obama_and_biden.jpg": {"obama", "biden"}}
    for name, people in expected.items():
        s = run("--db", db_path, "search", knn / "test" / name, "--gallery", "knn", "--json")
        assert s.exit_code == 0, s.output
        found = {f["matches"][0]["person"] for f in json.loads(s.stdout)["faces"]
                 if f["matches"] and f["matches"][0]["match"]}
        assert found == people, (name, found)


def test_crowd_photo_yields_at_least_20_faces(demo_photos):
    assert len(detect_faces(load_image(demo_photos / "retinaface" / "img3.jpg"))) >= 20


def test_video_enrolment_samples_frames(demo_photos, db_path):
    clip = demo_photos / "face-recognition-examples" / "short_hamilton_clip.mp4"
    r = run("--db", db_path, "enrol", clip, "--gallery", "video", "--person", "lin", "--every", "1.0", "--consent", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["enrolled"] >= 2 and out["people"] == ["lin"]


def test_folder_with_a_bad_file_enrols_the_rest_and_reports_it(demo_photos, tmp_path, db_path):
    import shutil

    folder = tmp_path / "people" / "obama"
    folder.mkdir(parents=True)
    shutil.copy(demo_photos / "face-recognition-examples/knn_examples/train/obama/obama.jpg", folder / "a.jpg")
    (folder / "broken.jpg").write_bytes(b"garbage")
    r = run("--db", db_path, "enrol", tmp_path / "people", "--gallery", "g", "--consent", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["enrolled"] == 1 and len(out["skipped"]) == 1
    assert out["skipped"][0]["reason"].startswith("unreadable")
