import streamlit as st

from workbench.app import ui, words
from workbench.search.enrol import Source, enrol_sources

cur = ui.current()
st.title("Enrol")
st.caption(f"Into gallery **{ui.literal(cur.gallery)}** (choose another in the sidebar, or create a new one at the bottom of this page). Each "
           "photo gives its largest face that passes the quality gate.", help=words.term("enrol"))

person = st.text_input("Person's name", key="enrol_person")
notes = st.text_input("Notes (optional)", key="enrol_notes")
consent = st.checkbox("This person consented to being enrolled", key="enrol_consent")
uploads = st.file_uploader("Photos", type=["jpg", "jpeg", "png", "webp", "bmp"], accept_multiple_files=True,
                           key="enrol_uploads")
samples = ui.sample_images()
picked = st.multiselect("... or demo photos", list(samples), key="enrol_samples") if samples else []
snapshot = st.camera_input("... or a camera snapshot", key="enrol_camera") if st.toggle("Use the camera") else None

sources = [Source(u.name, person, u.getvalue()) for u in uploads or []]
sources += [Source(name, person, samples[name].read_bytes()) for name in picked]
if snapshot is not None:
    sources.append(Source("camera snapshot", person, snapshot.getvalue()))

if st.button("Enrol", type="primary", disabled=not sources):
    if not person.strip():
        st.error("Give the person's name first.")
    else:
        report = ui.attempt(enrol_sources, ui.db(), cur.gallery, sources, cur.settings, consent=consent,
                            notes=notes or None, progress=ui.progress_callback("Enrolling"), keep_faces=True)
        if report is not None:
            (st.success if report.enrolled else st.warning)(
                f"{report.enrolled} face(s) enrolled for {ui.literal(person)}; {report.duplicates} already enrolled; "
                f"{len(report.skipped)} photo(s) skipped.")
            given = {s.label: s.data for s in sources}
            for skip in report.skipped:  # what happened and what to try, beside the photo itself
                pic, text = st.columns([1, 5])
                shown = ui.preview(given[skip.source]) if isinstance(given.get(skip.source), bytes) else None
                if shown is not None:
                    pic.image(shown, width=110)
                else:
                    pic.markdown(":material/broken_image:")
                text.warning(f"{ui.literal(skip.source)}: {ui.literal(words.explain(skip.reason))}")
            cols = st.columns(6)
            for i, f in enumerate(report.faces):
                verdict = "enrolled" if f.enrolled else f"rejected: {words.short(f.reason)}"
                cols[i % 6].image(f.thumbnail, caption=ui.literal(verdict), width=110)

st.divider()
with st.container(border=True):
    st.markdown("**Create a new gallery**")
    new_name = st.text_input("Name of the new gallery", key="new_gallery", help=words.term("gallery"))
    if st.button("Create gallery", key="create_gallery", disabled=not new_name.strip()):
        if ui.attempt(ui.db().create_gallery, new_name.strip()) is not None:
            st.session_state["_pending_gallery"] = new_name.strip()  # the sidebar switches to it
            st.rerun()
