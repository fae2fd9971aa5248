"""What the Cameras page offers and shows of a watch: its sources, each camera's line, the
run's banner, and the sightings tables with units and words instead of empty cells.

No Streamlit calls here but through the page: these are plain functions from the watch's
records to text and tables, so the page stays widgets in, one call, render.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import polars as pl

from dataclasses import replace

from workbench.app.ui import literal
from workbench.errors import WorkbenchError
from workbench.live import unknown
from workbench.live.camera_quality import RESOLUTIONS, CameraQuality
from workbench.live.sources import PUSHED, CameraSpec, camera_spec

#: The source choices besides the video files.
STREAM = "Network stream (URL)"
WEBCAM = "Webcam (this browser)"
#: What the distance column says when a sighting had no candidate at all.
NO_CANDIDATE = "nobody enrolled to compare"
#: ... and when no face of the track passed the quality gate.
NOT_SEARCHED = "not searched: no face passed the gate"
#: The camera-quality choices of each camera slot (besides its distance), "as recorded" first.
RESOLUTION_CHOICES = ("as recorded", "720p", "1080p", "4K")
NIGHT_CHOICES = {"day": None, "dusk: 10 % of the light": 0.1, "night: 3 %": 0.03, "dark night: 1 %": 0.01}


def camera_quality(distance_m: float, resolution: str, jpeg: int, fps: float, night: str) -> CameraQuality:
    """A slot's camera-quality widgets as a setting: 0 (or "as recorded") leaves that part as
    recorded; out-of-range values are refused in one line by :class:`CameraQuality`."""
    pixels = RESOLUTIONS[resolution.lower()] if resolution != RESOLUTION_CHOICES[0] else None
    return CameraQuality(distance_m=float(distance_m) or None, pixels=pixels, jpeg=int(jpeg) or None,
                         fps=float(fps) or None, night=NIGHT_CHOICES[night])


def camera_specs(chosen: Sequence[tuple[str, str, str, CameraQuality]], clips: dict[str, Path]) -> list[CameraSpec]:
    """The cameras of ``(name, choice, stream URL, camera quality)`` per slot: a clip, a stream
    (its URL's user and password kept in memory only) or the browser's webcam. Names must differ."""
    specs = []
    for name, choice, url, quality in chosen:
        if choice == WEBCAM:
            specs.append(CameraSpec("webcam", PUSHED, "push", quality=quality))
        elif choice == STREAM:
            spec = camera_spec(name, url) if url.strip() else None
            if spec is None or spec.kind != "stream":
                raise WorkbenchError(f"{name}: give the stream's address (rtsp://, http:// ...)")
            specs.append(replace(spec, quality=quality))
        else:
            specs.append(CameraSpec(name, str(clips[choice]), "file", quality=quality))
    names = [s.name for s in specs]
    if len(set(names)) < len(names):
        raise WorkbenchError("two cameras have the same name: give each camera a different name")
    return specs


def camera_line(spec: CameraSpec, summary: Any) -> str:
    """One camera's caption (Markdown, every name literal): its source, state and counters."""
    source = Path(spec.source).name if spec.kind in ("file", "folder") else spec.source
    return (f"**{literal(spec.name)}** ({literal(source)}): {literal(summary.state)}, {summary.frames} frames "
            f"({summary.dropped} dropped), {summary.fps:.1f} fps, {summary.faces} faces, {summary.sightings} "
            "sightings" + (f", {summary.gated} with no face past the quality gate" if summary.gated else "")
            + (f" - {literal(summary.message)}" if summary.message else "")
            + ("" if summary.conditions == "as recorded" else f". Camera quality: {literal(summary.conditions)}"))


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


def _distance(row: dict) -> str:
    """The distance, or in words why there is none: no face passed the gate, or nobody to compare."""
    if row["distance"] is not None:
        return f"{row['distance']:.3f}"
    gated = row["why_unknown"] and unknown.kind(row["why_unknown"]) != unknown.NOBODY
    return NOT_SEARCHED if gated else NO_CANDIDATE


def _similarity(s: float | None) -> str:
    return "" if s is None else f"{s:.1f} %"


def sightings_table(rows: pl.DataFrame, alerts: bool = False) -> pl.DataFrame:
    """The sightings (or, with ``alerts``, the alerts) as the page shows them: who in full, times,
    seconds into the video, distance in words when there was no candidate, similarity in %, and
    why an unknown track stayed unknown."""
    out = rows.select(
        "camera", "who", pl.col("first_seen").alias("first seen"), pl.col("last_seen").alias("last seen"),
        pl.format("{} to {}", pl.col("first_video_s").round(1), pl.col("last_video_s").round(1))
        .alias("seconds into the video"),
        pl.struct("distance", "why_unknown").map_elements(_distance, return_dtype=pl.String).alias("distance"),
        pl.col("similarity").map_elements(_similarity, return_dtype=pl.String, skip_nulls=False),
        "alert", pl.col("watchlists").list.join(", "), pl.col("why_unknown").fill_null("").alias("why unknown"),
    )
    return (out.filter(pl.col("alert")).drop("alert", "last seen", "why unknown") if alerts
            else out.drop("watchlists"))
