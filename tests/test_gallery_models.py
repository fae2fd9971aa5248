"""Galleries of two models side by side in one database file: each gallery states its model,
its vectors are never compared with another model's (refused before any model time), files of
the older one-model layout are migrated, and the app uses each gallery's own model."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from workbench.cli import cli
from workbench.errors import DatabaseError, ModelMismatchError, RangeError
from workbench.pipeline import Settings
from workbench.search import search_image
from workbench.store import FaceRecord, Store


def rec(person: str, i: int, seed: int = 0) -> FaceRecord:
    v = np.random.default_rng(seed * 1000 + i).normal(size=128).astype(np.float32)
    return FaceRecord(person=person, image_sha256=f"{person}-{i}-{seed}", source_path=f"{person}{i}.jpg",
                      box=[0, 0, 50, 50], landmarks=[0.0] * 10, quality={"size": 50}, det_score=1.0,
                      detector="hog", embedding=v / np.linalg.norm(v))


def test_two_models_side_by_side_in_one_file(db_path):
    with Store(db_path) as db:
        db.faces.add("dlib-g", [rec("ann", 1), rec("bob", 2)], model="Dlib")
        db.faces.add("sface-g", [rec("ann", 1, 1), rec("cy", 3, 1)], model="SFace")
        table = {r["gallery"]: r for r in db.galleries.list().iter_rows(named=True)}
        assert (table["dlib-g"]["model"], table["sface-g"]["model"]) == ("Dlib", "SFace")
        assert db.vectors.matrix("sface-g", "SFace").model == "SFace" and db.vectors.matrix("dlib-g", "Dlib").vectors.shape == (2, 128)
        with pytest.raises(ModelMismatchError, match="holds SFace vectors"):
            db.vectors.matrix("sface-g", "Dlib")
        before = db.faces.list("dlib-g").height
        with pytest.raises(ModelMismatchError, match="holds Dlib vectors"):
            db.faces.add("dlib-g", [rec("dan", 4, 1)], model="SFace")
        assert db.faces.list("dlib-g").height == before  # nothing written
        # the same photo in galleries of two models is no duplicate; within one model it is
        assert db.faces.has_image("sface-g", "ann-1-1", "SFace") and not db.faces.has_image("sface-g", "ann-1-1", "Dlib")
        # a gallery keeps the model it was made for, empty or not
        db.galleries.create("empty", "Dlib")
        with pytest.raises(ModelMismatchError, match="holds Dlib vectors"):
            db.faces.add("empty", [rec("eve", 5, 2)], model="SFace")
        assert db.galleries.model("empty") == "Dlib" and db.galleries.size("empty") == 0
    with Store(db_path) as db:  # opened for SFace: the Dlib gallery is still Dlib's
        assert db.galleries.model("dlib-g") == "Dlib"
        with pytest.raises(DatabaseError, match="512-d vectors"):
            db.faces.add("new", [rec("x", 1)], model="Facenet512")


def test_a_file_of_the_one_model_layout_is_migrated(db_path):
    with Store(db_path) as db:
        db.faces.add("g", [rec("ann", 1)], model="Dlib")
        db.galleries.create("empty", "Dlib")
    con = duckdb.connect(str(db_path))  # undo the new column: the file as the older version wrote it
    con.execute("ALTER TABLE galleries DROP COLUMN model")
    con.close()
    with Store(db_path, read_only=True) as db:  # read-only: cannot migrate, still reads
        assert not db.db.gallery_models and db.galleries.list()["model"].to_list() == ["Dlib", "Dlib"]
        assert db.vectors.matrix("g", "Dlib").model == "Dlib"
    with Store(db_path) as db:  # opened for another model of the same size: migrated
        assert db.db.gallery_models and db.galleries.model("g") == "Dlib" and db.galleries.model("empty") == "Dlib"
        with pytest.raises(ModelMismatchError):
            db.vectors.matrix("g", "SFace")


def test_parquet_carries_the_model_into_a_gallery_of_its_own(db_path, tmp_path):
    with Store(db_path) as db:
        db.faces.add("dlib-g", [rec("ann", 1)], model="Dlib")
        db.faces.add("sface-g", [rec("bob", 2, 1)], model="SFace")
        db.transfer.export_parquet("sface-g", tmp_path / "s.parquet")
        assert db.transfer.import_parquet(tmp_path / "s.parquet", "copy") == (1, 0)
        assert db.galleries.model("copy") == "SFace"
        with pytest.raises(ModelMismatchError):
            db.transfer.import_parquet(tmp_path / "s.parquet", "dlib-g")
        assert db.faces.list("dlib-g").height == 1
        # SFace vectors are stored at unit length: a longer one was not made by SFace (crafted, scaled)
        df = pl.read_parquet(tmp_path / "s.parquet")
        df.with_columns(pl.col("embedding") * 1.5).write_parquet(tmp_path / "scaled.parquet")
        with pytest.raises(RangeError, match="length 0.99 to 1.01"):
            db.transfer.import_parquet(tmp_path / "scaled.parquet", "scaled")
        assert "scaled" not in db.galleries.list()["gallery"].to_list()


def test_searching_a_gallery_with_another_models_vectors_is_refused_before_work(db_path, astronaut_png):
    with Store(db_path) as db:
        db.faces.add("g", [rec("ann", 1)], model="Dlib")
        with pytest.raises(ModelMismatchError, match="holds Dlib vectors"):
            search_image(db, "g", astronaut_png, Settings(detector="yunet", model="SFace"))
        assert db.search_log.rows().height == 0
    out = CliRunner().invoke(cli, ["--db", str(db_path), "--model", "SFace", "--detector", "yunet", "search",
                                   str(astronaut_png), "--gallery", "g"])
    assert out.exit_code == 1 and out.output.count("\n") == 1 and "--model Dlib" in out.output, out.output
    out = CliRunner().invoke(cli, ["--db", str(db_path), "--model", "SFace", "enrol", str(astronaut_png),
                                   "--gallery", "g", "--consent"])
    assert out.exit_code == 1 and "holds Dlib vectors" in out.output, out.output


def test_enrol_and_search_with_sface_in_a_dlib_file(db_path, astronaut_png):
    s = Settings(detector="yunet", model="SFace")
    out = CliRunner().invoke(cli, ["--db", str(db_path), "enrol", str(astronaut_png), "--gallery", "d",
                                   "--person", "eileen", "--consent"])
    assert out.exit_code == 0, out.output
    with Store(db_path) as db:
        from workbench.search.enrol import enrol_path

        assert enrol_path(db, "s", astronaut_png, s, person="eileen").enrolled == 1
        r = search_image(db, "s", astronaut_png, s)
        best = r.faces[0].best
        assert best.person == "eileen" and best.match and best.distance < 0.01
        log = db.search_log.rows()
        assert log["model"].to_list() == ["SFace"]


def _sidebar_and_gallery() -> None:
    """The app's shared sidebar and the gallery guard the Live, Compare and Metrics pages use."""
    import streamlit as st

    from workbench.app import ui

    cur = ui.sidebar()
    st.session_state["_current"] = cur
    if ui.gallery_matrix(cur.gallery) is not None:
        st.subheader("searchable with " + cur.settings.model)


def test_app_uses_the_gallery_model_without_a_switch(db_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    with Store(db_path) as db:
        db.faces.add("sg", [rec("ann", 1, 1), rec("bob", 2, 1)], model="SFace")
        db.faces.add("dg", [rec("cy", 3)], model="Dlib")
    monkeypatch.setenv("WORKBENCH_DB", str(db_path))
    at = AppTest.from_function(_sidebar_and_gallery, default_timeout=60)
    at.session_state["gallery"] = "dg"
    at.run()
    assert not at.warning and [s.value for s in at.subheader] == ["searchable with Dlib"]
    assert any("faces of Dlib" in c.value for c in at.sidebar.caption), [c.value for c in at.sidebar.caption]
    assert not [b for b in at.button if b.key and b.key.startswith("switch_model")]  # nothing to switch
    at.selectbox(key="gallery").set_value("sg").run()
    assert not at.warning and [s.value for s in at.subheader] == ["searchable with SFace"]
    assert any("faces of SFace" in c.value for c in at.sidebar.caption), [c.value for c in at.sidebar.caption]


def test_a_model_of_another_vector_size_is_told_to_use_another_file(db_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    with Store(db_path):  # a 128-d file (Dlib, SFace) with no gallery yet: the model is a choice
        pass
    monkeypatch.setenv("WORKBENCH_DB", str(db_path))
    at = AppTest.from_function(_sidebar_and_gallery, default_timeout=60).run()
    at.selectbox(key="model").set_value("Facenet512").run()
    warned = [w.value.replace("\\", "") for w in at.sidebar.warning]  # literal() escapes punctuation
    assert any("Facenet512 makes 512-d vectors" in w and "models: SFace, Dlib, Facenet, OpenFace" in w
               for w in warned), warned


def test_home_page_lists_each_gallery_with_its_model(db_path, monkeypatch):
    from test_app import app

    with Store(db_path) as db:
        db.faces.add("sg", [rec("ann", 1, 1)], model="SFace")
        db.faces.add("dg", [rec("bob", 2)], model="Dlib")
    at = app(db_path, monkeypatch).run()
    table = at.dataframe[0].value
    assert dict(zip(table["gallery"], table["model"])) == {"dg": "Dlib", "sg": "SFace"}


def test_an_sface_gallery_can_be_searched_through_an_index(db_path, astronaut_png):
    """SFace's vectors are unit length, so the euclidean index ranks as cosine would."""
    from workbench.search.enrol import enrol_path

    s = Settings(detector="yunet", model="SFace")
    with Store(db_path) as db:
        enrol_path(db, "s", astronaut_png, s, person="eileen", workers=1)
        db.faces.add("s", [rec(f"p{i}", i, 3) for i in range(40)], model="SFace")
        exact = search_image(db, "s", astronaut_png, s, log=False).faces[0].matches
        via = search_image(db, "s", astronaut_png, s, log=False, index_kind="exact").faces[0].matches
        assert [(m.person, m.distance) for m in via] == [(m.person, m.distance) for m in exact]
        assert via[0].person == "eileen"
