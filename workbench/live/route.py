"""A person's route: where and when a face was seen (:mod:`workbench.live.follow`), drawn on the
cameras' positions, in order, offline.

Positions come from a small CSV with a header: ``camera`` (or ``name``) and either ``x`` and
``y`` (a site plan, any unit) or ``lon`` and ``lat`` (``longitude``/``latitude``, degrees). They
are drawn on plain axes: no map tiles, no geography layer, nothing fetched from the network
(a tile layer would tell a map server where the cameras are). Every value must be a finite
number (degrees within their range); camera names are data, shown as typed.

The route is the sightings in time order, consecutive sightings on one camera as one stop
(:data:`ORDER` says how they are ordered).
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass

import plotly.graph_objects as go

from workbench.errors import WorkbenchError
from workbench.evaluation.reports.plots import _layout, plain
from workbench.live.follow import FollowResult, Hit

#: How stops are put in order, in words (said wherever the route or its order is shown).
ORDER = ("Recorded files are ordered by seconds into each video, as if every file started at the same moment "
         "(the log does not know when a file was filmed); live sources by the wall clock.")
#: The most cameras a positions file may list.
MAX_CAMERAS = 10_000
_NAME = ("camera", "name")
_KINDS = {"xy": (("x",), ("y",)), "lonlat": (("lon", "longitude", "lng"), ("lat", "latitude"))}


@dataclass(frozen=True)
class CameraPositions:
    """Where each camera is: ``kind`` ``"xy"`` (a site plan) or ``"lonlat"`` (degrees)."""

    kind: str
    positions: dict[str, tuple[float, float]]

    def axes(self) -> tuple[str, str]:
        return ("x (site plan)", "y (site plan)") if self.kind == "xy" else ("longitude (°)", "latitude (°)")


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    for n in names:
        if n in header:
            return header.index(n)
    return None


def _number(value: str, what: str, row: int, where: str, low: float = -math.inf, high: float = math.inf) -> float:
    try:
        x = float(value)
    except ValueError:
        raise WorkbenchError(f"{where}: row {row}: {what} {value!r} is not a number") from None
    if not (math.isfinite(x) and low <= x <= high):
        raise WorkbenchError(f"{where}: row {row}: {what} {value!r} is not a finite number"
                             + (f" from {low:g} to {high:g}" if math.isfinite(low) else ""))
    return x


def read_positions(source: str | os.PathLike | bytes, name: str = "") -> CameraPositions:
    """Camera positions from a CSV file (a path, or its bytes); a bad file is one line, naming the row."""
    where = name or (str(source) if not isinstance(source, bytes) else "positions")
    try:
        data = source if isinstance(source, bytes) else open(source, "rb").read()
        text = data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise WorkbenchError(f"{where}: cannot read the camera positions ({type(err).__name__})") from None
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if not rows:
        raise WorkbenchError(f"{where}: empty; want a header (camera,x,y or camera,lon,lat) and one row per camera")
    header = [c.strip().lower() for c in rows[0]]
    cam = _column(header, _NAME)
    kind = next((k for k, (a, b) in _KINDS.items() if _column(header, a) is not None
                 and _column(header, b) is not None), None)
    if cam is None or kind is None:
        raise WorkbenchError(f"{where}: the header must name a camera column and x,y or lon,lat; got {rows[0]!r}")
    if len(rows) - 1 > MAX_CAMERAS:
        raise WorkbenchError(f"{where}: {len(rows) - 1} cameras; at most {MAX_CAMERAS:,}")
    ia, ib = _column(header, _KINDS[kind][0]), _column(header, _KINDS[kind][1])
    bounds = ((-180.0, 180.0), (-90.0, 90.0)) if kind == "lonlat" else ((-math.inf, math.inf),) * 2
    out: dict[str, tuple[float, float]] = {}
    for k, r in enumerate(rows[1:], 2):
        if len(r) <= max(cam, ia, ib):
            raise WorkbenchError(f"{where}: row {k} has {len(r)} values, the header {len(header)}")
        camera = r[cam].strip()
        if not camera:
            raise WorkbenchError(f"{where}: row {k} has no camera name")
        if camera in out:
            raise WorkbenchError(f"{where}: camera {camera!r} is listed twice (again at row {k})")
        out[camera] = (_number(r[ia], header[ia], k, where, *bounds[0]), _number(r[ib], header[ib], k, where, *bounds[1]))
    if not out:
        raise WorkbenchError(f"{where}: no camera listed under the header")
    return CameraPositions(kind, out)


@dataclass(frozen=True)
class Stop:
    """One stop of the route: consecutive sightings on one camera."""

    order: int
    camera: str
    hits: tuple[Hit, ...]
    position: tuple[float, float] | None

    def when(self) -> str:
        a, b = self.hits[0], self.hits[-1]
        if all(h.recorded for h in self.hits):
            return f"{a.first_video_s:.1f}-{max(h.last_video_s for h in self.hits):.1f} s"
        return f"{a.first_seen:%H:%M:%S}-{max(h.last_seen for h in self.hits):%H:%M:%S}"

    def label(self) -> str:
        return f"{self.order}. {self.camera}, {self.when()}"


def in_time_order(result: FollowResult) -> list[Hit]:
    """The sightings in the order they happened (see the module docstring)."""
    if all(h.recorded for h in result.hits):
        return sorted(result.hits, key=lambda h: (h.first_video_s, h.first_seen, h.sighting_id))
    return sorted(result.hits, key=lambda h: (h.first_seen, h.sighting_id))


def route(result: FollowResult, positions: CameraPositions | None = None) -> list[Stop]:
    """The stops of the face's route, in time order, each with its camera's position if known."""
    stops: list[list[Hit]] = []
    for h in in_time_order(result):
        if stops and stops[-1][-1].camera == h.camera:
            stops[-1].append(h)
        else:
            stops.append([h])
    where = positions.positions if positions is not None else {}
    return [Stop(k, hs[0].camera, tuple(hs), where.get(hs[0].camera)) for k, hs in enumerate(stops, 1)]


def route_figure(result: FollowResult, positions: CameraPositions) -> go.Figure:
    """Every camera of the plan (grey), and the stops where the face was seen, numbered in time
    order and joined by arrows; plain axes, no map tiles. Stops at cameras the plan does not
    place are named under the chart."""
    stops = route(result, positions)
    fig = go.Figure()
    names = list(positions.positions)
    fig.add_trace(go.Scatter(x=[positions.positions[n][0] for n in names], y=[positions.positions[n][1] for n in names],
                             mode="markers+text", text=[plain(n) for n in names], textposition="bottom center",
                             marker=dict(size=10, color="#bbbbbb"), name="cameras", hoverinfo="text"))
    placed = [s for s in stops if s.position is not None]
    if placed:
        fig.add_trace(go.Scatter(x=[s.position[0] for s in placed], y=[s.position[1] for s in placed],
                                 mode="markers+text", text=[str(s.order) for s in placed], textposition="top center",
                                 hovertext=[plain(s.label()) + f" ({len(s.hits)} sighting{'s' if len(s.hits) != 1 else ''})"
                                            for s in placed], hoverinfo="text",
                                 marker=dict(size=18, color=list(range(1, len(placed) + 1)), colorscale="Reds",
                                             cmin=0, cmax=len(placed), line=dict(width=1, color="#333")),
                                 name="seen here (in time order)"))
    for a, b in zip(placed, placed[1:]):
        if a.position != b.position:
            fig.add_annotation(x=b.position[0], y=b.position[1], ax=a.position[0], ay=a.position[1],
                               xref="x", yref="y", axref="x", ayref="y", showarrow=True, arrowhead=3,
                               arrowsize=1.5, arrowwidth=2, arrowcolor="#e76f51", standoff=10, startstandoff=10,
                               text="")
    missing = [s for s in stops if s.position is None]
    notes = ["; ".join(plain(s.label()) for s in placed)] if placed else ["the face was not seen on a camera of the plan"]
    if missing:
        notes.append("not on the plan: " + "; ".join(plain(s.label()) for s in missing))
    fig.add_annotation(text="<br>".join(notes), showarrow=False, xref="paper", yref="paper", x=0, y=-0.18,
                       xanchor="left", yanchor="top", align="left")
    xt, yt = positions.axes()
    ys = [p[1] for p in positions.positions.values()]
    ratio = 1.0 / max(math.cos(math.radians(sum(ys) / len(ys))), 0.05) if positions.kind == "lonlat" else 1.0
    fig.update_layout(xaxis=dict(title=xt, zeroline=False), margin=dict(b=120),
                      yaxis=dict(title=yt, zeroline=False, scaleanchor="x", scaleratio=ratio))
    fig = _layout(fig, "Where and when the face was seen, in order", height=480)
    fig.update_layout(margin=dict(l=40, r=20, t=40, b=140))
    return fig
