import streamlit as st

from workbench.app import ui, words, work
from workbench.app.consent import MISSING, consent_choice
from workbench.pipeline import annotate, capture, zoo
from workbench.search.enrol import SEVERAL_FACES, Source, enrol_sources

#: The form's values when empty. Set through the session state (so the browser shows them too); the
#: uploader and the camera cannot be set, so each enrolment gives them new keys (``fresh``).
EMPTY = {"enrol_person": "", "enrol_notes": "", "enrol_reason": "", "enrol_consent": None, "enrol_samples": []}

cur = ui.current()
st.title("Enrol")
st.caption(f"Into gallery **{ui.literal(cur.gallery)}** (choose another in the sidebar, or create a new one at the "
           "bottom of this page). Each photo gives its one face that passes the quality gate; a photo with several "
           "such faces asks which one is the person.", help=words.term("enrol"))
if st.session_state.pop("enrol_clear", False):  # a new person starts from an empty form
    st.session_state.update(EMPTY)
    st.session_state["enrol_form"] = st.session_state.get("enrol_form", 0) + 1
form = st.session_state.get("enrol_form", 0)


def fresh(key: str) -> str:
    return f"{key}_{form}" if form else key


person = st.text_input("Person's name", key="enrol_person")
notes = st.text_input("Notes (optional)", key="enrol_notes")
consent = consent_choice("enrol")
uploads = st.file_uploader("Photos", type=["jpg", "jpeg", "png", "webp", "bmp"], accept_multiple_files=True,
                           key=fresh("enrol_uploads"))
samples = ui.sample_images()
picked = st.multiselect("... or demo photos", list(samples), key="enrol_samples") if samples else []
snapshot = st.camera_input("... or a camera snapshot", key=fresh("enrol_camera")) if st.toggle("Use the camera") else None

sources = [Source(u.name, person, u.getvalue()) for u in uploads or []]
sources += [Source(name, person, samples[name].read_bytes()) for name in picked]
if snapshot is not None:
    sources.append(Source("camera snapshot", person, snapshot.getvalue()))


def show(report, who: str, given: dict) -> None:
    waiting = sum(skip.reason == SEVERAL_FACES for skip in report.skipped)  # asked below: not a failure
    skipped = len(report.skipped) - waiting
    if waiting and not (report.enrolled or skipped or report.duplicates):
        st.info(f"Nothing enrolled for {ui.literal(who)} yet: {waiting} photo(s) show several faces that pass the "
                "quality gate. Choose the person's face below.")
    else:
        (st.success if report.enrolled else st.warning)(
            f"{report.enrolled} face(s) enrolled for {ui.literal(who)}; {report.duplicates} already enrolled; "
            f"{skipped} photo(s) skipped" + (f"; {waiting} photo(s) wait for your choice of face, below." if waiting
                                             else "."))
    for skip in report.skipped:  # what happened and what to try, beside the photo itself
        if skip.reason == SEVERAL_FACES:
            continue  # asked below
        pic, text = st.columns([1, 5])
        shown = ui.preview(given[skip.source]) if isinstance(given.get(skip.source), bytes) else None
        if shown is not None:
            pic.image(shown, width=110)
        else:
            pic.markdown(":material/broken_image:")
        text.warning(f"{ui.literal(skip.source)}: {ui.literal(words.explain(skip.reason))}")
    cols = st.columns(6)
    for i, f in enumerate(report.faces):
        verdict = "enrolled" if f.enrolled else f"not enrolled: {words.short(f.reason)}"
        cols[i % 6].image(f.thumbnail, caption=ui.literal(verdict), width=110)


if st.button("Enrol", type="primary", disabled=not sources):
    if not person.strip():
        st.error("Give the person's name first.")
    elif consent is None:
        st.error(MISSING)
    else:
        report = ui.attempt(enrol_sources, ui.db(), cur.gallery, sources, cur.settings, consent=consent,
                            notes=notes or None, progress=ui.progress_callback("Enrolling"), keep_faces=True,
                            analyser=work.enrolment_analyser())
        if report is not None:
            data = {s.label: s.data for s in sources}
            st.session_state["enrol_pending"] = [
                {"label": k.source, "person": person, "data": data[k.source], "boxes": k.boxes,
                 "consent": consent, "notes": notes or None} for k in report.skipped if k.reason == SEVERAL_FACES]
            st.session_state["enrol_last"] = (report, person, data)
            st.session_state["enrol_clear"] = True
            st.rerun()

if "enrol_last" in st.session_state:
    show(*st.session_state["enrol_last"])

for n, item in enumerate(st.session_state.get("enrol_pending", [])):
    st.subheader(f"Which face is {ui.literal(item['person'])}?")
    image = ui.attempt(capture.load_image, item["data"], item["label"])
    if image is not None:
        st.image(annotate.draw(image, annotate.numbered(item["boxes"], ["other"] * len(item["boxes"]))),
                 caption=f"{ui.literal(item['label'])}: {len(item['boxes'])} faces pass the quality gate; "
                         "the workbench does not guess which one is the person.", width="stretch")
    options = [f"face {i}" for i in range(1, len(item["boxes"]) + 1)]
    face = st.selectbox("The person's face", options, index=None, key=f"enrol_pick_{n}")
    c1, c2 = st.columns(2)
    if c1.button("Enrol this face", key=f"enrol_pick_go_{n}", disabled=face is None):
        report = ui.attempt(enrol_sources, ui.db(), cur.gallery,
                            [Source(item["label"], item["person"], item["data"], face=options.index(face) + 1)],
                            cur.settings, consent=item["consent"], notes=item["notes"], keep_faces=True,
                            analyser=work.enrolment_analyser())
        if report is not None:
            st.session_state["enrol_pending"].pop(n)
            st.session_state["enrol_last"] = (report, item["person"], {item["label"]: item["data"]})
            st.rerun()
    if c2.button("Skip this photo", key=f"enrol_pick_skip_{n}"):
        st.session_state["enrol_pending"].pop(n)
        st.rerun()

st.divider()
with st.container(border=True):
    st.markdown("**Create a new gallery** (a gallery keeps the model it is made for)")
    new_name = st.text_input("Name of the new gallery", key="new_gallery", help=words.term("gallery"))
    new_model = st.selectbox("Its model", zoo.embedder_names(), key="new_gallery_model",  # the default first
                             help=f"{zoo.DEFAULT_MODEL} ({zoo.DEFAULT_DETECTOR} + {zoo.DEFAULT_MODEL}) is the "
                                  f"default; {zoo.COMPARISON_MODEL} is the 2017 model the audit compares it with.")
    st.caption(f"For {ui.literal(new_model)} vectors.")
    if st.button("Create gallery", key="create_gallery", disabled=not new_name.strip()):
        if ui.attempt(ui.db().galleries.create, new_name.strip(), new_model) is not None:
            st.session_state["_pending_gallery"] = new_name.strip()  # the sidebar switches to it
            st.rerun()
