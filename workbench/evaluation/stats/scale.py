"""The scale answer: how many false candidates a search of an innocent person returns in a
gallery of N faces, and the chance that person is flagged at all, with the range the data allows.

Pure functions over measured *impostor* distances (a probe against faces of other people).
For a distance threshold ``t`` the per-comparison false match rate ``p`` is estimated two ways:

* **measured**: ``k`` impostor distances at or under ``t`` among ``n``; its 95 % range is the
  wider of the Wilson score interval and, when the distances come in clusters (one probe
  against many faces), a percentile bootstrap that resamples whole clusters. With ``k = 0``
  only an upper bound exists (the Wilson bound, about ``3.8 / n``), and it is said in words;
* **fitted tail**: a normal curve fitted to the closest fifth of the impostor distances
  (least squares on the probit scale: ``x = mu + sigma * z(p)``), read at ``t``, with the same
  cluster bootstrap for its range. This reaches thresholds no measured impostor came near,
  and is a model, not a measurement: it is used as the estimate only when fewer than
  :data:`MIN_MEASURED` false matches were seen.

Then, for ``N`` faces, with comparisons taken as independent (an assumption: the faces of one
stranger are alike, so real false matches come in clumps):

* expected false candidates per search = ``N * p``;
* chance an innocent probe is flagged (at least one false candidate) = ``1 - (1 - p) ** N``.

Both assume the gallery's strangers are as alike to the probes as the measured impostors were.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from workbench.evaluation.stats import metrics
from workbench.pipeline import compare
from workbench.pipeline.compare import is_match

#: Gallery sizes the answer is given for: small, the 2018 mugshot replay, a state DMV-scale
#: database (Washington County's 300,000), and Rekognition's collection limit (20 million).
SIZES = (1_000, 10_000, 25_000, 300_000, 1_000_000, 20_000_000)
_NORMAL = NormalDist()
#: Below this many measured false matches, the fitted tail is the estimate.
MIN_MEASURED = 5
#: Share of the impostor distances (the closest) the tail is fitted to, and the least points.
TAIL_SHARE = 0.2
MIN_TAIL_POINTS = 10


@dataclass(frozen=True)
class Range:
    """A value with its 95 % range (``low``/``high``); ``nan`` when there is none."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class ScaleRow:
    """The answer at one threshold: the per-comparison rates, then per gallery size."""

    similarity: float
    threshold: float
    comparisons: int
    false_matches: int
    measured: Range          # FMR measured (k/n); with k = 0, value 0 and high = the upper bound
    fitted: Range            # FMR from the fitted tail
    source: str              # "measured" or "fitted": which one the estimate is
    sizes: tuple[int, ...]
    expected: tuple[Range, ...]   # false candidates per search, per size
    flagged: tuple[Range, ...]    # chance an innocent probe is flagged, per size

    @property
    def estimate(self) -> Range:
        return self.measured if self.source == "measured" else self.fitted

    def at(self, size: int) -> tuple[Range, Range]:
        """``(expected false candidates, chance flagged)`` for a gallery of ``size`` faces."""
        e = expected_candidates(self.estimate, size)
        return e, flag_probability(self.estimate, size)


@dataclass(frozen=True)
class ScaleAnswer:
    comparisons: int
    clusters: int
    rows: tuple[ScaleRow, ...]
    tail: tuple[float, float]     # (mu, sigma) of the fitted normal

    def row(self, similarity: float) -> ScaleRow:
        return min(self.rows, key=lambda r: abs(r.similarity - similarity))

    def sentence(self, size: int, similarity: float) -> str:
        return sentence(self.row(similarity), size)


def _boot_clusters(clusters: np.ndarray | None, n: int, n_boot: int, seed: int):
    """Index arrays of ``n_boot`` cluster-bootstrap resamples (or of single items)."""
    rng = np.random.default_rng(seed)
    if clusters is None:
        for _ in range(n_boot):
            yield rng.integers(0, n, n)
        return
    ids, inverse = np.unique(clusters, return_inverse=True)
    members = [np.flatnonzero(inverse == j) for j in range(ids.size)]
    for _ in range(n_boot):
        pick = rng.integers(0, ids.size, ids.size)
        yield np.concatenate([members[j] for j in pick])


def fit_tail(impostor: np.ndarray) -> tuple[float, float]:
    """``(mu, sigma)`` of a normal fitted to the closest :data:`TAIL_SHARE` of the distances
    (all of them when that is under :data:`MIN_TAIL_POINTS`), on the probit scale."""
    x = np.asarray(impostor, np.float64).reshape(-1)
    x = x[np.isfinite(x)]
    n = x.size
    if n < 3:
        return float("nan"), float("nan")
    m = min(n, max(MIN_TAIL_POINTS, int(math.ceil(TAIL_SHARE * n))))
    if m <= 200:  # every closest distance at its plotting position
        p = (np.arange(1, m + 1) - 0.5) / n
        xs = np.sort(np.partition(x, m - 1)[:m])
    else:  # large sets: 200 quantiles, spaced evenly in log p so the far tail counts
        p = np.geomspace(0.5 / n, m / n, 200)
        xs = np.quantile(x, p)
    zs = np.array([_NORMAL.inv_cdf(float(q)) for q in p])
    sigma, mu = np.polyfit(zs, xs, 1)
    if not np.isfinite(sigma) or sigma <= 0:
        sigma = float(np.std(x)) or 1e-9
        mu = float(np.mean(x))
    return float(mu), float(sigma)


def _fit_rate(mu: float, sigma: float, t: float) -> float:
    if not (np.isfinite(mu) and np.isfinite(sigma)):
        return float("nan")
    return float(_NORMAL.cdf((t - mu) / sigma))


def expected_candidates(fmr: Range, size: int) -> Range:
    """False candidates per search in ``size`` faces: ``size * fmr`` (and its range)."""
    return Range(size * fmr.value, size * fmr.low, size * fmr.high)


def flag_probability(fmr: Range, size: int) -> Range:
    """Chance of at least one false candidate in ``size`` faces: ``1 - (1 - fmr) ** size``."""
    f = lambda p: float(metrics.any_match_probability(p, size)) if p == p else float("nan")  # noqa: E731
    return Range(f(fmr.value), f(fmr.low), f(fmr.high))


def scale_answer(impostor, thresholds: dict[float, float], *, clusters=None, sizes=SIZES,
                 n_boot: int = 400, seed: int = 0) -> ScaleAnswer:
    """The scale answer at each threshold (similarity percent -> distance) for each gallery size.

    Args:
        impostor: measured impostor distances (any shape; flattened).
        thresholds: similarity percent -> distance threshold (see :func:`thresholds_for`).
        clusters: the same shape as ``impostor``: which probe (or photo) each distance belongs
            to, so the bootstrap resamples whole probes; ``None`` resamples single distances.
        sizes: gallery sizes to answer for.
    """
    d = np.asarray(impostor, np.float64).reshape(-1)
    keep = np.isfinite(d)
    d = d[keep]
    cl = None if clusters is None else np.asarray(clusters).reshape(-1)[keep]
    n = int(d.size)
    mu, sigma = fit_tail(d)
    ts = np.array(list(thresholds.values()), np.float64)
    boot_meas, boot_fit = [], []
    n_boot = n_boot if n <= 100_000 else max(50, n_boot // 8)  # millions of distances: fewer resamples
    if n:
        for idx in _boot_clusters(cl, n, n_boot, seed):
            s = d[idx]
            boot_meas.append(is_match(s[:, None], ts[None, :]).mean(axis=0) if s.size else np.zeros(ts.size))
            m2, s2 = fit_tail(s) if s.size >= 3 else (float("nan"), float("nan"))
            boot_fit.append([_fit_rate(m2, s2, t) for t in ts])
    bm = np.array(boot_meas) if boot_meas else np.zeros((0, ts.size))
    bf = np.array(boot_fit) if boot_fit else np.zeros((0, ts.size))
    rows = []
    for j, (sim, t) in enumerate(thresholds.items()):
        k = int(is_match(d, t).sum())
        wl, wh = metrics.wilson(k, n)
        if k and bm.shape[0]:
            lo, hi = np.percentile(bm[:, j], [2.5, 97.5])
            measured = Range(k / n, min(wl, float(lo)), max(wh, float(hi)))
        else:
            measured = Range(k / n if n else float("nan"), 0.0 if n else float("nan"), wh)
        fv = _fit_rate(mu, sigma, t)
        col = bf[:, j][np.isfinite(bf[:, j])] if bf.shape[0] else np.zeros(0)
        fitted = (Range(fv, float(np.percentile(col, 2.5)), float(np.percentile(col, 97.5)))
                  if col.size else Range(fv, float("nan"), float("nan")))
        source = "measured" if k >= MIN_MEASURED or not np.isfinite(fv) else "fitted"
        est = measured if source == "measured" else fitted
        rows.append(ScaleRow(float(sim), float(t), n, k, measured, fitted, source, tuple(int(s) for s in sizes),
                             tuple(expected_candidates(est, s) for s in sizes),
                             tuple(flag_probability(est, s) for s in sizes)))
    n_clusters = int(np.unique(cl).size) if cl is not None and cl.size else n
    return ScaleAnswer(n, n_clusters, tuple(rows), (mu, sigma))


def thresholds_for(similarity_base: float, similarities=(80.0, 99.0), extra: float | None = None) -> dict[float, float]:
    """Similarity percent -> distance threshold on a model's scale (80 % = its default)."""
    sims = sorted(set(similarities) | ({float(extra)} if extra is not None else set()))
    return {s: compare.distance_for_similarity(s, similarity_base) for s in sims}


def count(x: float) -> str:
    """A number for a sentence, to two significant figures: '2,100', '3.4', '0.031', '0'."""
    if not x == x:
        return "unknown"
    if x == 0:
        return "0"
    if x >= 100:  # two significant figures: the range says how precise it is
        return f"{float(f'{x:.2g}'):,.0f}"
    if x >= 1e-6:
        return np.format_float_positional(float(f"{x:.2g}"), trim="-")
    return "under 0.000001"


def per_search(x: float) -> str:
    """Expected false candidates per search in words: 'about 2,100 false candidates per search',
    'about one false candidate every 5,000 searches'."""
    if not x == x:
        return "an unknown number of false candidates"
    if x >= 0.95:
        return f"about {count(x)} false candidate{'s' if count(x) != '1' else ''} per search"
    if x >= 1e-6:
        return f"about one false candidate every {count(1 / x)} searches"
    return "fewer than one false candidate in a million searches"


def chance(p: float) -> str:
    """A probability in words: '89.6 %', 'over 99.9 %', 'under 0.1 %'."""
    if not p == p:
        return "unknown"
    if p > 0.999:
        return "over 99.9 %"
    if p < 0.001:
        return "under 0.1 %"
    return f"{p:.1%}".replace("%", " %")


def flag_clause(p: float) -> str:
    """'that person would almost certainly be flagged (over 99.9 %)', or the chance in words."""
    if p == p and p > 0.999:
        return "that person would almost certainly be flagged (over 99.9 %)"
    return f"the chance that person is flagged is {chance(p)}"


def sentence(row: ScaleRow, size: int) -> str:
    """The answer for one threshold and gallery size, in words, with its range and basis."""
    e, f = row.at(size)
    where = f"In a gallery of {size:,} faces at {row.similarity:g} % similarity (distance {row.threshold:.3f})"
    if row.comparisons == 0:
        return f"{where}: no impostor comparisons were measured, so nothing can be said."
    measured = f"{row.false_matches} false match{'es' if row.false_matches != 1 else ''} in {row.comparisons:,} comparisons"
    if row.source == "measured":
        return (f"{where}, a search of someone who is not in it would return {per_search(e.value)} "
                f"(95 % range {count(e.low)} to {count(e.high)} per search); {flag_clause(f.value)}. "
                f"Measured: {measured}.")
    bound = expected_candidates(row.measured, size)
    text = (f"{where}: we saw {measured}. The data alone can only say there would be fewer than "
            f"{count(bound.high)} false candidates per search (95 %).")
    if row.fitted.value == row.fitted.value:
        text += (f" A normal curve fitted to the closest impostors suggests {per_search(e.value)} (range "
                 f"{count(e.low)} to {count(e.high)} per search), and a chance of {chance(f.value)} that an "
                 "innocent person is flagged: a model of the tail, not a measurement.")
    return text


#: What every figure of the scale answer assumes, in one sentence for reports and pages.
ASSUMES = ("Assumes the gallery's strangers are as alike to the probes as the measured impostors were, "
           "and that comparisons are independent (the faces of one stranger are alike, so real false "
           "matches come in clumps: fewer people flagged, more candidates each).")


def _num(x: float) -> float | None:
    return None if x != x or x in (float("inf"), float("-inf")) else float(f"{x:.4g}")


def _range(r: Range) -> dict:
    return {"value": _num(r.value), "low": _num(r.low), "high": _num(r.high)}


def as_dict(answer: ScaleAnswer) -> dict:
    """Strict-JSON form of a :class:`ScaleAnswer` (no NaN: unknown values are ``null``)."""
    return {"comparisons": answer.comparisons, "clusters": answer.clusters,
            "tail_normal": {"mu": _num(answer.tail[0]), "sigma": _num(answer.tail[1])}, "assumes": ASSUMES,
            "thresholds": [{"similarity": r.similarity, "threshold": round(r.threshold, 6),
                            "false_matches": r.false_matches, "comparisons": r.comparisons,
                            "estimate_from": r.source, "fmr_measured": _range(r.measured),
                            "fmr_fitted": _range(r.fitted),
                            "by_gallery_size": {str(s): {"false_candidates_per_search": _range(e),
                                                         "p_innocent_flagged": _range(f), "sentence": sentence(r, s)}
                                                for s, e, f in zip(r.sizes, r.expected, r.flagged)}}
                           for r in answer.rows]}


def table(answer: ScaleAnswer) -> list[dict]:
    """One row per threshold and gallery size, for a data frame (CSV/Parquet, the app's table)."""
    out = []
    for r in answer.rows:
        for s, e, f in zip(r.sizes, r.expected, r.flagged):
            out.append({"similarity": r.similarity, "threshold": round(r.threshold, 4), "gallery_faces": s,
                        "false_candidates": e.value, "false_candidates_low": e.low,
                        "false_candidates_high": e.high, "p_flagged": f.value, "p_flagged_low": f.low,
                        "p_flagged_high": f.high, "estimate_from": r.source,
                        "false_matches_measured": r.false_matches, "comparisons": r.comparisons})
    return out
