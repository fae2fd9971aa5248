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
  and is a model, not a measurement. It is the estimate only when the measurement can support
  it: fewer than :data:`MIN_MEASURED` false matches were seen, yet at least
  :data:`MIN_TAIL_COMPARISONS` comparisons were made (so the closest fifth holds thousands of
  distances) and the fitted rate lies inside the Wilson interval of the count. Otherwise the estimate is
  the measured range itself (``source == "range"``): the answer leads with it and with the number
  of comparisons, as it does whenever the comparisons come from a small set (the packaged photos:
  :attr:`Basis.small`).

Which impostors the answer rests on is said by its :class:`Basis` (the one call that picks the
largest set on the machine: :func:`workbench.evaluation.runners.scale_reference.answer_at_scale`).

Then, for ``N`` faces, with comparisons taken as independent (an assumption: the faces of one
stranger are alike, so real false matches come in clumps):

* expected false candidates per search = ``N * p``;
* chance an innocent probe is flagged (at least one false candidate) = ``1 - (1 - p) ** N``.

Both assume the gallery's strangers are as alike to the probes as the measured impostors were.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
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
#: Below this many comparisons, the fitted tail is never the estimate (nor the headline).
MIN_TAIL_COMPARISONS = 10_000
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
class Basis:
    """What a scale answer rests on, in words: which impostors, how many photos and people."""

    dataset: str                 # "LFW", "UTKFace", "the packaged photos", "these pairs"
    detail: str = ""             # e.g. "2,000 of 13,233 photos of 1,204 people, yunet + SFace"
    small: bool = False          # a small sample: the answer leads with its range and its count
    reference: str | None = None  # the reference file read, when one was

    def words(self) -> str:
        return f"{self.dataset} ({self.detail})" if self.detail else self.dataset


@dataclass(frozen=True)
class ScaleRow:
    """The answer at one threshold: the per-comparison rates, then per gallery size."""

    similarity: float
    threshold: float
    comparisons: int
    false_matches: int
    measured: Range          # FMR measured (k/n); with k = 0, value 0 and high = the upper bound
    fitted: Range            # FMR from the fitted tail
    source: str              # "measured", "fitted" or "range": which one the estimate is
    sizes: tuple[int, ...]
    expected: tuple[Range, ...]   # false candidates per search, per size
    flagged: tuple[Range, ...]    # chance an innocent probe is flagged, per size

    @property
    def estimate(self) -> Range:
        return self.fitted if self.source == "fitted" else self.measured

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
    basis: Basis | None = None    # which impostors (None: the caller's own distances)
    groups: tuple[tuple[str, "ScaleAnswer"], ...] = ()  # per demographic group, when labels exist
    notes: tuple[str, ...] = ()   # e.g. why no per-group figure, which reference is missing

    def row(self, similarity: float) -> ScaleRow:
        return min(self.rows, key=lambda r: abs(r.similarity - similarity))

    def sentence(self, size: int, similarity: float) -> str:
        return sentence(self.row(similarity), size, self.basis)

    def with_basis(self, basis: Basis, groups=(), notes=()) -> "ScaleAnswer":
        return replace(self, basis=basis, groups=tuple(groups), notes=tuple(notes))


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
                 n_boot: int = 400, seed: int = 0, counts=None) -> ScaleAnswer:
    """The scale answer at each threshold (similarity percent -> distance) for each gallery size.

    Args:
        impostor: measured impostor distances (any shape; flattened); with ``counts``, a random
            sample of them, used for the fitted tail only.
        thresholds: similarity percent -> distance threshold (see :func:`thresholds_for`).
        clusters: the same shape as ``impostor``: which probe (or photo) each distance belongs
            to, so the bootstrap resamples whole probes; ``None`` resamples single distances.
        sizes: gallery sizes to answer for.
        counts: ``(k, n)`` for impostor sets too large to hold as distances: ``k[c, j]`` false
            matches of cluster ``c`` at the ``j``-th threshold among its ``n[c]`` comparisons; the
            measured rate and its bootstrap come from them (``n.sum()`` comparisons).
    """
    d = np.asarray(impostor, np.float64).reshape(-1)
    keep = np.isfinite(d)
    d = d[keep]
    cl = None if clusters is None else np.asarray(clusters).reshape(-1)[keep]
    ts = np.array(list(thresholds.values()), np.float64)
    if counts is None:  # the distances are all there is: one cluster per probe (or per distance)
        ids = np.arange(d.size) if cl is None else np.unique(cl, return_inverse=True)[1].reshape(-1)
        width = int(ids.max()) + 1 if ids.size else 0
        kc = np.stack([np.bincount(ids, is_match(d, t), width) for t in ts], axis=1) if width else np.zeros((0, ts.size))
        nc = np.bincount(ids, minlength=width).astype(np.float64)
    else:
        kc, nc = np.asarray(counts[0], np.float64).reshape(-1, ts.size), np.asarray(counts[1], np.float64).reshape(-1)
    n = int(nc.sum())
    mu, sigma = fit_tail(d)
    rng = np.random.default_rng(seed)
    c = nc.size
    n_boot = n_boot if max(d.size, c) <= 100_000 else max(50, n_boot // 8)  # millions of distances: fewer resamples
    bm = np.zeros((0, ts.size))
    if n and c:  # measured: resample whole clusters, rate = their false matches / their comparisons
        rates = []
        for _ in range(n_boot):
            w = np.bincount(rng.integers(0, c, c), minlength=c).astype(np.float64)
            rates.append((w @ kc) / max(float(w @ nc), 1.0))
        bm = np.array(rates)
    boot_fit = []
    if d.size:
        for idx in _boot_clusters(cl, d.size, n_boot, seed):
            s = d[idx]
            m2, s2 = fit_tail(s) if s.size >= 3 else (float("nan"), float("nan"))
            boot_fit.append([_fit_rate(m2, s2, t) for t in ts])
    bf = np.array(boot_fit) if boot_fit else np.zeros((0, ts.size))
    rows = []
    for j, (sim, t) in enumerate(thresholds.items()):
        k = int(round(kc[:, j].sum())) if c else 0
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
        source = _source(k, n, Range(k / n if n else float("nan"), wl, wh), fv)
        est = fitted if source == "fitted" else measured
        rows.append(ScaleRow(float(sim), float(t), n, k, measured, fitted, source, tuple(int(s) for s in sizes),
                             tuple(expected_candidates(est, s) for s in sizes),
                             tuple(flag_probability(est, s) for s in sizes)))
    return ScaleAnswer(n, int(c), tuple(rows), (mu, sigma))


def _source(k: int, n: int, measured: Range, fitted: float) -> str:
    """Which estimate an answer gives (see the module docstring): counted false matches when
    there are :data:`MIN_MEASURED`; the fitted tail only when the measurement supports it (enough
    comparisons, and the fitted rate inside the Wilson interval of the count, ``measured``); else
    the measured range."""
    if k >= MIN_MEASURED:
        return "measured"
    if n >= MIN_TAIL_COMPARISONS and fitted == fitted and measured.low <= fitted <= measured.high:
        return "fitted"
    return "range"


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


def sentence(row: ScaleRow, size: int, basis: Basis | None = None) -> str:
    """The answer for one threshold and gallery size, in words, with its range and basis.

    With a small basis, or no estimate the measurement supports (``source == "range"``), it
    leads with the number of comparisons and the range; the fitted tail only follows, as a model."""
    e, f = row.at(size)
    where = f"in a gallery of {size:,} faces at {row.similarity:g} % similarity (distance {row.threshold:.3f})"
    of = f" of {basis.words()}" if basis is not None else ""
    if row.comparisons == 0:
        return f"{where[0].upper()}{where[1:]}: no impostor comparisons were measured{of}, so nothing can be said."
    measured = (f"{row.false_matches:,} false match{'es' if row.false_matches != 1 else ''} in "
                f"{row.comparisons:,} comparisons{of}")
    if row.source == "measured" and not (basis is not None and basis.small):
        return (f"{where[0].upper()}{where[1:]}, a search of someone who is not in it would return "
                f"{per_search(e.value)} (95 % range {count(e.low)} to {count(e.high)} per search); "
                f"{flag_clause(f.value)}. Measured: {measured}.")
    bound = expected_candidates(row.measured, size)
    if row.source == "fitted":
        text = (f"{where[0].upper()}{where[1:]}: we saw {measured}. The data alone can only say there would be "
                f"fewer than {count(bound.high)} false candidates per search (95 %).")
    else:  # the measured range leads, with the number of comparisons it rests on
        text = (f"Measured on {row.comparisons:,} comparisons{of}, {row.false_matches:,} false "
                f"match{'es' if row.false_matches != 1 else ''}: {where}, a search of someone who is not in it "
                f"would return between {count(bound.low)} and {count(bound.high)} false candidates (95 % range"
                f"{'' if not row.false_matches else '; ' + count(bound.value) + ' at the measured rate'}).")
    if row.fitted.value == row.fitted.value:
        text += (f" A normal curve fitted to the closest impostors suggests {per_search(expected_candidates(row.fitted, size).value)}"
                 f" (range {count(expected_candidates(row.fitted, size).low)} to "
                 f"{count(expected_candidates(row.fitted, size).high)} per search), and a chance of "
                 f"{chance(flag_probability(row.fitted, size).value)} that an innocent person is flagged: a model "
                 "of the tail, not a measurement" + (f", and {row.comparisons:,} comparisons are too few to check it."
                                                if row.source == "range" else "."))
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
    b = answer.basis
    return {"comparisons": answer.comparisons, "clusters": answer.clusters,
            "basis": None if b is None else {"dataset": b.dataset, "detail": b.detail, "small": b.small,
                                             "reference": b.reference, "words": b.words()},
            "groups": {g: as_dict(a) for g, a in answer.groups}, "notes": list(answer.notes),
            "tail_normal": {"mu": _num(answer.tail[0]), "sigma": _num(answer.tail[1])}, "assumes": ASSUMES,
            "thresholds": [{"similarity": r.similarity, "threshold": round(r.threshold, 6),
                            "false_matches": r.false_matches, "comparisons": r.comparisons,
                            "estimate_from": r.source, "fmr_measured": _range(r.measured),
                            "fmr_fitted": _range(r.fitted),
                            "by_gallery_size": {str(s): {"false_candidates_per_search": _range(e),
                                                         "p_innocent_flagged": _range(f),
                                                         "sentence": sentence(r, s, answer.basis)}
                                                for s, e, f in zip(r.sizes, r.expected, r.flagged)}}
                           for r in answer.rows]}


def table(answer: ScaleAnswer, group: str = "all") -> list[dict]:
    """One row per threshold and gallery size (then the same per group), for a data frame
    (CSV/Parquet, the app's table), each with what it rests on."""
    out = []
    on = answer.basis.words() if answer.basis is not None else ""
    for r in answer.rows:
        for s, e, f in zip(r.sizes, r.expected, r.flagged):
            out.append({"group": group, "similarity": r.similarity, "threshold": round(r.threshold, 4),
                        "gallery_faces": s, "false_candidates": e.value, "false_candidates_low": e.low,
                        "false_candidates_high": e.high, "p_flagged": f.value, "p_flagged_low": f.low,
                        "p_flagged_high": f.high, "estimate_from": r.source,
                        "false_matches_measured": r.false_matches, "comparisons": r.comparisons, "based_on": on})
    for g, a in answer.groups:
        out += table(a, g)
    return out
