"""Streamlit entry point: `workbench app` or `streamlit run app.py`."""

import streamlit as st

from workbench.app import ui

# an emoji favicon is drawn locally; a ":material/...:" one is fetched from fonts.gstatic.com
st.set_page_config(page_title="Face workbench", page_icon="🧑", layout="wide")

current = ui.sidebar()
if current is not None:
    st.session_state["_current"] = current
    ui.attempt(ui.load_models, current.settings.detector, current.settings.model)  # once per process

pages = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/live.py", title="Live", icon=":material/videocam:"),
    st.Page("pages/enrol.py", title="Enrol", icon=":material/person_add:"),
    st.Page("pages/search.py", title="Search", icon=":material/search:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("pages/gallery.py", title="Gallery", icon=":material/photo_library:"),
    st.Page("pages/metrics.py", title="Metrics", icon=":material/monitoring:"),
    st.Page("pages/evaluate.py", title="Evaluate", icon=":material/balance:"),
    st.Page("pages/audit.py", title="Audit", icon=":material/groups:"),
]
nav = st.navigation(pages)
if current is None:
    st.stop()
nav.run()
