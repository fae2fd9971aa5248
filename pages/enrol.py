import streamlit as st

from workbench.app import ui
from workbench.search.enrol import Source, enrol_sources

cur = ui.current()
st.title("Enrol")
st.caption(f"Into gallery **{ui.literal(cur.gallery)}**. Each photo gives its largest face that passes the "
           "quality gate.")

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
            for skip in report.skipped:
                st.warning(ui.literal(f"{skip.source}: {skip.reason}"))
            cols = st.columns(6)
            for i, f in enumerate(report.faces):
                verdict = "enrolled" if f.enrolled else f"rejected: {f.reason}"
                cols[i % 6].image(f.thumbnail, caption=ui.literal(verdict), width=110)
