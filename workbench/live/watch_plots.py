"""Plotly figures of the sightings log: data in, ``go.Figure`` out. No Streamlit here."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from workbench.evaluation.reports.plots import IMPOSTOR, _layout

#: One colour per camera, in order of first appearance (plotly's qualitative palette).
PALETTE = ("#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880",
           "#ff97ff", "#fecb52")


def timeline_figure(sightings: pl.DataFrame, time_axis: str = "wall") -> go.Figure:
    """Who (rows) was seen when (x), one bar per sighting from its first to its last frame,
    coloured by camera; alerts are ringed in red. ``time_axis``: ``wall`` (clock time) or
    ``video`` (seconds into each video)."""
    fig = go.Figure()
    if sightings.height == 0:
        fig.add_annotation(text="no sightings", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
        return _layout(fig, "Timeline")
    first, last = ("first_seen", "last_seen") if time_axis == "wall" else ("first_video_s", "last_video_s")
    cameras = list(dict.fromkeys(sightings["camera"].to_list()))
    for k, cam in enumerate(cameras):
        part = sightings.filter(pl.col("camera") == cam)
        xs, ys, text = [], [], []
        for r in part.iter_rows(named=True):
            xs += [r[first], r[last], None]
            ys += [r["who"], r["who"], None]
            sim = "" if r["similarity"] is None else f", {r['similarity']:.1f} %"
            text += [f"{cam}: {r['who']}{sim}"] * 2 + [None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=cam, text=text, hoverinfo="text+x",
                                 line=dict(width=10, color=PALETTE[k % len(PALETTE)]), marker=dict(size=6)))
    alerts = sightings.filter(pl.col("alert"))
    if alerts.height:
        fig.add_trace(go.Scatter(x=alerts[first].to_list(), y=alerts["who"].to_list(), mode="markers",
                                 name="alert", marker=dict(size=16, color="rgba(0,0,0,0)",
                                                           line=dict(color=IMPOSTOR, width=3))))
    people = sorted(set(sightings["who"].to_list()))
    fig.update_layout(xaxis=dict(title="time" if time_axis == "wall" else "seconds into the video"),
                      # automargin: the left margin grows to the longest name ("unknown 0007" was cut)
                      yaxis=dict(title="", type="category", categoryorder="array", categoryarray=people,
                                 automargin=True))
    return _layout(fig, "Who was seen when (colour: camera)", height=max(260, 60 + 28 * len(people)))


def alert_threshold_figure(alerts: pl.DataFrame) -> go.Figure:
    """Alerts each threshold would have raised on the same footage (bars, counts on them)."""
    fig = go.Figure(go.Bar(x=alerts["threshold"].to_list(), y=alerts["alerts"].to_list(), marker_color=IMPOSTOR,
                           text=[f"{a} of {n}" for a, n in zip(alerts["alerts"].to_list(),
                                                             alerts["sightings_of_watchlisted_candidates"].to_list())],
                           textposition="outside"))
    fig.update_layout(yaxis=dict(title="alerts (sightings of watchlisted people)", rangemode="tozero"))
    return _layout(fig, "Alerts per threshold, same footage", height=300)
