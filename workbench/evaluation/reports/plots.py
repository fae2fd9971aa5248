"""Plotly figure builders: data in, ``go.Figure`` out. No Streamlit here."""

from __future__ import annotations

import html
import math
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
import polars as pl

from workbench.pipeline.compare import is_match
from workbench.types import FrameStats, Match

GENUINE = "#2a9d8f"
IMPOSTOR = "#e76f51"
THRESHOLD = "#264653"


def plain(text: object) -> str:
    """A name or label as plotly text: plotly reads a subset of HTML in labels (``<a href>``
    links, ``<b>`` ...), so ``<``, ``>`` and ``&`` are written as entities and shown as typed."""
    return html.escape(str(text), quote=False)


def _layout(fig: go.Figure, title: str, height: int = 300) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=dict(l=40, r=20, t=40, b=40),
                      legend=dict(orientation="h", y=-0.25))
    return fig


# -- log axes in words: plotly's own labels are SI prefixes ("1μ", "100μ", "10k") ----------------

def rate_text(p: float) -> str:
    """A rate as the headlines write it: ``"10 %"``, and under 1 % also as one in so many:
    ``"0.01 %<br>1 in 10,000"``."""
    pct = np.format_float_positional(float(f"{100 * p:.2g}"), trim="-")
    return f"{pct} %" if p > 0.01 else f"{pct} %<br>1 in {1 / p:,.0f}"


def count_text(x: float) -> str:
    """A count (faces, false candidates per search) in words: ``"1,000"``, ``"20 million"``, and
    under one as one in so many (``"1 in 1,000"``: one every 1,000 searches)."""
    if x >= 1_000_000:
        return f"{x / 1_000_000:,.4g} million"
    return f"{x:,.0f}" if x >= 1 else f"1 in {1 / x:,.0f}"


def _decades(low: float, high: float, most: int = 8) -> list[float]:
    """Powers of ten from ``low`` to ``high``, every other one (or fewer) when there are over ``most``."""
    a, b = math.floor(math.log10(low)), math.ceil(math.log10(high))
    step = max(1, math.ceil((b - a + 1) / most))
    return [10.0 ** k for k in range(a - a % step, b + 1, step)]  # thinned in step with 1 (10 ** 0)


def rate_axis(title: str, low: float, high: float = 1.0) -> dict:
    """A log axis of rates from ``low`` to ``high``, each power of ten labelled by :func:`rate_text`."""
    ticks = _decades(low, high)
    return dict(title=title, type="log", tickvals=ticks, ticktext=[rate_text(t) for t in ticks], hoverformat=".4~%")


def count_axis(title: str, low: float, high: float) -> dict:
    """A log axis of counts from ``low`` to ``high``, each power of ten labelled by :func:`count_text`."""
    ticks = _decades(low, high)
    return dict(title=title, type="log", tickvals=ticks, ticktext=[count_text(t) for t in ticks], hoverformat=",.3~r")


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
            names.append(plain(person))
    fig = go.Figure(go.Scatter(x=xs, y=ys, mode="markers", text=names, name="best candidate",
                               marker=dict(color=[GENUINE if is_match(d, threshold) else IMPOSTOR for d in ys])))
    fig.add_hline(y=threshold, line=dict(color=THRESHOLD, dash="dash"), annotation_text="threshold")
    fig.update_layout(xaxis=dict(title="frame"), yaxis=dict(title="distance"))
    return _layout(fig, "Match distances (under the line = match)")


def candidates_figure(matches: Sequence[Match], threshold: float) -> go.Figure:
    """Bar chart of one probe face's candidate distances, with the threshold line."""
    fig = go.Figure(go.Bar(
        x=[plain(f"{m.rank}. {m.person}") for m in matches], y=[m.distance for m in matches],
        marker_color=[GENUINE if is_match(m.distance, threshold) else IMPOSTOR for m in matches],
        text=[f"{m.similarity:.1f}%" for m in matches], textposition="outside"))
    fig.add_hline(y=threshold, line=dict(color=THRESHOLD, dash="dash"), annotation_text="threshold")
    fig.update_layout(yaxis=dict(title="distance"))
    return _layout(fig, "Candidate distances", height=260)


def pair_distance_figure(genuine: np.ndarray, impostor: np.ndarray, threshold: float,
                         marker: float | None = None) -> go.Figure:
    """Overlaid histograms of genuine and impostor distances, the threshold, and one pair.

    Each set is scaled to its own total (percent of its pairs), so a set of 15 pairs is as
    visible as one of 15,000: neither is a flat line; the legend gives the counts.
    """
    fig = go.Figure()
    fig.add_trace(go.Histogram(x=np.asarray(genuine), name=f"same person ({len(genuine):,} pairs)",
                               marker_color=GENUINE, opacity=0.65, nbinsx=40, histnorm="percent"))
    fig.add_trace(go.Histogram(x=np.asarray(impostor), name=f"different people ({len(impostor):,} pairs)",
                               marker_color=IMPOSTOR, opacity=0.65, nbinsx=40, histnorm="percent"))
    fig.add_vline(x=threshold, line=dict(color=THRESHOLD, dash="dash"), annotation_text="threshold")
    if marker is not None:
        fig.add_vline(x=marker, line=dict(color="black", width=3), annotation_text="this pair")
    fig.update_layout(barmode="overlay", xaxis=dict(title="distance between the two faces (smaller = more alike)"),
                      yaxis=dict(title="share of its pairs (%)"))
    return _layout(fig, "Same-person and different-people distances", height=340)


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


# -- evaluation charts (ROC/DET, identification, replay, groups) -----------------------------

def roc_figure(fmr: np.ndarray, fnmr: np.ndarray, marker: tuple[float, float] | None = None) -> go.Figure:
    """ROC: true match rate (1 - FNMR) against FMR, log FMR axis; ``marker`` = (fmr, fnmr)."""
    x = np.clip(np.asarray(fmr, float), 1e-4, 1)
    fig = go.Figure(go.Scatter(x=x, y=1 - np.asarray(fnmr, float), mode="lines", line=dict(shape="hv"),
                               name="ROC"))
    if marker is not None:
        fig.add_trace(go.Scatter(x=[max(marker[0], 1e-4)], y=[1 - marker[1]], mode="markers", name="threshold",
                                 marker=dict(size=11, color=THRESHOLD)))
    fig.update_layout(xaxis=rate_axis("false match rate (log; 0 drawn at 0.01 %)", 1e-4),
                      yaxis=dict(title="true match rate (1 - FNMR)", range=[0, 1.02]))
    return _layout(fig, "ROC", height=340)


def det_figure(fmr: np.ndarray, fnmr: np.ndarray, eer: float | None = None) -> go.Figure:
    """DET: FNMR against FMR, both on log axes (zeros drawn at 1e-4), with the EER line."""
    fig = go.Figure(go.Scatter(x=np.clip(fmr, 1e-4, 1), y=np.clip(fnmr, 1e-4, 1), mode="lines",
                               line=dict(shape="hv"), name="DET"))
    fig.add_trace(go.Scatter(x=[1e-4, 1], y=[1e-4, 1], mode="lines", line=dict(dash="dot", color="grey"),
                             name="FMR = FNMR"))
    if eer is not None and eer == eer:
        fig.add_trace(go.Scatter(x=[max(eer, 1e-4)], y=[max(eer, 1e-4)], mode="markers", name=f"EER {eer:.2%}",
                                 marker=dict(size=11, color=IMPOSTOR)))
    fig.update_layout(xaxis=rate_axis("false match rate (log)", 1e-4),
                      yaxis=rate_axis("false non-match rate (log)", 1e-4))
    return _layout(fig, "DET", height=340)


def rates_vs_threshold_figure(thresholds: np.ndarray, a: np.ndarray, b: np.ndarray, threshold: float,
                              names: tuple[str, str] = ("FMR", "FNMR")) -> go.Figure:
    """Two error rates (FMR/FNMR or FPIR/FNIR) against the distance threshold."""
    fig = go.Figure()
    for y, name, colour in ((a, names[0], IMPOSTOR), (b, names[1], GENUINE)):
        fig.add_trace(go.Scatter(x=thresholds, y=y, name=name, mode="lines", line=dict(shape="hv", color=colour)))
    fig.add_vline(x=threshold, line=dict(color=THRESHOLD, dash="dash"), annotation_text="threshold")
    fig.update_layout(xaxis=dict(title="distance threshold"), yaxis=dict(title="rate", range=[0, 1.02]))
    return _layout(fig, f"{names[0]} and {names[1]} by threshold", height=320)


def cmc_figure(cmc: np.ndarray) -> go.Figure:
    """Cumulative match characteristic: hit rate at rank 1..k."""
    fig = go.Figure(go.Scatter(x=list(range(1, len(cmc) + 1)), y=cmc, mode="lines+markers", name="CMC"))
    fig.update_layout(xaxis=dict(title="rank", dtick=1), yaxis=dict(title="hit rate", range=[0, 1.02]))
    return _layout(fig, "CMC (mated searches)", height=300)


def group_rates_figure(groups: Sequence[str], fmr: Sequence[float], fnmr: Sequence[float],
                       counts: Sequence[str]) -> go.Figure:
    """FMR and FNMR per group at one threshold; the sample sizes are printed on the bars."""
    fig = go.Figure()
    groups = [plain(g) for g in groups]
    fig.add_trace(go.Bar(x=groups, y=list(fmr), name="FMR", marker_color=IMPOSTOR, text=list(counts)))
    fig.add_trace(go.Bar(x=groups, y=list(fnmr), name="FNMR", marker_color=GENUINE))
    fig.update_layout(barmode="group", yaxis=dict(title="rate"))
    return _layout(fig, "Errors per group (one global threshold; n on the bars)", height=320)


def replay_figure(similarities: Sequence[float], flagged: Sequence[int], probes: int) -> go.Figure:
    """Probes with at least one false match, per similarity threshold."""
    fig = go.Figure(go.Bar(x=[f"{s:g} %" for s in similarities], y=list(flagged), marker_color=IMPOSTOR,
                           text=[f"{f} of {probes}" for f in flagged], textposition="outside"))
    fig.update_layout(xaxis=dict(title="similarity threshold"), yaxis=dict(title="innocent probes flagged"))
    return _layout(fig, "Replay: people not in the gallery who got a 'match'", height=320)


def replay_growth_figure(rows) -> go.Figure:
    """Expected probes flagged vs gallery size: measured on sub-samples (solid) and
    extrapolated with the measured FMR (dotted, with its 95 % upper bound)."""
    fig = go.Figure()
    for r in rows:
        fig.add_trace(go.Scatter(x=list(r.growth), y=list(r.growth.values()), mode="lines+markers",
                                 name=f"{r.similarity:g} % measured"))
        xs = [max(r.growth) if r.growth else 1] + list(r.extrapolated)
        start = list(r.growth.values())[-1] if r.growth else 0.0
        fig.add_trace(go.Scatter(x=xs, y=[start] + list(r.extrapolated.values()), mode="lines+markers",
                                 line=dict(dash="dot"), name=f"{r.similarity:g} % extrapolated"))
        fig.add_trace(go.Scatter(x=xs, y=[start] + list(r.extrapolated_upper.values()), mode="lines",
                                 line=dict(dash="dash", width=1), name=f"{r.similarity:g} % extrapolated, 95 % upper"))
    sizes = [x for r in rows for x in (*r.growth, *r.extrapolated)] or [1, 10]
    fig.update_layout(xaxis=count_axis("gallery size (faces, log)", min(sizes), max(sizes)),
                      yaxis=dict(title="probes flagged (expected)"))
    _layout(fig, "Replay: growth with gallery size (dotted = EXTRAPOLATION)", height=420)
    fig.update_layout(legend=dict(orientation="v", y=1, x=1.02, font=dict(size=10)))
    return fig


def scale_figure(answer, sizes=None) -> go.Figure:
    """The scale answer: expected false candidates per search of an innocent person against the
    gallery size (log-log), one line per threshold with its 95 % range as a band; dotted where
    the estimate comes from the fitted tail rather than counted false matches."""
    from workbench.evaluation.stats import scale

    xs = np.geomspace(1_000, 20_000_000, 40) if sizes is None else np.asarray(sizes, float)
    palette = [IMPOSTOR, THRESHOLD, GENUINE, "#8d6cab", "#e9c46a"]
    fig = go.Figure()
    for k, r in enumerate(answer.rows):
        est, colour = r.estimate, palette[k % len(palette)]
        fitted = r.source == "fitted"
        name = f"{r.similarity:g} %" + (" (fitted tail)" if fitted else " (measured)")
        lo = [max(scale.expected_candidates(est, int(x)).low, 1e-6) for x in xs]
        hi = [max(scale.expected_candidates(est, int(x)).high, 1e-6) for x in xs]
        fig.add_trace(go.Scatter(x=np.concatenate([xs, xs[::-1]]), y=hi + lo[::-1], fill="toself", opacity=0.18,
                                 line=dict(width=0), fillcolor=colour, hoverinfo="skip", showlegend=False))
        fig.add_trace(go.Scatter(x=xs, y=[max(scale.expected_candidates(est, int(x)).value, 1e-6) for x in xs],
                                 mode="lines", name=name, line=dict(color=colour, dash="dot" if fitted else "solid")))
    for n, label in ((300_000, "300,000"), (20_000_000, "20 million")):
        fig.add_vline(x=n, line=dict(dash="dash", width=1, color="#888"), annotation_text=label)
    ys = [y for t in fig.data for y in t.y if y == y and y > 0] or [1e-6, 1.0]  # nothing measured: a plain axis
    fig.update_layout(xaxis=count_axis("faces in the gallery (log)", xs.min(), xs.max()),
                      yaxis=count_axis("false candidates per search (log)", min(ys), max(ys)))
    return _layout(fig, "How many innocent look-alikes a search returns, by gallery size", height=420)


def scale_groups_figure(answer, size: int = 300_000, similarity: float = 80.0) -> go.Figure:
    """The scale answer per demographic group (UTKFace's labels): false candidates per search in a
    gallery of ``size`` faces at ``similarity`` %, one bar per group with its 95 % range, the
    number of comparisons under each bar."""
    from workbench.evaluation.stats import scale

    names, vals, lo, hi, text = [], [], [], [], []
    for g, a in answer.groups:
        r = a.row(similarity)
        e, _ = r.at(size)
        names.append(g)
        vals.append(e.value)
        lo.append(max(e.value - e.low, 0.0) if e.low == e.low else 0.0)
        hi.append(max(e.high - e.value, 0.0) if e.high == e.high else 0.0)
        text.append(f"{r.false_matches} in {r.comparisons:,}")
    fig = go.Figure(go.Bar(x=names, y=vals, text=text, textposition="outside", marker_color=IMPOSTOR,
                           error_y=dict(type="data", symmetric=False, array=hi, arrayminus=lo)))
    fig.update_layout(xaxis=dict(title="group (UTKFace's labels)"),
                      yaxis=dict(title=f"false candidates per search, {size:,} faces, {similarity:g} %"))
    return _layout(fig, f"Per group: innocent look-alikes per search in {scale.count(size)} faces", height=400)


# -- several models on one chart (LFW, the demographic audit) ---------------------------------

#: One colour per model/detector line, in order.
SERIES = ("#1d6fb8", "#e76f51", "#2a9d8f", "#8e44ad", "#f4a261", "#264653")


def roc_curves_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str = "ROC") -> go.Figure:
    """ROC of several models on one chart: ``label -> (fmr, fnmr)`` over all thresholds. Curves do
    not depend on any threshold, so models with different distances compare directly."""
    fig = go.Figure()
    for k, (label, (fmr, fnmr)) in enumerate(curves.items()):
        fig.add_trace(go.Scatter(x=np.clip(np.asarray(fmr, float), 1e-4, 1), y=1 - np.asarray(fnmr, float),
                                 mode="lines", line=dict(shape="hv", color=SERIES[k % len(SERIES)]), name=label))
    fig.update_layout(xaxis=rate_axis("false match rate (log; 0 drawn at 0.01 %)", 1e-4),
                      yaxis=dict(title="true match rate (1 - FNMR)"))
    return _layout(fig, title, height=380)


def det_curves_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str = "DET") -> go.Figure:
    """DET of several models on one chart (both axes log, zeros drawn at 1e-4)."""
    fig = go.Figure()
    for k, (label, (fmr, fnmr)) in enumerate(curves.items()):
        fig.add_trace(go.Scatter(x=np.clip(fmr, 1e-4, 1), y=np.clip(fnmr, 1e-4, 1), mode="lines",
                                 line=dict(shape="hv", color=SERIES[k % len(SERIES)]), name=label))
    fig.add_trace(go.Scatter(x=[1e-4, 1], y=[1e-4, 1], mode="lines", line=dict(dash="dot", color="grey"),
                             name="FMR = FNMR"))
    fig.update_layout(xaxis=rate_axis("false match rate (log)", 1e-4),
                      yaxis=rate_axis("false non-match rate (log)", 1e-4))
    return _layout(fig, title, height=380)


# -- the demographic audit -------------------------------------------------------------------

def _pct(x: float) -> str:
    return "no pairs" if x != x else (f"{x:.3%}" if x < 0.001 else f"{x:.2%}")


def audit_fmr_figure(groups: Sequence[str], series: dict[str, tuple[list, list, list, list]],
                     title: str) -> go.Figure:
    """FMR per group for several models side by side: ``label -> (fmr, ci_low, ci_high, counts text)``,
    on a log axis (a zero is drawn at the axis floor and labelled by its count)."""
    fig = go.Figure()
    floor = 1e-6
    for k, (label, (fmr, lo, hi, text)) in enumerate(series.items()):
        y = np.array([np.nan if v is None else v for v in fmr], float)
        lo_a = np.array([np.nan if v is None else v for v in lo], float)
        hi_a = np.array([np.nan if v is None else v for v in hi], float)
        shown = np.where(y > 0, y, floor)
        fig.add_trace(go.Bar(x=list(groups), y=shown, name=label, marker_color=SERIES[k % len(SERIES)],
                             text=list(text), textposition="outside", textfont=dict(size=10),
                             error_y=dict(type="data", symmetric=False, array=np.clip(hi_a - shown, 0, None),
                                          arrayminus=np.clip(shown - np.maximum(lo_a, floor), 0, None))))
    fig.update_layout(barmode="group", yaxis=rate_axis("false match rate (log; 0 drawn at 0.0001 %)", floor),
                      xaxis=dict(title="group (the data set's labels)", tickangle=-30))
    return _layout(fig, title, height=460)


def audit_similarity_figure(groups: Sequence[str], samples: dict[str, dict[str, np.ndarray]],
                            lines: dict[str, float]) -> go.Figure:
    """Impostor similarity (%) per group for each model (``label -> group -> similarities``): the
    distributions the thresholds cut, on the one similarity scale both models share."""
    fig = go.Figure()
    for k, (label, per) in enumerate(samples.items()):
        xs, ys = [], []
        for g in groups:
            v = per.get(g, np.zeros(0))
            xs += [g] * len(v)
            ys += list(np.asarray(v, float))
        fig.add_trace(go.Box(x=xs, y=ys, name=label, marker_color=SERIES[k % len(SERIES)], boxpoints=False))
    for name, y in lines.items():
        fig.add_hline(y=y, line=dict(color=THRESHOLD, dash="dash"), annotation_text=name)
    fig.update_layout(boxmode="group", yaxis=dict(title="similarity of two different people (%)"),
                      xaxis=dict(title="group", tickangle=-30))
    return _layout(fig, "How alike two different people look to each model, per group", height=460)


def audit_cross_figure(groups: Sequence[str], fmr: np.ndarray, title: str) -> go.Figure:
    """FMR between every two groups (the diagonal: within a group) as a heat map, with the values."""
    z = np.asarray(fmr, float)
    text = [[_pct(v) for v in row] for row in z]
    fig = go.Figure(go.Heatmap(z=z, x=list(groups), y=list(groups), text=text, texttemplate="%{text}",
                               colorscale="Reds", colorbar=dict(title="FMR")))
    fig.update_layout(xaxis=dict(tickangle=-30), yaxis=dict(autorange="reversed"))
    return _layout(fig, title, height=520)


def acquisition_figure(rows: Sequence[dict]) -> go.Figure:
    """Failure to acquire (no face, or rejected by the quality gate) per group against the exposure
    level, one panel per detector."""
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    detectors = list(dict.fromkeys(r["detector"] for r in rows))
    groups = list(dict.fromkeys(r["group"] for r in rows))
    fig = make_subplots(rows=1, cols=len(detectors), subplot_titles=detectors, shared_yaxes=True)
    for c, d in enumerate(detectors, 1):
        for k, g in enumerate(groups):
            pts = sorted((r["exposure"], r["fta_rate"]) for r in rows if r["detector"] == d and r["group"] == g)
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers", name=g,
                                     legendgroup=g, showlegend=c == 1,
                                     line=dict(color=qualitative.Dark24[k % 24])),
                          row=1, col=c)
        fig.update_xaxes(title_text="light kept (1 = the photo as it is)", autorange="reversed", row=1, col=c)
    fig.update_yaxes(title_text="no face, or rejected by the gate", tickformat=".0%", row=1, col=1)
    fig.update_layout(height=420, margin=dict(l=50, r=20, t=60, b=40),
                      title="Failure to acquire per group as the photos get darker")
    return fig
