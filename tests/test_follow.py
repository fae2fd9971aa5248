"""Where was this face seen? A probe photo searched against the sightings log of the packaged clip,
watched by two cameras (hog + Dlib, stated: the tests do not follow the default model): one
camera before the person was enrolled (an anonymous face), one after (a known person). The
library call, the CLI (JSON, route, report, one-line refusals), the Cameras page, and the
search log and purge."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench import config
from workbench.cli import cli
from workbench.live.cameras import parse_sources
from workbench.live.follow import CAUTION, follow_face
from workbench.live.watch import Watch, WatchOptions
from workbench.pipeline import Settings
from workbench.store import Store
from workbench.types import Consent

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = config.demo_dir() / "face-recognition-examples"
CLIP = EXAMPLES / "short_hamilton_clip.mp4"
LIN = EXAMPLES / "lin-manuel-miranda.png"
BIDEN = EXAMPLES / "knn_examples" / "train" / "biden" / "biden.jpg"  # in the demo photos, never in the clip
DLIB = Settings(detector="hog", model="Dlib")
#: When lin-manuel-miranda is on screen in the clip (seconds; README: the Live page's "Who was seen").
LIN_ON_SCREEN = (0.0, 7.1)


@pytest.fixture(scope="module")
def clip_log(tmp_path_factory):
    """The clip watched by 'north' into an empty gallery (every face anonymous), then lin enrolled,
    then the clip watched by 'south' (lin named). Faces are embedded on the video thread: as fast as
    possible, a worker process slowed by a loaded machine can return a short track's vector late."""
    from workbench.search.enrol import Source, enrol_sources

    tmp = tmp_path_factory.mktemp("follow")
    path = tmp / "city.duckdb"
    with Store(path) as db:
        db.galleries.create("demo", "Dlib")
        Watch(db, parse_sources([f"north={CLIP}"]), WatchOptions("demo", DLIB, fast=True, keep_chips=True, embed_async=False)).run()
        r = enrol_sources(db, "demo", [Source("lin", "lin", str(LIN))], settings=DLIB, workers=1,
                          consent=Consent(False, "public figure"))
        assert r.enrolled == 1
        Watch(db, parse_sources([f"south={CLIP}"]), WatchOptions("demo", DLIB, fast=True, embed_async=False)).run()
        logged = db.sightings.query("demo")
    return tmp, path, logged


@pytest.fixture(scope="module")
def lin_found(clip_log):
    _, path, _ = clip_log
    with Store(path) as db:
        return follow_face(db, "demo", LIN, DLIB, client="test")


def test_a_person_seen_on_two_cameras_is_found_on_both_at_the_right_times(clip_log, lin_found):
    _, _, logged = clip_log
    r = lin_found
    assert (r.model, r.detector, r.threshold) == ("Dlib", "hog", 0.6)
    cams = {c.camera: c for c in r.cameras()}
    assert set(cams) == {"north", "south"}, r.summary()
    # south's are the sightings the watch itself named lin; north saw the same face as an anonymous one
    named = logged.filter((logged["camera"] == "south") & (logged["who"] == "lin"))
    assert sorted(h.sighting_id for h in cams["south"].hits) == sorted(named["id"].to_list())
    assert {h.who for h in cams["north"].hits} <= {w for w in logged["who"].to_list() if w.startswith("unknown ")}
    spans = {c: [(h.first_video_s, h.last_video_s) for h in cams[c].hits] for c in cams}
    assert spans["north"] == spans["south"] and spans["north"] == sorted(spans["north"])  # same clip, time order
    assert all(LIN_ON_SCREEN[0] <= a <= b <= LIN_ON_SCREEN[1] for a, b in spans["north"]), spans
    others = logged.filter(logged["first_video_s"] > LIN_ON_SCREEN[1])  # someone else, after lin left
    assert others.height and not set(others["id"].to_list()) & {h.sighting_id for h in r.hits}
    assert [h.distance for h in r.hits] == sorted(h.distance for h in r.hits) and all(h.distance <= 0.6 for h in r.hits)
    assert r.searched == logged.height and r.tracks == len(r.hits) and r.unsearchable == 0
    assert any(h.has_chip for h in cams["north"].hits)  # north kept chips, south did not
    assert not any(h.has_chip for h in cams["south"].hits)
    assert all(h.when().endswith("into the video") for h in r.hits)


def test_a_face_never_filmed_returns_nothing_at_the_default_threshold(clip_log):
    _, path, logged = clip_log
    with Store(path) as db:
        r = follow_face(db, "demo", BIDEN, DLIB, at_scale=False)
    assert r.hits == () and r.searched == logged.height
    assert "no sighting within 80 % similarity (distance 0.600" in r.summary()


def test_the_search_is_logged_and_says_the_risk_at_the_logs_size(clip_log, lin_found):
    _, path, _ = clip_log
    risk = lin_found.risk
    assert risk is not None and risk.sightings == lin_found.searched and risk.row.comparisons == 138
    assert f"Searching {lin_found.searched} sightings at 80 % similarity" in risk.sentence()
    sizes = [row["sightings searched"] for row in risk.table()]
    assert sizes == sorted(sizes) and sizes[-1] == 1_000_000
    # no false match in the packaged photos' 138 pairs: the answer is the measured range, which grows
    assert risk.row.source == "range" and "measured on 138 comparisons" in risk.sentence()
    grows = [row["high"] for row in risk.table()]
    assert grows == sorted(grows) and grows[-1] > grows[0]
    with Store(path, read_only=True) as db:
        log = db.search_log.rows().filter(db.search_log.rows()["client"] == "test")
    row = log.row(0, named=True)
    assert row["source"] == f"sightings: {LIN}" and row["sightings_searched"] == lin_found.searched
    assert sorted(row["result_sighting_ids"][0]) == sorted(h.sighting_id for h in lin_found.hits)
    assert row["probe_sha256"] and row["probe_image"] is None and row["model"] == "Dlib"


def test_sightings_photo_on_the_command_line(clip_log, tmp_path):
    _, path, _ = clip_log
    plan = tmp_path / "plan.csv"
    plan.write_text("camera,x,y\nnorth,0,10\nsouth,30,0\nlobby,15,15\n")
    run = CliRunner()
    base = ["--db", str(path), "--detector", "hog", "--model", "Dlib", "sightings", "--gallery", "demo"]
    r = run.invoke(cli, base + ["--photo", str(LIN), "--positions", str(plan), "--report", str(tmp_path / "rep"),
                                "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    json.dumps(out, allow_nan=False)
    assert {c["camera"] for c in out["cameras"]} == {"north", "south"} and out["caution"] == CAUTION
    assert out["found"] == len(out["sightings"]) and out["threshold"] == 0.6
    assert [s["order"] for s in out["route"]] == list(range(1, len(out["route"]) + 1))
    assert all(s["position"] in ([0.0, 10.0], [30.0, 0.0]) for s in out["route"])
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "Where was this face seen?" in html and "data:image/jpeg;base64" in html
    assert "mapbox" not in html.split("<script")[0] and (tmp_path / "rep" / "sightings_found.csv").is_file()
    text = run.invoke(cli, base + ["--photo", str(LIN), "--positions", str(plan)])
    assert text.exit_code == 0 and "route: 1. north" in text.output and "not a fact" in text.output


def test_classroom_mode_searches_the_log_in_memory_and_writes_nothing(tmp_path, monkeypatch):
    import datetime as dt

    from workbench.pipeline import analyze_source, choose_face
    from workbench.store import SightingRow

    monkeypatch.chdir(tmp_path)
    vector = choose_face(analyze_source(str(LIN), DLIB)).face.embedding.vector
    now = dt.datetime(2026, 12, 1, 9, 0, 0)
    with Store(":memory:") as db:
        db.galleries.create("demo", "Dlib")
        run = db.runs.start(gallery="demo", model="Dlib", detector="hog", metric="euclidean", threshold=0.6,
                            alert_threshold=0.6, identity_threshold=0.51, sources=["hall=rtsp://cam:554/s"],
                            mode="local", keep_chips=False)
        sid = db.runs.allocate_ids("sighting_ids", 1)[0]
        db.sightings.write_batch(run, "demo", "Dlib", [SightingRow(
            sid, "hall", "rtsp://cam:554/s", 1, 1, 0, 30, 0.0, 1.0, now, now + dt.timedelta(seconds=1), None, None,
            None, None, None, 0.6, "Dlib", (1, 2, 3, 4), embedding=vector + 0.01)])
        r = follow_face(db, "demo", LIN, DLIB, at_scale=False)
        assert [h.sighting_id for h in r.hits] == [sid] and r.hits[0].when() == "2026-12-01 09:00:00 to 09:00:01"
        assert db.search_log.rows()["source"].to_list()[0] == f"sightings: {LIN}"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, words", [
    (["--model", "SFace", "sightings", "--gallery", "demo", "--photo", str(LIN)], "holds Dlib vectors"),
    (["sightings", "--gallery", "nowhere", "--photo", str(LIN)], "unknown gallery 'nowhere'"),
    (["sightings", "--gallery", "demo", "--photo", str(LIN), "--person", "lin"], "--person do not apply"),
    (["sightings", "--gallery", "demo", "--face", "2"], "go with --photo"),
    (["sightings", "--gallery", "demo", "--photo", str(LIN), "--face", "3"], "there is no face 3"),
    (["sightings", "--gallery", "demo", "--photo", str(LIN), "--positions", str(CLIP)], "cannot read"),
])
def test_refusals_are_one_line(clip_log, args, words):
    _, path, _ = clip_log
    r = CliRunner().invoke(cli, ["--db", str(path)] + args)
    assert r.exit_code != 0 and words in r.output, r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1, r.output


def test_the_cameras_page_searches_the_log_by_photo(clip_log, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    _, path, _ = clip_log
    db = tmp_path / "app.duckdb"
    shutil.copy(path, db)
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(LIN, photos / LIN.name)
    monkeypatch.setenv("WORKBENCH_DB", str(db))
    monkeypatch.setenv("WORKBENCH_FACES", str(photos))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240).run()
    at.switch_page("pages/cameras.py").run()
    at.selectbox(key="follow_sample").set_value(LIN.name).run()
    at.file_uploader(key="follow_plan").set_value(("plan.csv", b"camera,lon,lat\nnorth,2.35,48.85\nsouth,2.36,48.86\n",
                                                    "text/csv")).run()
    at.button(key="follow_go").click().run()
    assert not at.exception, [e.message for e in at.exception]
    shown = "\n".join(str(m.value) for m in at.markdown) + "\n".join(str(w.value) for w in at.warning)
    assert "on 2 cameras" in shown and CAUTION in shown
    tables = [d.value for d in at.dataframe if "logged as" in d.value.columns]
    assert len(tables) == 1 and set(tables[0]["camera"]) == {"north", "south"}
    routes = [c.proto.spec for c in at.get("plotly_chart") if "seen here (in time order)" in c.proto.spec]
    assert len(routes) == 1 and "http" not in routes[0] and "mapbox" not in routes[0]
    assert "not on the plan" not in routes[0] and "1. north" in routes[0]
