"""Charts of the robustness lab: data in, ``go.Figure`` out (the rate axes are :mod:`plots`')."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from workbench.evaluation.reports.plots import SERIES, plain, rate_axis
from workbench.evaluation.stats.metrics import wilson
from workbench.evaluation.stats.robustness import LevelRates
from workbench.pipeline import degrade

#: How each kind's levels are drawn: axis title, reversed (milder on the left), log.
AXES = {degrade.WIDTH: ("face width (px; smaller = further from the camera)", True, True),
        degrade.GAUSSIAN: ("blur σ (px, on a 100-px face)", False, False),
        degrade.MOTION: ("motion blur (px, on a 100-px face)", False, False),
        degrade.JPEG: ("JPEG quality (lower = more compressed)", True, False),
        degrade.NIGHT: ("light kept (log; amplified with its noise)", True, True),
        degrade.OCCLUSION: ("what covers the face", False, False),
        "pose": ("how far the more turned face of the pair is towards profile", False, False)}
TITLES = {degrade.WIDTH: "Distance: the face smaller", degrade.GAUSSIAN: "Out of focus",
          degrade.MOTION: "Motion blur", degrade.JPEG: "JPEG compression", degrade.NIGHT: "Night: low light and noise",
          degrade.OCCLUSION: "Occlusion", "pose": "Pose (LFW pairs binned by the landmarks' yaw)"}


def _x(kind: str, rows: Sequence[LevelRates]) -> list:
    if kind == degrade.OCCLUSION:
        return [plain(r.words) for r in rows]
    if kind == "pose":
        return [plain(r.words.replace("heads turned ", "")) for r in rows]
    return [r.value for r in rows]


def _errors(k: Sequence[int], n: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.array([a / b if b else np.nan for a, b in zip(k, n)], float)
    ci = [wilson(a, b) for a, b in zip(k, n)]
    lo = np.array([c.low for c in ci], float)
    hi = np.array([c.high for c in ci], float)
    return y, np.clip(hi - y, 0, None), np.clip(y - lo, 0, None)


def curves_figure(kind: str, rows_by_combo: dict[str, list[LevelRates]], clean: dict[str, LevelRates]) -> go.Figure:
    """One degradation, every model: missed true matches (FNMR, the gate set aside; solid, with
    95 % intervals) and failures to acquire (dotted) on the left, false matches (FMR, log) on the
    right; the photos as they are drawn as a dashed line per model."""
    from plotly.subplots import make_subplots

    title, reverse, log = AXES[kind]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("missed true matches (FNMR) and failures to acquire",
                                                        "false matches (FMR, log; 0 drawn at 0.01 %)"))
    for k, (combo, rows) in enumerate(rows_by_combo.items()):
        colour = SERIES[k % len(SERIES)]
        x = _x(kind, rows)
        y, up, down = _errors([r.false_non_matches for r in rows], [r.genuine for r in rows])
        text = [f"{r.false_non_matches} of {r.genuine} missed; {r.fta} of {r.photos} not acquired" for r in rows]
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=plain(combo), legendgroup=combo,
                                 line=dict(color=colour), hovertext=text, hoverinfo="text+y",
                                 error_y=dict(type="data", array=up, arrayminus=down)), row=1, col=1)
        fta = np.array([r.fta / r.photos if r.photos else np.nan for r in rows])
        fig.add_trace(go.Scatter(x=x, y=fta, mode="lines", name=plain(f"{combo}: not acquired (no face, or the gate)"),
                                 legendgroup=combo, line=dict(color=colour, dash="dot")), row=1, col=1)
        fy, fup, fdown = _errors([r.false_matches for r in rows], [r.impostor for r in rows])
        shown = np.where(fy > 0, fy, 1e-4)
        fig.add_trace(go.Scatter(x=x, y=shown, mode="lines+markers", showlegend=False, legendgroup=combo,
                                 line=dict(color=colour),
                                 hovertext=[f"{r.false_matches} of {r.impostor} false matches" for r in rows],
                                 hoverinfo="text"), row=1, col=2)
        if combo in clean:
            fig.add_hline(y=clean[combo].fnmr, line=dict(color=colour, dash="dash", width=1), row=1, col=1)
    for c in (1, 2):
        fig.update_xaxes(title_text=title, autorange="reversed" if reverse else True, type="log" if log else None,
                         row=1, col=c)
    fig.update_yaxes(title_text="share (dashed: as photographed)", tickformat=".0%", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(**{k: v for k, v in rate_axis("false match rate", 1e-4).items() if k != "title"},
                     title_text="false match rate", row=1, col=2)
    fig.update_layout(title=TITLES.get(kind, kind), height=420, margin=dict(l=50, r=20, t=70, b=40),
                      legend=dict(orientation="h", y=-0.3))
    return fig


def group_figure(kind: str, series: dict[str, list[tuple[float | str, float, int, int]]], title: str) -> go.Figure:
    """FMR per group against one degradation: ``group -> [(level, fmr, false matches, pairs)]``, log axis."""
    fig = go.Figure()
    axis, reverse, log = AXES[kind]
    for k, (group, pts) in enumerate(series.items()):
        fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[max(p[1], 1e-5) for p in pts], mode="lines+markers",
                                 name=plain(group), hovertext=[f"{p[2]:,} of {p[3]:,} pairs" for p in pts],
                                 hoverinfo="text+name"))
    fig.update_layout(title=title, height=420, margin=dict(l=50, r=20, t=50, b=40),
                      xaxis=dict(title=axis, autorange="reversed" if reverse else True, type="log" if log else None),
                      yaxis=rate_axis("false match rate within the group (log; 0 drawn at 0.001 %)", 1e-5),
                      legend=dict(orientation="v", x=1.02, y=1))
    return fig
