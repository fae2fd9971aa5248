"""The Story page: five steps, one click each, on the demo photos packaged with the workbench
(as in a bare clone), and the step-4 arithmetic that carries a measured rate to a big gallery."""

from __future__ import annotations

import re

import numpy as np
from test_app import app, open_page

from workbench.app import story


def test_step_four_carries_the_measured_rate_to_the_big_gallery_with_its_range():
    from workbench.evaluation.stats import scale
    from workbench.pipeline import Settings

    def step(d):
        answer = scale.scale_answer(d, scale.thresholds_for(Settings().similarity_base), sizes=(300_000,))
        return story.scale_step(Settings(), 300_000, answer=answer)

    # 30 of 300 stranger comparisons under the threshold (10 %): measured, not fitted
    s = step(np.r_[np.full(30, 0.5), np.full(270, 0.9)])
    assert "at 80 %: about 30,000 false candidates per search (measured, 300 comparisons)" in s.figure, s.figure
    assert "30 false matches in 300 comparisons" in s.text and "EXTRAPOLATED" in s.text
    none = step(np.full(300, 0.9))
    # nothing measured is not "nothing at scale": the range the data allow leads, with its count
    assert "Measured on 300 comparisons, 0 false matches:" in none.text, none.text
    assert "at 80 %: between 0 and 3,800 false candidates per search (0 false matches in 300" in none.figure


def test_story_runs_its_five_steps_on_the_packaged_demo(demo_photos, db_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_FACES", str(demo_photos))
    at = open_page(app(db_path, monkeypatch).run(), "story")
    for n in range(1, 7):
        at.button(key=f"story_{n}").click().run()
        assert not at.exception and not at.error, (n, [e.value for e in at.error])
    steps = at.session_state["story_steps"]
    assert sorted(steps) == [1, 2, 3, 4, 5, 6]
    assert steps[1].figure == "9 faces of 5 people" and len(steps[1].images) == 9
    from workbench.app import ui

    # the watch list records why its people are in it without consent (it used to say NOT RECORDED)
    from workbench.pipeline import Settings

    people = ui.get_db(str(db_path)).faces.people(story.watchlist(Settings()))
    assert set(people["consent_status"]) == {f"no consent: {story.CONSENT.reason}"}, people["consent_status"]
    crowd = at.session_state["story_crowd"]
    searched = crowd.searched  # the default yunet + SFace: YuNet finds 159 faces, most too small to search
    assert len(searched) >= 15  # the crowd photo's faces, each searched one against every watch-list face
    assert all(len(fr.matches) == 9 for fr in searched) and all(not fr.matches for fr in crowd.faces
                                                               if not fr.searched)
    t = Settings().threshold_  # the sidebar's default: 80 %, SFace's distance 0.637
    called = sum(fr.best.distance <= t for fr in searched)
    assert steps[2].figure == f"{called} of {len(searched)} strangers matched at 80 %"
    assert f"found {len(crowd.faces)} faces, {len(searched)} of them good enough for SFace to search" in steps[2].text
    # the boxes are drawn in the Search page's colours, and the text names them (issue 24, point 15)
    from workbench.pipeline.annotate import COLOURS as VERDICT_COLOURS

    assert "Grey boxes: no match; green: called a match" in steps[2].text, steps[2].text
    assert "magenta: not searched" in steps[2].text, steps[2].text
    drawn = steps[2].images[0][0]
    verdict = {id(fr): "not searched" if not fr.searched else "match" if fr.best.distance <= t else "no match"
               for fr in crowd.faces}
    edge = [tuple(int(c) for c in drawn[(fr.face.box.top + fr.face.box.bottom) // 2, fr.face.box.left])
            == VERDICT_COLOURS[verdict[id(fr)]] for fr in searched]
    assert sum(edge) >= 0.8 * len(edge), edge  # a neighbour's box or label may cover a few edges
    # a looser threshold never matches fewer strangers, and the loosest one matches some
    bars = list(steps[3].chart.data[0].y)
    assert bars == sorted(bars) and bars[-1] > 0
    assert "300,000" in steps[4].text and "EXTRAPOLATED" in steps[4].text
    # no LFW reference here: the packaged photos' 138 comparisons, so the range and the count lead
    assert steps[4].figure.startswith("at 80 %: between 0 and"), steps[4].figure
    assert "in 138 comparisons" in steps[4].figure and "eval scale-reference --data lfw" in steps[4].text
    assert not steps[5].available and "UTKFace" in steps[5].text  # the demo has no labelled groups
    # step 6: the packaged Obama photo at each face width, the camera distance beside it (1080p, 90 degrees)
    assert steps[6].figure.split("; ")[0].endswith("match") and "24 px (6.4 m)" in steps[6].figure, steps[6].figure
    assert "1080p camera with a 90° lens" in steps[6].text and len(steps[6].images) == 8
    shown = " ".join(m.value for m in at.markdown)
    assert "The figure" in shown and len(at.get("plotly_chart")) == 3 and at.get("image")


def test_step_five_audits_labelled_adults_per_group_with_counts(faces_utkface, db_path, monkeypatch):
    """With UTKFace on the machine, step 5 is the real audit on a small sample: every group's
    false matches with the pairs they are counted in, and the finding in words."""
    from workbench.pipeline import Settings
    from workbench.store import Store

    monkeypatch.setenv("WORKBENCH_FACES", str(faces_utkface))
    with Store(db_path) as db:
        step = story.audit_step(db, Settings(), per_group=4)
    assert step.available and step.chart is not None
    parts = step.figure.split(": ", 1)[1].split("; ")
    assert len(parts) == 10, step.figure  # gender x race: ten groups, each with its count
    # 4 adults per group: 6 pairs within each group, every rate stated beside its count
    assert all(re.fullmatch(r".+: \d of 6 pairs \(\d+\.\d%\)", p) for p in parts), step.figure
    shown = [int(p.split(": ")[1].split(" of ")[0]) for p in parts]
    assert shown == sorted(shown, reverse=True)  # the most falsely matched group first
    assert "4 per group" in step.text and "one threshold for everyone" in step.text
