"""The better pair by default (issue 23, part 2): a new gallery is yunet + SFace, from the CLI and
from the app; an existing gallery keeps its model (a Dlib gallery is enrolled into and searched
with hog + Dlib without --model), and the app's sidebar follows the selected gallery's model."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from workbench.cli import cli
from workbench.store import FaceRecord, Store


def run(db, *args: str):
    return CliRunner().invoke(cli, ["--db", str(db), *(str(a) for a in args)])


def rec(person: str, i: int) -> FaceRecord:
    v = np.random.default_rng(i).normal(size=128).astype(np.float32)
    return FaceRecord(person=person, image_sha256=f"{person}-{i}", source_path=f"{person}{i}.jpg",
                      box=[0, 0, 50, 50], landmarks=[0.0] * 10, quality={"size": 50}, det_score=1.0,
                      detector="hog", embedding=v / np.linalg.norm(v))


def stored(db_path, gallery: str) -> tuple[str, set, list]:
    """The gallery's model, the (model, detector) of its faces, and the search log's (model, detector)."""
    with Store(db_path, read_only=True) as db:
        cur = db.db.cursor()
        pairs = set(cur.execute("SELECT model, detector FROM faces WHERE gallery_id = ?",
                                [db.galleries.id(gallery)]).fetchall())
        log = cur.execute("SELECT model, detector FROM searches WHERE gallery = ? ORDER BY id", [gallery]).fetchall()
        return db.galleries.model(gallery), pairs, log


def test_a_new_gallery_from_the_cli_is_yunet_and_sface(db_path, astronaut_png):
    r = run(db_path, "enrol", astronaut_png, "--gallery", "new", "--person", "eileen", "--consent")
    assert r.exit_code == 0, r.output
    r = run(db_path, "search", astronaut_png, "--gallery", "new", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["faces"][0]["verdict"].startswith("match"), r.stdout
    assert stored(db_path, "new") == ("SFace", {("SFace", "yunet")}, [("SFace", "yunet")])
    r = run(db_path, "gallery", "create", "empty")
    assert r.exit_code == 0 and r.output.strip() == "empty: a gallery of SFace vectors", r.output


def test_a_dlib_gallery_keeps_dlib_at_enrol_and_search_without_model(db_path, astronaut_png, tmp_path):
    r = run(db_path, "--model", "Dlib", "gallery", "create", "old")  # as a gallery of the 2017 default
    assert r.exit_code == 0 and "a gallery of Dlib vectors" in r.output, r.output
    r = run(db_path, "enrol", astronaut_png, "--gallery", "old", "--person", "eileen", "--consent")
    assert r.exit_code == 0, r.output
    r = run(db_path, "search", astronaut_png, "--gallery", "old", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["metric"] == "euclidean" and out["threshold"] == 0.6  # Dlib's own, not SFace's cosine 0.637
    assert stored(db_path, "old") == ("Dlib", {("Dlib", "hog")}, [("Dlib", "hog")])
    r = run(db_path, "gallery", "create", "old")  # creating it again keeps it as it is
    assert r.exit_code == 0 and r.output.strip() == "old: a gallery of Dlib vectors", r.output
    # a --model that contradicts the gallery is refused in one line, nothing written
    r = run(db_path, "--model", "SFace", "search", astronaut_png, "--gallery", "old")
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [
        "workbench: gallery 'old' holds Dlib vectors, and SFace vectors are never compared with them: use Dlib "
        "(--model Dlib, or no --model: a gallery is used with its own), or another gallery"]
    assert len(stored(db_path, "old")[2]) == 1


def test_the_identities_and_watch_commands_take_the_gallerys_model(db_path, tmp_path):
    with Store(db_path) as db:
        db.faces.add("old", [rec("ann", 1)], model="Dlib")
    r = run(db_path, "identities", "recluster", "--gallery", "old")
    assert r.exit_code == 0 and "0 anonymous sighting(s)" in r.output, r.output
    r = run(db_path, "watch", "cam=missing.mp4", "--gallery", "old")  # refused for the file, not the model
    assert "holds Dlib vectors" not in r.output, r.output
    r = run(db_path, "--model", "SFace", "identities", "recluster", "--gallery", "old")
    assert r.exit_code == 1 and "holds Dlib vectors" in r.stderr, r.output


# -- the app ------------------------------------------------------------------------------------

def _sidebar() -> None:
    import streamlit as st

    from workbench.app import ui

    cur = ui.sidebar()
    st.session_state["_current"] = cur
    st.subheader(f"{cur.settings.detector} + {cur.settings.model}")


def test_a_new_gallery_from_the_app_is_sface(db_path, monkeypatch):
    from test_app import app, open_page

    at = app(db_path, monkeypatch).run()  # a new file: the sidebar's gallery 'demo' does not exist yet
    assert at.selectbox(key="model").value == "SFace"
    assert at.selectbox(key="detector_SFace").value == "yunet"
    at = open_page(at, "enrol")
    assert at.selectbox(key="new_gallery_model").value == "SFace"
    at.text_input(key="new_gallery").input("made in the app").run()
    at.button(key="create_gallery").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    from workbench.app import ui

    assert ui.get_db(str(db_path)).galleries.model("made in the app") == "SFace"
    ui.get_db.clear()


def test_the_sidebar_follows_the_selected_gallerys_model(db_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from workbench.app import ui

    monkeypatch.setenv("WORKBENCH_DB", str(db_path))
    at = AppTest.from_function(_sidebar, default_timeout=60).run()  # no gallery yet: 'demo' is a new one
    assert [s.value for s in at.subheader] == ["yunet + SFace"] and not at.selectbox(key="model").disabled
    at.selectbox(key="model").set_value("Dlib").run()  # a new gallery may be made for another model
    assert [s.value for s in at.subheader] == ["hog + Dlib"]
    db = ui.get_db(str(db_path))  # the app's own store (one per file and process)
    db.faces.add("dg", [rec("ann", 1)], model="Dlib")
    db.faces.add("sg", [rec("bob", 2)], model="SFace")
    at.run()
    at.selectbox(key="gallery").set_value("dg").run()
    assert [s.value for s in at.subheader] == ["hog + Dlib"]  # Dlib used, with its own detector
    said = " ".join(c.value.replace("\\", "") for c in at.sidebar.caption)
    assert "dg: 1 faces of Dlib. This gallery holds Dlib vectors, so Dlib is used" in said, said
    assert not at.warning and at.selectbox(key="model_of_gallery").disabled  # no mismatch on offer
    at.selectbox(key="gallery").set_value("sg").run()  # the gallery's model wins over the choice for new ones
    assert [s.value for s in at.subheader] == ["yunet + SFace"]
    assert at.selectbox(key="model_of_gallery").value == "SFace" and not at.warning
    ui.get_db.clear()


def test_the_enrol_page_over_a_dlib_gallery_enrols_with_dlib_and_says_its_limits(astronaut, tmp_path, db_path,
                                                                                 monkeypatch):
    from PIL import Image
    from test_app import app, open_page

    from workbench.app import ui

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(astronaut).resize((170, 170), Image.LANCZOS).save(photos / "small.png")  # her face ~30 px
    with Store(db_path) as db:
        db.faces.add("dg", [rec("ann", 1)], model="Dlib")
    monkeypatch.setenv("WORKBENCH_FACES", str(photos))
    session = app(db_path, monkeypatch)
    session.session_state["detector_Dlib"] = "yunet"  # hog finds no face under 37 px: YuNet's 30-px box
    at = open_page(session.run(), "enrol")  # 'dg' selected: Dlib, so Dlib's gate
    at.text_input(key="enrol_person").input("eileen").run()
    at.radio(key="enrol_consent").set_value("They consented to being enrolled").run()
    at.multiselect(key="enrol_samples").select("small.png").run()
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    said = " ".join(w.value.replace("\\", "") for w in at.warning)
    assert "Dlib's gate needs at least 37 px" in said, said  # Dlib's limit, not SFace's (31 px)
    ui.get_db.clear()
