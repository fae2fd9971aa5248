import hashlib

import polars as pl
import streamlit as st

from workbench.app import explain_view, ui, work
from workbench.pipeline import annotate, capture, compare, quality
from workbench.search import explain, search_image

cur = ui.current()
s = cur.settings
st.title("Search")
st.caption(f"Every face in the probe photo, searched in gallery {ui.literal(cur.gallery)} at the sidebar's "
           f"threshold: {ui.threshold_words(compare.similarity(s.threshold_, s.similarity_base), s.threshold_, s.similarity_base, s.metric_)}")
top_k = st.number_input("Candidates per face", 1, 50, 5, key="search_topk")
keep_probe = st.checkbox("Keep the probe photo in the search log", key="search_keep_probe",
                         help="Off: the log keeps only the photo's hash, size and face boxes.")
choice = ui.image_input("Probe photo", "search")
# a missing, empty or other model's gallery is said so here, before any result: it is never searched
matrix = ui.gallery_matrix(cur.gallery)

if choice is not None:
    name, data = choice
    key = (hashlib.sha256(data).hexdigest(), cur.gallery, s, int(top_k))
    if st.session_state.get("search_key") != key:
        image = ui.attempt(capture.load_image, data, name)
        searchable = matrix is not None and len(matrix.vectors) > 0  # else said so above: no "no match" for all
        # the bytes as uploaded: the search log hashes the file the user gave, as the CLI does
        result = image is not None and searchable and ui.attempt(
            search_image, ui.db(), cur.gallery, data, s, top_k=int(top_k), name=name, keep_probe=keep_probe,
            client="app", analyse=work.search_analyser())  # analysed in the shared worker pool
        st.session_state["search_key"] = key if result else None
        st.session_state["search_result"] = (image, result) if result else None
    stored = st.session_state.get("search_result")
    if stored:
        image, result = stored
        sidebar_pct = round(compare.similarity(s.threshold_, s.similarity_base) * 2) / 2
        whatif_pct = st.slider("What if the threshold were ... (similarity %; the sidebar's stays as it is)",
                               1.0, 99.9, value=min(max(sidebar_pct, 1.0), 99.9), step=0.5, key="search_whatif")
        whatif = compare.distance_for_similarity(whatif_pct, s.similarity_base)
        st.subheader(result.summary(whatif))
        verdicts = result.verdicts(whatif)
        st.image(annotate.draw(image, annotate.numbered([fr.face.box for fr in result.faces], verdicts)),
                 caption=ui.literal(name), width="stretch")
        st.caption("Box colours: green = match at the sidebar's threshold, amber = would match at the "
                   "what-if threshold only, grey = no match, magenta = not searched (the quality gate "
                   "rejected it; the rule is in the table). Numbers are the rows below.")
        rows = []
        for i, (fr, v) in enumerate(zip(result.faces, verdicts), 1):
            best = fr.best
            rows.append({"face": i, "verdict": v.upper() if v == "match" else v,
                         "best candidate": best.person if best else "",
                         "similarity %": round(best.similarity, 1) if best else None,
                         "distance": round(best.distance, 4) if best else None,
                         "size px": fr.face.quality.size,
                         "why not searched": "" if fr.searched else quality.describe(fr.face.quality),
                         "warning": "under 50 % similarity: a weak match"
                         if best and fr.verdict(whatif) == "match" and best.similarity < 50 else ""})
        # a face not searched has no figures: a dash, not the word None
        st.dataframe(pl.DataFrame(rows), hide_index=True, key="search_table", placeholder="-")
        st.caption(f"detect {result.timings.detect_ms:.0f} ms, embed {result.timings.embed_ms:.0f} ms, "
                   f"search {result.timings.search_ms:.1f} ms")
        flagged = [(i, fr) for i, (fr, v) in enumerate(zip(result.faces, verdicts), 1)
                   if v in ("match", "would match")]
        for i, fr in flagged:
            with st.expander(f"Face {i}: candidates"):
                c1, c2 = st.columns([1, 5])
                c1.image(capture.thumbnail(image, fr.face.box), caption=f"face {i}", width=110)
                thumbs = c2.columns(max(len(fr.matches), 1))
                for col, m in zip(thumbs, fr.matches):
                    th = ui.db().faces.thumbnail(m.face_id)
                    if th:
                        col.image(th, width=90)
                    at = "MATCH" if compare.is_match(m.distance, s.threshold_) else (
                        "would match" if compare.is_match(m.distance, whatif) else "no")
                    col.caption(f"{m.rank}. {ui.literal(m.person)} · {m.similarity:.0f} % · {m.distance:.3f} · {at}")
        searched = [i for i, fr in enumerate(result.faces, 1) if fr.searched]
        matrix = ui.gallery_matrix(cur.gallery) if searched else None
        if matrix is not None and len(matrix.vectors):  # an empty gallery has no closest face to explain
            asked = explain_view.ask("search_explain", matrix.people, 1, "against its closest gallery face",
                                     faces=searched)
            inputs = (key, explain_view.face("search_explain"))
            if asked:
                explain_view.keep("search_explain", inputs, ui.attempt(
                    explain.explain_search_face, image, result.faces[asked.face - 1].face, matrix, s,
                    number=asked.face, name=name, person=asked.person, steps=asked.steps))
            explain_view.show("search_explain", inputs, s.threshold_)
