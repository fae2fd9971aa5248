"""Every page through streamlit.testing.v1.AppTest: renders on an empty database, and its
main action works on the real photos that ship with the package (as in a bare clone)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["home", "story", "live", "cameras", "enrol", "search", "compare", "gallery", "metrics", "glossary", "audit",
         "robustness"]


def app(db_path: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("WORKBENCH_DB", str(db_path))
    monkeypatch.chdir(ROOT)
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)


def open_page(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_an_empty_database(page, db_path, monkeypatch):
    at = app(db_path, monkeypatch).run()
    assert not at.exception
    open_page(at, page)
    assert at.title, f"{page} has no title"
    assert not at.error, [e.value for e in at.error]


def test_locked_database_is_a_visible_message_not_a_traceback(db_path, monkeypatch):
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c", "import duckdb,sys,time; c = duckdb.connect(sys.argv[1]);"
                               "print('ok', flush=True); time.sleep(60)", str(db_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        at = app(db_path, monkeypatch).run()
        assert not at.exception
        assert any("locked by another process" in e.value for e in at.error)
    finally:
        holder.kill()
        holder.wait()


@pytest.fixture()
def demo_app(demo_photos, db_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("WORKBENCH_FACES", str(demo_photos))  # the pickers offer the packaged photos only
    at = app(db_path, monkeypatch).run()
    at.button[0].click().run()  # Home: "Load demo gallery"
    assert not at.exception
    assert any("9 face(s) enrolled" in s.value for s in at.success), [s.value for s in at.success]
    return at


def test_home_shows_gallery_sizes_after_loading_the_demo(demo_app):
    df = demo_app.dataframe[0].value
    assert list(df["gallery"]) == ["demo"] and list(df["faces"]) == [9] and list(df["people"]) == [5]
    demo_app.run()  # once the demo gallery exists, Home no longer offers to load it
    assert not [b for b in demo_app.button if b.key == "load_demo"]


def test_enrol_page_creates_a_gallery_and_switches_to_it(db_path, monkeypatch):
    at = open_page(app(db_path, monkeypatch).run(), "enrol")
    at.text_input(key="new_gallery").input("suspects 2024").run()
    at.button(key="create_gallery").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.switch_page("app.py").run()  # AppTest re-runs only the page; the app's rerun runs the sidebar too
    assert at.session_state["_current"].gallery == "suspects 2024"  # the sidebar switched to it
    at = open_page(at, "enrol")
    assert "into gallery **suspects 2024**" in at.caption[0].value.lower(), at.caption[0].value


def test_search_page_finds_both_people_and_rethresholds(demo_app):
    at = open_page(demo_app, "search")
    at.selectbox(key="search_sample").select(
        "face-recognition-examples/knn_examples/test/obama_and_biden.jpg").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert {"obama", "biden"} <= set(table[table["verdict"] == "MATCH"]["best candidate"])
    assert not at.get("plotly_chart")  # a compact table, not a chart per face
    # the what-if slider starts at the sidebar's threshold and changes only the "would match" count
    assert at.slider(key="search_whatif").value == 80.0
    at.slider(key="search_whatif").set_value(99.9).run()  # far stricter: nobody would match
    summary = at.subheader[0].value
    assert "2 matched at 80 %" in summary and "0 would match at 100 %" in summary, summary
    # a crowd: one annotated photo, one summary line, one row per face (not a page of charts)
    at.selectbox(key="search_sample").select("retinaface/img3.jpg").run()
    assert not at.exception
    assert at.subheader[0].value.startswith("159 faces found")  # yunet, the default's detector (hog finds 23)
    assert len(at.get("image")) == 1 and at.dataframe[0].value.shape[0] == 159
    # a face that was not searched has no similarity: a dash, not the word "None"
    assert at.dataframe[0].value["similarity %"].isna().sum() > 100 and at.dataframe[0].proto.placeholder == "-"


def test_enrol_page_enrols_with_consent_and_shows_verdicts(demo_app):
    at = open_page(demo_app, "enrol")
    at.text_input(key="enrol_person").input("lin").run()
    at.radio(key="enrol_consent").set_value("They consented to being enrolled").run()
    at.multiselect(key="enrol_samples").select("face-recognition-examples/lin-manuel-miranda.png") \
        .select("deepface-unit/img5.jpg").run()
    at.button[0].click().run()
    assert not at.exception
    assert any("2 face(s) enrolled for lin" in s.value for s in at.success), [s.value for s in at.success]
    assert at.get("image"), "no face thumbnails shown"

    at2 = open_page(at, "gallery")
    people = at2.dataframe[0].value
    row = people[people["name"] == "lin"]
    assert row["consent"].iloc[0] == "consent given" and int(row["faces"].iloc[0]) == 2


def test_bad_photos_give_visible_messages_and_write_nothing(db_path, monkeypatch, tmp_path, blank_png):
    import shutil

    from conftest import file_state

    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(blank_png, bad / "blank.png")
    (bad / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    (bad / "zero.jpg").write_bytes(b"")
    (bad / "junk.mp4").write_bytes(b"this is no video" * 64)
    monkeypatch.setenv("WORKBENCH_FACES", str(bad))
    at = app(db_path, monkeypatch).run()
    before = file_state(db_path)
    at = open_page(at, "enrol")
    at.text_input(key="enrol_person").input("nobody").run()
    at.radio(key="enrol_consent").set_value("They consented to being enrolled").run()
    at.multiselect(key="enrol_samples").select("blank.png").select("corrupt.jpg").select("zero.jpg").run()
    at.button[0].click().run()
    assert not at.exception
    warnings = " ".join(w.value.replace("\\", "") for w in at.warning)
    # plain words, what happened and what to try, never a code or a library's name
    assert "0 face(s) enrolled" in warnings and "No face was found in this photo. Try one" in warnings
    assert "corrupt.jpg: The photo is damaged or cut short" in warnings
    assert "zero.jpg: The file is empty (0 bytes)" in warnings
    for code in ("no_face", "unreadable", "Pillow", "corrupt or truncated"):
        assert code not in warnings, code
    assert len(at.get("image")) == 1  # the thumbnail of the one rejected photo that can be decoded (blank.png)
    at = open_page(at, "search")
    at.selectbox(key="search_sample").select("corrupt.jpg").run()
    assert not at.exception and any("damaged or cut short" in e.value for e in at.error)
    at.selectbox(key="search_sample").select("blank.png").run()
    # the sidebar's gallery does not exist: said in the main area, and nothing is searched
    assert not at.exception and any("does not exist yet" in i.value for i in at.info), [i.value for i in at.info]
    at = open_page(at, "live")
    at.radio(key="live_mode").set_value("Video file").run()
    at.selectbox(key="live_clip").select("junk.mp4").run()
    [b for b in at.button if b.label == "Process video"][0].click().run()
    assert not at.exception and any("not a video the workbench can open" in e.value for e in at.error), \
        [e.value for e in at.error]
    assert not at.success
    assert file_state(db_path) == before


def test_compare_page_verifies_and_places_the_pair(demo_app):
    at = open_page(demo_app, "compare")
    at.selectbox(key="cmp_a_sample").select("face-recognition-examples/knn_examples/train/obama/obama.jpg").run()
    at.selectbox(key="cmp_b_sample").select("face-recognition-examples/knn_examples/train/obama/obama2.jpg").run()
    assert not at.exception
    assert any("SAME person" in s.value for s in at.success), [e.value for e in at.error]
    assert at.get("plotly_chart")


def test_gallery_page_deletes_a_person_and_purges(demo_app):
    at = open_page(demo_app, "gallery")
    assert at.dataframe[0].value.shape[0] == 5
    assert at.get("download_button")[0].proto.label.startswith("Export as CSV")  # beside the Parquet export
    at.button(key="del_person_biden").click().run()  # says what it removes first
    assert "biden" in list(at.dataframe[0].value["name"])
    at.button(key="del_person_biden__yes").click().run()
    assert not at.exception
    assert "biden" not in list(at.dataframe[0].value["name"])
    at.checkbox(key="purge_ok").check().run()
    [b for b in at.button if b.label == "Purge gallery"][0].click().run()
    assert any("Purged 7 face(s)" in s.value for s in at.success)


def test_metrics_page_counts_errors_and_charts_the_log(demo_app):
    at = open_page(demo_app, "search")
    at.selectbox(key="search_sample").select("face-recognition-examples/knn_examples/test/obama1.jpg").run()
    at = open_page(at, "metrics")
    assert any("1 searches" in h.value for h in at.subheader), [h.value for h in at.subheader]
    labels = {m.label: m.value for m in at.metric}
    assert labels["Pairs"] == "36"  # 9 faces -> 36 pairs
    assert labels["False matches"].endswith("/ 32")
    assert len(at.get("plotly_chart")) == 3


def test_live_page_plays_the_demo_clip(demo_app, demo_photos):
    from workbench.app import ui
    from workbench.search.enrol import enrol_path

    # Lin-Manuel Miranda opens the clip: put him in the gallery, through the app's own connection
    enrol_path(ui.get_db(str(demo_app.session_state["_current"].db_path)), "demo",
               demo_photos / "face-recognition-examples/lin-manuel-miranda.png", person="lin", workers=1)
    at = open_page(demo_app, "live")
    at.radio(key="live_mode").set_value("Video file").run()
    at.selectbox(key="live_clip").select("face-recognition-examples/short_hamilton_clip.mp4").run()
    at.slider(key="live_max").set_value(30).run()
    [b for b in at.button if b.label == "Process video"][0].click().run()
    assert not at.exception
    done = [s.value for s in at.success]
    assert done and "faces detected" in done[0]
    n_faces = int(done[0].split("frames processed, ")[1].split(" faces")[0])
    assert n_faces > 0
    # after the clip: who was seen, and when (seconds into the clip), from this run's identifications
    seen = [d.value for d in at.dataframe if "who" in d.value.columns][0]
    lin = seen[seen["who"] == "lin"]
    assert len(lin) == 1 and lin["seen from (s)"].iloc[0] < 0.5 and lin["to (s)"].iloc[0] <= 1.0
    # the summary line counts the same people as the table (yunet + SFace names more than lin in these frames)
    known = {w for w in seen["who"] if not str(w).startswith("unknown")}
    said = "1 known person" if len(known) == 1 else f"{len(known)} known people"
    assert any(f"{said} from gallery" in m.value for m in at.markdown), (known, [m.value for m in at.markdown])

