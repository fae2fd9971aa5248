"""Standard benchmark protocols, as pure functions over pair *distances* (smaller = more alike):
LFW's 10-fold "View 2" accuracy, the true accept rate at a fixed false accept rate, and 1:N
miss rates at a fixed false positive rate. The match rule is
:func:`workbench.pipeline.compare.is_match` (``distance <= threshold``), as everywhere.

A pair that could not be scored (a photo without a face) has distance ``inf``: it never
matches, so it is a miss when genuine and a correct reject when not, as a deployed system
would answer. Callers report how many such pairs there are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from workbench.evaluation.stats.metrics import best_threshold, threshold_for_fmr
from workbench.pipeline.compare import is_match


@dataclass(frozen=True, eq=False)
class TenFold:
    """LFW View 2: for each fold, the threshold with the best accuracy on the other nine folds,
    and the accuracy it gives on the held-out fold."""

    per_fold: np.ndarray
    thresholds: np.ndarray

    @property
    def mean(self) -> float:
        return float(self.per_fold.mean()) if self.per_fold.size else float("nan")

    @property
    def sd(self) -> float:
        """Standard deviation over folds (n - 1), as LFW results are quoted ("mean +- sd")."""
        return float(self.per_fold.std(ddof=1)) if self.per_fold.size > 1 else float("nan")


def ten_fold_accuracy(dist, same, folds) -> TenFold:
    """The LFW protocol: threshold chosen on nine folds (best accuracy), accuracy on the tenth.

    Args:
        dist: ``(P,)`` pair distances (``inf`` for a pair that could not be scored).
        same: ``(P,)`` booleans, True for same-person pairs.
        folds: ``(P,)`` fold number of each pair.
    """
    d = np.asarray(dist, np.float64).reshape(-1)
    y = np.asarray(same, bool).reshape(-1)
    f = np.asarray(folds).reshape(-1)
    finite = np.where(np.isfinite(d), d, 1e9)  # never matches at any threshold chosen
    accs, thresholds = [], []
    if np.unique(f).size < 2:  # no fold to choose a threshold on: no figure
        return TenFold(np.zeros(0), np.zeros(0))
    for k in np.unique(f):
        train, test = f != k, f == k
        t, _ = best_threshold(finite[train], y[train])
        thresholds.append(t)
        accs.append(float(np.mean(is_match(d[test], t) == y[test])))
    return TenFold(np.asarray(accs), np.asarray(thresholds))


@dataclass(frozen=True)
class TarAtFar:
    """The share of genuine pairs accepted at the threshold that accepts at most ``far`` of the
    impostors, with the counts behind it."""

    far: float
    threshold: float
    tar: float
    genuine: int
    impostor: int
    false_accepts: int

    @property
    def supported(self) -> bool:
        """Whether there are enough impostors for the rate: at least one allowed false accept."""
        return self.impostor * self.far >= 1


def tar_at_far(genuine, impostor, far: float) -> TarAtFar:
    """TAR at a fixed FAR (= FMR) on distances: the threshold is the largest one whose FMR is at
    most ``far`` (:func:`~workbench.evaluation.stats.metrics.threshold_for_fmr`)."""
    g = np.asarray(genuine, np.float64).reshape(-1)
    i = np.asarray(impostor, np.float64).reshape(-1)
    t = threshold_for_fmr(i[np.isfinite(i)], far * i.size / max(np.isfinite(i).sum(), 1)) if i.size else math.nan
    tar = float(np.mean(is_match(g, t))) if g.size and t == t else math.nan
    fa = int(is_match(i, t).sum()) if t == t else 0
    return TarAtFar(float(far), float(t), tar, int(g.size), int(i.size), fa)


@dataclass(frozen=True)
class MissAtFalseAlarm:
    """1:N: the miss rate of mated searches (FNIR) at the threshold where at most ``fpir`` of the
    non-mated searches return any candidate."""

    fpir: float
    threshold: float
    fnir: float
    mated: int
    nonmated: int
    false_alarms: int


def fnir_at_fpir(best_nonmated, mate_dist, mate_rank1, fpir: float) -> MissAtFalseAlarm:
    """FNIR at a fixed FPIR.

    Args:
        best_nonmated: ``(M0,)`` each non-mated search's closest candidate distance (``inf``: no face).
        mate_dist: ``(M1,)`` each mated search's distance to its mate (``inf``: no face, or no mate enrolled).
        mate_rank1: ``(M1,)`` whether the mate is the closest candidate.
        fpir: the false positive identification rate allowed.
    """
    b = np.asarray(best_nonmated, np.float64).reshape(-1)
    m = np.asarray(mate_dist, np.float64).reshape(-1)
    r1 = np.asarray(mate_rank1, bool).reshape(-1)
    t = threshold_for_fmr(b, fpir) if b.size else math.nan
    if t != t:
        return MissAtFalseAlarm(fpir, math.nan, math.nan, int(m.size), int(b.size), 0)
    hit = r1 & is_match(m, t)
    return MissAtFalseAlarm(float(fpir), float(t), float(1.0 - hit.mean()) if m.size else math.nan,
                            int(m.size), int(b.size), int(is_match(b, t).sum()))
