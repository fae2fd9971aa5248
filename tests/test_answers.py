"""Answers that must not mislead (issue 15, "What misleads"; issue 17, point 8): the face that is
compared, faces the quality gate rejects, who a probe is, the scale answer, consent, `detect
--json` and the models folder, crowds. Each test failed on the code before its fix."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import file_state
from PIL import Image

from workbench.cli import cli
from workbench.pipeline import Analysis, main_face
from workbench.types import Box, Detection, Face, Quality, Timings


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def fake_analysis(width: int, height: int, boxes: list[Box]) -> Analysis:
    """An analysis with one accepted, embedded face per box (largest first, as detection sorts)."""
    from workbench.types import Embedding

    boxes = sorted(boxes, key=lambda b: b.area, reverse=True)
    faces = tuple(Face(Detection(b, ((0.0, 0.0),) * 5, 1.0, "test"), Quality(min(b.width, b.height), 100, 100, 0),
                       Embedding(np.full(4, i, np.float32), "Dlib")) for i, b in enumerate(boxes))
    return Analysis(faces, Timings(), (height, width, 3))


# -- 1. the face compared -------------------------------------------------------------------

def test_the_central_face_is_compared_not_the_largest_one():
    # LFW-like: 250x250, the subject centred; a bystander cut by the right edge, larger
    subject, bystander = Box(75, 70, 175, 170), Box(180, 40, 250, 200)
    lfw = fake_analysis(250, 250, [subject, bystander])
    assert bystander.area > subject.area and main_face(lfw).box == subject
    # size still counts: a far larger face just off centre beats a tiny one in the middle
    big, tiny = Box(300, 200, 700, 600), Box(490, 490, 530, 530)
    assert main_face(fake_analysis(1000, 1000, [big, tiny])).box == big
    # a couple: two similar faces, the one nearer the centre
    left, right = Box(300, 500, 900, 1100), Box(1150, 450, 1800, 1100)
    assert main_face(fake_analysis(2280, 1588, [left, right])).box == right


def test_the_gate_does_not_swap_a_rejected_subject_for_an_accepted_bystander():
    """A subject the gate rejects (turned, blurred) is still the face compared, and the answer says
    it is unreliable: preferring accepted faces picked bystanders (LFW: SFace 99.38 -> 99.05 %)."""
    from dataclasses import replace

    from workbench.pipeline import choose_face

    subject, bystander = Box(75, 70, 175, 170), Box(0, 0, 60, 60)
    a = fake_analysis(250, 250, [subject, bystander])
    turned = replace(a.faces[0], quality=Quality(100, 100, 100, 0.9, reason="extreme_pose", rule="turned"))
    a = replace(a, faces=(turned, a.faces[1]))
    chosen = choose_face(a)
    assert chosen.face.box == subject and "unreliable" in chosen.describe()


def test_verify_says_which_face_and_takes_face_n(demo_photos):
    couple, one_of_them = demo_photos / "retinaface" / "couple.jpg", demo_photos / "deepface-unit" / "img2.jpg"
    fast = ("--upsample", "0")  # the faces are hundreds of pixels wide: no need to look for small ones
    r = run(*fast, "verify", couple, one_of_them, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["faces"]["image1"]["found"] == 2 and out["faces"]["image1"]["chosen_by"] == "rule"
    assert out["verified"] is True  # the largest face (the other person) said DIFFERENT, 6.9 %
    other = 3 - out["faces"]["image1"]["compared"]
    r = run(*fast, "verify", couple, one_of_them, "--face1", other)
    assert r.exit_code == 0 and r.stdout.startswith("DIFFERENT people"), r.output
    assert f"2 faces found, compared face {other} (outlined; as asked)" in r.stdout
    assert "there is no face 3; 2 faces found" in run(*fast, "verify", couple, one_of_them, "--face1", 3).stderr


# -- 2. rejected faces are not searched --------------------------------------------------------

def test_a_face_the_gate_rejects_is_not_searched_and_the_log_says_why(astronaut, db_path):
    from dataclasses import replace

    from workbench.pipeline import Settings
    from workbench.pipeline.quality import QualityThresholds
    from workbench.search import search_image
    from workbench.search.enrol import Source, enrol_sources
    from workbench.store import Store

    dlib = Settings(model="Dlib")  # hog + Dlib: the sizes below are HOG's boxes
    with Store(db_path) as db:
        assert enrol_sources(db, "g", [Source("a", "eileen", astronaut)], dlib, workers=1).enrolled == 1
        strict = replace(dlib, gate=QualityThresholds(min_size=120))  # her 91-px face is now too small
        r = search_image(db, "g", astronaut, strict)
        (face,) = r.faces
        assert not face.searched and face.matches == () and face.verdict() == "not searched"
        assert face.face.quality.rule == "the face is 91 px, the gate needs at least 120 px"
        assert r.summary().startswith("1 face found, 0 large enough for hog + Dlib to recognise (at least 120 px), "
                                      "0 searched (1 not searched: 1 too small); 0 matched"), r.summary()
        row = db.search_log.rows().row(0, named=True)
        assert row["probe_quality"] == ["too_small"] and row["result_face_ids"] == [[]]
        assert search_image(db, "g", astronaut, dlib).faces[0].verdict() == "match"  # Dlib's gate: searched


def test_cli_search_says_no_match_and_states_the_gate_rule(astronaut, astronaut_png, tmp_path, db_path):
    assert run("--db", db_path, "--model", "Dlib", "enrol", astronaut_png, "--gallery", "g", "--person", "eileen",
               "--consent").exit_code == 0  # a Dlib gallery: searched below without --model, with hog + Dlib
    small = tmp_path / "small.png"  # her face at about 30 px: found (upsampled twice), under the 36-px rule
    Image.fromarray(np.asarray(Image.fromarray(astronaut).resize((170, 170), Image.LANCZOS))).save(small)
    flipped = tmp_path / "flipped.png"  # her upside-down twin is nobody the gallery knows: "no match"
    r = run("--db", db_path, "--upsample", "2", "search", small, "--gallery", "g")
    assert r.exit_code == 0, r.output
    assert "not searched: too small: the face is" in r.stdout and "Dlib's gate needs at least 37 px" in r.stdout
    Image.fromarray(np.ascontiguousarray(astronaut[:, ::-1] // 3 + 60)).save(flipped)
    r = run("--db", db_path, "--threshold", "0.05", "search", flipped, "--gallery", "g")
    assert r.exit_code == 0, r.output
    assert "no match: the closest, eileen, is at" in r.stdout and "0 matched at" in r.stdout


# -- 3. who a probe is ------------------------------------------------------------------------

def test_the_replay_calls_nobody_innocent_without_a_stated_identity(demo_photos, tmp_path):
    knn = demo_photos / "face-recognition-examples" / "knn_examples"
    db = tmp_path / "r.duckdb"
    for who in ("obama", "biden"):
        assert run("--db", db, "enrol", knn / "train" / who, "--gallery", "g", "--person", who,
                   "--consent").exit_code == 0
    probes = tmp_path / "probes"
    probes.mkdir()
    shutil.copy(knn / "test" / "obama1.jpg", probes / "photo1.jpg")  # obama, under a name that says nothing
    r = run("--db", db, "eval", "replay", "--probes", probes, "--gallery", "g")
    assert r.exit_code == 1 and "who these probes show is not stated" in r.stderr, r.output
    (probes / "obama").mkdir()  # stated by a sub-folder: obama is in the gallery, so not innocent
    shutil.move(probes / "photo1.jpg", probes / "obama" / "photo1.jpg")
    (probes / "alex").mkdir()
    shutil.copy(knn / "test" / "alex_lacamoire1.jpg", probes / "alex" / "x.jpg")
    out = json.loads(run("--db", db, "eval", "replay", "--probes", probes, "--gallery", "g", "--json").stdout)
    assert out["probes"] == 1 and [Path(p).name for p in out["excluded_probes"]] == ["photo1.jpg"]
    at80 = [t for t in out["thresholds"] if t["similarity"] == 80.0][0]
    assert at80["probes_flagged"] == 0  # obama's correct match is not counted as an innocent flagged


# -- 4. the scale answer --------------------------------------------------------------------------

def test_the_scale_answer_gives_counts_ranges_and_bounds_in_words():
    from workbench.evaluation.stats import metrics, scale

    rng = np.random.default_rng(1)
    imp = rng.normal(0.9, 0.1, (200, 50))  # 10,000 impostor distances from 200 probes
    who = np.repeat(np.arange(200)[:, None], 50, axis=1)
    a = scale.scale_answer(imp, scale.thresholds_for(0.6, (80.0, 99.0)), clusters=who,
                           sizes=(300_000, 20_000_000), n_boot=100)
    at80, at99 = a.row(80.0), a.row(99.0)
    truth80 = 0.5 * math.erfc((0.9 - 0.6) / 0.1 / math.sqrt(2))  # 0.00135 per comparison
    assert at80.source == "measured" and at80.false_matches >= scale.MIN_MEASURED
    assert at80.measured.low < truth80 < at80.measured.high
    e, f = at80.at(300_000)
    assert e.value == pytest.approx(300_000 * at80.measured.value) and f.value > 0.999
    # 99 % (distance 0.3, six sd away): nothing measured, so an upper bound and a fitted tail
    assert at99.false_matches == 0 and at99.source == "fitted"
    assert at99.measured.high == pytest.approx(metrics.wilson(0, 10_000).high)
    words = a.sentence(300_000, 99.0)
    assert "we saw 0 false matches in 10,000 comparisons" in words and "fewer than 120 false" in words
    assert "a model of the tail, not a measurement" in words
    json.dumps(scale.as_dict(a), allow_nan=False)  # strict JSON
    empty = scale.scale_answer(np.array([]), {80.0: 0.6}, sizes=(1000,))
    assert "nothing can be said" in empty.sentence(1000, 80.0)
    json.dumps(scale.as_dict(empty), allow_nan=False)


# -- 5. consent -------------------------------------------------------------------------------

def test_enrolment_needs_an_explicit_consent_choice_recorded_with_its_reason(astronaut_png, db_path, tmp_path):
    for args, why in (((), "say whether the people enrolled consented"),
                      (("--no-consent",), "--no-consent needs --reason"),
                      (("--no-consent", "--reason", "  "), "--reason is empty")):  # a blank value: refused first
        r = run("--db", db_path, "enrol", astronaut_png, "--gallery", "g", "--person", "eileen", *args)
        assert r.exit_code == 1 and why in r.stderr and file_state(db_path) is None, r.output
    r = run("--db", db_path, "enrol", astronaut_png, "--gallery", "g", "--person", "eileen", "--no-consent",
            "--reason", "public figure: NASA portrait")
    assert r.exit_code == 0 and "no consent: public figure: NASA portrait" in r.stdout, r.output
    people = json.loads(run("--db", db_path, "gallery", "show", "g", "--json").stdout)["people"]
    assert people[0]["consent_status"] == "no consent: public figure: NASA portrait"
    pq = tmp_path / "g.parquet"  # the choice travels with an export
    assert run("--db", db_path, "gallery", "export", "g", pq).exit_code == 0
    other = tmp_path / "other.duckdb"
    assert run("--db", other, "gallery", "import", pq).exit_code == 0
    people = json.loads(run("--db", other, "gallery", "show", "g", "--json").stdout)["people"]
    assert people[0]["consent"] is False and people[0]["consent_reason"] == "public figure: NASA portrait"


def test_a_refusal_without_reason_is_refused_by_the_library(astronaut, db_path):
    from workbench.errors import GalleryError
    from workbench.search.enrol import Source, enrol_sources
    from workbench.store import Store
    from workbench.types import Consent

    with Store(db_path) as db:
        with pytest.raises(GalleryError, match="needs a stated reason"):
            enrol_sources(db, "g", [Source("a", "eileen", astronaut)], consent=Consent(False, ""), workers=1)
        assert db.galleries.list().height == 0


# -- 17.8: several faces under one name ----------------------------------------------------------

def test_a_photo_with_two_accepted_faces_is_not_enrolled_under_one_name(tmp_path, db_path):
    from skimage import data

    both = tmp_path / "astronaut_with_patch.png"  # HOG also finds a "face" on her mission patch
    Image.fromarray(np.ascontiguousarray(data.astronaut())).save(both)
    r = run("--db", db_path, "--model", "Dlib", "enrol", both, "--gallery", "g", "--person", "eileen", "--consent")
    assert r.exit_code == 1 and "2 faces pass the quality gate" in r.stderr and "--face N" in r.stderr
    assert "face 1: box=[175, 76, 266, 167]" in r.stdout and "face 2: box=" in r.stdout
    assert file_state(db_path) is None or json.loads(run("--db", db_path, "gallery", "list", "--json").stdout) == []
    r = run("--db", db_path, "--model", "Dlib", "enrol", both, "--gallery", "g", "--person", "eileen", "--consent",
            "--face", "1")
    assert r.exit_code == 0 and "enrolled 1 face" in r.stdout, r.output
    faces = json.loads(run("--db", db_path, "gallery", "show", "g", "--json").stdout)["faces"]
    assert [f["box"] for f in faces] == [[175, 76, 266, 167]]
    folder = tmp_path / "people" / "eileen"  # in a folder: listed as skipped, with the reason
    folder.mkdir(parents=True)
    shutil.copy(both, folder / "a.png")
    r = run("--db", db_path, "--model", "Dlib", "enrol", folder.parent, "--gallery", "h", "--consent", "--json")
    out = json.loads(r.stdout) if r.exit_code == 0 else None
    assert r.exit_code == 1 and "several faces pass the quality gate" in r.output, r.output
    assert out is None


# -- 24.10: enrolment chooses among the faces `detect` lists ---------------------------------------

def subject_and_bystander(demo_photos: Path, astronaut: np.ndarray, path: Path) -> Path:
    """A 1600 x 1200 photo: the astronaut's face about 230 px wide, and Obama's at 79 px in a corner
    (a face a 640-px first pass cannot see, and the full pass finds)."""
    import cv2

    from workbench.pipeline.capture import load_image
    from workbench.pipeline.detect import detect_faces

    canvas = np.full((1200, 1600, 3), 120, np.uint8)
    canvas[:, 200:1400] = cv2.resize(astronaut, (1200, 1200), interpolation=cv2.INTER_CUBIC)
    obama = load_image(demo_photos / "face-recognition-examples/knn_examples/train/obama/obama.jpg")
    b = detect_faces(obama, "hog")[0].box
    pad = b.width // 2
    f = 79 / b.width
    small = cv2.resize(obama[b.top - pad:b.bottom + pad, b.left - pad:b.right + pad], None, fx=f, fy=f,
                       interpolation=cv2.INTER_AREA)
    canvas[900:900 + small.shape[0], 1420:1420 + small.shape[1]] = small
    Image.fromarray(canvas).save(path)
    return path


def test_enrolment_chooses_among_the_faces_detect_lists(demo_photos, astronaut, tmp_path, db_path):
    photo = subject_and_bystander(demo_photos, astronaut, tmp_path / "subject_and_bystander.png")
    listed = json.loads(run("--model", "Dlib", "detect", photo, "--json").stdout)  # hog's boxes
    accepted = [f["box"] for f in listed["faces"] if f["accepted"]]
    assert len(accepted) == 2 and 70 < accepted[1][2] - accepted[1][0] < 90, listed
    r = run("--db", db_path, "--model", "Dlib", "enrol", photo, "--gallery", "g", "--person", "eileen", "--consent")
    assert r.exit_code == 1 and "2 faces pass the quality gate" in r.stderr, r.output
    offered = [json.loads(b) for b in re.findall(r"face \d+: box=(\[[^\]]*\])", r.stdout)]
    assert offered == accepted, r.stdout  # the same faces, in the same order, as detect lists them
    r = run("--db", db_path, "--model", "Dlib", "enrol", photo, "--gallery", "g", "--person", "obama", "--consent",
            "--face", "2")
    assert r.exit_code == 0 and "enrolled 1 face" in r.stdout, r.output
    faces = json.loads(run("--db", db_path, "gallery", "show", "g", "--json").stdout)["faces"]
    assert [f["box"] for f in faces] == [accepted[1]]


# -- 6. detect --json and the models folder --------------------------------------------------------

def test_detect_json_with_no_face_prints_json_with_the_reason(blank_png):
    r = run("detect", blank_png, "--json")
    assert r.exit_code == 1  # documented: 1 when no face is found
    out = json.loads(r.stdout)
    assert out["faces"] == [] and out["found"] == 0 and out["reason"] == "no face found"


def test_missing_weights_name_one_absolute_folder_and_create_nothing_here(astronaut_png, tmp_path, monkeypatch):
    from workbench import config

    monkeypatch.delenv("WORKBENCH_MODELS", raising=False)
    monkeypatch.chdir(tmp_path)
    r = run("--detector", "retinaface", "detect", astronaut_png)
    assert r.exit_code == 1 and len(r.stderr.strip().splitlines()) == 1, r.output
    assert str(config.weights_dir()) in r.stderr and config.weights_dir().is_absolute()
    assert not (tmp_path / "data").exists(), "a models folder was created where the command ran"


# -- 7. crowds: the size cap and the counts ---------------------------------------------------------

def test_max_side_zero_finds_the_small_faces_the_cap_loses(astronaut, tmp_path):
    canvas = np.full((2600, 2600, 3), 200, np.uint8)  # her 91-px face in a big photo: 45 px at the cap
    canvas[1000:1512, 1000:1512] = astronaut
    big = tmp_path / "big.jpg"
    Image.fromarray(canvas).save(big, quality=92)
    capped = run("--model", "Dlib", "--upsample", "0", "detect", big, "--json")  # hog + Dlib's sizes
    full = run("--model", "Dlib", "--upsample", "0", "--max-side", "0", "detect", big, "--json")
    assert capped.exit_code == 1 and json.loads(capped.stdout)["found"] == 0
    assert full.exit_code == 0, full.output
    out = json.loads(full.stdout)
    assert out["found"] == 1 and out["accepted"] == 1 and out["rejected"] == {} and out["max_side"] is None
    text = run("--model", "Dlib", "--max-side", "0", "detect", big).stdout
    assert "1 face found, 1 large enough for hog + Dlib to recognise (at least 37 px); 1 accepted" in text, text
    assert "searched at full size" in text and out["large_enough"] == 1 and out["min_size"] == 37


def test_the_face_rule_measurements_run_on_a_tiny_lfw(astronaut, tmp_path):
    lfw = tmp_path / "lfw"
    for name, images in (("Eileen", [astronaut, astronaut[:, ::-1]]), ("Grey", [np.full((250, 250, 3), 90, np.uint8)])):
        (lfw / name).mkdir(parents=True)
        for i, im in enumerate(images, 1):
            Image.fromarray(np.ascontiguousarray(im)).save(lfw / name / f"{name}_{i:04d}.jpg")
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("1\t1\nEileen\t1\t2\nEileen\t1\tGrey\t1\n")
    r = run("--upsample", "0", "bench", "face-choice", pairs, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["pairs"], out["photos"], out["no_face"]) == (2, 3, 1) and out["accuracy_rule"] == 1.0
    r = run("--upsample", "0", "bench", "face-size", pairs, "--sizes", "0", "--json")
    assert r.exit_code == 0, r.output
    (row,) = json.loads(r.stdout)
    assert (row["size"], row["pairs"], row["accuracy"], row["detected"], row["photos"]) == (0, 1, 1.0, 2, 2)
