import io
from pathlib import Path

import streamlit as st

from workbench.app import ui

cur = ui.current()
db = ui.db()
st.title(f"Gallery: {cur.gallery}")
if ui.gallery_matrix(cur.gallery, same_model=False) is None:  # browsing compares nothing
    st.stop()
people = db.people(cur.gallery)
st.dataframe(people, hide_index=True)
faces = db.faces(cur.gallery)
st.caption(f"{people.height} people, {faces.height} faces")

for person in people["name"].to_list():
    with st.expander(person):
        rows = faces.filter(faces["person"] == person)
        cols = st.columns(6)
        for i, f in enumerate(rows.iter_rows(named=True)):
            th = db.thumbnail(f["id"])
            if th:
                cols[i % 6].image(th, width=90)
            cols[i % 6].caption(f"#{f['id']} {Path(f['source_path'] or '').name}")
            if cols[i % 6].button("delete", key=f"del_face_{f['id']}"):
                ui.attempt(db.delete_face, cur.gallery, f["id"])
                st.rerun()
        if st.button(f"Delete {person} and their faces", key=f"del_person_{person}"):
            ui.attempt(db.delete_person, cur.gallery, person)
            st.rerun()

st.subheader("Whole gallery")
buf = io.BytesIO()  # built in memory: in classroom mode nothing may touch the disk
if ui.attempt(db.export_parquet, cur.gallery, buf) is not None:
    st.download_button("Export as Parquet", buf.getvalue(), file_name=f"{cur.gallery}.parquet",
                       mime="application/octet-stream")
confirm = st.checkbox("I understand purging removes every face and person of this gallery", key="purge_ok")
if st.button("Purge gallery", disabled=not confirm, type="primary"):
    n = ui.attempt(db.purge_gallery, cur.gallery)
    if n is not None:
        st.success(f"Purged {n} face(s).")

st.subheader("Purge everything")
st.caption("Every gallery, person, face and search in this database; the file is rewritten so "
           "nothing deleted can be recovered from it.")
confirm_all = st.checkbox("I understand this removes every face of every gallery, and the search log",
                          key="purge_all_ok")
if st.button("Purge everything", disabled=not confirm_all, key="purge_all"):
    removed = ui.attempt(db.purge_all)
    if removed is not None:
        st.success("Purged " + ", ".join(f"{n} {table}" for table, n in removed.items()) + ".")
