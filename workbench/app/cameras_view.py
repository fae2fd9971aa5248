"""What the Cameras page offers and shows of a watch: its sources, each camera's line, the
run's banner, and the sightings tables with units and words instead of empty cells.

No Streamlit calls here but through the page: these are plain functions from the watch's
records to text and tables, so the page stays widgets in, one call, render.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import polars as pl

from workbench.app.ui import literal
from workbench.errors import WorkbenchError
from workbench.live.sources import CameraSpec, camera_spec

#: The source choices besides the video files.
STREAM = "Network stream (URL)"
WEBCAM = "Webcam (this browser)"
#: What the distance column says when a sighting had no candidate at all.
NO_CANDIDATE = "nobody enrolled to compare"


def camera_specs(chosen: Sequence[tuple[str, str, str]], clips: dict[str, Path]) -> list[CameraSpec]:
    """The cameras of ``(name, choice, stream URL)`` per slot: a clip, a stream (its URL's user
    and password kept in memory only) or the browser's webcam. Names must differ."""
    specs = []
    for name, choice, url in chosen:
        if choice == WEBCAM:
            specs.append(CameraSpec("webcam", "browser", "push"))
        elif choice == STREAM:
            spec = camera_spec(name, url) if url.strip() else None
            if spec is None or spec.kind != "stream":
                raise WorkbenchError(f"{name}: give the stream's address (rtsp://, http:// ...)")
            specs.append(spec)
        else:
            specs.append(CameraSpec(name, str(clips[choice]), "file"))
    names = [s.name for s in specs]
    if len(set(names)) < len(names):
        raise WorkbenchError("two cameras have the same name: give each camera a different name")
    return specs


def camera_line(spec: CameraSpec, summary: Any) -> str:
    """One camera's caption (Markdown, every name literal): its source, state and counters."""
    source = Path(spec.source).name if spec.kind in ("file", "folder") else spec.source
    return (f"**{literal(spec.name)}** ({literal(source)}): {literal(summary.state)}, {summary.frames} frames "
            f"({summary.dropped} dropped), {summary.fps:.1f} fps, {summary.faces} faces, {summary.sightings} "
            "sightings" + (f" - {literal(summary.message)}" if summary.message else ""))


def banner(watch: Any) -> tuple[str, str]:
    """``(kind, text)`` of the run's banner (``info``, ``error`` or ``success``): while running it
    says so, never the previous run's outcome."""
    if watch.running:
        return "info", (f"Watch run {watch.run_id} is running ({len(watch.specs)} camera(s), "
                        f"{watch.sightings} sightings so far): this page updates every second.")
    if watch.error is not None:
        return "error", f"The watch stopped: {literal(watch.error)}"
    r = watch.result
    if r is None:
        return "info", f"Watch run {watch.run_id} is starting."
    failed = [c.name for c in r.cameras if c.state == "failed"]
    return "success", (f"Watch run {r.run_id} done: {r.sightings} sightings, {r.alerts} alerts, "
                       f"{r.new_identities} new anonymous identities"
                       + (f"; failed: {literal(', '.join(failed))}." if failed else "."))


def _distance(d: float | None) -> str:
    return NO_CANDIDATE if d is None else f"{d:.3f}"


def _similarity(s: float | None) -> str:
    return "" if s is None else f"{s:.1f} %"


def sightings_table(rows: pl.DataFrame, alerts: bool = False) -> pl.DataFrame:
    """The sightings (or, with ``alerts``, the alerts) as the page shows them: who in full, times,
    seconds into the video, distance in words when there was no candidate, similarity in %."""
    out = rows.select(
        "camera", "who", pl.col("first_seen").alias("first seen"), pl.col("last_seen").alias("last seen"),
        pl.format("{} to {}", pl.col("first_video_s").round(1), pl.col("last_video_s").round(1))
        .alias("seconds into the video"),
        pl.col("distance").map_elements(_distance, return_dtype=pl.String, skip_nulls=False),
        pl.col("similarity").map_elements(_similarity, return_dtype=pl.String, skip_nulls=False),
        "alert", pl.col("watchlists").list.join(", "),
    )
    return out.filter(pl.col("alert")).drop("alert", "last seen") if alerts else out.drop("watchlists")
