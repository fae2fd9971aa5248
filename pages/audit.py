import streamlit as st

from workbench.app import downloads, ui, work
from workbench.evaluation.reports import audit_report
from workbench.evaluation.runners import audit

cur = ui.current()
st.title("Audit")
st.caption("False matches and failures to acquire per demographic group, at one global threshold per model, "
           "two models side by side: the way NIST's FRVT reports demographic differentials.")
folder = audit.default_folder()
if folder is None:
    st.info("The labelled faces (../shared/data/faces/utkface-balanced) are not on this machine: run "
            "`workbench eval audit FOLDER --labels labels.csv` on photos you have labels for.")
    st.stop()
st.caption(ui.literal(audit_report.UTK_NOTE))
c1, c2, c3 = st.columns(3)
combos = c1.multiselect("Models", list(audit.COMBOS), default=list(audit.COMBOS)[:2], key="audit_models")
per_group = c2.slider("Photos per group", 5, 200, 50, key="audit_per_group",
                      help="200 is the whole sample. Every photo is embedded once and kept in the database, "
                           "so a second run costs no model time.")
target = c3.selectbox("Also at the threshold giving an overall FMR of", [1e-2, 1e-3, 1e-4], index=1,
                      key="audit_target", format_func=lambda v: f"{v:g}")
c4, c5, c6 = st.columns(3)
group_by = c4.selectbox("Groups", ["race and gender", "race", "gender", "age band"], key="audit_group_by")
adults = c5.checkbox("Adults only (age label 18 and over)", key="audit_adults",
                     help="UTKFace's cells differ in age: in some, most faces are young children, whom every "
                          "model here falsely matches far more often.")
exposures = c6.multiselect("Failures to acquire at these light levels (1 = as it is)", [1.0, 0.6, 0.4, 0.3],
                           default=[1.0], key="audit_exposures")
if st.button("Run the audit", type="primary", disabled=not combos, key="audit_run"):
    with work.batch_lane():  # its photos never hold up a class's searches
        st.session_state["audit_report"] = ui.attempt(
            audit.run_audit, folder, audit.combo_settings(combos, cur.settings.upsample), db=ui.db(),
            column=group_by, per_group=per_group, target_fmr=target, exposures=exposures,
            min_age=18 if adults else None, progress=ui.progress_callback("Auditing"))
report = st.session_state.get("audit_report")
if report is not None:
    for line in audit_report.headline(report):
        st.markdown(ui.literal(line))
    st.subheader("False matches within each group at 80 % (each model's default)")
    st.dataframe(audit_report.side_by_side(report, 0), hide_index=True, key="audit_table")
    for title, fig in audit_report.figures(report):
        st.plotly_chart(fig, key=f"audit_{title}")
    if report.acquisition:
        st.dataframe([r.as_dict() for r in report.acquisition], hide_index=True, key="audit_acq")
    for ex in audit_report.examples(report):
        st.subheader(ui.literal(ex.title))
        cols = st.columns(6)
        for i, item in enumerate(ex.items):
            cols[i % 6].image(list(item.images), width=64)
            cols[i % 6].caption(ui.literal(item.caption))
    for note in audit_report.notes(report):
        st.caption(ui.literal(note))
    st.download_button("Download the figures (JSON)", downloads.audit_json(report), file_name="audit.json",
                       mime="application/json", key="audit_json")
