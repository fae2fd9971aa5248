import streamlit as st

from workbench.app import ui
from workbench.evaluation.datasets.lfw import default_paths
from workbench.evaluation.reports import robustness_report as rr
from workbench.evaluation.runners import audit, robustness
from workbench.pipeline import degrade

cur = ui.current()
st.title("Robustness")
st.caption("Would it work on this camera? One photo of each LFW pair made smaller (further away), blurred, "
           "compressed, darker or covered, as a camera would record it; each model's misses, false matches and "
           "failures to acquire at every level, with counts and 95 % intervals.")
found = default_paths()
if found is None:
    st.info("LFW (../shared/data/faces/lfw and lfw-pairs.txt) is not on this machine: run "
            "`workbench eval robustness --pairs PAIRS --lfw FOLDER` where it is.")
    st.stop()
st.caption(ui.literal(rr.CAMERA))
c1, c2, c3, c4 = st.columns(4)
combos = c1.multiselect("Models", list(audit.COMBOS), default=list(audit.COMBOS)[:2], key="robust_models")
kinds = c2.multiselect("Degradations", list(degrade.KINDS), default=[degrade.WIDTH], key="robust_kinds",
                       help="width: distance from the camera; gaussian: out of focus; motion: a moving person; jpeg: "
                            "compression; night: low light, amplified with its noise; occlusion: mask, sunglasses, "
                            "a cap's shadow.")
folds = c3.slider("LFW folds (600 pairs each)", 1, 10, 1, key="robust_folds",
                  help="Every level of every photo is analysed by every model: fold 1 with every degradation takes "
                       "about half an hour here. What was measured is kept, so a second run costs no model time.")
per_fold = c4.select_slider("Pairs per fold (same + different)", [2, 10, 25, 50, 100, 200, 300], value=300,
                            key="robust_per_fold", help="300 + 300 is LFW's whole fold; fewer for a quick look.")
if st.button("Run the robustness lab", type="primary", disabled=not (combos and kinds), key="robust_run"):
    db = ui.db()
    st.session_state["robust_report"] = ui.attempt(
        robustness.run_lfw, found[0], found[1], audit.combo_settings(combos, cur.settings.upsample),
        robustness.levels_of(kinds), folds=list(range(1, folds + 1)), db=db,
        workdir=robustness.workdir_for(db.db.path), workers=2, per_fold=None if per_fold == 300 else per_fold,
        progress=ui.progress_callback("Degrading and comparing"))
report = st.session_state.get("robust_report")
if report is not None:
    for line in rr.headline(report):
        st.markdown(ui.literal(line))
    for title, fig in rr.figures(report):
        st.plotly_chart(fig, key=f"robust_{title}")
    st.subheader("The quality gate each model's curves call for, beside the gate in use")
    for line in rr.gate_lines(report):
        st.markdown(ui.literal(line))
    st.dataframe(rr.tables(report)["robustness_levels"], hide_index=True, key="robust_table")
