import streamlit as st

from workbench.app import ui
from workbench.pipeline import compare
from workbench.search import enrol

cur = ui.current()
s = cur.settings
st.title("Face-recognition workbench")
st.markdown(
    "See what police face search does, and where it fails: detect faces, enrol them in a "
    "gallery, search it, and measure false matches. Everything runs on this machine, offline."
)
with st.container(border=True):
    st.markdown("**New here? Start with the story.** Five steps, one click each, on photos that ship with the "
                "workbench: enrol a small watch list, search a crowd, lower the bar and watch strangers become "
                "\"matches\", carry the error rate to a 300,000-face gallery, and ask who bears the errors.")
    st.page_link("pages/story.py", label="Open the story", icon=":material/auto_stories:")
c1, c2, c3 = st.columns(3)
c1.metric("Model", s.model)
c2.metric("Detector", s.detector)
c3.metric(f"Threshold ({s.metric_})", f"{s.threshold_:.3f}",
          f"{compare.similarity(s.threshold_, compare.default_threshold(s.model, s.metric_)):.1f} % similarity",
          delta_color="off")

st.subheader("Galleries")
table = st.container()  # filled last, so it includes what the button below just enrolled

has_demo_photos = enrol.demo_folder() is not None
galleries = ui.db().galleries.list()
demo_faces = galleries.filter(galleries["gallery"] == "demo")["faces"].sum()  # 0: missing or empty
if not has_demo_photos:  # never offer what cannot be done
    st.caption("The demo photos (workbench/demo) are missing from this installation; enrol your own photos on the "
               "Enrol page.")
elif demo_faces == 0:  # offered until the demo gallery holds faces (an empty one does not count)
    st.subheader("Demo gallery")
    if st.button("Load the demo gallery (9 photos of 5 people)", type="primary", key="load_demo"):
        report = ui.attempt(enrol.load_demo_gallery, ui.db(), s, progress=ui.progress_callback("Enrolling"))
        if report is not None:
            st.success(f"Demo gallery: {report.enrolled} face(s) enrolled of {len(report.people)} people, "
                       f"{report.duplicates} already there, {len(report.skipped)} skipped.")
            galleries = ui.db().galleries.list()

with table:
    if galleries.height:
        st.dataframe(galleries, hide_index=True)
    elif has_demo_photos:
        st.info("No galleries yet: load the demo gallery below, or enrol photos on the Enrol page.")
    else:
        st.info("No galleries yet: enrol photos on the Enrol page.")
