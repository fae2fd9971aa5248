import io
from pathlib import Path

import streamlit as st

from workbench.app import downloads, ui
from workbench.store.removal import describe

cur = ui.current()
db = ui.db()
st.title(f"Gallery: {ui.literal(cur.gallery)}")
if not ui.known_gallery(cur.gallery):  # browsing reads no vector: a gallery of any model can be browsed
    st.stop()
people = db.faces.people(cur.gallery)
st.dataframe(people.select("name", "faces", "consent_status", "notes", "created_at")
             .rename({"consent_status": "consent"}), hide_index=True, key="gallery_people")
faces = db.faces.list(cur.gallery)
st.caption(f"{people.height} people, {faces.height} faces")
exception = people.filter(~people["consent"].fill_null(False) & (people["consent_status"] != "NOT RECORDED"))
unrecorded = people.filter(people["consent_status"] == "NOT RECORDED")
if exception.height or unrecorded.height:
    st.warning(f"{exception.height + unrecorded.height} of {people.height} people are in this gallery without "
               f"their consent: {exception.height} under a stated exception, {unrecorded.height} with nothing "
               "recorded (enrolled by an older version or by a script).")
    if unrecorded.height:
        st.caption("Nothing recorded: " + ", ".join(ui.literal(n) for n in unrecorded["name"].to_list()))

for person in people["name"].to_list():
    with st.expander(ui.literal(person)):
        rows = faces.filter(faces["person"] == person)
        cols = st.columns(6)
        for i, f in enumerate(rows.iter_rows(named=True)):
            th = db.faces.thumbnail(f["id"])
            if th:
                cols[i % 6].image(th, width=90)
            cols[i % 6].caption(f"#{f['id']} {ui.literal(Path(f['source_path'] or '').name)}")
            with cols[i % 6]:
                removes = lambda fid=f["id"]: describe(db.removal.counts(cur.gallery, face_id=fid))  # noqa: E731
                if ui.confirm_button("delete", removes, key=f"del_face_{f['id']}"):
                    ui.attempt(db.removal.delete_face, cur.gallery, f["id"])
                    st.rerun()
        if ui.confirm_button(f"Delete {ui.literal(person)} and their faces",
                             lambda p=person: describe(db.removal.counts(cur.gallery, person=p)),
                             key=f"del_person_{person}"):
            ui.attempt(db.removal.delete_person, cur.gallery, person)
            st.rerun()

st.subheader("Whole gallery")
buf = io.BytesIO()  # built in memory: in classroom mode nothing may touch the disk
if ui.attempt(db.transfer.export_parquet, cur.gallery, buf) is not None:
    c1, c2 = st.columns(2)
    c1.download_button("Export as CSV (opens in a spreadsheet; without the face photos)", downloads.spreadsheet_csv(buf.getvalue()),
                       file_name=f"{cur.gallery}.csv", mime="text/csv", key="export_csv")
    c2.download_button("Export as Parquet (everything, re-importable)", buf.getvalue(),
                       file_name=f"{cur.gallery}.parquet", mime="application/octet-stream", key="export_parquet")
confirm = st.checkbox(f"I understand purging removes {describe(db.removal.counts(cur.gallery))} of this gallery",
                      key="purge_ok")
if st.button("Purge gallery", disabled=not confirm, type="primary"):
    n = ui.attempt(db.removal.purge_gallery, cur.gallery)
    if n is not None:
        st.success(f"Purged {n} face(s).")

st.subheader("Purge everything")
st.caption("Every gallery, person, face and search in this database; the file is rewritten so "
           "nothing deleted can be recovered from it.")
confirm_all = st.checkbox(f"I understand this removes {describe(db.removal.purge_counts())}: every face of every "
                          "gallery, and the search log", key="purge_all_ok")
if st.button("Purge everything", disabled=not confirm_all, key="purge_all"):
    removed = ui.attempt(db.removal.purge_all)
    if removed is not None:
        st.success("Purged " + ", ".join(f"{n} {table}" for table, n in removed.items()) + ".")
