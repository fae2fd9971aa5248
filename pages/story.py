import streamlit as st

from workbench.app import ui
from workbench.app import story

cur = ui.current()
s = cur.settings
st.title("The story: what police face search does, and where it fails")
st.markdown("Six steps, one click each, on real photos that ship with the workbench. Each step says what "
            "happened in one paragraph, and shows the figure behind it. The watch list goes into its own "
            f"gallery, *{ui.literal(story.watchlist(s))}*, next to yours.")
if st.session_state.get("story_settings") != s:  # another model, detector or threshold: the answers are redone
    st.session_state["story_settings"] = s
    st.session_state["story_steps"] = {}
    st.session_state.pop("story_crowd", None)
done = st.session_state.setdefault("story_steps", {})


def crowd():
    """The crowd search (step 2), run once per session and settings, and reused by steps 3 and 4."""
    if "story_crowd" not in st.session_state:
        story.enrol_watchlist(ui.db(), s)  # idempotent: steps may be clicked in any order
        st.session_state["story_crowd"] = story.search_crowd(ui.db(), s)
    return st.session_state["story_crowd"]


actions = {
    1: lambda: story.enrol_watchlist(ui.db(), s, progress=ui.progress_callback("Enrolling the watch list")),
    2: lambda: story.crowd_step(ui.db(), crowd(), s),
    3: lambda: story.loosen_threshold(crowd(), s),
    4: lambda: story.scale_step(s, db=ui.db()),
    5: lambda: story.audit_step(ui.db(), s, progress=ui.progress_callback("Comparing labelled faces")),
    6: lambda: story.further_away(ui.db(), s),
}
titles = {1: "Enrol a small watch list", 2: "Search a crowd photo", 3: "Lower the bar",
          4: "The same error rate at scale", 5: "Who bears the errors?", 6: "The same person, further from the camera"}

for n, action in actions.items():
    with st.container(border=True):
        step = done.get(n)
        st.subheader(step.title if step else f"{n}. {titles[n]}")
        if st.button("Run this step" if step is None else "Run it again", key=f"story_{n}",
                     type="primary" if step is None and (n == 1 or n - 1 in done) else "secondary"):
            with st.spinner("Working ..."):
                step = ui.attempt(action)
            if step is not None:
                done[n] = step
                st.rerun()  # redraw with the result (and the button's new label)
        if step is not None:
            (st.markdown if step.available else st.info)(ui.literal(step.text))
            st.markdown(f"**The figure:** {ui.literal(step.figure)}")
            if step.images:
                if len(step.images) == 1:
                    st.image(step.images[0][0], caption=ui.literal(step.images[0][1]))
                else:
                    cols = st.columns(min(len(step.images), 9))
                    for i, (image, caption) in enumerate(step.images):
                        cols[i % len(cols)].image(image, caption=ui.literal(caption), width=90)
            if step.chart is not None:
                st.plotly_chart(step.chart, key=f"story_chart_{n}")
