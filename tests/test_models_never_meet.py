"""Issue 24: vectors of two models never meet. One file holds a Dlib gallery and an SFace
gallery; every entry point (the CLI, the app's pages, a watch of one camera on a thread and of
two on processes) reads vectors only with their model, checks it at every write, and refuses
another model's gallery in one line before any model loads, leaving nothing behind (no run
left 'running'). Also: thresholds of the watch and of re-clustering are range-checked, an
identity is spelt the same way everywhere, and an empty or missing gallery is said so instead
of answering "no match" for everyone."""

from __future__ import annotations

import inspect

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from conftest import file_state

from workbench.cli import cli
from workbench.errors import GalleryError, ModelMismatchError
from workbench.pipeline import Settings, compare
from workbench.store import FaceRecord, IdentityRow, SightingRow, Store, identity_id

SFACE = Settings(detector="yunet", model="SFace")
DLIB = Settings(detector="hog", model="Dlib")


def rec(person: str, i: int, model: str) -> FaceRecord:
    """A face vector of the size and length ``model`` makes (Dlib's about 1.4 long, SFace's unit)."""
    v = np.random.default_rng(hash((person, i, model)) % 2**32).normal(size=128).astype(np.float32)
    v *= (1.4 if model == "Dlib" else 1.0) / np.linalg.norm(v)
    return FaceRecord(person=person, image_sha256=f"{model}-{person}-{i}", source_path=f"{person}{i}.jpg",
                      box=[0, 0, 60, 60], landmarks=[0.0] * 10, quality={"size": 60}, det_score=1.0,
                      detector="hog", embedding=v)


def sighting(db: Store, model: str, *, identity: int | None = None, candidate: int | None = None,
             distance: float | None = None) -> SightingRow:
    import datetime as dt

    now = dt.datetime.now()
    sid = db.runs.allocate_ids("sighting_ids", 1)[0]
    return SightingRow(sid, "gate", "gate.mp4", sid, 1, 0, 5, 0.0, 0.5, now, now, None, candidate, identity,
                       distance, None if distance is None else 90.0, compare.default_threshold(model), model,
                       (0, 0, 50, 50), embedding=None if identity is None else rec("x", sid, model).embedding)


def run(db: Store, gallery: str, model: str) -> int:
    return db.runs.start(gallery=gallery, model=model, detector="hog", metric=compare.default_metric(model),
                         threshold=compare.default_threshold(model), alert_threshold=compare.default_threshold(model),
                         identity_threshold=0.5 * compare.default_threshold(model), sources=["gate=gate.mp4"],
                         mode="local", keep_chips=False)


@pytest.fixture()
def both(db_path, tmp_path) -> dict:
    """One file: 'dg' (Dlib: ann, bob, and two anonymous identities seen on a run), 'sg' (SFace:
    cy, dee, cy on a watchlist), 'empty-s' (SFace, empty), 'empty-d' (Dlib, empty); an SFace
    export; a short clip."""
    from workbench.bench.footage import write_footage

    with Store(db_path) as db:
        db.faces.add("dg", [rec("ann", 1, "Dlib"), rec("bob", 2, "Dlib")], model="Dlib", consent=True)
        db.faces.add("sg", [rec("cy", 1, "SFace"), rec("dee", 2, "SFace")], model="SFace", consent=True)
        db.galleries.create("empty-s", "SFace")
        db.galleries.create("empty-d", "Dlib")
        db.watchlist.add("sg", "cy")
        r = run(db, "dg", "Dlib")
        ids = db.runs.allocate_ids("identity_ids", 2)
        rows = [sighting(db, "Dlib", identity=i) for i in (ids[0], ids[0], ids[1])]
        book = [IdentityRow(i, f"unknown {i:04d}", rows[0].embedding, 1, new=True) for i in ids]
        db.sightings.write_batch(r, "dg", "Dlib", rows, identities=book)
        db.runs.end(r, "completed")
        db.transfer.export_parquet("sg", tmp_path / "sface.parquet")
    clip = tmp_path / "clip.mp4"
    from corpus import astronaut_one_face
    from PIL import Image

    Image.fromarray(astronaut_one_face()).save(tmp_path / "face.png")
    write_footage(clip, [("x", tmp_path / "face.png")], frames=4)
    return {"db": db_path, "clip": clip, "export": tmp_path / "sface.parquet", "identities": ids,
            "face": tmp_path / "face.png"}


@pytest.fixture()
def no_models(monkeypatch):
    """Fail loudly if any model is loaded, any camera process started or any photo analysed."""
    from workbench.live import process_watch
    from workbench.pipeline import models, parallel

    def loaded(*a, **k):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(models, "get", loaded)
    monkeypatch.setattr(models, "deepface_model", loaded)
    monkeypatch.setattr(parallel, "analyse_sources", loaded)
    monkeypatch.setattr(process_watch, "start_processes", loaded)


def cli_run(db, *args):
    return CliRunner().invoke(cli, ["--db", str(db), *map(str, args)])


# -- 4 (and 1-3 at the CLI): every entry point refuses the other model's gallery, before any model time --

@pytest.mark.parametrize("args, gallery, holds", [
    (["--model", "SFace", "--detector", "yunet", "search", "{face}", "--gallery", "dg"], "dg", "Dlib"),
    (["--model", "Dlib", "search", "{face}", "--gallery", "sg"], "sg", "SFace"),
    (["--model", "SFace", "enrol", "{face}", "--gallery", "dg", "--consent"], "dg", "Dlib"),
    (["--model", "Dlib", "watch", "cam={clip}", "--gallery", "sg"], "sg", "SFace"),  # one camera: a thread
    (["--model", "Dlib", "watch", "a={clip}", "b={clip}", "--gallery", "sg"], "sg", "SFace"),  # two: a process each
    (["--model", "Dlib", "watch", "a={clip}", "b={clip}", "--gallery", "empty-s"], "empty-s", "SFace"),  # empty
    (["--model", "SFace", "identities", "name", "1", "Eve", "--gallery", "dg", "--consent"], "dg", "Dlib"),
    (["--model", "SFace", "identities", "recluster", "--gallery", "dg"], "dg", "Dlib"),
    (["--model", "SFace", "identities", "merge", "1", "2", "--gallery", "dg"], "dg", "Dlib"),
    (["gallery", "import", "{export}", "--gallery", "dg"], "dg", "Dlib"),
])
def test_the_cli_refuses_another_models_gallery_in_one_line_before_any_model_and_writes_nothing(
        args, gallery, holds, both, no_models):
    before = file_state(both["db"])
    out = cli_run(both["db"], *[a.format(**both) for a in args])
    assert out.exit_code == 1 and len(out.stderr.strip().splitlines()) == 1, out.output
    assert f"gallery {gallery!r} holds {holds} vectors" in out.stderr, out.stderr
    assert "(live)" not in out.stderr
    assert file_state(both["db"]) == before  # no run row, no face, no log row: nothing


def test_a_watch_on_the_library_refuses_before_any_run_with_either_runner(both, no_models):
    from workbench.live.cameras import parse_sources
    from workbench.live.watch import Watch, WatchOptions

    with Store(both["db"]) as db:
        for runner, cams in (("local", ["cam"]), ("processes", ["a", "b"])):
            w = Watch(db, parse_sources([f"{c}={both['clip']}" for c in cams]), WatchOptions("sg", DLIB),
                      runner=runner)
            with pytest.raises(ModelMismatchError, match="gallery 'sg' holds SFace vectors"):
                w.run()
        assert db.runs.list()["gallery"].to_list() == ["dg"]  # only the fixture's run: none was recorded


def test_a_run_that_cannot_start_its_cameras_ends_failed_not_running(both, monkeypatch):
    from workbench.live import camera_worker
    from workbench.live.cameras import parse_sources
    from workbench.live.watch import Watch, WatchOptions

    def broken(*a, **k):
        raise RuntimeError("no camera today")

    monkeypatch.setattr(camera_worker, "CameraWorker", broken)
    with Store(both["db"]) as db:
        w = Watch(db, parse_sources([f"cam={both['clip']}"]), WatchOptions("dg", DLIB))
        with pytest.raises(RuntimeError, match="no camera today"):
            w.run()
        last = db.runs.list("dg").row(-1, named=True)
    assert last["status"] == "failed" and last["ended_at"] is not None and "no camera today" in last["notes"]


def test_a_run_killed_mid_way_is_marked_interrupted_by_the_next_one(both):
    with Store(both["db"]) as db:
        dead = run(db, "dg", "Dlib")  # its process "dies": the run is never ended
    with Store(both["db"]) as db:  # the next process
        one = run(db, "dg", "Dlib")
        two = run(db, "sg", "SFace")  # a second run of this process, live at the same time
        runs = {r["id"]: r for r in db.runs.list().iter_rows(named=True)}
    assert runs[dead]["status"] == "interrupted" and runs[dead]["ended_at"] is not None
    assert f"marked when run {one} started" in runs[dead]["notes"]
    assert runs[one]["status"] == runs[two]["status"] == "running"  # live runs of this process are left alone


# -- 1. the app's store carries no model: an SFace session after a Dlib one ---------------------

def test_the_apps_store_has_no_model_an_sface_watch_after_a_dlib_session_is_sface_throughout(both):
    from workbench.app import ui
    from workbench.live.cameras import parse_sources
    from workbench.live.watch import Watch, WatchOptions
    from workbench.search import search_image

    ui.get_db.clear()
    db = ui.get_db(str(both["db"]))  # one store per file, whichever session opens it first
    assert search_image(db, "dg", both["face"], DLIB, log=False).faces  # a Dlib session
    summary = Watch(db, parse_sources([f"cam={both['clip']}"]),
                    WatchOptions("empty-s", SFACE, fast=True, embed_async=False)).run()
    assert summary.new_identities >= 1
    cur = db.db.cursor()
    assert cur.execute("SELECT DISTINCT model FROM identities WHERE gallery_id = ?",
                       [db.galleries.id("empty-s")]).fetchall() == [("SFace",)]
    assert db.runs.list("empty-s")["model"].to_list() == ["SFace"] and db.galleries.model("empty-s") == "SFace"
    ids, _, centroids, _ = db.identities.book("empty-s", "SFace")
    assert len(ids) >= 1 and (np.linalg.norm(centroids, axis=1) < 1.05).all()  # SFace's unit vectors, not Dlib's
    ui.get_db.clear()
    db.close()


def test_the_enrol_page_makes_a_gallery_for_the_chosen_model_after_a_dlib_session(both, monkeypatch):
    from test_app import app, open_page

    at = open_page(app(both["db"], monkeypatch).run(), "enrol")  # the Dlib gallery 'dg' is selected: Dlib
    assert at.selectbox(key="new_gallery_model").value == "SFace"  # a new gallery: the default
    assert "For SFace vectors." in " ".join(c.value for c in at.caption)
    at.text_input(key="new_gallery").input("made under SFace").run()
    at.button(key="create_gallery").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    from workbench.app import ui

    assert ui.get_db(str(both["db"])).galleries.model("made under SFace") == "SFace"


# -- 2. naming an anonymous identity checks the model ------------------------------------------

def test_naming_an_identity_of_another_model_is_refused_and_the_gallery_stays_one_models(both):
    with Store(both["db"]) as db:
        gid = db.galleries.id("dg")
        stray = db.runs.allocate_ids("identity_ids", 1)[0]
        sface = rec("stray", 1, "SFace").embedding.tolist()
        with db.db.transaction() as cur:  # as an older version could leave it: an SFace identity in a Dlib gallery
            cur.execute("INSERT INTO identities (id, gallery_id, model, label, centroid, members) "
                        "VALUES (?, ?, 'SFace', 'stray', ?, 1)", [stray, gid, sface])
            cur.execute("INSERT INTO sightings (id, run_id, gallery_id, camera, identity_id, model, embedding) "
                        "VALUES (?, 1, ?, 'gate', ?, 'SFace', ?)", [stray + 10_000, gid, stray, sface])
        with pytest.raises(GalleryError, match="holds SFace vectors.*nothing was named"):
            db.identities.name("dg", stray, "Eve", model="Dlib", consent=True)
        with pytest.raises(ModelMismatchError):  # and the gallery's own identities, named with another model
            db.identities.name("dg", both["identities"][0], "Eve", model="SFace", consent=True)
        norms = np.linalg.norm(db.vectors.matrix("dg", "Dlib").vectors, axis=1)
        assert len(norms) == 2 and (norms > 1.2).all()  # Dlib's vectors only (no unit-length SFace one)
        with pytest.raises(ModelMismatchError):  # a batch of sightings of another model is refused whole
            db.sightings.write_batch(1, "dg", "Dlib", [sighting(db, "SFace", identity=stray)])
        assert db.identities.name("dg", f"unknown {both['identities'][0]:04d}", "Eve", model="Dlib", consent=True) == 2


# -- 3. no read of vectors without the model; the Story never mixes models ---------------------

def test_every_read_of_vectors_requires_the_model():
    from workbench.store.identities import Identities
    from workbench.store.vectors import Vectors

    for method in (Vectors.matrix, Vectors.matrix_of, Vectors.load, Vectors.table, Identities.book,
                   Identities.anonymous_vectors, Identities.assign, Identities.name):
        model = inspect.signature(method).parameters["model"]
        assert model.default is inspect.Parameter.empty, method.__qualname__
    assert "model" not in inspect.signature(Store).parameters


def test_the_story_redoes_its_answers_when_the_model_changes(demo_photos, db_path, monkeypatch):
    from test_app import app, open_page

    from workbench.app import story, ui

    monkeypatch.setenv("WORKBENCH_FACES", str(demo_photos))
    at = open_page(app(db_path, monkeypatch).run(), "story")
    at.switch_page("app.py").run()  # AppTest re-runs only the page; the sidebar is the app's
    at.selectbox(key="model").set_value("Dlib").run()  # no gallery yet: the model is a choice (SFace first)
    at = open_page(at, "story")
    at.button(key="story_2").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    crowd = at.session_state["story_crowd"]
    ui.get_db(str(db_path)).galleries.create("sg", "SFace")
    at.switch_page("app.py").run()  # AppTest re-runs only the page; the sidebar is the app's
    at.selectbox(key="gallery").set_value("sg").run()  # an SFace gallery: the sidebar follows it
    at = open_page(at, "story")
    assert at.session_state["story_settings"].model == "SFace"
    assert at.session_state["story_steps"] == {} and "story_crowd" not in at.session_state
    with pytest.raises(ModelMismatchError):  # a Dlib crowd is never read with SFace's thresholds
        story.loosen_threshold(crowd, SFACE)
    assert story.watchlist(SFACE) != story.watchlist(DLIB)  # each model's watch list is its own gallery
    ui.get_db.clear()


# -- 5. the sightings report quotes the model stored with the sightings -------------------------

def test_the_sightings_report_uses_the_stored_model_not_the_command_lines(both, tmp_path):
    t = compare.default_threshold("SFace")
    with Store(both["db"]) as db:
        cy = int(db.faces.people("sg").filter(pl.col("name") == "cy")["id"][0])
        r = run(db, "sg", "SFace")
        db.sightings.write_batch(r, "sg", "SFace", [sighting(db, "SFace", candidate=cy, distance=0.5 * t)])
        db.runs.end(r, "completed")
    out = cli_run(both["db"], "--model", "Dlib", "sightings", "--gallery", "sg", "--report", tmp_path / "rep")
    assert out.exit_code == 0, out.output
    table = {r["threshold"]: r["distance"] for r in pl.read_csv(tmp_path / "rep" / "alert_thresholds.csv").to_dicts()}
    assert table["80 % similarity"] == pytest.approx(round(t, 4)) and table["labelling threshold"] == pytest.approx(t)
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "SFace" in html and "cosine" in html


# -- 7. thresholds in range; one spelling of an identity -----------------------------------------

@pytest.mark.parametrize("args, message", [
    (["watch", "cam={clip}", "--gallery", "dg", "--alert-threshold", "9"], "alert threshold 9 is outside"),
    (["watch", "cam={clip}", "--gallery", "dg", "--identity-threshold", "nan"], "identity threshold nan is not a finite"),
    (["watch", "cam={clip}", "--gallery", "dg", "--identity-threshold", "-1"], "identity threshold -1 is outside"),
    (["identities", "recluster", "--gallery", "dg", "--threshold", "5"], "identity threshold 5 is outside"),
    (["identities", "merge", "unknown 0001", "seven", "--gallery", "dg"], "'seven' is not an anonymous identity"),
])
def test_thresholds_and_identities_out_of_their_domain_are_one_line(args, message, both, no_models):
    before = file_state(both["db"])
    out = cli_run(both["db"], *[a.format(**both) for a in args])
    assert out.exit_code == 1 and len(out.stderr.strip().splitlines()) == 1 and message in out.stderr, out.output
    assert file_state(both["db"]) == before


def test_an_identity_is_spelt_as_the_pages_show_it_everywhere(both):
    first, second = both["identities"]
    assert identity_id(f"unknown {first:04d}") == identity_id(f"  Unknown   {first:04d} ") == identity_id(str(first)) \
        == identity_id(first) == first
    by_label = cli_run(both["db"], "sightings", "--gallery", "dg", "--identity", f"unknown {first:04d}", "--json")
    by_number = cli_run(both["db"], "sightings", "--gallery", "dg", "--identity", str(first), "--json")
    assert by_label.exit_code == 0 and by_label.stdout == by_number.stdout and len(by_label.stdout) > 10
    out = cli_run(both["db"], "identities", "merge", f"unknown {first:04d}", f"unknown {second:04d}", "--gallery", "dg")
    assert out.exit_code == 0 and f"into unknown {first:04d}" in out.stdout, out.output
    listed = cli_run(both["db"], "identities", "list", "--gallery", "dg")
    assert f"unknown {first:04d}: 3 sighting(s)" in listed.stdout, listed.stdout


# -- 11. an empty or missing gallery is said so, and never made as a side effect -----------------

def test_searching_or_watching_an_empty_or_missing_gallery_is_said_so_and_makes_nothing(both, no_models):
    out = cli_run(both["db"], "search", both["face"], "--gallery", "empty-d")
    assert out.exit_code == 1 and "gallery 'empty-d' is empty" in out.stderr, out.output
    before = file_state(both["db"])
    out = cli_run(both["db"], "watch", f"cam={both['clip']}", "--gallery", "typo")
    assert out.exit_code == 1 and "unknown gallery 'typo'" in out.stderr, out.output
    assert file_state(both["db"]) == before
    with Store(both["db"], read_only=True) as db:
        assert "typo" not in db.galleries.list()["gallery"].to_list()


def test_the_app_says_when_the_gallery_is_missing_or_empty_and_never_makes_one(db_path, monkeypatch, demo_photos):
    from test_app import app, open_page

    monkeypatch.setenv("WORKBENCH_FACES", str(demo_photos))
    at = app(db_path, monkeypatch).run()  # the sidebar's gallery is 'demo', which does not exist
    for page in ("cameras", "search"):
        at = open_page(at, page)
        assert any("demo does not exist yet" in i.value for i in at.info), (page, [i.value for i in at.info])
    at.selectbox(key="search_sample").select("face-recognition-examples/knn_examples/test/obama_and_biden.jpg").run()
    assert not at.exception and not at.subheader  # no result, no "no match" for Obama
    from workbench.app import ui

    db = ui.get_db(str(db_path))
    assert db.galleries.list().height == 0  # the Cameras page made no gallery
    db.galleries.create("demo", "SFace")  # an empty demo gallery (the sidebar's model): Home still offers to load it
    at = open_page(at, "search")
    assert any("demo is empty" in i.value for i in at.info), [i.value for i in at.info]
    at = open_page(at, "home")
    assert [b for b in at.button if b.key == "load_demo"]


# -- the app's pages with the two-model file ----------------------------------------------------

@pytest.mark.parametrize("page", ["search", "live", "metrics", "cameras"])
@pytest.mark.parametrize("gallery, model", [("sg", "SFace"), ("dg", "Dlib")])
def test_every_page_that_compares_uses_the_galleries_own_model(page, gallery, model, both, monkeypatch):
    from test_app import app, open_page

    at = app(both["db"], monkeypatch)
    at.session_state["gallery"] = gallery
    at.run()
    said = " ".join(c.value.replace("\\", "") for c in at.sidebar.caption)
    assert f"This gallery holds {model} vectors, so {model} is used" in said, said
    at = open_page(at, page)  # the sidebar follows the gallery: no other model is on offer
    assert at.session_state["_current"].settings.model == model
    assert not [w.value for w in at.warning if "vectors" in w.value], [w.value for w in at.warning]
    assert not [b for b in at.button if b.key and b.key.startswith("switch_model")]


def test_gallery_create_makes_an_empty_gallery_that_keeps_its_model(db_path, no_models):
    out = cli_run(db_path, "--model", "SFace", "gallery", "create", "lobby")
    assert out.exit_code == 0 and "lobby: a gallery of SFace vectors" in out.stdout, out.output
    assert "lobby: 0 people, 0 faces (SFace)" in cli_run(db_path, "gallery", "list").stdout
    again = cli_run(db_path, "--model", "Dlib", "gallery", "create", "lobby")
    assert again.exit_code == 1 and "gallery 'lobby' holds SFace vectors" in again.stderr, again.output
    again = cli_run(db_path, "gallery", "create", "lobby")  # without --model: the gallery's own, kept
    assert again.exit_code == 0 and again.stdout.strip() == "lobby: a gallery of SFace vectors", again.output
