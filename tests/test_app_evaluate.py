"""The Evaluate page through streamlit.testing.v1.AppTest: empty database, a pairs evaluation
re-run at another threshold from the cache, and the replay against the demo gallery."""

from __future__ import annotations

from test_app import app, open_page


def test_evaluate_page_renders_on_an_empty_database(db_path, monkeypatch):
    at = open_page(app(db_path, monkeypatch).run(), "evaluate")
    assert [t.value for t in at.title] == ["Evaluate"]
    assert not at.error, [e.value for e in at.error]


def evaluate_master(at):
    at = open_page(at, "evaluate")
    at.selectbox(key="eval_set").select("pairs: deepface-unit/master.csv").run()
    at.button(key="eval_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at, {m.label: m.value for m in at.metric}


def test_pairs_evaluation_and_a_cheap_rerun_at_another_threshold(faces, db_path, monkeypatch):
    at, shown = evaluate_master(app(db_path, monkeypatch).run())
    assert shown["Accuracy"] == "99.67%" and shown["FMR"] == "0.00%" and shown["FNMR"] == "2.63%"
    assert len(at.get("plotly_chart")) == 4
    assert any("0 vectors from the cache, 25 computed" in c.value for c in at.caption)
    # a new session on the same database, with a stricter threshold in the sidebar
    again = app(db_path, monkeypatch)
    again.session_state["similarity_Dlib"] = 95.0  # distance 0.4543
    at, stricter = evaluate_master(again.run())
    assert any("threshold 0.4543" in c.value and "25 vectors from the cache, 0 computed" in c.value
               for c in at.caption), [c.value for c in at.caption]
    assert float(stricter["FNMR"].rstrip("%")) > 2.63 and stricter["FMR"] == "0.00%"


def test_replay_flags_innocent_probes(faces, db_path, monkeypatch):
    at = app(db_path, monkeypatch).run()
    at.button[0].click().run()  # Home: "Load demo gallery"
    at = open_page(at, "evaluate")
    at.selectbox(key="replay_probes").select("retinaface").run()  # 3 photos of strangers: quick
    assert at.button(key="replay_run").disabled  # who the probes are must be stated first
    at.radio(key="replay_identity").set_value("None of these people is in the gallery (I state it)").run()
    at.slider(key="replay_similarity").set_value(50.0).run()
    at.button(key="replay_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("3 innocent probes" in m.value and "9 faces" in m.value for m in at.markdown), \
        [m.value for m in at.markdown]
    table = at.dataframe[0].value
    assert list(table["similarity"]) == [50.0, 80.0, 90.0, 95.0, 99.0]
    assert list(table["flagged"]) == sorted(table["flagged"], reverse=True)
    assert len(at.get("plotly_chart")) == 3  # flagged, growth, and the scale answer
    scale = " ".join(m.value for m in at.markdown).replace("\\", "")  # shown literally: escaped
    assert "300,000 faces at 80 %" in scale and "20,000,000 faces at 99 %" in scale
