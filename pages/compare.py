import hashlib

import streamlit as st

from workbench import pipeline
from workbench.app import explain_view, ui, work
from workbench.evaluation.reports import plots
from workbench.evaluation.runners import verification as evaluate
from workbench.pipeline import annotate, capture, compare, occlusion
from workbench.pipeline.analyze import CHOICE_RULE
from workbench.search import explain

cur = ui.current()
s = cur.settings
st.title("Compare two faces")
st.caption(f"With several faces in a photo, the one compared is {CHOICE_RULE}; it is outlined in blue, and "
           "you can pick another.")
cols = st.columns(2)
photos, analyses, slots, picks = [], [], [], []
for col, key, label in zip(cols, ("cmp_a", "cmp_b"), ("first", "second")):
    with col:
        choice = ui.image_input(f"{label.capitalize()} photo", key)
        image = ui.attempt(capture.load_image, choice[1], choice[0]) if choice else None  # bad bytes: a message
        analysis = ui.attempt(work.analysis_of, choice[1], choice[0], s) if image is not None else None
        photos.append((choice, image))
        analyses.append(analysis)
        slots.append(st.empty())
        pick = None
        if analysis is not None and len(analysis.faces) > 1:
            options = ["the rule's choice"] + [f"face {i}" for i in range(1, len(analysis.faces) + 1)]
            picked = st.selectbox(f"Face of the {label} photo to compare", options, key=f"{key}_face",
                                  help=f"The rule: {CHOICE_RULE}. Numbers are those drawn on the photo.")
            pick = None if picked == options[0] else options.index(picked)
        picks.append(pick)

comparison = None
if all(a is not None for a in analyses):
    comparison = ui.attempt(pipeline.compare_analyses, analyses[0], analyses[1], s, face_a=picks[0],
                            face_b=picks[1], names=(photos[0][0][0], photos[1][0][0]))
for (choice, image), analysis, slot, chosen in zip(photos, analyses, slots,
                                                   (comparison.a, comparison.b) if comparison else (None, None)):
    if image is None:
        continue
    if analysis is not None and analysis.faces:
        verdicts = ["compared" if chosen is not None and i == chosen.index else "other"
                    for i in range(len(analysis.faces))]
        image = annotate.draw(image, annotate.numbered([f.box for f in analysis.faces], verdicts))
    caption = ui.literal(choice[0]) + (f": {ui.literal(chosen.describe())}" if chosen is not None else "")
    slot.image(image, caption=caption, width="stretch")

if comparison is not None:
    v = comparison.verdict
    word = "the SAME person" if v.verified else "DIFFERENT people"
    (st.success if v.verified else st.warning)(
        f"Called {word}: similarity {v.similarity:.1f} % (distance {v.distance:.3f}) against the sidebar's "
        f"threshold of {compare.similarity(v.threshold, s.similarity_base):.1f} % "
        f"(distance {v.threshold:.3f}, {v.metric}).")
    for label, ch in (("First photo", comparison.a), ("Second photo", comparison.b)):
        st.caption(f"{label}: {ui.literal(ch.describe())}")
    if v.verified and v.similarity < 50:
        st.warning("This 'match' is under 50 % similarity: the threshold in the sidebar is set very loose.")
    matrix = ui.gallery_matrix(cur.gallery)
    if matrix is not None:
        genuine, impostor = evaluate.gallery_pair_distances(matrix, v.metric)
        st.plotly_chart(plots.pair_distance_figure(genuine, impostor, v.threshold, v.distance))
        st.caption(f"Where this pair falls among the {len(genuine)} same-person and {len(impostor)} "
                   f"different-person pairs of gallery {ui.literal(cur.gallery)}.")

    asked = explain_view.ask("cmp_explain", matrix.people if matrix is not None else [],
                             len(occlusion.explainable_models()), "the first photo's face, against the second's")
    inputs = (*(hashlib.sha256(c[1]).hexdigest() for c, _ in photos), comparison.a.index, comparison.b.index, s,
              cur.gallery)
    if asked:
        explain_view.keep("cmp_explain", inputs, ui.attempt(
            explain.explain_comparison, (photos[0][1], photos[1][1]), comparison, s, matrix=matrix,
            person=asked.person, steps=asked.steps, progress=ui.progress_callback("Explaining")))
    explain_view.show("cmp_explain", inputs, v.threshold)
