import time
from pathlib import Path

import streamlit as st

from workbench import live
from workbench.app import ui
from workbench.errors import WorkbenchError
from workbench.evaluation.reports import plots
from workbench.pipeline import capture

cur = ui.current()
s = cur.settings
st.title("Live")
st.caption(f"Faces found in the stream are searched in gallery **{ui.literal(cur.gallery)}**; "
           "those over the threshold are labelled unknown. A face is embedded once per track "
           f"and re-checked every {live.REALTIME['recheck_every']} frames.")
matrix = ui.gallery_matrix(cur.gallery)


def processor(key: str) -> live.LiveProcessor:
    """One processor per stream and settings, kept across reruns."""
    sig = (key, cur.gallery, s, None if matrix is None else matrix.signature())
    if st.session_state.get(f"{key}_sig") != sig:
        # the webcam must keep up in real time: the library's real-time preset (as `bench video`)
        st.session_state[f"{key}_proc"] = (live.LiveProcessor.realtime(s, matrix) if key == "webrtc"
                                           else live.LiveProcessor(settings=s, matrix=matrix))
        st.session_state[f"{key}_sig"] = sig
    return st.session_state[f"{key}_proc"]


def render(proc: live.LiveProcessor, status, lat, dist) -> None:
    stats = proc.stats()
    status.markdown(f"**Frames processed: {len(stats) and stats[-1].frame + 1}** · "
                    f"**faces detected: {proc.faces_seen}** · fps {proc.fps():.1f}")
    lat.plotly_chart(plots.latency_figure(stats), key=f"lat_{time.monotonic_ns()}")
    dist.plotly_chart(plots.live_distance_figure(stats, s.threshold_), key=f"dist_{time.monotonic_ns()}")


mode = st.radio("Source", ["Webcam (WebRTC)", "Video file", "Snapshot"], horizontal=True, key="live_mode")
left, right = st.columns([3, 2])
with right:
    status, lat, dist = st.empty(), st.empty(), st.empty()


def snapshot(slot) -> None:
    shot = slot.camera_input("Take a snapshot", key="live_snapshot")
    if shot is not None:
        image = ui.attempt(capture.load_image, shot.getvalue())
        if image is not None:
            proc = processor("snapshot")
            annotated, _ = proc.process(image)
            slot.image(annotated)
            render(proc, status, lat, dist)


if mode == "Webcam (WebRTC)":
    import av
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    proc = processor("webrtc")

    def callback(frame: av.VideoFrame) -> av.VideoFrame:
        # Runs on the WebRTC worker thread: array work only, no st.* and no DB writes.
        # PyAV converts from YUV anyway, so asking it for RGB is the one conversion at this edge.
        annotated, _ = proc.process(frame.to_ndarray(format="rgb24"))
        return av.VideoFrame.from_ndarray(annotated, format="rgb24")

    try:
        with left:
            # async: only the newest frame is processed, older ones are dropped, so no lag builds up
            ctx = webrtc_streamer(key="live", mode=WebRtcMode.SENDRECV, video_frame_callback=callback,
                                  rtc_configuration={"iceServers": ui.ice_servers()},
                                  media_stream_constraints={"video": True, "audio": False},
                                  async_processing=True)
    except Exception as err:  # noqa: BLE001 - any failure to start WebRTC falls back to snapshots
        left.warning(f"WebRTC cannot run here ({type(err).__name__}); using camera snapshots instead.")
        snapshot(left)
    else:
        left.caption("No picture? Your browser may block WebRTC: use Snapshot mode.")
        render(proc, status, lat, dist)
        while ctx.state.playing:
            time.sleep(1.0)
            render(proc, status, lat, dist)

elif mode == "Video file":
    choices = ui.sample_videos()
    with left:
        up = st.file_uploader("Upload a video", type=["mp4", "avi", "mov", "mkv", "webm"], key="live_video")
        pick = st.selectbox("... or a demo clip", ["(none)"] + list(choices), key="live_clip") if choices else "(none)"
        every = st.slider("Process every n-th frame", 1, 10, 2, key="live_every")
        max_frames = st.slider("Stop after frames", 10, 600, 120, key="live_max")
        distance = st.number_input("Distance from the camera (m; 0 = as recorded)", 0.0, 1000.0, 0.0, 1.0,
                                   key="live_distance", help="Faces as a 1080p camera with a 90° lens sees a 16-cm "
                                   "face from this far: the clip's own faces are measured and every frame is shrunk "
                                   "to match (never enlarged).")
        quality = ui.attempt(live.CameraQuality, distance_m=distance or None)
        frame_slot = st.empty()
    if (up is not None or pick != "(none)") and st.button("Process video", type="primary"):
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            if up is not None:  # OpenCV reads files, so the upload lives on disk for this run only
                suffix = Path(up.name).suffix.lower()  # the name is the browser's: never a path
                path = f"{tmp}/upload{suffix if suffix in ('.mp4', '.avi', '.mov', '.mkv', '.webm') else '.mp4'}"
                with open(path, "wb") as fh:
                    fh.write(up.getvalue())
            else:
                path = str(choices[pick])
            proc = live.LiveProcessor(settings=s, matrix=matrix)
            info = ui.attempt(capture.video_info, path)
            if info is not None:
                bar = st.progress(0.0, text="Processing video")
                planned = max(min(info[0] or max_frames, max_frames), 1)
                try:
                    for idx, annotated, _ in live.process_video(path, proc, every=every, max_frames=max_frames,
                                                                quality=quality):
                        frame_slot.image(annotated, caption=f"frame {idx}")
                        bar.progress(min((idx + 1) / planned, 1.0), text=f"frame {idx + 1} of {planned}")
                        if idx % (every * 10) == 0:
                            render(proc, status, lat, dist)
                except WorkbenchError as err:
                    st.error(ui.literal(err))
                else:
                    render(proc, status, lat, dist)
                    st.success(f"Done: {len(proc.stats())} frames processed, {proc.faces_seen} faces detected.")
                    st.session_state["live_seen"] = proc.seen()
    seen = st.session_state.get("live_seen")
    if seen is not None:  # who was seen in the last clip processed, and when
        known = [x for x in seen if x.known]
        st.subheader("Who was seen")
        st.markdown(f"{len(known)} known {'person' if len(known) == 1 else 'people'} from gallery "
                    f"**{ui.literal(cur.gallery)}** and {len(seen) - len(known)} unknown "
                    f"{'face' if len(seen) - len(known) == 1 else 'faces'} (a face is one track: followed from "
                    "frame to frame; times are seconds into the clip). Names are the system's calls at the "
                    "threshold, not facts: each may be a false match.")
        if seen:
            st.dataframe(live.as_rows(seen), hide_index=True, key="live_seen_table")

else:
    snapshot(left)
