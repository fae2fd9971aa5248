"""Metric functions against values computed by hand on tiny arrays (ties and empty groups too)."""

import math

import numpy as np
import pytest

from workbench.evaluation.stats import metrics
from workbench.evaluation.stats import metrics as m

G = [0.2, 0.4, 0.6]   # same-person distances
I = [0.5, 0.8]        # different-person distances


def test_rates_at_a_threshold_ties_match():
    r = m.rates_at(G, I, 0.5)
    # impostor 0.5 sits on the threshold and matches; genuine 0.6 is over it
    assert (r.false_matches, r.false_non_matches, r.genuine, r.impostor) == (1, 1, 3, 2)
    assert r.fmr == 0.5 and r.fnmr == pytest.approx(1 / 3) and r.accuracy == pytest.approx(3 / 5)


def test_empty_sets_give_nan_not_an_error():
    r = m.rates_at([], [], 0.5)
    assert math.isnan(r.fmr) and math.isnan(r.fnmr) and math.isnan(r.accuracy)
    assert math.isnan(m.equal_error_rate([], [0.3]).eer)
    assert math.isnan(m.threshold_for_fmr([], 0.1))


def test_error_curve_steps_at_every_distinct_distance():
    c = m.error_curve(G, I)
    assert c.thresholds[1:].tolist() == [0.2, 0.4, 0.5, 0.6, 0.8]
    assert c.thresholds[0] < 0.2
    assert c.fmr.tolist() == [0, 0, 0, 0.5, 0.5, 1]
    assert c.fnmr.tolist() == pytest.approx([1, 2 / 3, 1 / 3, 1 / 3, 0, 0])


def test_equal_error_rate_interpolates_between_the_crossing_steps():
    e = m.equal_error_rate(G, I)
    # fmr - fnmr goes -1/3 (t=0.4) -> +1/6 (t=0.5): crossing 2/3 of the way, both rates 1/3
    assert e.eer == pytest.approx(1 / 3)
    assert e.threshold == pytest.approx(0.4 + 2 / 3 * 0.1)


def test_equal_error_rate_of_separable_sets_is_zero():
    e = m.equal_error_rate([0.1, 0.2], [0.7, 0.9])
    assert e.eer == 0 and 0.2 <= e.threshold < 0.7


def test_threshold_for_target_fmr_respects_ties():
    imp = [0.2, 0.4, 0.4, 0.8]
    t25 = m.threshold_for_fmr(imp, 0.25)
    assert t25 < 0.4 and m.rates_at([], imp, t25).fmr == 0.25
    # 50 % cannot be reached exactly: the two tied impostors match together (75 %)
    t50 = m.threshold_for_fmr(imp, 0.5)
    assert t50 == t25 and m.rates_at([], imp, t50).fmr == 0.25
    assert m.rates_at([], imp, m.threshold_for_fmr(imp, 0.0)).fmr == 0
    assert m.threshold_for_fmr(imp, 1.0) == 0.8


def test_best_threshold_is_a_midpoint():
    t, acc = m.best_threshold([0.1, 0.3, 0.5, 0.7], [True, True, False, False])
    assert t == pytest.approx(0.4) and acc == 1.0


def test_groups_at_one_threshold_with_an_empty_group_and_warnings():
    rows = m.rates_by_group([0.1, 0.9, 0.3, 0.2], [True, False, True, False], ["A", "A", "B", "B"], 0.5,
                            groups=["A", "B", "C"], images={"A": 2, "B": 2})
    a, b, c = rows
    assert (a.rates.false_matches, a.rates.fmr, a.rates.fnmr, a.images) == (0, 0.0, 0.0, 2)
    assert (b.rates.false_matches, b.rates.fmr) == (1, 1.0)
    assert c.rates.genuine == c.rates.impostor == 0 and math.isnan(c.rates.fmr)
    assert c.warning == "no impostor pairs: no figure"
    assert "only 1 impostor pairs" in a.warning and "under 100%" in a.warning
    assert m.small_sample_warning(30) is None


def test_person_distances_keep_each_persons_closest_face():
    persons, d = m.person_distances(np.array([[0.5, 0.2, 0.9]]), np.array([7, 3, 7]))
    assert persons.tolist() == [3, 7] and d.tolist() == [[0.2, 0.5]]


DIST = np.array([[0.3, 0.5, 0.7],     # mate 0, rank 1
                 [0.4, 0.2, 0.4],     # mate 2, tied with person 0 -> rank 3 (pessimistic)
                 [0.55, 0.9, 0.8],    # not in the gallery
                 [0.7, 0.65, 0.95]])  # not in the gallery
MATE = np.array([0, 2, -1, -1])


def test_ranks_and_cmc():
    assert m.mate_ranks(DIST, MATE).tolist() == [1, 3, 0, 0]
    assert m.cmc(DIST, MATE, 3).tolist() == [0.5, 0.5, 1.0]


def test_fpir_and_fnir():
    c = m.identification_rates(DIST, MATE, [0.25, 0.5, 0.6, 0.7])
    assert c.fpir.tolist() == [0, 0, 0.5, 1.0]
    assert c.fnir.tolist() == [1.0, 0.5, 0.5, 0.5]
    assert (c.mated, c.nonmated) == (2, 2)


def test_subsample_and_extrapolation_probabilities():
    p = m.hit_probability_in_subsample([0, 1, 2, 4], 4, [2, 4])
    assert p[0].tolist() == pytest.approx([0, 0.5, 5 / 6, 1])  # 1 - C(3,2)/C(4,2), 1 - C(2,2)/C(4,2)
    assert p[1].tolist() == [0, 1, 1, 1]
    assert m.any_match_probability(0.1, [1, 2]).tolist() == pytest.approx([0.1, 0.19])
    assert m.wilson(0, 10).high == pytest.approx(3.8416 / 13.8416, rel=1e-4)


# -- scipy.stats as an independent oracle for the interval and probability code -----------------

@pytest.mark.parametrize("k,n", [(0, 10), (1, 10), (3, 262), (0, 576), (50, 100), (140, 140)])
def test_wilson_upper_matches_scipy(k, n):
    from scipy import stats

    want = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson").high
    assert metrics.wilson(k, n).high == pytest.approx(want, abs=2e-4)


@pytest.mark.parametrize("n", [30, 140, 1000])
def test_rule_of_three_is_close_to_the_exact_one_sided_bound(n):
    from scipy import stats

    exact = stats.beta.ppf(0.95, 1, n)  # Clopper-Pearson one-sided 95 % upper bound for 0 of n
    assert exact <= metrics.rule_of_three(n) <= exact * 1.06  # a little conservative, never optimistic


def test_any_match_and_subsample_probabilities_match_scipy():
    from scipy import stats

    for fmr, size in [(1e-6, 300_000), (0.001, 1000), (0.0, 50)]:
        assert metrics.any_match_probability(fmr, size) == pytest.approx(stats.binom.sf(0, size, fmr), rel=1e-9)
    hits, total = np.array([0, 1, 3, 10]), 40
    got = metrics.hit_probability_in_subsample(hits, total, [5, 20, 40])
    for a, size in enumerate([5, 20, 40]):
        want = [1 - stats.hypergeom(total, k, size).pmf(0) for k in hits]
        assert got[a] == pytest.approx(want, abs=1e-12)
