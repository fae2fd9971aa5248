"""The app's shell: page setup, the navigation, the shared sidebar, model warm-up and the page list.

``app.py`` (the file Streamlit runs) calls :func:`main` under a ``__name__ == "__main__"`` guard
and does nothing else. Worker processes (enrolment, live embedding; see
:mod:`workbench.pipeline.parallel`) are *spawned*, and a spawned process re-runs its parent's
main script as ``__mp_main__``: with the app's code in that script, every worker imported
Streamlit and drew the app without a session ("missing ScriptRunContext!", ~1.5 s and ~230 MB
per worker). Guarded, the worker reads a docstring and starts from the library.
"""

from __future__ import annotations

# pandas whole before the warm-up thread starts importing the library: plotly looks pandas up in
# sys.modules without waiting for an import in progress, so a page drawing a chart while that thread
# was half-way through pandas failed ("partially initialized module 'pandas' has no attribute
# 'Series'", seen once in CI on the Metrics page as a fresh server's first request).
import pandas  # noqa: F401
import streamlit as st

from workbench.app import ui, warm


def main() -> None:
    """One run of the app: the navigation, settings in the sidebar, then the chosen page."""
    # an emoji favicon is drawn locally; a ":material/...:" one is fetched from fonts.gstatic.com
    st.set_page_config(page_title="Face workbench", page_icon="🧑", layout="wide")
    ui.stay_local()  # no public-IP lookup; a banner on every page when the network can reach the app
    ui.still()  # no animations: a browser without a graphics card paints them on its CPU

    pages = [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/story.py", title="Story", icon=":material/auto_stories:"),
        st.Page("pages/live.py", title="Live", icon=":material/videocam:"),
        st.Page("pages/cameras.py", title="Cameras", icon=":material/video_camera_front:"),
        st.Page("pages/enrol.py", title="Enrol", icon=":material/person_add:"),
        st.Page("pages/search.py", title="Search", icon=":material/search:"),
        st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
        st.Page("pages/gallery.py", title="Gallery", icon=":material/photo_library:"),
        st.Page("pages/metrics.py", title="Metrics", icon=":material/monitoring:"),
        st.Page("pages/evaluate.py", title="Evaluate", icon=":material/balance:"),
        st.Page("pages/audit.py", title="Audit", icon=":material/groups:"),
        st.Page("pages/robustness.py", title="Robustness", icon=":material/blur_on:"),
        st.Page("pages/glossary.py", title="Glossary", icon=":material/menu_book:"),
    ]
    # drawn first, by ui.navigation, so it never blinks; the pages/ folder's own list stays off
    nav = st.navigation(pages, position="hidden")
    ui.navigation(st.sidebar, pages)

    warm.start()  # once per server process, in the background (models, worker processes)
    warm.say_failure()  # once per session, if it failed
    current = ui.sidebar()
    if current is None:
        st.stop()
    st.session_state["_current"] = current
    ui.attempt(warm.load_models, current.settings.detector, current.settings.model)  # once per process
    nav.run()
