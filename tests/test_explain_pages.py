"""The "Explain this match" panels of the Compare and Search pages, through AppTest: nothing is
computed until the button is clicked; then the chips, the maps and the closest impostors show."""

from __future__ import annotations

import pytest

from test_app import app, open_page

KNN = "face-recognition-examples/knn_examples"


def said(at) -> str:
    """Every caption of the page, as read (without the escapes that keep names literal)."""
    return " ".join(c.value.replace("\\", "") for c in at.caption)


@pytest.fixture()
def maps_made(monkeypatch):
    """Every occlusion map the pages make, counted (the real one is called)."""
    from workbench.pipeline import occlusion

    made = []
    real = occlusion.occlusion_map

    def counted(chip, reference, model, **kw):
        made.append(model)
        return real(chip, reference, model, **kw)

    monkeypatch.setattr(occlusion, "occlusion_map", counted)
    return made


@pytest.fixture()
def demo_app(demo_photos, db_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_FACES", str(demo_photos))
    at = app(db_path, monkeypatch).run()
    at.button(key="load_demo").click().run()
    assert not at.exception
    return at


def test_compare_explains_only_when_asked(demo_app, maps_made):
    at = open_page(demo_app, "compare")
    at.selectbox(key="cmp_a_sample").select(f"{KNN}/test/obama1.jpg").run()
    at.selectbox(key="cmp_b_sample").select(f"{KNN}/train/obama/obama.jpg").run()
    assert not at.exception and any("SAME person" in s.value for s in at.success)
    at.number_input(key="cmp_explain_steps").set_value(2).run()
    at.selectbox(key="cmp_explain_who").select("obama").run()
    assert maps_made == [], "an occlusion map was computed before the button was clicked"
    assert not [c for c in at.caption if "embeddings in" in c.value]
    at.button(key="cmp_explain_button").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert sorted(maps_made) == ["Dlib", "SFace"]
    captions = said(at)
    chips = [c.replace("\\", "") for i in at.get("image") for c in i.captions]
    assert "Dlib: 150 x 150 px chip" in chips and "SFace: 112 x 112 px chip" in chips, chips
    assert "6 embeddings in" in captions  # 2 x 2 patches, the chip uncovered, the chip covered whole
    assert "made the two faces look alike" in captions and "not what the model looks at in general" in captions
    table = at.dataframe[-1].value
    assert "obama" not in list(table["person"]) and list(table["distance"]) == sorted(table["distance"])
    at.run()  # a rerun shows the kept explanation without computing it again
    assert sorted(maps_made) == ["Dlib", "SFace"]
    assert any("6 embeddings in" in c.value for c in at.caption)
    at.selectbox(key="cmp_b_sample").select(f"{KNN}/train/biden/biden.jpg").run()  # another pair: not explained
    assert not at.exception and not [c for c in at.caption if "embeddings in" in c.value]
    assert sorted(maps_made) == ["Dlib", "SFace"]


def test_search_explains_only_when_asked(demo_app, maps_made):
    at = open_page(demo_app, "search")
    at.selectbox(key="search_sample").select(f"{KNN}/test/obama_and_biden.jpg").run()
    assert not at.exception
    at.number_input(key="search_explain_steps").set_value(2).run()
    at.selectbox(key="search_explain_face").select(2).run()
    assert maps_made == []
    at.button(key="search_explain_button").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert maps_made == ["SFace"]  # the gallery's model (the default's): the only vectors it stores
    captions = said(at)
    assert "Dlib: the gallery stores SFace vectors only" in captions
    assert "face 2 of" in captions
