import streamlit as st

from workbench import live
from workbench.app import ui, words
from workbench.evaluation.reports import plots
from workbench.evaluation.runners import verification as evaluate

cur = ui.current()
s = cur.settings
db = ui.db()
st.title("Metrics")

log = db.search_log.rows()
st.subheader(f"Search log ({log.height} searches)")
if log.height:
    c1, c2 = st.columns(2)
    c1.plotly_chart(plots.stage_latency_figure(log), key="lat")
    c2.plotly_chart(plots.searches_over_time_figure(log), key="time")
else:
    st.info("No searches yet: run some on the Search page.")
if log.height:  # the audit trail, built in memory (probe photos stay out; see `workbench log export`)
    import io

    buf = io.BytesIO()
    if ui.attempt(db.search_log.export, buf, kind="csv") is not None:
        st.download_button("Export the search log (CSV)", buf.getvalue(), file_name="search-log.csv",
                           mime="text/csv", key="export_log")

live_procs = [v for k, v in st.session_state.items() if str(k).endswith("_proc") and v.stats()]
if live_procs:
    st.subheader("Live stage latency (latest stream, same figures as `workbench bench video`)")
    st.dataframe(live.stage_summary(live_procs[-1].stats()), hide_index=True)

st.subheader(f"Genuine vs impostor distances in gallery {ui.literal(cur.gallery)}")
matrix = ui.gallery_matrix(cur.gallery)
if matrix is not None:
    genuine, impostor = evaluate.gallery_pair_distances(matrix, s.metric_)
    if len(genuine) + len(impostor) == 0:
        st.info("Enrol at least two faces to see pair distances.")
    else:
        counts = evaluate.error_counts(genuine, impostor, s.threshold_)
        c1, c2, c3 = st.columns(3)
        c1.metric("Pairs", counts["genuine"] + counts["impostor"])
        c2.metric("False matches", f"{counts['false_matches']} / {counts['impostor']}",
                  f"FMR {counts['fmr']:.2%}", delta_color="off", help=words.term("false match"))
        c3.metric("False non-matches", f"{counts['false_non_matches']} / {counts['genuine']}",
                  f"FNMR {counts['fnmr']:.2%}", delta_color="off", help=words.term("false non-match"))
        st.plotly_chart(plots.pair_distance_figure(genuine, impostor, s.threshold_), key="pairs")
