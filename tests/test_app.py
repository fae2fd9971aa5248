"""Every page through streamlit.testing.v1.AppTest: renders on an empty database, and its
main action works on the real photos (skipped with a reason when they are absent)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["home", "live", "enrol", "search", "compare", "gallery", "metrics"]


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
def demo_app(faces, db_path, monkeypatch) -> AppTest:
    at = app(db_path, monkeypatch).run()
    at.button[0].click().run()  # Home: "Load demo gallery"
    assert not at.exception
    assert any("9 face(s) enrolled" in s.value for s in at.success), [s.value for s in at.success]
    return at


def test_home_shows_gallery_sizes_after_loading_the_demo(demo_app):
    df = demo_app.dataframe[0].value
    assert list(df["gallery"]) == ["demo"] and list(df["faces"]) == [9] and list(df["people"]) == [5]


def test_search_page_finds_both_people_and_rethresholds(demo_app):
    at = open_page(demo_app, "search")
    at.selectbox(key="search_sample").select(
        "face-recognition-examples/knn_examples/test/obama_and_biden.jpg").run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "**obama**" in text and "**biden**" in text
    assert len(at.get("plotly_chart")) >= 2
    at.slider(key="search_threshold").set_value(0.05).run()  # far stricter: nobody matches now
    text = " ".join(m.value for m in at.markdown)
    assert "**obama**" not in text and text.count("no match") >= 2


def test_enrol_page_enrols_with_consent_and_shows_verdicts(demo_app):
    at = open_page(demo_app, "enrol")
    at.text_input(key="enrol_person").input("lin").run()
    at.checkbox(key="enrol_consent").check().run()
    at.multiselect(key="enrol_samples").select("face-recognition-examples/lin-manuel-miranda.png") \
        .select("deepface-unit/img1.jpg").run()
    at.button[0].click().run()
    assert not at.exception
    assert any("2 face(s) enrolled for lin" in s.value for s in at.success), [s.value for s in at.success]
    assert at.get("image"), "no face thumbnails shown"

    at2 = open_page(at, "gallery")
    people = at2.dataframe[0].value
    row = people[people["name"] == "lin"]
    assert bool(row["consent"].iloc[0]) is True and int(row["faces"].iloc[0]) == 2


def test_bad_photos_give_visible_messages_and_write_nothing(db_path, monkeypatch, tmp_path, blank_png):
    import shutil

    from conftest import file_state, shown

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
    at.multiselect(key="enrol_samples").select("blank.png").select("corrupt.jpg").select("zero.jpg").run()
    at.button[0].click().run()
    assert not at.exception
    warnings = shown(" ".join(w.value for w in at.warning))
    assert "0 face(s) enrolled" in warnings and "no_face" in warnings
    assert "corrupt.jpg: unreadable: corrupt or truncated image" in warnings
    assert "zero.jpg: unreadable: empty file" in warnings
    at = open_page(at, "search")
    at.selectbox(key="search_sample").select("corrupt.jpg").run()
    assert not at.exception and any("corrupt or truncated" in e.value for e in at.error)
    at.selectbox(key="search_sample").select("blank.png").run()
    assert not at.exception and any("unknown gallery" in e.value or "no face" in e.value for e in at.error)
    at = open_page(at, "live")
    at.radio(key="live_mode").set_value("Video file").run()
    at.selectbox(key="live_clip").select("junk.mp4").run()
    [b for b in at.button if b.label == "Process video"][0].click().run()
    assert not at.exception and any("not a video" in e.value for e in at.error), [e.value for e in at.error]
    assert not at.success
    assert file_state(db_path) == before


def test_compare_page_verifies_and_places_the_pair(demo_app):
    at = open_page(demo_app, "compare")
    at.selectbox(key="cmp_a_sample").select("face-recognition-examples/obama.jpg").run()
    at.selectbox(key="cmp_b_sample").select("face-recognition-examples/obama2.jpg").run()
    assert not at.exception
    assert any("SAME person" in s.value for s in at.success), [e.value for e in at.error]
    assert at.get("plotly_chart")


def test_gallery_page_deletes_a_person_and_purges(demo_app):
    at = open_page(demo_app, "gallery")
    assert at.dataframe[0].value.shape[0] == 5
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


def test_live_page_plays_the_demo_clip(demo_app):
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

