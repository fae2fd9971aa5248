"""The Cameras page in AppTest: two cameras on a demo clip, watched at once; sightings of both
in the table, the timeline, alerts (table and toast) for the person of interest, and the
anonymous identity they left, reviewed and named."""

from __future__ import annotations

from pathlib import Path

import pytest
from footage import write_footage
from streamlit.testing.v1 import AppTest

from workbench.app.cameras_view import NO_CANDIDATE, STREAM
from workbench.app.consent import EXCEPTION, MISSING
from workbench.store import Store

ROOT = Path(__file__).resolve().parent.parent
A, B, C = "obama", "angelina_jolie", "kit_harington"


@pytest.fixture()
def cameras_app(cast, tmp_path, monkeypatch):
    from workbench.pipeline import Settings
    from workbench.search.enrol import Source, enrol_sources
    demo = tmp_path / "clips"
    demo.mkdir()
    write_footage(demo / "lobby.mp4", [(A, cast.photo(A, 2)), (C, cast.photo(C, 1)), (B, cast.photo(B, 2))])
    db = tmp_path / "app.duckdb"
    with Store(db) as g:
        enrol_sources(g, "demo", [Source("a", A, cast.photo(A, 1)), Source("b", B, cast.photo(B, 1))],
                      Settings(model="Dlib"), workers=1)  # a Dlib gallery (this footage's figures): the page follows it
        g.watchlist.add("demo", A)
    monkeypatch.setenv("WORKBENCH_DB", str(db))
    monkeypatch.setenv("WORKBENCH_FACES", str(demo))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/cameras.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at, db


def finish(at: AppTest) -> None:
    """Wait for the page's watch to end (its writer thread), then draw the page again."""
    at.session_state["cam_watch"]._thread.join(timeout=300)
    at.run()


def shown(at: AppTest) -> str:
    """Everything the page shows (text, tables, charts, messages), but the inputs' own values."""
    parts = [str(getattr(el, "value", "")) for kind in ("markdown", "caption", "subheader", "success", "info",
                                                        "error", "warning", "exception", "title") for el in at.get(kind)]
    parts += [el.value.to_string() for el in at.dataframe] + [str(el.proto) for el in at.get("plotly_chart")]
    parts += [str(t.proto) for t in at.toast]
    from workbench.app.ui import WORD_JOINER

    return "\n".join(parts).replace("\\", "").replace(WORD_JOINER, "")  # as read, without Markdown escapes


def test_two_cameras_are_watched_side_by_side_with_sightings_alerts_and_identities(cameras_app):
    at, db = cameras_app
    assert [s.value for s in at.selectbox if s.key and s.key.startswith("cam_src_")] == ["lobby.mp4", "lobby.mp4"]
    at.toggle(key="cam_fast").set_value(True).run()
    at.toggle(key="cam_chips").set_value(True).run()
    at.button(key="cam_start").click().run()
    assert not at.exception, [e.message for e in at.exception]
    finish(at)
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
    at.button(key="ident_enrol").click().run()  # naming enrols: not without the consent choice
    assert [e.value for e in at.error] == [MISSING]
    at.radio(key="ident_consent").set_value(EXCEPTION).run()
    at.text_input(key="ident_reason").input("research exception: the class's own footage").run()
    at.button(key="ident_enrol").click().run()
    assert not at.exception and any("the visitor" in s.value for s in at.success)
    from workbench.app import ui

    p = ui.get_db(str(db)).faces.people("demo").to_pandas().set_index("name").loc["the visitor"]  # the app's connection
    assert p["consent_status"] == "no consent: research exception: the class's own footage" and int(p["faces"]) == 2


def test_a_new_gallery_shows_its_identities_as_soon_as_the_watch_ends(cameras_app, monkeypatch, tmp_path):
    """Issue 24, point 13: right after "3 new anonymous identities" the page said "Anonymous
    identities: None yet" (the gallery did not exist when the page started drawing)."""
    with Store(tmp_path / "new.duckdb") as g:  # a new, empty gallery (watching never makes one: issue 24, point 11)
        g.galleries.create("demo", "Dlib")
    monkeypatch.setenv("WORKBENCH_DB", str(tmp_path / "new.duckdb"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/cameras.py").run()
    assert any("None yet" in c.value for c in at.caption)
    assert any("demo is empty" in i.value for i in at.info), [i.value for i in at.info]  # said before any result
    at.number_input(key="cam_n").set_value(1).run()
    at.toggle(key="cam_fast").set_value(True).run()
    def outcome(at: AppTest) -> tuple[list[str], list[str], int]:
        return ([s.value for s in at.success if "done" in s.value], [c.value for c in at.caption], len(at.dataframe))

    at.button(key="cam_start").click().run()
    renders = [outcome(at)]  # right after the click (the run may or may not have ended by then)
    finish(at)
    renders.append(outcome(at))
    assert renders[-1][0], "no outcome after the watch ended"
    for done, captions, tables in renders:
        if done:  # whenever the outcome is up, the identities it made are listed beside it
            assert not any("None yet" in c for c in captions), done
            assert int(done[0].split(" new anonymous")[0].split()[-1]) >= 1 and tables == 3, (done, tables)
    table = at.dataframe[0].value
    assert set(table["distance"]) == {NO_CANDIDATE}  # an empty gallery: no candidate, said in words
    assert {"who", "similarity", "seconds into the video"} <= set(table.columns)
    assert all(w.startswith("unknown ") and len(w) == len("unknown 0001") for w in table["who"])
    import json

    layout = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]
    assert layout["yaxis"]["automargin"] is True  # "unknown 0007" in full on the timeline


def test_a_stream_with_a_password_is_watched_and_its_password_never_shown(cameras_app, cast, tmp_path):
    """Issue 24, points 6 and 13: a stream's user and password are on no page; while a watch
    runs, its banner says so (the previous run's outcome does not stay up)."""
    import socket

    from footage import MjpegServer, frame_of

    at, _ = cameras_app
    with socket.socket() as sock:  # bound, never listening: refused
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    server = MjpegServer([frame_of(cast.photo(A, 2))], frames=3000, serve_connections=5)  # at most 100 s
    try:
        at.number_input(key="cam_n").set_value(2).run()
        for i, url in enumerate([server.url.replace("http://", "http://admin:s3cr3t@"),
                                 f"rtsp://admin:s3cr3t@127.0.0.1:{closed}/s"]):
            at.selectbox(key=f"cam_src_{i}").set_value(STREAM).run()
            at.text_input(key=f"cam_url_{i}").input(url).run()
        assert all(t.proto.type == t.proto.PASSWORD for t in at.text_input if t.key.startswith("cam_url_"))
        at.number_input(key="cam_retries").set_value(0).run()
        at.button(key="cam_start").click().run()
        assert not at.exception, [e.message for e in at.exception]
        assert at.session_state["cam_watch"].running  # the page is drawn while the watch runs ...
        assert [i.value for i in at.info if "is running" in i.value] and not at.success  # ... and says so
        during = shown(at)
        at.button(key="cam_stop").click().run()
        finish(at)
    finally:
        server.close()
    after = shown(at)
    assert any("done" in s.value and "failed: camera 2" in s.value for s in at.success), after
    assert f"127.0.0.1:{closed}/s" in after  # the failed camera's source and message, without the password
    for text in (during, after):
        assert "s3cr3t" not in text and "admin:" not in text


def test_a_camera_made_worse_on_the_page_says_its_conditions_and_why_faces_stay_unknown(cameras_app):
    """Issue 21: a camera-quality control per source; the conditions it made are shown and recorded
    with the run, and every unknown sighting says why (hog + Dlib, the sidebar's default)."""
    at, db = cameras_app
    at.toggle(key="cam_fast").set_value(True).run()
    at.number_input(key="cam_dist_1").set_value(30.0).run()
    assert "30 m from a 1080p camera (1,920 px across) with a 90° lens" in shown(at)
    at.button(key="cam_start").click().run()
    assert not at.exception, [e.message for e in at.exception]
    finish(at)
    text = shown(at)
    assert "Camera quality: 30 m from a 1080p camera" in text and "this footage's faces measure" in text, text
    table = at.dataframe[0].value
    assert "why unknown" in table.columns and set(table["camera"]) == {"camera 1"}  # 5-px faces: no face found
    strangers = table[~table["who"].isin([A, B])]
    assert len(strangers) and all(w.startswith("under the threshold: the best candidate, ") for w in strangers["why unknown"])
    assert all(w == "" for w in table[table["who"].isin([A, B])]["why unknown"])
    from workbench.app import ui

    g = ui.get_db(str(db))  # the app's connection
    run = int(g.runs.list("demo")["id"].max())
    cams = {c.camera: c for _, c in g.runs.cameras([run])}
    assert cams["camera 2"].quality == "distance=30" and cams["camera 1"].quality == ""
    assert "faces measure" in cams["camera 2"].conditions and cams["camera 1"].conditions == "as recorded"
