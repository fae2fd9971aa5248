"""Plotly figure builders: data in, ``go.Figure`` out. No Streamlit here."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
import polars as pl

from workbench.live import FrameStats
from workbench.types import Match

GENUINE = "#2a9d8f"
IMPOSTOR = "#e76f51"
THRESHOLD = "#264653"


def _layout(fig: go.Figure, title: str, height: int = 300) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=dict(l=40, r=20, t=40, b=40),
                      legend=dict(orientation="h", y=-0.25))
    return fig


def latency_figure(stats: Sequence[FrameStats]) -> go.Figure:
    """Per-stage latency (ms) per frame, stacked, with frames per second on a second axis."""
    fig = go.Figure()
    frames = [s.frame for s in stats]
    for name, key in (("detect", "detect_ms"), ("embed", "embed_ms"), ("search", "search_ms")):
        fig.add_trace(go.Scatter(x=frames, y=[getattr(s, key) for s in stats], name=name,
                                 stackgroup="ms", mode="lines"))
    if len(stats) > 1:
        t = np.array([s.time_s for s in stats])
        fps = np.concatenate([[np.nan], 1.0 / np.maximum(np.diff(t), 1e-6)])
        fig.add_trace(go.Scatter(x=frames, y=fps, name="fps", yaxis="y2", line=dict(dash="dot")))
    fig.update_layout(yaxis=dict(title="ms"), yaxis2=dict(title="fps", overlaying="y", side="right"),
                      xaxis=dict(title="frame"))
    return _layout(fig, "Latency per stage")


def live_distance_figure(stats: Sequence[FrameStats], threshold: float) -> go.Figure:
    """Distances of recent identifications against the threshold line."""
    xs, ys, names = [], [], []
    for s in stats:
        for person, d in s.matches:
            xs.append(s.frame)
            ys.append(d)
            names.append(person)
    fig = go.Figure(go.Scatter(x=xs, y=ys, mode="markers", text=names, name="best candidate",
                               marker=dict(color=[GENUINE if d <= threshold else IMPOSTOR for d in ys])))
    fig.add_hline(y=threshold, line=dict(color=THRESHOLD, dash="dash"), annotation_text="threshold")
    fig.update_layout(xaxis=dict(title="frame"), yaxis=dict(title="distance"))
    return _layout(fig, "Match distances (under the line = match)")


def candidates_figure(matches: Sequence[Match], threshold: float) -> go.Figure:
    """Bar chart of one probe face's candidate distances, with the threshold line."""
    fig = go.Figure(go.Bar(
        x=[f"{m.rank}. {m.person}" for m in matches], y=[m.distance for m in matches],
        marker_color=[GENUINE if m.distance <= threshold else IMPOSTOR for m in matches],
        text=[f"{m.similarity:.1f}%" for m in matches], textposition="outside"))
    fig.add_hline(y=threshold, line=dict(color=THRESHOLD, dash="dash"), annotation_text="threshold")
    fig.update_layout(yaxis=dict(title="distance"))
    return _layout(fig, "Candidate distances", height=260)


def pair_distance_figure(genuine: np.ndarray, impostor: np.ndarray, threshold: float,
                         marker: float | None = None) -> go.Figure:
    """Overlaid histograms of genuine and impostor distances, the threshold, and one pair."""
    fig = go.Figure()
    fig.add_trace(go.Histogram(x=np.asarray(genuine), name=f"same person ({len(genuine)})",
                               marker_color=GENUINE, opacity=0.65, nbinsx=40))
    fig.add_trace(go.Histogram(x=np.asarray(impostor), name=f"different people ({len(impostor)})",
                               marker_color=IMPOSTOR, opacity=0.65, nbinsx=40))
    fig.add_vline(x=threshold, line=dict(color=THRESHOLD, dash="dash"), annotation_text="threshold")
    if marker is not None:
        fig.add_vline(x=marker, line=dict(color="black", width=3), annotation_text="this pair")
    fig.update_layout(barmode="overlay", xaxis=dict(title="distance"), yaxis=dict(title="pairs"))
    return _layout(fig, "Genuine vs impostor distances", height=340)


def stage_latency_figure(log: pl.DataFrame) -> go.Figure:
    """Box plot of per-stage latency over the search log."""
    fig = go.Figure()
    for stage in ("detect_ms", "embed_ms", "search_ms"):
        if stage in log.columns:
            fig.add_trace(go.Box(y=log[stage].to_list(), name=stage.removesuffix("_ms"), boxpoints="outliers"))
    fig.update_layout(yaxis=dict(title="ms"))
    return _layout(fig, "Latency per stage (search log)")


def searches_over_time_figure(log: pl.DataFrame) -> go.Figure:
    """Cumulative number of searches over time, from the search log."""
    if log.height == 0:
        return _layout(go.Figure(), "Searches over time")
    times = log.sort("searched_at")["searched_at"].to_list()
    fig = go.Figure(go.Scatter(x=times, y=list(range(1, len(times) + 1)), mode="lines+markers",
                               line=dict(shape="hv"), name="searches"))
    fig.update_layout(xaxis=dict(title="time"), yaxis=dict(title="searches so far", rangemode="tozero"))
    return _layout(fig, "Searches over time")
