"""Evaluations count what they ran on (issue 17, points 6 and 7): files that are not images are
skipped and listed; photos with no face are failures to acquire, counted (per group too) and,
by default, in FNMR/FNIR; no rate prints nan; a setup error stops the run with one line; many
failures put a warning first; a repeated reason is printed once with its count."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from workbench.cli import cli


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def grey(path):
    Image.fromarray(np.full((240, 320, 3), 128, np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def people(demo_photos, tmp_path_factory):
    """obama/ (a face, a grey photo, a readme) and biden/ (a face)."""
    train = demo_photos / "face-recognition-examples" / "knn_examples" / "train"
    root = tmp_path_factory.mktemp("people")
    (root / "obama").mkdir()
    (root / "biden").mkdir()
    shutil.copy(train / "obama" / "obama.jpg", root / "obama" / "obama.jpg")
    grey(root / "obama" / "grey.png")
    (root / "obama" / "readme.txt").write_text("not a photo")
    shutil.copy(train / "biden" / "biden.jpg", root / "biden" / "biden.jpg")
    return root


def test_eval_folder_skips_non_images_and_counts_failures_to_acquire(people, tmp_path):
    db = tmp_path / "e.duckdb"
    r = run("--db", db, "eval", "folder", people)
    assert r.exit_code == 0, r.output
    assert "3 pairs (1 same, 2 different) over 3 photos" in r.stdout  # readme.txt is no photo
    assert "FNMR 1.0000 (1/1)" in r.stdout  # obama vs the grey photo: a miss, as NIST counts it
    assert "no face found in 1 of 3 photos (33.3%)" in r.stdout and "in FNMR" in r.stdout
    assert "skipped, not an image file: 1 file (readme.txt)" in r.stdout
    assert r.stdout.splitlines()[0].startswith("WARNING: 2 of 4 files gave no face")  # before any rate
    assert "nan" not in r.stdout.lower()
    out = json.loads(run("--db", db, "eval", "folder", people, "--exclude-fta", "--json").stdout)
    assert out["genuine_pairs"] == 0 and out["fnmr"] is None and out["failures_to_acquire"]["count"] == 1
    assert out["failures_to_acquire"]["included_in_fnmr"] is False and out["skipped_files"] == {
        "obama/readme.txt": "not an image file"}
    text = run("--db", db, "eval", "folder", people, "--exclude-fta").stdout
    assert "FNMR none: no same-person pairs" in text and "nan" not in text.lower()


def test_eval_search_counts_a_faceless_probe_as_a_miss_per_group(people, tmp_path):
    db = tmp_path / "s.duckdb"
    assert run("--db", db, "enrol", people / "biden", "--gallery", "g", "--person", "biden",
               "--consent").exit_code == 0
    assert run("--db", db, "enrol", people / "obama" / "obama.jpg", "--gallery", "g", "--person", "obama",
               "--consent").exit_code == 0
    labels = tmp_path / "labels.csv"
    labels.write_text("person,group\nobama,A\nbiden,B\n")
    r = run("--db", db, "eval", "search", "--probes", people, "--gallery", "g", "--labels", labels, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["failures_to_acquire"]["count"] == 1 and out["failures_to_acquire"]["included_in_fnir"]
    assert out["mated"] == 3 and out["fnir"] == pytest.approx(1 / 3, abs=1e-4)  # the grey obama photo: a miss
    assert out["skipped_files"] == {"obama/readme.txt": "not an image file"}
    assert {g["group"]: g["failures_to_acquire"] for g in out["groups"]} == {"A": 1, "B": 0}
    text = run("--db", db, "eval", "search", "--probes", people, "--gallery", "g", "--exclude-fta").stdout
    assert "FNIR 0.0000 (0/2)" in text and "FPIR none: no non-mated probes" in text
    assert "nan" not in text.lower()


def test_a_setup_error_stops_with_one_line_and_no_rate(astronaut_png, tmp_path):
    pairs = tmp_path / "pairs.csv"
    shutil.copy(astronaut_png, tmp_path / "a.png")
    shutil.copy(astronaut_png, tmp_path / "b.png")
    pairs.write_text("file_x,file_y,Decision\na.png,b.png,Yes\n")
    r = run("--db", tmp_path / "x.duckdb", "--detector", "retinaface", "eval", "pairs", pairs)
    assert r.exit_code == 1, r.output
    assert len(r.stderr.strip().splitlines()) == 1 and "missing model weights" in r.stderr
    assert "accuracy" not in r.stdout and "FMR" not in r.stdout


def test_a_repeated_failure_is_printed_once_with_its_count(astronaut_png, tmp_path):
    shutil.copy(astronaut_png, tmp_path / "face.png")
    for n in range(3):
        grey(tmp_path / f"grey{n}.png")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("file_x,file_y,Decision\n" + "".join(f"face.png,grey{n}.png,No\n" for n in range(3)))
    r = run("--db", tmp_path / "x.duckdb", "eval", "pairs", pairs)
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[0].startswith("WARNING: 3 of 4 files gave no face")
    assert "no face found: 3 photos (grey0.png, grey1.png, grey2.png)" in r.stdout
    assert all(r.stdout.count(f"grey{n}.png") == 1 for n in range(3)), r.stdout
    assert "FNMR none: no same-person pairs" in r.stdout and "nan" not in r.stdout.lower()
