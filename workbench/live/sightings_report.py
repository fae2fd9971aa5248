"""Who was there: the sightings log as strict JSON and a self-contained HTML report with a
timeline (who x time, coloured by camera), the alerts each threshold would have raised on
the same footage, and the face chips kept for each identity. The model, detector, metric and
thresholds are the ones stored with the sightings (the runs that made them), never the
caller's settings: a report of SFace sightings quotes SFace's thresholds whatever --model says."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import polars as pl

from workbench.evaluation.reports.report import ExampleItem, Examples, Header, write_report
from workbench.live import unknown, watch_plots
from workbench.pipeline.compare import default_metric, default_threshold, distance_for_similarity, is_match
from workbench.store import Store

#: Similarity levels the alert table always shows (Rekognition's 80 % default and 99 % advice).
ALERT_LEVELS = (80.0, 90.0, 95.0, 99.0)


def _finite(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def alert_counts(sightings: pl.DataFrame, watched: set[str], model: str, metric: str,
                 extra: dict[str, float] | None = None) -> pl.DataFrame:
    """How many sightings of watchlisted people each threshold would have alerted on.

    Every sighting keeps its best candidate and distance, so a stricter (or looser) threshold
    is a re-decision, not a re-run. ``extra`` adds named distance thresholds (the run's own).
    """
    base = default_threshold(model, metric)
    levels = [(f"{s:g} % similarity", distance_for_similarity(s, base)) for s in ALERT_LEVELS]
    levels += [(name, float(d)) for name, d in (extra or {}).items()]
    cand = sightings.filter(pl.col("candidate").is_in(sorted(watched))) if watched else sightings.clear()
    dist = [d for d in cand["distance"].to_list() if d is not None]
    rows = []
    for name, d in levels:
        n = sum(bool(is_match(x, d)) for x in dist)
        rows.append({"threshold": name, "distance": round(d, 4), "alerts": n,
                     "sightings_of_watchlisted_candidates": len(dist)})
    return pl.DataFrame(rows)


def why_unknown_counts(sightings: pl.DataFrame) -> pl.DataFrame:
    """Unknown sightings per camera and kind of reason (``too small``, ``under the threshold`` ...)."""
    rows = sightings.filter(pl.col("why_unknown").is_not_null())
    if rows.height == 0:
        return pl.DataFrame(schema={"camera": pl.String, "why unknown": pl.String, "sightings": pl.UInt32})
    return (rows.with_columns(pl.col("why_unknown").map_elements(unknown.kind, return_dtype=pl.String)
                              .alias("why unknown"))
            .group_by("camera", "why unknown").agg(pl.len().alias("sightings")).sort("camera", "why unknown"))


def camera_conditions(db: Store, sightings: pl.DataFrame) -> pl.DataFrame:
    """Each camera of the runs that made ``sightings``, with its camera-quality conditions as recorded."""
    runs = sightings["run_id"].unique().sort().to_list() if sightings.height else []
    rows = [{"run": run, "camera": c.camera, "source": c.source, "setting": c.quality or "as recorded",
             "conditions": c.conditions} for run, c in db.runs.cameras(runs)]
    return pl.DataFrame(rows, schema={"run": pl.Int64, "camera": pl.String, "source": pl.String,
                                      "setting": pl.String, "conditions": pl.String})


def who_was_there_json(db: Store, gallery: str, **filters: Any) -> dict[str, Any]:
    """Every identity seen, with first/last times and cameras: a strict-JSON-ready dict."""
    who = db.sightings.who_was_there(gallery, **filters)
    out = []
    for r in who.iter_rows(named=True):
        out.append({k: (_finite(v) if not hasattr(v, "isoformat") else v.isoformat()) for k, v in r.items()})
    return {"gallery": gallery, "filters": {k: str(v) for k, v in filters.items() if v is not None},
            "identities": out, "sightings": int(sum(r["sightings"] for r in out)),
            "alerts": int(sum(r["alerts"] for r in out))}


def _as_recorded(db: Store, gallery: str, s: pl.DataFrame) -> tuple[str, str, str, dict[str, float]]:
    """``(model, detector, metric, labelling thresholds by name)`` the sightings ``s`` were made
    with: the gallery's model (every vector of a gallery is its model's) and what their runs stored."""
    model = db.galleries.model(gallery)
    runs = db.runs.list(gallery)
    runs = runs.filter(pl.col("id").is_in(s["run_id"].unique().to_list())) if s.height else runs.clear()
    metrics = sorted(set(runs["metric"].drop_nulls().to_list())) or [default_metric(model)]
    detectors = sorted(set(runs["detector"].drop_nulls().to_list()))
    by_run = {int(r["id"]): float(r["threshold"]) for r in runs.iter_rows(named=True) if r["threshold"] is not None}
    if len(set(by_run.values())) <= 1:
        thresholds = {"labelling threshold": next(iter(by_run.values()), default_threshold(model, metrics[0]))}
    else:
        thresholds = {f"labelling threshold of run {run}": t for run, t in sorted(by_run.items())}
    return model, ", ".join(detectors) or "-", metrics[0], thresholds


def write_sightings_report(db: Store, gallery: str, out_dir: str | os.PathLike, *,
                           alert_threshold: float | None = None, time_axis: str = "wall",
                           **filters: Any) -> Path:
    """``report.html`` (plus CSV/Parquet tables) of the sightings of ``gallery`` matching ``filters``,
    with the model, detector and thresholds their runs stored."""
    s = db.sightings.query(gallery, **filters)
    who = db.sightings.who_was_there(gallery, **filters)
    watched = set(db.watchlist.list(gallery)["person"].to_list())
    model, detector, metric, extra = _as_recorded(db, gallery, s)
    if alert_threshold is not None:
        extra["alert threshold of the run"] = alert_threshold
    alerts = alert_counts(s, watched, model, metric, extra)
    cameras = sorted(set(s["camera"].to_list()))
    people = who.filter(pl.col("kind") == "person").height
    anonymous = who.filter(pl.col("kind") == "anonymous").height
    if s.height:
        span = f" between {s['first_seen'].min():%Y-%m-%d %H:%M:%S} and {s['last_seen'].max():%H:%M:%S}"
    else:
        span = ""
    headline = [f"{people} enrolled people and {anonymous} anonymous identities were seen on {len(cameras)} "
                f"camera(s){span}: {s.height} sightings, {int(s['alert'].sum()) if s.height else 0} alerts."]
    if watched:
        a = {r["threshold"]: r["alerts"] for r in alerts.iter_rows(named=True)}
        headline.append(f"Watchlist alerts on this footage: {a.get('80 % similarity', 0)} at 80 % similarity, "
                        f"{a.get('99 % similarity', 0)} at 99 % (each counts a sighting whose best candidate is "
                        "a watchlisted person within that threshold).")
    why = why_unknown_counts(s)
    if why.height:
        by_kind = why.group_by("why unknown").agg(pl.col("sightings").sum()).sort("sightings", descending=True)
        headline.append("Why unknown sightings stayed unknown: " + ", ".join(
            f"{r['why unknown']} {r['sightings']}" for r in by_kind.iter_rows(named=True)) + ".")
    conditions = camera_conditions(db, s)
    worse = conditions.filter(pl.col("setting") != "as recorded")
    for r in worse.iter_rows(named=True):
        headline.append(f"Camera {r['camera']} (run {r['run']}) was made worse: {r['conditions']}.")
    notes = ["A sighting is one track of one camera under one identification decision, not one frame. "
             "'unknown NNNN' is an anonymous identity: tracks that matched nobody, grouped by face vector "
             "(it can join two strangers who look alike, or split one person seen at different angles).",
             "Times are the camera's wall clock when the frame arrived; video times are in the tables.",
             "An unknown sighting says why: no face of the track passed the model's quality gate (the rule, the "
             "measured value and the limit, on the track's largest face), or its best candidate was under the "
             "threshold (by how much). A camera's quality setting (distance, resolution, JPEG, frame rate, light) "
             "is recorded with its run: see the camera_conditions table."]
    header = Header("Who was there: sightings", model, detector, metric, next(iter(extra.values())),
                    f"gallery {gallery}; cameras: {', '.join(cameras) or 'none'}",
                    {"sightings": s.height, "people": people, "anonymous identities": anonymous,
                     "cameras": len(cameras)})
    flat = _rounded(who.with_columns(pl.col("cameras").list.join(", ")))
    table = _rounded(s.drop("has_chip", "gallery")).with_columns(pl.col("watchlists").list.join(", "),
                                            pl.col("box").cast(pl.List(pl.Int64)).cast(pl.List(pl.String))
                                            .list.join(" "))
    figures = [("Timeline: who was seen when, on which camera", watch_plots.timeline_figure(s, time_axis)),
               ("Alerts each threshold would have raised", watch_plots.alert_threshold_figure(alerts))]
    examples = _chip_examples(db, s)
    return write_report(out_dir, header, figures, {"who_was_there": flat, "sightings": table,
                                                   "why_unknown": why, "camera_conditions": conditions,
                                                   "alert_thresholds": alerts},
                        notes, headline=headline, examples=examples)


def _rounded(df: pl.DataFrame, digits: int = 3) -> pl.DataFrame:
    """Distances and seconds to ``digits`` decimals: what a reader can use, not float noise."""
    return df.with_columns(pl.col(c).round(digits) for c, t in df.schema.items() if t == pl.Float64)


def _chip_examples(db: Store, s: pl.DataFrame, per_identity: int = 6) -> list[Examples]:
    kept = s.filter(pl.col("has_chip"))
    if kept.height == 0:
        return []
    items = []
    for who, group in kept.group_by("who", maintain_order=True):
        chips = [db.sightings.chip(i) for i in group["id"].head(per_identity).to_list()]
        cams = ", ".join(sorted(set(group["camera"].to_list())))
        items.append(ExampleItem(f"{who[0]} ({group.height} sightings with chips; {cams})",
                                 tuple(c for c in chips if c)))
    return [Examples("Faces kept with the sightings (--keep-chips)", tuple(items))]


def write_follow_report(db: Store, result, out_dir: str | os.PathLike, positions=None) -> Path:
    """``report.html`` (plus CSV/Parquet tables) of a search of the log by photo
    (a :class:`~workbench.live.follow.FollowResult`): the answer and its caution, a timeline per
    camera, the route on ``positions`` (a :class:`~workbench.live.route.CameraPositions`) when
    given, the risk at the log's size, and the chips kept with the sightings found."""
    from workbench.live import route
    from workbench.live.follow import CAUTION

    cams = result.cameras()
    header = Header("Where was this face seen?", result.model, result.detector, result.metric, result.threshold,
                    f"gallery {result.gallery}; probe {result.probe}",
                    {"sightings searched": result.searched, "sightings found": len(result.hits),
                     "tracks": result.tracks, "cameras": len(cams)})
    headline = [result.summary(), CAUTION] + ([result.risk.sentence()] if result.risk is not None else [])
    notes = [c.line() for c in cams] + [route.ORDER]
    figures = [("Timeline per camera", watch_plots.trail_figure(result))]
    if positions is not None:
        figures.append(("Route", route.route_figure(result, positions)))
    tables = {"sightings_found": result.table()}
    if result.risk is not None:
        tables["at_scale"] = pl.DataFrame(result.risk.table())
    chips = [ExampleItem(f"{h.rank}. {h.camera}, {h.when()}, {h.similarity:.1f} %", (c,))
             for h in result.hits[:24] if h.has_chip for c in [db.sightings.chip(h.sighting_id)] if c]
    examples = [Examples("Faces kept with the sightings found (--keep-chips), best first", tuple(chips))] if chips else []
    return write_report(out_dir, header, figures, tables, notes, headline=headline, examples=examples)
