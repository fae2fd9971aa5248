import polars as pl
import streamlit as st

from workbench import config
from workbench.app import downloads, ui, words, work
from workbench.evaluation.reports import plots, readable, report
from workbench.evaluation.runners import replay
from workbench.evaluation.runners import verification as evaluate
from workbench.evaluation.stats import scale
from workbench.evaluation.runners.identification import (FOLDERS, NONE_ENROLLED, ProbeIdentity, eval_search,
                                                 parse_identities)
from workbench.evaluation.datasets.labels import parse_labels

cur = ui.current()
s = cur.settings
st.title("Evaluate")
st.caption(f"{s.model} / {s.detector}, {s.metric_} distance, decision threshold {s.threshold_:.4f} "
           "(sidebar). Every photo's vector is cached in the database: changing the threshold costs "
           "no model time.")
base = config.photos_dir()

up = st.file_uploader("Labels CSV (optional): 'file' or 'person', then group columns", type=["csv"],
                      key="eval_labels")
st.caption("The shared photos come with no such labels, and the workbench makes no claim about the people "
           "in them. Bring your own labels and answer for them.")
labels = ui.attempt(parse_labels, up.getvalue(), up.name) if up is not None else None


def identity_picker(prefix: str) -> ProbeIdentity | None:
    """Who the probes are, from a source the user states; ``None`` (with a message) until stated."""
    how = st.radio("Who do the probe photos show?", [
        "Each person's photos are in a sub-folder named after them",
        "A CSV names the person of each file (columns: file, person)",
        "None of these people is in the gallery (I state it)"], index=None, key=f"{prefix}_identity",
        help="The workbench never guesses who a probe is from a file name.")
    if how is None:
        st.info("Say who the probe photos show first: without that, nobody can be called innocent or missed.")
        return None
    if how.startswith("None"):
        return ProbeIdentity(NONE_ENROLLED)
    if how.startswith("A CSV"):
        up = st.file_uploader("Identities CSV (file, person)", type=["csv"], key=f"{prefix}_identities")
        return ui.attempt(parse_identities, up.getvalue(), up.name) if up is not None else None
    return ProbeIdentity(FOLDERS)


def failures(r) -> None:
    """Failures to acquire and skipped files, each reason once with its count."""
    st.caption(f"Failures to acquire: {ui.literal(r.fta_words())}")
    by: dict[str, list[str]] = {}
    for name, why in r.skipped.items():
        by.setdefault(why, []).append(name)
    for why, names in by.items():
        more = f" and {len(names) - 3} more" if len(names) > 3 else ""
        st.caption(f"Skipped, {ui.literal(why)}: {len(names)} file(s) ({ui.literal(', '.join(names[:3]))}{more})")


def show_scale(answer, key: str) -> None:
    """The scale answer in words (300,000 and 20 million faces at 80 % and 99 %), its chart and table."""
    st.subheader("At the scale of real databases")
    for line in report.scale_sentences(answer):  # the same sentences as the report and the CLI
        st.markdown(ui.literal(line))
    st.caption(ui.literal(scale.ASSUMES))
    st.plotly_chart(plots.scale_figure(answer), key=f"{key}_fig")
    if answer.groups:
        st.plotly_chart(plots.scale_groups_figure(answer), key=f"{key}_groups")
    st.dataframe(pl.DataFrame(scale.table(answer)), hide_index=True, key=f"{key}_table")


def show_figures(figs, prefix: str) -> None:
    cols = st.columns(2)
    for i, (title, fig) in enumerate(figs):
        cols[i % 2].plotly_chart(fig, key=f"{prefix}_{i}")


tab_pairs, tab_search, tab_replay = st.tabs(["Verification (1:1)", "Search (1:N)", "Replay"])

with tab_pairs:
    csvs = evaluate.sample_pair_csvs(base)
    folders = evaluate.sample_folders(base, people=True)
    options = [f"pairs: {k}" for k in csvs] + [f"folder: {k}" for k in folders]
    pick = st.selectbox("Labelled data", options or ["(no shared photos found)"], key="eval_set")
    exclude = st.checkbox("Leave photos with no face found out of the rates (NIST counts them as misses)",
                          key="eval_exclude_fta")
    if options and st.button("Evaluate", key="eval_run"):
        kind, name = pick.split(": ", 1)
        progress = ui.progress_callback("Evaluating")  # drawn at once; names each file from the first one
        with work.batch_lane():  # its photos never hold up a class's searches
            if kind == "pairs":
                r = ui.attempt(evaluate.eval_pairs, csvs[name], None, s, db=ui.db(), labels=labels,
                               include_fta=not exclude, progress=progress)
            else:
                r = ui.attempt(evaluate.eval_folder, folders[name], s, db=ui.db(), labels=labels,
                               include_fta=not exclude, progress=progress)
        st.session_state["eval_pairs_report"] = r
    r = st.session_state.get("eval_pairs_report")
    if r is not None:
        for line in readable.pairs_headline(r):  # the answer in words first
            st.markdown(f"**{ui.literal(line)}**")
        for col, t in zip(st.columns(4), readable.pairs_tiles(r)):  # the headline's interval on every tile
            col.metric(t.label, t.value, t.note, delta_color="off", delta_arrow="off",
                       help=words.GLOSSARY.get(t.label))
        st.caption(f"{len(r.pairs)} pairs over {r.images} photos at threshold {r.threshold:.4f}; "
                   f"{r.cache_stats.hits} vectors from the cache, {r.cache_stats.computed} computed. "
                   f"Best accuracy {r.best_accuracy:.2%} at {r.best_threshold:.3f} is tuned on these pairs.")
        failures(r)
        if r.groups:
            st.subheader(f"Per group ({ui.literal(r.group_column)}), highest false match rate first")
            st.dataframe(readable.group_table(r.groups, r.group_fta), key="eval_groups", hide_index=True)
        show_figures(report.pairs_figures(r), "pairs")
        for ex in report.pairs_examples(r):  # the worst errors, with both photos
            st.subheader(ex.title)
            for i, item in enumerate(ex.items):
                cols = st.columns([1, 1, 3])
                for col, image in zip(cols, item.images):
                    col.image(image, width=120)
                cols[2].markdown(ui.literal(item.caption))
        downloads.table_downloads(report.pairs_tables(r), "evaluation")

folders_any = evaluate.sample_folders(base)
with tab_search:
    st.caption(f"Probe photos searched in gallery {ui.literal(cur.gallery)}; a probe is mated when its stated "
               "person is a gallery person.")
    probes = st.selectbox("Probe folder", list(folders_any) or ["(none)"], key="search_probes")
    who = identity_picker("search")
    if folders_any and st.button("Search all probes", key="search_run", disabled=who is None):
        with work.batch_lane():
            st.session_state["eval_search_report"] = ui.attempt(
                eval_search, ui.db(), cur.gallery, folders_any[probes], s, labels=labels, identity=who,
                progress=ui.progress_callback("embedding"))
    sr = st.session_state.get("eval_search_report")
    if sr is not None:
        for line in readable.search_headline(sr):  # the answer in words first
            st.markdown(f"**{ui.literal(line)}**")
        c = st.columns(3)
        c[0].metric("FPIR", "–" if sr.curve.nonmated == 0 else f"{sr.fpir:.2%}", f"{sr.curve.nonmated} non-mated",
                    delta_color="off", delta_arrow="off")
        c[1].metric("FNIR", "–" if sr.curve.mated == 0 else f"{sr.fnir:.2%}", f"{sr.curve.mated} mated",
                    delta_color="off", delta_arrow="off")
        c[2].metric("Rank-1", "–" if sr.curve.mated == 0 else f"{sr.cmc[0]:.2%}")
        failures(sr)
        if sr.unknown:
            st.caption(f"Left out, person not stated: {len(sr.unknown)} probe(s)")
        show_figures(report.search_figures(sr), "search")
        if sr.groups:
            st.dataframe(pl.DataFrame(sr.groups), key="search_groups")

with tab_replay:
    st.caption(f"People who are **not** in gallery {ui.literal(cur.gallery)} are searched in it: every match is a "
               "false match, as for the 28 members of Congress in 2018.")
    probes = st.selectbox("Probe folder (people not in the gallery)", list(folders_any) or ["(none)"],
                          key="replay_probes")
    who = identity_picker("replay")
    extra = st.slider("Another similarity threshold (%)", 50.0, 99.9, 70.0, 0.5, key="replay_similarity")
    if folders_any and st.button("Run the replay", key="replay_run", disabled=who is None):
        with work.batch_lane():
            st.session_state["eval_replay_report"] = ui.attempt(
                replay.run_replay, ui.db(), cur.gallery, folders_any[probes], s, labels=labels, identity=who,
                extra_similarity=extra, progress=ui.progress_callback("embedding"))
    rr = st.session_state.get("eval_replay_report")
    if rr is not None:
        st.markdown(f"**{len(rr.probes)} innocent probes** against **{rr.gallery_faces} faces** "
                    f"(who they are: {ui.literal(rr.identity)}); {len(rr.excluded)} left out because their "
                    f"person is in the gallery, {len(rr.unknown)} because nobody said who they are"
                    f"{f', {len(rr.fta)} not searched: no face found' if rr.fta else ''}.")
        show_figures(report.replay_figures(rr), "replay")
        st.dataframe(report.replay_table(rr), key="replay_table")
        st.caption("Dotted lines and 'extrapolated' columns are EXTRAPOLATION from the measured false match rate, "
                   "assuming independent comparisons; they are not measurements.")
        if rr.scale is not None:
            show_scale(rr.scale, "replay_scale")
