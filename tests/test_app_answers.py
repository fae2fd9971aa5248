"""The app's answers through AppTest: Compare lets the user pick the face; Enrol needs a consent
choice, clears after each person and asks which face when several pass; the Gallery page shows who
is there without consent; one threshold in the sidebar, in similarity % with its distance."""

from __future__ import annotations

import numpy as np
from PIL import Image
from test_app import app, open_page


def test_compare_outlines_the_face_it_used_and_lets_the_user_pick_another(demo_photos, db_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_FACES", str(demo_photos))  # the samples offered: the packaged photos
    small = app(db_path, monkeypatch)
    small.session_state["max_side"] = 640  # the sidebar's size cap: the couple's faces stay ~190 px wide
    small.session_state["model"] = "Dlib"  # hog + Dlib, whose faces and distances this test was measured with
    at = open_page(small.run(), "compare")
    at.selectbox(key="cmp_a_sample").select("retinaface/couple.jpg").run()
    at.selectbox(key="cmp_b_sample").select("deepface-unit/img2.jpg").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    captions = " ".join(c.value for c in at.caption).replace("\\", "")
    assert "First photo: 2 faces found, compared face 2 (outlined; by the rule" in captions, captions
    assert any("SAME person" in s.value for s in at.success)
    assert at.selectbox(key="cmp_a_face").options == ["the rule's choice", "face 1", "face 2"]
    at.selectbox(key="cmp_a_face").select("face 1").run()  # the other person of the couple
    assert any("DIFFERENT people" in w.value for w in at.warning), [w.value for w in at.warning]
    captions = " ".join(c.value for c in at.caption).replace("\\", "")
    assert "compared face 1 (outlined; as asked)" in captions


def test_enrol_needs_consent_clears_the_form_and_asks_which_face(tmp_path, db_path, monkeypatch):
    from skimage import data

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(np.ascontiguousarray(data.astronaut())).save(photos / "both.png")  # her face + a patch "face"
    monkeypatch.setenv("WORKBENCH_FACES", str(photos))
    session = app(db_path, monkeypatch)
    session.session_state["model"] = "Dlib"  # a new gallery for hog + Dlib: HOG finds the patch "face"
    at = open_page(session.run(), "enrol")
    at.text_input(key="enrol_person").input("eileen").run()
    at.multiselect(key="enrol_samples").select("both.png").run()
    at.button[0].click().run()
    assert any("Say whether this person consented" in e.value for e in at.error)
    at.radio(key="enrol_consent").set_value("No consent: a public figure or a research exception").run()
    at.text_input(key="enrol_reason").input("public figure: NASA portrait").run()
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    emptied = [at.text_input(key="enrol_person"), at.radio(key="enrol_consent"), at.multiselect(key="enrol_samples")]
    assert [w.value for w in emptied] == ["", None, []]
    assert all(w.proto.set_value for w in emptied)  # sent to the browser as new values: it shows them empty too
    assert not at.warning, [w.value for w in at.warning]  # waiting for a choice is not a failure (issue 24.14)
    assert any("Nothing enrolled for eileen yet: 1 photo(s) show several faces" in i.value for i in at.info)
    assert at.selectbox(key="enrol_pick_0").options == ["face 1", "face 2"]  # boxes shown, no guess
    at.selectbox(key="enrol_pick_0").select("face 1").run()
    at.button(key="enrol_pick_go_0").click().run()
    assert any("1 face(s) enrolled for eileen" in s.value for s in at.success), [s.value for s in at.success]
    at = open_page(at, "gallery")
    people = at.dataframe[0].value
    assert list(people["consent"]) == ["no consent: public figure: NASA portrait"]
    assert any("1 of 1 people are in this gallery without their consent: 1 under a stated exception" in w.value
               for w in at.warning), [w.value for w in at.warning]


def test_the_sidebar_threshold_is_a_similarity_with_its_distance(db_path, monkeypatch):
    at = app(db_path, monkeypatch).run()
    slider = at.sidebar.slider(key="similarity_SFace")  # the one threshold (the default model's): every page reads it
    assert slider.value == 80.0 and "similarity %" in slider.label
    assert any("80 % similarity = cosine distance 0.637" in c.value for c in at.sidebar.caption)
    loose = app(db_path, monkeypatch)
    loose.session_state["similarity_SFace"] = 40.0  # (AppTest keeps the sidebar only on a first run)
    at = loose.run()
    assert any("less than half similar" in w.value for w in at.sidebar.warning)
    assert any("40 % similarity = cosine distance 0.815" in c.value for c in at.sidebar.caption)
    dlib = app(db_path, monkeypatch)
    dlib.session_state["model"] = "Dlib"  # each model's threshold is its own, in its own metric
    at = dlib.run()
    assert at.sidebar.slider(key="similarity_Dlib").value == 80.0
    assert any("80 % similarity = euclidean distance 0.600" in c.value for c in at.sidebar.caption)
