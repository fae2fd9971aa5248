import tempfile
from pathlib import Path

import polars as pl
import streamlit as st

from workbench.app import cameras_view as view
from workbench.app import ui
from workbench.app.consent import MISSING, consent_choice
from workbench.live import route, watch_plots
from workbench.live.follow import CAUTION, follow_face
from workbench.live.cameras import PushSource
from workbench.live.watch import Watch, WatchOptions
from workbench.pipeline import compare
from workbench.search import clusters

cur = ui.current()
s = cur.settings
db = ui.db()
st.title("Cameras")
st.caption(f"Several cameras searched at once against gallery **{ui.literal(cur.gallery)}**. Every track that is "
           "identified becomes a row of the sightings log (in the database); faces that match nobody are grouped "
           "into anonymous identities ('unknown 0007'); people on a watchlist raise alerts. An unknown row says why: "
           "no face of the track passed the quality gate (which rule), or how far under the threshold its best "
           "candidate was. Each camera can be made worse (further away, fewer pixels, JPEG, fewer frames, night) "
           "to see where recognition stops.")

clips = ui.sample_videos()
uploads = st.file_uploader("Upload videos", type=["mp4", "avi", "mov", "mkv", "webm"], accept_multiple_files=True,
                           key="cam_uploads")
if uploads:  # OpenCV reads files: uploads live in a temporary folder for this session
    folder = Path(st.session_state.setdefault("cam_tmp", tempfile.mkdtemp(prefix="workbench-cameras-")))
    for up in uploads:
        (folder / Path(up.name).name).write_bytes(up.getvalue())
        clips[f"upload: {Path(up.name).name}"] = folder / Path(up.name).name
options = list(clips) + [view.STREAM, view.WEBCAM]
n = st.number_input("Cameras", 1, 4, 2, key="cam_n")
slots = st.columns(int(n))
chosen: list[tuple] = []
qualities_ok = True
for i, col in enumerate(slots):
    name = col.text_input("Name", f"camera {i + 1}", key=f"cam_name_{i}")
    source = col.selectbox("Source", options, key=f"cam_src_{i}")
    # a password field: the URL's user and password are not shown on a projector, nor ever stored
    url = col.text_input("Stream address", key=f"cam_url_{i}", type="password",
                         placeholder="rtsp://user:password@camera:554/stream",
                         help="rtsp://, http:// (MJPEG, HLS) ... A user and password in it are used to connect "
                              "and never stored or shown.") if source == view.STREAM else ""
    distance = col.number_input("Distance from the camera (m; 0 = as recorded)", 0.0, 1000.0, 0.0, 1.0,
                                key=f"cam_dist_{i}", help="Faces as a 1080p camera with a 90° lens sees a 16-cm face "
                                "from this far: the footage's own faces are measured and every frame is shrunk to "
                                "match (never enlarged).")
    more = col.expander("More camera quality")
    resolution = more.selectbox("Camera resolution", view.RESOLUTION_CHOICES, key=f"cam_res_{i}")
    jpeg = more.slider("JPEG quality (0 = as recorded)", 0, 100, 0, key=f"cam_jpeg_{i}")
    fps = more.number_input("Frames a second (0 = as recorded)", 0.0, 60.0, 0.0, 1.0, key=f"cam_fps_{i}")
    night = more.selectbox("Light", list(view.NIGHT_CHOICES), key=f"cam_night_{i}")
    quality = ui.attempt(view.camera_quality, distance, resolution, jpeg, fps, night)
    qualities_ok = qualities_ok and quality is not None
    if quality is not None and not quality.as_recorded:
        col.caption(ui.literal(quality.words))
    chosen.append((name.strip() or f"camera {i + 1}", source, url, quality))
streams = any(c[1] == view.STREAM for c in chosen)
retries = st.number_input("Reconnection attempts before a stream is reported failed", 0, 20, 5,
                          key="cam_retries") if streams else 5

a, b, c = st.columns(3)
fast = a.toggle("As fast as possible", key="cam_fast", help="Off: files play at their own frame rate, like cameras.")
keep_chips = b.toggle("Keep face chips", key="cam_chips", help="Store each sighting's face (to review identities).")
max_frames = c.slider("Stop each camera after frames", 10, 2000, 300, key="cam_max")
base = compare.default_threshold(s.model, s.metric_)
alert_sim = st.slider("Alert on watchlisted people at similarity (%) or more", 80.0, 99.9,
                      round(compare.similarity(s.threshold_, base), 1), key="cam_alert",
                      help="Rekognition's advice for police use is 99 %. The report shows what each level would raise.")
# a missing, empty or other model's gallery is said so here, before any result; watching never makes one
known = ui.gallery_matrix(cur.gallery) is not None
if known:
    people = db.faces.people(cur.gallery)["name"].to_list()
    listed = set(db.watchlist.list(cur.gallery)["person"].to_list())
    interest = st.multiselect("People of interest (watchlist 'default')", people, default=sorted(listed & set(people)),
                              key="cam_watchlist")
    if st.button("Save watchlist", key="cam_watchlist_save"):
        for person in set(interest) - listed:
            ui.attempt(db.watchlist.add, cur.gallery, person)
        for person in listed - set(interest):
            ui.attempt(db.watchlist.remove, cur.gallery, person)
        st.success(f"Watchlist: {ui.literal(', '.join(sorted(interest)) or 'nobody')}")

watch: Watch | None = st.session_state.get("cam_watch")
holder = st.session_state.setdefault("cam_holder", {})  # what the WebRTC thread may read (no session state there)
if any(c[1] == view.WEBCAM for c in chosen):
    push = st.session_state.setdefault("cam_push", PushSource())
    import av
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    def callback(frame: av.VideoFrame) -> av.VideoFrame:
        # the WebRTC thread only hands frames over and shows the newest annotated one
        image = frame.to_ndarray(format="rgb24")
        push.push(image)
        w = holder.get("watch")
        shown = w.latest_frames().get("webcam") if w is not None else None
        return av.VideoFrame.from_ndarray(shown if shown is not None else image, format="rgb24")

    webrtc_streamer(key="cameras_webcam", mode=WebRtcMode.SENDRECV, video_frame_callback=callback,
                    rtc_configuration={"iceServers": ui.ice_servers()},
                    media_stream_constraints={"video": True, "audio": False}, async_processing=True)

go, stop = st.columns(2)
if go.button("Start watching", type="primary", key="cam_start",
             disabled=bool(watch and watch.running) or not known or not qualities_ok):
    specs = ui.attempt(view.camera_specs, chosen, clips)
    if specs:
        push = {"webcam": st.session_state["cam_push"]} if any(sp.kind == "push" for sp in specs) else {}
        opts = WatchOptions(cur.gallery, s, fast=fast, keep_chips=keep_chips, restart=True, max_frames=max_frames,
                            draw=True, alert_threshold=compare.distance_for_similarity(alert_sim, base),
                            retries=int(retries))
        watch = Watch(db, specs, opts, push=push)
        ui.attempt(watch.run_in_background)
        if watch.running:
            st.session_state["cam_watch"] = holder["watch"] = watch
            st.session_state["cam_toasted"] = 0
            if push:  # a fresh webcam source for the next run: this one ends with this watch
                st.session_state.pop("cam_push", None)
if stop.button("Stop watching", key="cam_stop") and watch is not None:
    watch.stop()


def live_view(watch: Watch) -> None:
    """The running watch, redrawn every second without rerunning the page; when it ends, the
    whole page reruns at once (its outcome shows with the identities and watchlist the run left)."""
    if st.session_state.get("cam_live") and not watch.running:
        st.session_state["cam_live"] = False
        st.rerun()  # the run just ended: the whole page again, not this part with the rest stale
    kind, text = view.banner(watch)
    getattr(st, kind)(text)  # one place: the previous run's outcome never stays up during this one
    latest = watch.latest_frames()
    for col, spec in zip(st.columns(len(watch.specs)), watch.specs):
        if latest.get(spec.name) is not None:
            col.image(latest[spec.name])
        col.caption(view.camera_line(spec, watch.summaries[spec.name]))
    rows = db.sightings.query(watch.options.gallery, run_id=watch.run_id)
    st.subheader(f"Sightings of this run: {rows.height}")
    st.dataframe(view.sightings_table(rows).to_pandas(), hide_index=True, placeholder="-")
    st.plotly_chart(watch_plots.timeline_figure(rows), key="cam_timeline")
    flagged = view.sightings_table(rows, alerts=True)
    st.subheader(f"Alerts: {flagged.height}")
    st.dataframe(flagged.to_pandas(), hide_index=True)
    new = list(watch.recent_alerts)[st.session_state.get("cam_toasted", 0):]
    for a in new:
        st.toast(f"Alert: {ui.literal(a.person)} on {ui.literal(a.camera)} ({a.similarity or 0:.1f} %)")
    st.session_state["cam_toasted"] = st.session_state.get("cam_toasted", 0) + len(new)


if watch is not None:
    st.session_state["cam_live"] = watch.running
    st.fragment(live_view, run_every=1.0 if watch.running else None)(watch)

st.subheader("Anonymous identities")
idents = ui.attempt(db.identities.list, cur.gallery) if known else None
if idents is None or idents.height == 0:
    st.caption("None yet: faces that match nobody in the gallery are grouped here.")
else:
    st.dataframe(idents.to_pandas(), hide_index=True, placeholder="-")
    pick = st.selectbox("Identity", idents["id"].to_list(), key="ident_pick",
                        format_func=lambda i: ui.literal(idents.filter(idents["id"] == i)["label"][0]))
    its = db.sightings.query(cur.gallery, identity=int(pick))
    chips = [db.sightings.chip(i) for i in its.filter(its["has_chip"])["id"].head(12).to_list()]
    if chips:
        st.image([c for c in chips if c], width=96)
    else:
        st.caption("No chips kept for this identity (turn on 'Keep face chips').")
    name_col, merge_col, split_col = st.columns(3)
    person = name_col.text_input("Name this identity", key="ident_name")
    consent = consent_choice("ident", name_col)  # naming enrols: the same choice as the Enrol page
    if name_col.button("Enrol as this person", key="ident_enrol") and person.strip():
        if consent is None:
            name_col.error(MISSING)
        else:
            n_faces = ui.attempt(db.identities.name, cur.gallery, int(pick), person, model=s.model, consent=consent)
            if n_faces is not None:
                st.success(f"{ui.literal(person)}: {n_faces} face(s) enrolled ({ui.literal(consent.words)}).")
    others = merge_col.multiselect("Merge into it", [i for i in idents["id"].to_list() if i != pick], key="ident_merge")
    if merge_col.button("Merge", key="ident_merge_go") and others:
        ui.attempt(clusters.merge, db, cur.gallery, int(pick), others, model=s.model)
    moved = split_col.multiselect("Split these sightings off", its["id"].to_list(), key="ident_split")
    if split_col.button("Split", key="ident_split_go") and moved:
        ui.attempt(clusters.split, db, cur.gallery, int(pick), moved, model=s.model)

st.subheader("Where was this face seen?")
st.caption("One photo searched against every sighting of the gallery (known people and anonymous faces, every "
           "camera and run) with the vectors the log keeps, at the sidebar's threshold. The search is logged like "
           "any other.")
probe = ui.image_input("Photo of the face to follow", "follow") if known else None
plan = st.file_uploader("Camera positions (optional CSV: camera,x,y on a site plan, or camera,lon,lat)", type=["csv"],
                        key="follow_plan") if known else None
if probe is not None and st.button("Search the sightings", key="follow_go"):
    name, data = probe
    positions = ui.attempt(route.read_positions, plan.getvalue(), plan.name) if plan is not None else None
    with st.spinner("Searching the sightings log (the first search also measures the risk at scale) ..."):
        found = ui.attempt(follow_face, db, cur.gallery, data, s, name=name, client="app") \
            if plan is None or positions is not None else None
    st.session_state["follow"] = (cur.gallery, s, found, positions) if found else None
kept = st.session_state.get("follow")
if kept and kept[:2] == (cur.gallery, s):  # never another gallery's or model's answer
    _, _, found, positions = kept
    st.markdown(f"**{ui.literal(found.summary())}**")
    st.warning(CAUTION)
    for trail in found.cameras():
        st.caption(ui.literal(trail.line()))
    st.dataframe(found.table().to_pandas(), hide_index=True, key="follow_table")
    st.plotly_chart(watch_plots.trail_figure(found), key="follow_timeline")
    if positions is not None:
        st.plotly_chart(route.route_figure(found, positions), key="follow_route")
        st.caption(route.ORDER)
    chips = [(h, db.sightings.chip(h.sighting_id)) for h in found.hits[:12] if h.has_chip]
    if any(c for _, c in chips):
        st.image([c for _, c in chips if c], width=96, caption=[ui.literal(f"{h.rank}. {h.camera}") for h, c in chips if c])
    if found.risk is not None:
        st.info(ui.literal(found.risk.sentence()))
        st.dataframe(pl.DataFrame(found.risk.table()).to_pandas(), hide_index=True, key="follow_scale")
