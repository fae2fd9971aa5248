"""Error rates, as pure functions over numpy arrays of *distances* (smaller = more alike).

Conventions, fixed here once:

* a comparison is a **match** when ``distance <= threshold`` (ties match);
* verification (1:1): ``genuine`` are distances of same-person pairs, ``impostor`` of
  different-person pairs. FMR = impostors matched / impostors, FNMR = genuine not matched /
  genuine (ISO/IEC 19795-1 names);
* identification (1:N): a probe's distances to every gallery *person* (closest face of each),
  its true person's column index, or ``-1`` for a non-mated probe (its person is not in the
  gallery). FPIR = non-mated searches with any candidate at or under the threshold; FNIR =
  mated searches whose true person is not the rank-1 candidate at or under it (NIST IR 8271);
* an empty set gives ``nan`` rates, never a division error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.stats import binomtest

from workbench.pipeline.compare import is_match

#: Below this many pairs (or searches) a rate is flagged: zero errors in n trials only says the
#: true rate is under 3/n (95 %, the "rule of three").
MIN_TRIALS = 30


def _f64(a) -> np.ndarray:
    return np.asarray(a, np.float64).reshape(-1)


def _rate(k: int, n: int) -> float:
    return k / n if n else float("nan")


@dataclass(frozen=True)
class ErrorRates:
    """Verification errors at one threshold, with the counts behind every rate."""

    threshold: float
    genuine: int
    impostor: int
    false_matches: int
    false_non_matches: int

    @property
    def fmr(self) -> float:
        return _rate(self.false_matches, self.impostor)

    @property
    def fnmr(self) -> float:
        return _rate(self.false_non_matches, self.genuine)

    @property
    def accuracy(self) -> float:
        n = self.genuine + self.impostor
        return _rate(n - self.false_matches - self.false_non_matches, n)


@dataclass(frozen=True, eq=False)
class LabelledDistances:
    """Pair distances with the truth about each pair (``same``: True for a same-person pair), the
    base of every verification report: its genuine and impostor distances are read here."""

    distances: np.ndarray
    same: np.ndarray

    @property
    def genuine(self) -> np.ndarray:
        return self.distances[self.same]

    @property
    def impostor(self) -> np.ndarray:
        return self.distances[~self.same]


def rates_at(genuine, impostor, threshold: float) -> ErrorRates:
    """False matches and false non-matches at ``threshold``."""
    g, i = _f64(genuine), _f64(impostor)
    return ErrorRates(float(threshold), int(g.size), int(i.size),
                      int(is_match(i, threshold).sum()), int((~is_match(g, threshold)).sum()))


@dataclass(frozen=True, eq=False)
class Curve:
    """FMR and FNMR at every threshold where either changes, thresholds ascending.

    The first threshold sits below every distance (nothing matches: FMR 0, FNMR 1).
    ROC plots ``1 - fnmr`` against ``fmr``; DET plots ``fnmr`` against ``fmr`` on log axes.
    """

    thresholds: np.ndarray
    fmr: np.ndarray
    fnmr: np.ndarray


def error_curve(genuine, impostor) -> Curve:
    """The FMR/FNMR trade-off over all thresholds (each distinct distance is one step)."""
    g, i = np.sort(_f64(genuine)), np.sort(_f64(impostor))
    finite = np.concatenate([g, i])
    finite = finite[np.isfinite(finite)]
    steps = np.unique(finite)
    first = (steps[0] - 1.0) if steps.size else 0.0
    t = np.concatenate([[first], steps])
    fm = np.searchsorted(i, t, side="right")
    fnm = g.size - np.searchsorted(g, t, side="right")
    with np.errstate(invalid="ignore", divide="ignore"):
        fmr = fm / i.size if i.size else np.full(t.shape, np.nan)
        fnmr = fnm / g.size if g.size else np.full(t.shape, np.nan)
    return Curve(t, np.asarray(fmr, np.float64), np.asarray(fnmr, np.float64))


@dataclass(frozen=True)
class EER:
    """Equal error rate: where FMR and FNMR cross, linearly interpolated between steps."""

    eer: float
    threshold: float


def equal_error_rate(genuine, impostor) -> EER:
    """The equal error rate and the threshold where it is reached.

    Along the curve FMR rises and FNMR falls; between the last step with FMR < FNMR and the
    first with FMR >= FNMR both are interpolated linearly to the crossing.
    """
    c = error_curve(genuine, impostor)
    if not (_f64(genuine).size and _f64(impostor).size):
        return EER(float("nan"), float("nan"))
    d = c.fmr - c.fnmr
    k = int(np.argmax(d >= 0)) if (d >= 0).any() else len(d) - 1
    if k == 0 or d[k] < 0:
        return EER(float((c.fmr[k] + c.fnmr[k]) / 2), float(c.thresholds[k]))
    a = -d[k - 1] / (d[k] - d[k - 1])
    eer = c.fmr[k - 1] + a * (c.fmr[k] - c.fmr[k - 1])
    thr = c.thresholds[k - 1] + a * (c.thresholds[k] - c.thresholds[k - 1])
    return EER(float(eer), float(thr))


def threshold_for_fmr(impostor, target: float) -> float:
    """The largest threshold whose FMR is at most ``target``.

    Ties are respected: when several impostors share a distance, they all match or none does,
    so the answer sits just under a tied value when taking it would overshoot the target.
    """
    i = np.sort(_f64(impostor))
    if i.size == 0:
        return float("nan")
    k = int(math.floor(target * i.size + 1e-9))
    if k >= i.size:
        return float(i[-1])
    return float(np.nextafter(i[k], -np.inf))


def best_threshold(dist, same) -> tuple[float, float]:
    """The distance threshold with the highest accuracy on labelled pairs, and that accuracy.

    ``dist`` are pair distances, ``same`` booleans (True = same person). Candidates are
    midpoints between sorted distances, so the answer does not sit exactly on a sample.
    It is tuned on the data it is scored on: an optimistic figure, shown as such.
    """
    d = _f64(dist)
    y = np.asarray(same, bool).reshape(-1)
    if d.size == 0:
        return float("nan"), float("nan")
    s = np.unique(d)
    cands = np.concatenate([[s[0] - 1e-6], (s[:-1] + s[1:]) / 2.0, [s[-1] + 1e-6]])
    acc = ((d[None, :] <= cands[:, None]) == y[None, :]).mean(axis=1)
    i = int(np.argmax(acc))
    return float(cands[i]), float(acc[i])


# -- uncertainty ---------------------------------------------------------------------------

class Interval(NamedTuple):
    low: float
    high: float


def wilson(k: int, n: int, level: float = 0.95) -> Interval:
    """The Wilson score interval of a proportion ``k / n`` (scipy's); ``(nan, nan)`` for ``n = 0``.

    The one interval for counts, wherever a rate is shown. With ``k = 0`` its upper end is what
    zero errors can tell (about ``3.8 / n`` at 95 %). It treats the ``n`` trials as independent:
    pairs that share a photo are not, so for pair rates read it as a lower bound on the uncertainty.
    """
    if n <= 0:
        return Interval(math.nan, math.nan)
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return Interval(float(ci.low), float(ci.high))


@dataclass(frozen=True)
class Intervals:
    """95 % Wilson intervals (:func:`wilson`) of the rates at one threshold, from their counts."""

    level: float
    fmr: Interval
    fnmr: Interval
    accuracy: Interval


def wilson_intervals(r: ErrorRates, level: float = 0.95) -> Intervals:
    """The Wilson interval of FMR, FNMR and accuracy from the counts behind them: the same method
    as every headline, so a tile never says "0.0 % - 0.0 %" where the headline says "under 2.7 %"."""
    n = r.genuine + r.impostor
    return Intervals(level, wilson(r.false_matches, r.impostor, level), wilson(r.false_non_matches, r.genuine, level),
                     wilson(n - r.false_matches - r.false_non_matches, n, level))


def rule_of_three(n: int) -> float:
    """The 95 % upper bound of a rate when 0 errors were seen in ``n`` trials (``3/n``)."""
    return 3.0 / n if n else float("nan")


def small_sample_warning(n: int, what: str = "pairs", minimum: int = MIN_TRIALS) -> str | None:
    """A sentence for a figure computed on too few trials, else ``None``."""
    if n == 0:
        return f"no {what}: no figure"
    if n < minimum:
        return (f"only {n} {what}: an error rate of 0 here only says the true rate is under "
                f"{min(rule_of_three(n), 1.0):.0%} (95 %); do not compare this figure")
    return None


# -- per group -----------------------------------------------------------------------------

@dataclass(frozen=True)
class GroupRates:
    """Verification errors of one group at the global threshold, with its sample sizes."""

    group: str
    images: int
    rates: ErrorRates
    warning: str | None


def rates_by_group(dist, same, pair_groups, threshold: float, *, groups: list[str] | None = None,
                   images: dict[str, int] | None = None) -> list[GroupRates]:
    """Split pairs by group and compute every rate at one global ``threshold``.

    Args:
        dist: ``(P,)`` pair distances.
        same: ``(P,)`` booleans, True for same-person pairs.
        pair_groups: ``(P,)`` group of each pair (e.g. both photos' group, or ``"mixed"``).
        threshold: the one decision threshold for every group.
        groups: groups to report, in order, even when they have no pair (default: those seen).
        images: number of photos per group, shown next to the rates.
    """
    d = _f64(dist)
    y = np.asarray(same, bool).reshape(-1)
    g = np.asarray(pair_groups, dtype=object).reshape(-1)
    names = groups if groups is not None else sorted({str(x) for x in g})
    out = []
    for name in names:
        sel = g == name
        r = rates_at(d[sel & y], d[sel & ~y], threshold)
        warn = small_sample_warning(r.impostor, "impostor pairs") or small_sample_warning(r.genuine, "genuine pairs")
        out.append(GroupRates(name, (images or {}).get(name, 0), r, warn))
    return out


# -- identification (1:N) ------------------------------------------------------------------

def person_distances(face_dist: np.ndarray, person_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-person distances: the closest face of each person.

    Args:
        face_dist: ``(M, N)`` probe-to-gallery-face distances.
        person_ids: ``(N,)`` person id of each gallery face.

    Returns:
        ``(persons, dist)``: the sorted distinct ids ``(P,)`` and ``(M, P)`` distances.
    """
    d = np.atleast_2d(_f64(face_dist).reshape(np.shape(face_dist)))
    ids = np.asarray(person_ids).reshape(-1)
    persons, col = np.unique(ids, return_inverse=True)
    out = np.full((d.shape[0], persons.size), np.inf)
    for j in range(persons.size):
        out[:, j] = d[:, col == j].min(axis=1)
    return persons, out


def mate_ranks(dist: np.ndarray, mate: np.ndarray) -> np.ndarray:
    """Rank (1-based) of each probe's true person among all gallery persons; 0 if non-mated.

    A tie with another person counts against the mate (pessimistic): rank is one plus the
    number of other persons at the same or a smaller distance. A probe at an infinite distance
    from everyone (no face was found in it) is never found: its rank is past the last person.
    """
    d = np.atleast_2d(np.asarray(dist, np.float64))
    m = np.asarray(mate, int).reshape(-1)
    ranks = np.zeros(m.size, int)
    for k in np.flatnonzero(m >= 0):
        mine = d[k, m[k]]
        ranks[k] = int((d[k] <= mine).sum()) if np.isfinite(mine) else d.shape[1] + 1  # itself included
    return ranks


def cmc(dist: np.ndarray, mate: np.ndarray, max_rank: int = 10) -> np.ndarray:
    """Cumulative match characteristic: hit rate at ranks ``1..max_rank`` of mated probes."""
    r = mate_ranks(dist, mate)
    mated = r[np.asarray(mate).reshape(-1) >= 0]
    if mated.size == 0:
        return np.full(max_rank, np.nan)
    return np.array([(mated <= k).mean() for k in range(1, max_rank + 1)])


@dataclass(frozen=True, eq=False)
class IdentificationCurve:
    """FPIR and FNIR over thresholds, with the number of searches behind each."""

    thresholds: np.ndarray
    fpir: np.ndarray
    fnir: np.ndarray
    mated: int
    nonmated: int


def identification_rates(dist: np.ndarray, mate: np.ndarray, thresholds) -> IdentificationCurve:
    """FPIR (non-mated searches with any candidate <= t) and FNIR (mated searches whose
    rank-1 candidate is not the mate at <= t), at each threshold."""
    d = np.atleast_2d(np.asarray(dist, np.float64))
    m = np.asarray(mate, int).reshape(-1)
    t = _f64(thresholds)
    best = d.min(axis=1) if d.shape[1] else np.full(d.shape[0], np.inf)
    non = m < 0
    ranks = mate_ranks(d, m)
    mated = ~non
    mate_d = np.array([d[k, m[k]] if m[k] >= 0 else np.inf for k in range(m.size)])
    hit = mated & (ranks == 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        fpir = is_match(best[non][None, :], t[:, None]).sum(axis=1) / non.sum() if non.any() else np.full(t.shape, np.nan)
        found = is_match(mate_d[hit][None, :], t[:, None]).sum(axis=1)
        fnir = 1.0 - found / mated.sum() if mated.any() else np.full(t.shape, np.nan)
    return IdentificationCurve(t, np.asarray(fpir, float), np.asarray(fnir, float), int(mated.sum()), int(non.sum()))


# -- extrapolation -------------------------------------------------------------------------

def any_match_probability(fmr: float, gallery_size) -> np.ndarray:
    """Chance that a probe falsely matches at least one of ``gallery_size`` unrelated faces,
    when each comparison falsely matches with probability ``fmr`` independently:
    ``1 - (1 - fmr) ** N``. Independence is an assumption, not a measurement."""
    n = np.asarray(gallery_size, np.float64)
    return -np.expm1(n * np.log1p(-min(max(fmr, 0.0), 1.0 - 1e-15)))


def hit_probability_in_subsample(hits: np.ndarray, total: int, size) -> np.ndarray:
    """For each probe with ``hits`` matching faces among ``total``, the chance that a random
    subsample of ``size`` faces (without replacement) still contains one of them.

    ``1 - C(total - hits, size) / C(total, size)``: the exact average over every subsample.
    Returns ``(len(sizes), len(hits))``.
    """
    h = np.asarray(hits, np.int64).reshape(-1)
    sizes = np.atleast_1d(np.asarray(size, np.int64))
    out = np.zeros((sizes.size, h.size))
    for a, n in enumerate(sizes):
        n = min(int(n), total)
        for b, k in enumerate(h):
            if k == 0:
                continue
            if total - k < n:
                out[a, b] = 1.0
                continue
            # log C(total-k, n) - log C(total, n) = sum_{j<k} log((total-n-j)/(total-j))
            j = np.arange(k)
            out[a, b] = 1.0 - math.exp(float(np.log((total - n - j) / (total - j)).sum()))
    return out
