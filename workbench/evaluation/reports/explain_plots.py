"""Figures that explain one match: the occlusion map over the probe's chip, and the closest
impostors. Data in, ``go.Figure`` out (see :mod:`workbench.search.explain`)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from workbench.evaluation.reports.plots import IMPOSTOR, THRESHOLD, _layout, plain
from workbench.pipeline.compare import is_match
from workbench.pipeline.occlusion import OcclusionMap

#: Blue (covering it brought the faces closer: the patch made them look different), white (no
#: change), red (covering it pushed them apart: the patch made them look alike).
DIVERGING = [[0.0, "#2166ac"], [0.5, "#f7f7f7"], [1.0, "#b2182b"]]


def occlusion_figure(m: OcclusionMap, height: int = 420) -> go.Figure:
    """The probe's aligned chip with, over it, one cell per patch position coloured by how much
    covering that patch moved the distance (:attr:`OcclusionMap.change`), on a scale symmetric
    around zero and labelled in words at both ends."""
    g = m.grid
    reach = float(np.abs(m.change).max()) or 1e-6
    centres = g.centres()
    boxes = g.boxes()
    hover = np.array([
        f"patch x {b.left}-{b.right}, y {b.top}-{b.bottom} px<br>covered: distance {m.baseline + c:.3f} "
        f"({c:+.3f})<br>{'made the faces look alike' if c > 0 else 'made them look different' if c < 0 else 'no change'}"
        for b, c in zip(boxes, m.change.reshape(-1))]).reshape(g.shape)
    fig = go.Figure(go.Image(z=m.chip, hoverinfo="skip"))
    fig.add_trace(go.Heatmap(
        x=centres, y=centres, z=m.change, zmin=-reach, zmax=reach, colorscale=DIVERGING, opacity=0.55,
        text=hover, hovertemplate="%{text}<extra></extra>", xgap=0, ygap=0,
        colorbar=dict(title=dict(text="distance change when covered", side="right"),
                      tickvals=[-reach, 0, reach],
                      ticktext=[f"{-reach:+.3f}: made them<br>look different", "0: no change",
                                f"{reach:+.3f}: made them<br>look alike"])))
    fig.update_xaxes(range=[-0.5, g.side - 0.5], showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(range=[g.side - 0.5, -0.5], showticklabels=False, showgrid=False, zeroline=False,
                     scaleanchor="x")
    title = f"{plain(m.model)}: {g.patch} px patches covered<br><sup>distance {m.baseline:.3f} uncovered</sup>"
    return _layout(fig, title, height=height)


def impostors_figure(neighbours, threshold: float) -> go.Figure:
    """The closest impostors' distances (nearest first), with the threshold line: a bar under the
    line (coloured) is a person the model would call a match."""
    ms = neighbours.impostors
    fig = go.Figure(go.Bar(
        x=[plain(f"{m.rank}. {m.person}") for m in ms], y=[m.distance for m in ms],
        marker_color=[IMPOSTOR if is_match(m.distance, threshold) else "#9aa5ad" for m in ms],
        text=[f"{m.similarity:.1f} %" for m in ms], textposition="outside",
        hovertemplate="%{x}<br>distance %{y:.3f}<extra></extra>"))
    fig.add_hline(y=threshold, line=dict(color=THRESHOLD, dash="dash"), annotation_text="threshold")
    fig.update_layout(yaxis=dict(title=f"{neighbours.metric} distance (smaller = more alike)"))
    title = (f"Who else looks like this probe to {plain(neighbours.model)}<br><sup>coloured: under the threshold, "
             "called a match</sup>")
    return _layout(fig, title, height=320)
