"""Camera quality in a watch (issue 21, part 2): the setting changes frames as stated (size,
resolution, JPEG, night, frame rate), the packaged clip watched as two cameras, near and far, names
lin on one and leaves his track unknown "too small" on the other (yunet + SFace, shipped), an
unknown under the threshold quotes its best similarity and the threshold, the setting is recorded
with the run, and a file from before the change gains the new column and table."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from workbench.cli import cli
from workbench.errors import WorkbenchError
from workbench.live import unknown
from workbench.live.camera_quality import CameraFilter, CameraQuality, degrade_frame, parse_quality
from workbench.live.sources import CameraSpec, with_qualities
from workbench.pipeline import degrade
from workbench.pipeline.zoo.opencv_models import SFACE_GATE
from workbench.store import Store
from workbench.types import Match, Quality

NEAR, FAR = 3, 10  # metres: lin's face about 51 and 15 px wide (1080p camera, 90° lens)


def frame(h: int = 300, w: int = 400) -> np.ndarray:
    """A synthetic RGB frame: a grey gradient with a bright square (texture for JPEG to lose)."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([(x * 255 // w), (y * 255 // h), ((x + y) % 256)], axis=2).astype(np.uint8)
    img[100:140, 150:190] = 230
    return img


# -- the frames, as stated ------------------------------------------------------------------------

def test_a_distance_shrinks_the_frame_so_the_footages_face_gets_the_formulas_width():
    q = CameraQuality(distance_m=5)
    assert q.face_px == pytest.approx(0.16 * 1920 / (2 * 5 * 1.0))  # 30.72 px: R / (2 D tan 45°) x 16 cm
    cam = CameraFilter(q)
    cam.reference_px = 100.0  # the footage's faces, measured: 100 px wide
    out = cam.apply(frame(), index=0)
    assert out.shape == (round(300 * 0.3072), round(400 * 0.3072), 3)
    cam.reference_px = 20.0  # faces already smaller than 5 m makes them: never enlarged
    assert cam.apply(frame(), 0).shape == (300, 400, 3)
    assert "frames are left at their size" in q.conditions(20.0, 400)
    assert "faces measure 100 px (as if 1.5 m away): frames at 30.7 % of their size" in q.conditions(100.0, 400)


def test_resolution_jpeg_and_night_change_the_frame_as_stated():
    f = frame()
    small = degrade_frame(np.zeros((1080, 1920, 3), np.uint8), parse_quality("resolution=720p"),
                          parse_quality("resolution=720p").frame_scale(None, 1920), 0)
    assert small.shape == (720, 1280, 3)
    assert parse_quality("resolution=4k").frame_scale(None, 640) == 1.0  # a wider camera adds no pixels
    jq = CameraQuality(jpeg=10)
    coded = degrade_frame(f, jq, 1.0, 0)
    assert np.array_equal(coded, degrade.jpeg(f, 10)) and np.abs(coded.astype(int) - f).mean() > 0.5
    dark = CameraQuality(night=0.01)
    n0, n0b, n1 = degrade_frame(f, dark, 1.0, 7), degrade_frame(f, dark, 1.0, 7), degrade_frame(f, dark, 1.0, 8)
    assert np.array_equal(n0, n0b) and not np.array_equal(n0, n1)  # seeded by the frame index
    assert abs(float(n0.mean()) - float(f.mean())) < 3  # amplified back to the same brightness ...
    flat = (slice(10, 60), slice(10, 60))
    assert n0[flat].std() > f[flat].std() + 5  # ... with the noise of 1 % of the light
    assert np.array_equal(degrade_frame(f, CameraQuality(), 1.0, 0), f)


def test_the_frame_rate_keeps_frames_by_their_video_time_not_by_timing():
    def kept():
        cam = CameraFilter(CameraQuality(fps=10))
        return [i for i in range(30) if cam.keeps(i / 29.97)]

    assert kept() == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27] == kept()
    assert all(CameraFilter(CameraQuality()).keeps(i / 30) for i in range(5))


@pytest.mark.parametrize("text, message", [
    ("distance=nan", "finite"), ("distance=0", "out of range"), ("distance=-5", "out of range"),
    ("jpeg=0", "out of range"), ("jpeg=20.5", "whole number"), ("fps=inf", "finite"), ("night=2", "out of range"),
    ("night=150%", "out of range"), ("scale=1.5", "out of range"), ("distance=5,scale=0.2", "not both"),
    ("fov=60", "only goes with a distance"), ("speed=3", "unknown setting"), ("distance", "KEY=VALUE"),
    ("resolution=huge", "wants a number"), ("jpeg=20,jpeg=30", "twice"),
])
def test_bad_settings_are_one_line_errors(text, message):
    with pytest.raises(WorkbenchError, match=message) as err:
        parse_quality(text)
    assert "\n" not in str(err.value)


def test_a_setting_reads_back_and_goes_to_its_camera():
    q = parse_quality("distance=25m, resolution=4K, fov=60, jpeg=30, fps=10, night=3%")
    assert q == CameraQuality(distance_m=25, pixels=3840, fov=60, jpeg=30, fps=10, night=0.03)
    assert parse_quality(q.spec) == q and parse_quality("").as_recorded
    specs = [CameraSpec("near", "a.mp4", "file"), CameraSpec("far", "a.mp4", "file")]
    out = with_qualities(specs, ["jpeg=50", "far:distance=25"])
    assert [s.quality.spec for s in out] == ["jpeg=50", "distance=25"]
    with pytest.raises(WorkbenchError, match="no camera is called 'middle'"):
        with_qualities(specs, ["middle:distance=5"])


# -- why unknown, in words ------------------------------------------------------------------------

def test_a_below_threshold_unknown_quotes_its_best_similarity_and_the_threshold():
    m = Match(1, 7, "lin", 0.699, 68.2, 1, False)
    why = unknown.under_threshold(m, 0.637, 0.637)
    assert why == ("under the threshold: the best candidate, lin, is 68.2 % similar (distance 0.699), 11.8 points "
                   "under the threshold of 80.0 % (distance 0.637)")
    assert unknown.kind(why) == "under the threshold"
    q = Quality(14, 0.02, 90.0, 0.1, "too_small", 200.0, "the face is 14 px, SFace's gate needs at least 23 px")
    assert unknown.gated(q).startswith("too small: the face is 14 px, SFace's gate needs at least 23 px")


# -- the packaged clip, near and far (yunet + SFace) ----------------------------------------------

@pytest.fixture(scope="module")
def near_and_far(demo_photos, tmp_path_factory):
    """lin (the packaged photo) enrolled with SFace; the packaged clip watched as two cameras at
    once (the CLI, so a process per camera), one at 3 m and one at 10 m."""
    tmp = tmp_path_factory.mktemp("quality")
    db = tmp / "q.duckdb"
    ex = demo_photos / "face-recognition-examples"
    clip = ex / "short_hamilton_clip.mp4"
    run = CliRunner()
    model = ["--db", str(db), "--detector", "yunet", "--model", "SFace"]
    r = run.invoke(cli, [*model, "enrol", str(ex / "lin-manuel-miranda.png"), "--gallery", "g", "--person", "lin",
                         "--no-consent", "--reason", "public figure"])
    assert r.exit_code == 0, r.output
    r = run.invoke(cli, [*model, "watch", f"near={clip}", f"far={clip}", "--gallery", "g", "--fast",
                         "--quality", f"near:distance={NEAR}", "--quality", f"far:distance={FAR}",
                         "--report", str(tmp / "report"), "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    s = run.invoke(cli, ["--db", str(db), "sightings", "--gallery", "g", "--json"])
    assert s.exit_code == 0, s.output
    return db, summary, json.loads(s.stdout), tmp / "report"


def test_the_same_clip_names_lin_near_and_leaves_him_unknown_too_small_far(near_and_far):
    _, summary, rows, _ = near_and_far
    cams = {c["camera"]: c for c in summary["cameras"]}
    assert summary["mode"] == "processes" and "lin" in cams["near"]["people"] and cams["far"]["people"] == []
    far = [r for r in rows if r["camera"] == "far"]
    assert far and not any(r["person"] == "lin" for r in far)
    # lin's track (on screen from 2.7 s) is a sighting of nobody: no face passed SFace's gate
    small = [r for r in far if unknown.kind(r["why_unknown"]) == "too small" and r["first_video_s"] < 5 < r["last_video_s"]]
    assert small, [(r["first_video_s"], r["why_unknown"]) for r in far]
    need = SFACE_GATE.min_size
    px = [int(re.search(rf"the face is (\d+) px, SFace's gate needs at least {need} px", r["why_unknown"]).group(1))
          for r in small]
    assert all(p < need for p in px) and small[0]["distance"] is None and small[0]["identity"] is None
    assert cams["far"]["tracks_failing_the_gate"] >= len(small)
    assert [r for r in rows if r["camera"] == "near" and r["person"] == "lin" and r["why_unknown"] is None]


def test_every_unknown_says_why_and_a_below_threshold_one_quotes_its_own_figures(near_and_far):
    _, _, rows, _ = near_and_far
    unknowns = [r for r in rows if r["person"] is None]
    assert unknowns and all(r["why_unknown"] for r in unknowns)
    under = [r for r in unknowns if unknown.kind(r["why_unknown"]) == unknown.UNDER_THRESHOLD]
    assert under
    for r in under:
        assert f"is {r['similarity']:.1f} % similar (distance {r['distance']:.3f})" in r["why_unknown"]
        assert f"the threshold of 80.0 % (distance {r['threshold']:.3f})" in r["why_unknown"]
        assert f"the best candidate, {r['candidate']}," in r["why_unknown"]


def test_the_setting_is_recorded_with_the_run_the_sightings_and_the_report(near_and_far):
    db, summary, rows, report = near_and_far
    with Store(db, read_only=True) as g:
        cams = {c.camera: c for _, c in g.runs.cameras([summary["run_id"]])}
    assert (cams["near"].quality, cams["far"].quality) == (f"distance={NEAR}", f"distance={FAR}")
    far = cams["far"].conditions
    assert far.startswith("10 m from a 1080p camera (1,920 px across) with a 90° lens, where a 16-cm face is 15.4 px")
    assert re.search(r"this footage's faces measure \d+ px \(as if 1\.\d m away\): frames at 1\d\.\d % of their size",
                     far), far
    assert {r["conditions"] for r in rows if r["camera"] == "far"} == {far}
    html = (report / "report.html").read_text()
    assert "Camera far (run 1) was made worse: 10 m from a 1080p camera" in html and "too small" in html
    assert (report / "why_unknown.csv").read_text().count("too small") >= 1


def test_an_old_file_gains_the_reason_column_and_the_cameras_table(db_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    with Store(db_path) as g:
        g.galleries.create("g", "Dlib")
        run = g.runs.start(gallery="g", model="Dlib", detector="hog", metric="euclidean", threshold=0.6,
                           alert_threshold=0.6, identity_threshold=0.5, sources=["a=a.mp4"], mode="local",
                           keep_chips=False)
        cur = g.db.cursor()
        cur.execute("DROP TABLE watch_cameras")
        cur.execute("ALTER TABLE sightings DROP COLUMN why_unknown")
        cur.execute("CHECKPOINT")
    code = "import os, sys; from workbench.store import Store; Store(sys.argv[1]); os._exit(0)"
    subprocess.run([sys.executable, "-c", code, str(db_path)], check=True, cwd=root,
                   env=dict(os.environ, PYTHONPATH=str(root)))  # the migration survives a crash right after it
    with Store(db_path) as g:
        assert "watch_cameras" in g.db.data_tables()
        cols = {r[0] for r in g.db.cursor().execute("DESCRIBE sightings").fetchall()}
        assert "why_unknown" in cols
        assert g.runs.cameras([run]) == [] and g.sightings.query("g").columns[-2:] == ["why_unknown", "conditions"]


def test_deleting_a_gallery_deletes_its_runs_cameras_and_counts_them_first(db_path):
    from workbench.store import RunCamera

    with Store(db_path) as g:
        for name in ("g", "h"):
            g.galleries.create(name, "Dlib")
            g.runs.start(gallery=name, model="Dlib", detector="hog", metric="euclidean", threshold=0.6,
                         alert_threshold=0.6, identity_threshold=0.5, sources=["far=a.mp4"], mode="local",
                         keep_chips=False, cameras=[RunCamera("far", "a.mp4", "distance=25", "25 m ...")])
        assert g.removal.counts("g")["watch_cameras"] == 1
        g.removal.delete_gallery("g")
        left = g.db.cursor().execute("SELECT r.gallery, c.quality FROM watch_cameras c JOIN watch_runs r "
                                     "ON r.id = c.run_id").fetchall()
    assert left == [("h", "distance=25")]
