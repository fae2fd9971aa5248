"""Reports a journalist can publish: one self-contained HTML file (plotly.js inlined, nothing
loaded from the network) plus every figure as CSV and Parquet, with a header that says what
was measured with what: model, detector, threshold, data set, sizes, date, software versions.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import polars as pl

from workbench.evaluation.reports import plots, readable
from workbench.evaluation.runners.identification import SearchReport
from workbench.evaluation.runners.replay import ReplayReport
from workbench.evaluation.runners.verification import PairsReport
from workbench.evaluation.stats import metrics, scale
from workbench.files import atomic_path

PACKAGES = ("face-workbench", "numpy", "dlib-bin", "deepface", "duckdb", "polars", "plotly")


@dataclass(frozen=True)
class Header:
    title: str
    model: str
    detector: str
    metric: str
    threshold: float
    dataset: str
    sizes: dict[str, int]
    date: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    versions: dict[str, str] = field(default_factory=lambda: versions())


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            pass
    return out


#: Tables longer than this go to CSV/Parquet only; the page names them instead of listing rows.
HTML_MAX_ROWS = 100


@dataclass(frozen=True)
class ExampleItem:
    """One example on the page: thumbnails (JPEG bytes) and a caption, shown as text."""

    caption: str
    images: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class Examples:
    """A titled row of examples (for instance the worst false matches, with their faces)."""

    title: str
    items: tuple[ExampleItem, ...] = ()


def _environment():
    import jinja2

    return jinja2.Environment(loader=jinja2.PackageLoader("workbench.evaluation.reports", "templates"),
                              autoescape=True, undefined=jinja2.StrictUndefined)


def _data_uri(jpeg: bytes) -> str:
    import base64

    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def write_report(out_dir: str | os.PathLike, header: Header, figures: list[tuple[str, object]],
                 tables: dict[str, pl.DataFrame], notes: list[str] = (), *, headline: list[str] = (),
                 examples: list[Examples] = (), files_only: tuple[str, ...] = ()) -> Path:
    """Write ``report.html`` and ``<table>.csv``/``.parquet`` into ``out_dir``; returns the HTML path.

    The page opens with the ``headline`` sentences, then what was measured with what, the
    notes, the tables (those of at most :data:`HTML_MAX_ROWS` rows; longer ones are only
    named), the charts and the ``examples``. Every string is HTML-escaped by the template
    (names and labels are data, never markup). plotly.js is embedded once in the page, so it
    opens offline and sends nothing anywhere. Tables named in ``files_only`` (per-pair rows,
    curves) go to CSV/Parquet only, whatever their length.
    """
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        with atomic_path(out / f"{name}.csv") as tmp:
            df.write_csv(tmp)
        with atomic_path(out / f"{name}.parquet") as tmp:
            df.write_parquet(tmp)
    meta = {"model": header.model, "detector": header.detector, "metric": header.metric,
            "threshold": f"{header.threshold:.4f}", "data set": header.dataset,
            **{k: str(v) for k, v in header.sizes.items()}, "date": header.date,
            "software": ", ".join(f"{k} {v}" for k, v in header.versions.items())}
    on_page = {name for name, df in tables.items() if df.height <= HTML_MAX_ROWS and name not in files_only}
    shown = [(name, {"columns": df.columns, "rows": list(df.iter_rows())})
             for name, df in tables.items() if name in on_page]
    bulk = [(name, df.height) for name, df in tables.items() if name not in on_page]
    page_html = _environment().get_template("report.html.j2").render(
        title=header.title, headline=list(headline), meta=meta, notes=list(notes), shown_tables=shown,
        figures=[(title, pio.to_html(fig, include_plotlyjs=False, full_html=False, config={"displaylogo": False}))
                 for title, fig in figures],
        examples=[{"title": ex.title, "items": [{"caption": it.caption, "images": [_data_uri(b) for b in it.images]}
                                                for it in ex.items]} for ex in examples],
        bulk_tables=bulk, plotlyjs=get_plotlyjs())
    page = out / "report.html"
    with atomic_path(page) as tmp:
        tmp.write_text(page_html, encoding="utf-8")
    return page


# -- what each evaluation shows ---------------------------------------------------------

def pairs_figures(r: PairsReport) -> list[tuple[str, object]]:
    c = metrics.error_curve(r.genuine, r.impostor)
    figs = [("Genuine and impostor distances", plots.pair_distance_figure(r.genuine[np.isfinite(r.genuine)],
                                                                          r.impostor[np.isfinite(r.impostor)],
                                                                          r.threshold)),
            ("ROC", plots.roc_figure(c.fmr, c.fnmr, (r.rates.fmr, r.rates.fnmr))),
            ("DET", plots.det_figure(c.fmr, c.fnmr, r.eer.eer)),
            ("Error rates by threshold", plots.rates_vs_threshold_figure(c.thresholds[1:], c.fmr[1:], c.fnmr[1:],
                                                                          r.threshold))]
    if r.groups:
        figs.append(("Per group", plots.group_rates_figure(
            [g.group for g in r.groups], [g.rates.fmr for g in r.groups], [g.rates.fnmr for g in r.groups],
            [f"{g.rates.impostor} imp / {g.rates.genuine} gen" for g in r.groups])))
    return figs


def pairs_tables(r: PairsReport) -> dict[str, pl.DataFrame]:
    d = {k: v for k, v in r.as_dict().items() if not isinstance(v, (dict, list))}
    ci = r.ci
    d.update({"fmr_ci_low": ci.fmr.low, "fmr_ci_high": ci.fmr.high, "fnmr_ci_low": ci.fnmr.low,
              "fnmr_ci_high": ci.fnmr.high, "accuracy_ci_low": ci.accuracy.low, "accuracy_ci_high": ci.accuracy.high})
    c = metrics.error_curve(r.genuine, r.impostor)
    tables = {
        "summary": pl.DataFrame([d]),
        "pairs": pl.DataFrame({"file_x": [Path(p.a).name for p in r.pairs], "file_y": [Path(p.b).name for p in r.pairs],
                               "same": r.same, "distance": np.where(np.isfinite(r.distances), r.distances, np.nan)}
                              ).with_columns(pl.col("distance").fill_nan(None)),
        "curve": pl.DataFrame({"threshold": c.thresholds, "fmr": c.fmr, "fnmr": c.fnmr}),
    }
    if r.groups:
        tables["groups"] = readable.group_table(r.groups)  # sorted, rounded, counts beside the rates
    return tables


def pairs_examples(r: PairsReport) -> list[Examples]:
    """The worst errors (and closest calls) of each kind, with thumbnails of both photos."""
    impostors, genuines = readable.worst_pairs(r)

    def items(pairs) -> tuple[ExampleItem, ...]:
        return tuple(ExampleItem(p.caption(r.threshold, r.default_threshold),
                                 tuple(t for t in (readable.photo_thumbnail(p.a), readable.photo_thumbnail(p.b)) if t))
                     for p in pairs)

    return [Examples("Closest pairs of different people (false matches first)", items(impostors)),
            Examples("Farthest pairs of the same person (false non-matches first)", items(genuines))]


def write_pairs_report(r: PairsReport, out_dir: str | os.PathLike) -> Path:
    header = Header("Verification (1:1) evaluation", r.model, r.detector, r.metric, r.threshold, r.dataset,
                    {"images": r.images, "pairs": len(r.pairs), "genuine pairs": r.rates.genuine,
                     "impostor pairs": r.rates.impostor})
    x = r.rates
    notes = [f"At threshold {r.threshold:.4f}: FMR {_pct(x.fmr, x.impostor, 'different-person pairs')} "
             f"({x.false_matches} false matches), FNMR {_pct(x.fnmr, x.genuine, 'same-person pairs')} "
             f"({x.false_non_matches} missed)" + (
                 f", accuracy {x.accuracy:.2%}; EER {r.eer.eer:.2%}. The best accuracy ({r.best_accuracy:.2%} at "
                 f"{r.best_threshold:.4f}) is tuned on these same pairs and is therefore optimistic."
                 if x.genuine and x.impostor else ".")]
    notes += [f"{g.group}: {g.warning}" for g in r.groups if g.warning]
    notes.append(f"Failures to acquire: {r.fta_words()}." + (f" Skipped files: {len(r.skipped)}." if r.skipped else ""))
    return write_report(out_dir, header, pairs_figures(r), pairs_tables(r), notes,
                        headline=readable.pairs_headline(r), examples=pairs_examples(r),
                        files_only=("summary", "pairs", "curve"))


def _pct(x: float, n: int, what: str) -> str:
    """``"12.50% of 8 mated searches"``, or ``"none: no mated searches"`` (never nan)."""
    return f"none: no {what}" if not n or x != x else f"{x:.2%} of {n} {what}"


def search_figures(r: SearchReport) -> list[tuple[str, object]]:
    c = r.curve
    return [("FPIR and FNIR by threshold", plots.rates_vs_threshold_figure(c.thresholds, c.fpir, c.fnir, r.threshold,
                                                                           ("FPIR", "FNIR"))),
            ("CMC", plots.cmc_figure(r.cmc))]


def write_search_report(r: SearchReport, out_dir: str | os.PathLike, settings) -> Path:
    header = Header("Identification (1:N) evaluation", settings.model, settings.detector, settings.metric_,
                    r.threshold, f"probes vs gallery {r.gallery}",
                    {"probes": len(r.probes), "mated searches": r.curve.mated,
                     "non-mated searches": r.curve.nonmated, "gallery faces": r.gallery_faces})
    ranks = metrics.mate_ranks(r.dist, r.mate)
    tables = {"summary": pl.DataFrame([{k: v for k, v in r.as_dict().items() if not isinstance(v, (dict, list))}]),
              "probes": pl.DataFrame({"probe": [Path(p).name for p in r.probes], "person": r.persons,
                                      "mated": r.mate >= 0, "mate_rank": ranks,
                                      "best_distance": r.dist.min(axis=1)}),
              "curve": pl.DataFrame({"threshold": r.curve.thresholds, "fpir": r.curve.fpir, "fnir": r.curve.fnir}),
              "cmc": pl.DataFrame({"rank": np.arange(1, len(r.cmc) + 1), "hit_rate": r.cmc})}
    if r.groups:
        tables["groups"] = pl.DataFrame(r.groups)
    notes = [f"At threshold {r.threshold:.4f}: FPIR {_pct(r.fpir, r.curve.nonmated, 'non-mated searches')}, "
             f"FNIR {_pct(r.fnir, r.curve.mated, 'mated searches')}."]
    notes += [f"{g['group']}: {g['warning']}" for g in r.groups if g.get("warning")]
    notes.append(f"Who the probes are: {r.identity}. Failures to acquire: {r.fta_words()}."
                 + (f" Left out, person not stated: {len(r.unknown)}." if r.unknown else ""))
    return write_report(out_dir, header, search_figures(r), tables, notes, headline=readable.search_headline(r),
                        files_only=("summary", "probes", "curve"))


def replay_figures(r: ReplayReport) -> list[tuple[str, object]]:
    return [("Probes flagged", plots.replay_figure([x.similarity for x in r.rows], [x.flagged for x in r.rows],
                                                  len(r.probes))),
            ("Growth with gallery size", plots.replay_growth_figure(r.rows))]


def replay_table(r: ReplayReport) -> pl.DataFrame:
    rows = []
    for x in r.rows:
        row = {"similarity": x.similarity, "threshold": x.threshold, "probes": x.probes, "flagged": x.flagged,
               "false_matches": x.false_matches, "comparisons": x.comparisons, "fmr": x.fmr}
        row.update({f"extrapolated_{k}": v for k, v in x.extrapolated.items()})
        row.update({f"extrapolated_upper95_{k}": v for k, v in x.extrapolated_upper.items()})
        row.update({f"flagged_{g}": f"{f}/{n}" for g, (f, n) in x.by_group.items()})
        rows.append(row)
    return pl.DataFrame(rows)


def write_replay_report(r: ReplayReport, out_dir: str | os.PathLike, settings) -> Path:
    header = Header("Replay: innocent people searched against a gallery", settings.model, settings.detector,
                    r.metric, settings.threshold_, f"probes vs gallery {r.gallery}",
                    {"probes": len(r.probes), "gallery faces": r.gallery_faces, "excluded probes": len(r.excluded)})
    notes = [f"Who the probes are: {r.identity}. None of the innocent probes is in the gallery: every match is "
             "a false match. Figures past the gallery's own size are EXTRAPOLATED from the measured "
             "per-comparison false match rate, assuming independent comparisons; the upper line uses the 95 % "
             "upper bound of that rate."]
    notes += [f"Left out: {len(r.excluded)} probes whose person is in the gallery, {len(r.unknown)} whose person "
              f"is not stated; not searched (no face found): {len(r.fta)}; skipped files: {len(r.skipped)}."]
    figures, tables = replay_figures(r), {"replay": replay_table(r)}
    headline = []
    if r.scale is not None:
        headline = scale_sentences(r.scale)
        notes.append(scale.ASSUMES)
        figures.append(("At the scale of real databases", plots.scale_figure(r.scale)))
        if r.scale.groups:
            figures.append(("At scale, per group", plots.scale_groups_figure(r.scale)))
        tables["scale"] = pl.DataFrame(scale.table(r.scale))
    return write_report(out_dir, header, figures, tables, notes, headline=headline)


def scale_sentences(answer, sizes=(300_000, 20_000_000), similarities=(80.0, 99.0)) -> list[str]:
    """The one scale answer's sentences for a report's headline (and the app): the sentences
    (each says what it rests on), one per UTKFace group at the first size and similarity, and
    what is missing."""
    return ([answer.sentence(n, s) for s in similarities for n in sizes]
            + [f"{g}: {a.sentence(sizes[0], similarities[0])}" for g, a in answer.groups]
            + list(answer.notes))
