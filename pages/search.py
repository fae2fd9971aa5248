import hashlib

import streamlit as st

from workbench.app import ui
from workbench.evaluation import plots
from workbench.pipeline import capture
from workbench.search import redecide, search_image

cur = ui.current()
s = cur.settings
st.title("Search")
st.caption(f"Every face in the probe photo, searched in gallery **{ui.literal(cur.gallery)}**.")
top_k = st.number_input("Candidates per face", 1, 50, 5, key="search_topk")
keep_probe = st.checkbox("Keep the probe photo in the search log", key="search_keep_probe",
                         help="Off: the log keeps only the photo's hash, size and face boxes.")
choice = ui.image_input("Probe photo", "search")

if choice is not None:
    name, data = choice
    key = (hashlib.sha256(data).hexdigest(), cur.gallery, s.model, s.detector, int(top_k))
    if st.session_state.get("search_key") != key:
        image = ui.attempt(capture.load_image, data, name)
        # the bytes as uploaded: the search log hashes the file the user gave, as the CLI does
        result = image is not None and ui.attempt(search_image, ui.db(), cur.gallery, data, s, top_k=int(top_k),
                                                  name=name, keep_probe=keep_probe, client="app")
        st.session_state["search_key"] = key if result else None
        st.session_state["search_result"] = (image, result) if result else None
    stored = st.session_state.get("search_result")
    if stored:
        image, result = stored
        t = st.slider("Decide at threshold (no recomputation)", 0.0, round(result.threshold * 2, 3),
                      value=float(s.threshold_), step=round(result.threshold / 100, 4), key="search_threshold")
        st.caption(f"{len(result.faces)} face(s); detect {result.timings.detect_ms:.0f} ms, "
                   f"embed {result.timings.embed_ms:.0f} ms, search {result.timings.search_ms:.1f} ms")
        for i, fr in enumerate(result.faces, 1):
            matches = redecide(list(fr.matches), t)
            c1, c2 = st.columns([1, 4])
            c1.image(capture.thumbnail(image, fr.face.box), caption=f"face {i}", width=120)
            with c2:
                if not matches:
                    st.info("The gallery is empty.")
                    continue
                best = matches[0]
                verdict = f"**{ui.literal(best.person)}**" if best.match else "**no match** (unknown)"
                st.markdown(f"Face {i}: {verdict} at distance {best.distance:.3f} "
                            f"({best.similarity:.1f} % similarity)")
                thumbs = st.columns(len(matches))
                for col, m in zip(thumbs, matches):
                    th = ui.db().thumbnail(m.face_id)
                    if th:
                        col.image(th, width=90)
                    col.caption(f"{m.rank}. {ui.literal(m.person)} · {m.distance:.3f} · "
                                f"{m.similarity:.0f}% · {'MATCH' if m.match else 'no'}")
                st.plotly_chart(plots.candidates_figure(matches, t), key=f"cand_{i}")
