import streamlit as st

from workbench import pipeline
from workbench.app import ui
from workbench.evaluation import plots
from workbench.evaluation import verification as evaluate
from workbench.pipeline import capture

cur = ui.current()
s = cur.settings
st.title("Compare two faces")
c1, c2 = st.columns(2)
with c1:
    a = ui.image_input("First photo", "cmp_a")
    if a and (shown := ui.attempt(capture.load_image, a[1], a[0])) is not None:  # decoded: bad bytes = a message
        st.image(shown, caption=ui.literal(a[0]))
with c2:
    b = ui.image_input("Second photo", "cmp_b")
    if b and (shown := ui.attempt(capture.load_image, b[1], b[0])) is not None:
        st.image(shown, caption=ui.literal(b[0]))

if a and b:
    v = ui.attempt(pipeline.verify, a[1], b[1], s)
    if v is not None:
        word = "the SAME person" if v.verified else "DIFFERENT people"
        (st.success if v.verified else st.warning)(
            f"Called {word}: distance {v.distance:.3f} vs threshold {v.threshold:.3f} ({v.metric}), "
            f"similarity {v.similarity:.1f} %")
        matrix = ui.gallery_matrix(cur.gallery)
        if matrix is not None:
            genuine, impostor = evaluate.gallery_pair_distances(matrix, v.metric)
            st.plotly_chart(plots.pair_distance_figure(genuine, impostor, v.threshold, v.distance))
            st.caption(f"Where this pair falls among the {len(genuine)} same-person and {len(impostor)} "
                       f"different-person pairs of gallery {ui.literal(cur.gallery)}.")
