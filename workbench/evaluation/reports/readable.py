"""What an evaluation says, for a reader: the headline in words, the per-group table sorted and
rounded, and the worst errors with thumbnails of both photos. The report (``--report``) and the
Evaluate page show these first, in this order, before any chart; the per-pair rows stay in the
CSV/Parquet files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from workbench.evaluation.runners.identification import SearchReport
from workbench.evaluation.runners.verification import PairsReport
from workbench.evaluation.stats import metrics
from workbench.pipeline import compare

#: How many of the worst errors of each kind are shown with their photos.
WORST = 4


def _count(k: int, n: int, what: str) -> str:
    return f"{k:,} of {n:,} {what}"


def _p(x: float) -> str:
    return f"{100 * x:.1f} %"


def _range(k: int, n: int) -> str:
    """The 95 % Wilson range of ``k / n`` in words: ``"1.0 % to 4.0 %"``, ``"under 2.7 %"`` for zero."""
    low, high = metrics.wilson(k, n)
    return f"under {_p(high)}" if k == 0 else f"{_p(low)} to {_p(high)}"


def _rate_with_bound(k: int, n: int) -> str:
    """``"2.1 %, 95 % range 1.0 % to 4.0 %"``; for zero errors, what zero can tell: an upper bound."""
    if n == 0:
        return "no pairs to measure"
    if k == 0:
        return f"0 %; that only says it is {_range(0, n)} at 95 % confidence"
    return f"{_p(k / n)}, 95 % range {_range(k, n)}"


@dataclass(frozen=True)
class Tile:
    """One figure under the headline: its name, the rate, and the counts with the 95 % range."""

    label: str
    value: str
    note: str


def _tile(label: str, k: int, n: int) -> Tile:
    if n == 0:
        return Tile(label, "–", "no pairs to measure")
    return Tile(label, f"{k / n:.2%}", f"{k}/{n} · 95 %: {_range(k, n)}")


def pairs_tiles(r: PairsReport) -> list[Tile]:
    """Accuracy, FMR, FNMR (each with its counts and the headline's interval) and the EER."""
    x = r.rates
    n = x.genuine + x.impostor
    return [_tile("Accuracy", n - x.false_matches - x.false_non_matches, n),
            _tile("FMR", x.false_matches, x.impostor), _tile("FNMR", x.false_non_matches, x.genuine),
            Tile("EER", f"{r.eer.eer:.2%}", f"at {r.eer.threshold:.3f}")]


def pairs_headline(r: PairsReport) -> list[str]:
    """The evaluation in two or three sentences of plain words, with the counts behind every rate."""
    x = r.rates
    pct = float(compare.similarity(r.threshold, r.default_threshold))
    lines = [
        f"At the decision threshold (distance {r.threshold:.2f}, {pct:.0f} % similarity), the {r.model} model called "
        f"{_count(x.false_matches, x.impostor, 'pairs of different people')} the same person (false match rate "
        f"{_rate_with_bound(x.false_matches, x.impostor)}), and missed "
        f"{_count(x.false_non_matches, x.genuine, 'pairs of the same person')} (false non-match rate "
        f"{_rate_with_bound(x.false_non_matches, x.genuine)}).",
        f"{len(r.pairs):,} labelled pairs over {r.images:,} photos from {Path(r.dataset).name or r.dataset}."
        + (f" {len(r.failed_images)} photos had no usable face; their pairs count as 'not the same'."
           if r.failed_images else ""),
    ]
    if r.groups:
        worst = sort_groups(r.groups)[0]
        lines.append(f"Per {r.group_column}: the highest false match rate is {worst.group}'s, "
                     f"{_count(worst.rates.false_matches, worst.rates.impostor, 'impostor pairs')}"
                     + (f" ({worst.warning})" if worst.warning else "") + ".")
    return lines


def search_headline(r: SearchReport) -> list[str]:
    """A 1:N evaluation in plain words: innocent people flagged, wanted people missed, with counts."""
    c = r.curve
    non = round(r.fpir * c.nonmated) if c.nonmated and r.fpir == r.fpir else 0
    miss = round(r.fnir * c.mated) if c.mated and r.fnir == r.fnir else 0
    lines = []
    if c.nonmated:
        lines.append(f"Of {c.nonmated:,} searches for people who are not in gallery {r.gallery}, {non:,} still returned "
                     f"a candidate at the threshold (distance {r.threshold:.2f}): innocent people flagged "
                     f"({_rate_with_bound(non, c.nonmated)}).")
    if c.mated:
        lines.append(f"Of {c.mated:,} searches for people who are in it, {miss:,} did not return them first at the "
                     f"threshold ({_rate_with_bound(miss, c.mated)}).")
    lines.append(f"{len(r.probes):,} probe photos against {r.gallery_faces:,} faces of {len(r.gallery_people):,} "
                 "people." + (f" {len(r.failed)} probes had no usable face." if r.failed else ""))
    return lines


def sort_groups(groups: list[metrics.GroupRates]) -> list[metrics.GroupRates]:
    """Highest false match rate first (then highest false non-match rate); empty groups last."""
    def key(g: metrics.GroupRates):
        fmr, fnmr = g.rates.fmr, g.rates.fnmr
        return (-(fmr if fmr == fmr else -1.0), -(fnmr if fnmr == fnmr else -1.0), g.group)
    return sorted(groups, key=key)


def _pct(x: float) -> float | None:
    return None if x != x else round(100 * x, 2)


def group_table(groups: list[metrics.GroupRates], fta: dict[str, int] | None = None) -> pl.DataFrame:
    """One row per group, sorted (:func:`sort_groups`), rates in percent with 2 decimals, counts beside them;
    ``fta``: photos of each group in which no face was found (failures to acquire)."""
    rows = [{"group": g.group, "photos": g.images,
             "false matches": g.rates.false_matches, "impostor pairs": g.rates.impostor,
             "FMR %": _pct(g.rates.fmr),
             "false non-matches": g.rates.false_non_matches, "genuine pairs": g.rates.genuine,
             "FNMR %": _pct(g.rates.fnmr), "no face found": (fta or {}).get(g.group, 0),
             "note": g.warning or ""} for g in sort_groups(groups)]
    return pl.DataFrame(rows)


@dataclass(frozen=True)
class WorstPair:
    """One pair the model got most wrong (or nearly wrong): both photos and what happened."""

    a: str
    b: str
    distance: float
    same: bool
    error: bool      # on the wrong side of the threshold

    def caption(self, threshold: float, base: float) -> str:
        what = "same person" if self.same else "different people"
        verdict = ("called different: a false non-match" if self.same else "called the same: a false match") \
            if self.error else ("called the same (right, but close)" if self.same else
                                "called different (right, but close)")
        pct = float(compare.similarity(self.distance, base)) if math.isfinite(self.distance) else 0.0
        dist = f"{self.distance:.3f}" if math.isfinite(self.distance) else "no face"
        return f"{Path(self.a).name} / {Path(self.b).name}: {what}, distance {dist} ({pct:.0f} %), {verdict}"


def worst_pairs(r: PairsReport, n: int = WORST) -> tuple[list[WorstPair], list[WorstPair]]:
    """The ``n`` different-people pairs with the smallest distances (false matches first) and the
    ``n`` same-person pairs with the largest (false non-matches first), whether or not they cross
    the threshold: the closest calls are what a reader should see."""
    d, same = r.distances, r.same
    imp = np.flatnonzero(~same)
    gen = np.flatnonzero(same)
    imp = imp[np.argsort(d[imp], kind="stable")][:n]
    gen = gen[np.argsort(-np.where(np.isinf(d[gen]), 1e9, d[gen]), kind="stable")][:n]

    def pick(idx: np.ndarray, is_same: bool) -> list[WorstPair]:
        out = []
        for k in idx:
            err = bool(compare.is_match(d[k], r.threshold)) != is_same
            out.append(WorstPair(r.pairs[k].a, r.pairs[k].b, float(d[k]), is_same, err))
        return out

    return pick(imp, False), pick(gen, True)


def photo_thumbnail(path: str, side: int = 160) -> bytes | None:
    """A small JPEG of a whole photo (to show beside an error), or ``None`` if it cannot be read."""
    from workbench.errors import WorkbenchError
    from workbench.pipeline import capture

    try:
        image = capture.load_image(path)
    except WorkbenchError:
        return None
    h, w = image.shape[:2]
    step = max(1, int(math.ceil(max(h, w) / side)))
    return capture.encode_jpeg(np.ascontiguousarray(image[::step, ::step]))
