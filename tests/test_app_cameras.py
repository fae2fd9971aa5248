"""The Cameras page in AppTest: two cameras on a demo clip, watched at once; sightings of both
in the table, the timeline, alerts (table and toast) for the person of interest, and the
anonymous identity they left, reviewed and named."""

from __future__ import annotations

from pathlib import Path

import pytest
from footage import lfw_photo, write_footage
from streamlit.testing.v1 import AppTest

from workbench.store import Store

ROOT = Path(__file__).resolve().parent.parent
A, B, C = "Colin_Powell", "Tony_Blair", "Gerhard_Schroeder"


@pytest.fixture()
def cameras_app(faces, tmp_path, monkeypatch):
    from workbench.search.enrol import Source, enrol_sources

    lfw = faces / "lfw"
    demo = tmp_path / "clips"
    demo.mkdir()
    write_footage(demo / "lobby.mp4", [(A, lfw_photo(lfw, A, 2)), (C, lfw_photo(lfw, C, 1)), (B, lfw_photo(lfw, B, 2))])
    db = tmp_path / "app.duckdb"
    with Store(db) as g:
        enrol_sources(g, "demo", [Source("a", A, lfw_photo(lfw, A, 1)), Source("b", B, lfw_photo(lfw, B, 1))],
                      workers=1)
        g.watchlist.add("demo", A)
    monkeypatch.setenv("WORKBENCH_DB", str(db))
    monkeypatch.setenv("WORKBENCH_FACES", str(demo))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/cameras.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at, db


def test_two_cameras_are_watched_side_by_side_with_sightings_alerts_and_identities(cameras_app):
    at, db = cameras_app
    assert [s.value for s in at.selectbox if s.key and s.key.startswith("cam_src_")] == ["lobby.mp4", "lobby.mp4"]
    at.toggle(key="cam_fast").set_value(True).run()
    at.toggle(key="cam_chips").set_value(True).run()
    at.button(key="cam_start").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("done" in s.value for s in at.success), [s.value for s in at.success]
    heads = [h.value for h in at.subheader]
    assert any(h.startswith("Sightings of this run: ") and int(h.split(": ")[1]) >= 6 for h in heads), heads
    table = at.dataframe[0].value
    assert set(table["camera"]) == {"camera 1", "camera 2"} and {A, B} <= set(table["who"])
    alerts = at.dataframe[1].value
    assert set(alerts["who"]) == {A} and len(alerts) >= 2
    from workbench.app.ui import literal

    assert any(literal(A) in t.proto.body for t in at.toast), [t.proto.body for t in at.toast]
    assert at.get("plotly_chart"), "no timeline"
    idents = at.dataframe[2].value
    assert len(idents) == 1 and set(idents["cameras"].iloc[0]) == {"camera 1", "camera 2"}
    assert at.get("imgs") or at.get("image"), "no chips shown"
    at.text_input(key="ident_name").input("the visitor").run()
    at.checkbox(key="ident_consent").check().run()
    at.button(key="ident_enrol").click().run()
    assert not at.exception and any("the visitor" in s.value for s in at.success)
    from workbench.app import ui

    p = ui.get_db(str(db)).faces.people("demo").to_pandas().set_index("name").loc["the visitor"]  # the app's connection
    assert bool(p["consent"]) and int(p["faces"]) == 2
