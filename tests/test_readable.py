"""What a reader sees agrees with itself (issue 24): one interval method for counts (Wilson's,
the headline's) on every tile, table and JSON; rates on log axes written the way the headlines
write them, never in SI prefixes ("1μ"); the story's box colours are the Search page's."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.evaluation.datasets.pairs import Pair
from workbench.evaluation.reports import readable
from workbench.evaluation.runners.verification import score_pairs
from workbench.evaluation.stats import metrics
from workbench.pipeline import Settings


def zero_false_matches() -> object:
    """138 pairs of different people, all far apart, and 15 of the same person, all close: at
    Dlib's 0.6 nothing is wrong (the demo's master-subset.csv in miniature)."""
    vec = {f"p{i}.jpg": np.eye(128, dtype=np.float32)[i] for i in range(20)}  # 1.41 apart: different
    vec.update({f"q{i}.jpg": np.eye(128, dtype=np.float32)[i] * 1.05 for i in range(15)})  # 0.05 from p{i}
    pairs = [Pair(f"p{i}.jpg", f"q{i}.jpg", True) for i in range(15)]
    pairs += [Pair(f"p{i}.jpg", f"p{j}.jpg", False) for i in range(20) for j in range(i + 1, 20)][:138]
    return score_pairs(pairs, vec, Settings(), dataset="miniature.csv")


def test_tiles_table_and_json_give_the_headlines_interval_for_counts():
    r = zero_false_matches()
    assert (r.rates.false_matches, r.rates.impostor, r.rates.false_non_matches, r.rates.genuine) == (0, 138, 0, 15)
    headline = readable.pairs_headline(r)[0]
    assert "0 of 138 pairs of different people" in headline and "under 2.7 % at 95 % confidence" in headline
    # zero errors in 138 pairs is not "0.0 % - 0.0 %": the tiles say what the headline says
    assert r.ci.fmr == metrics.wilson(0, 138) and r.ci.fmr.high == pytest.approx(0.0271, abs=1e-4)
    assert r.ci.accuracy.low == pytest.approx(metrics.wilson(153, 153).low) and r.ci.accuracy.low < 0.98
    tiles = {t.label: t for t in readable.pairs_tiles(r)}
    assert tiles["FMR"].value == "0.00%" and tiles["FMR"].note == "0/138 · 95 %: under 2.7 %", tiles["FMR"]
    assert tiles["FNMR"].note == "0/15 · 95 %: under 20.4 %", tiles["FNMR"]
    assert tiles["Accuracy"].value == "100.00%" and tiles["Accuracy"].note == "153/153 · 95 %: 97.6 % to 100.0 %"
    assert r.as_dict()["ci"]["fmr"] == [0.0, 0.0271]


def test_a_rate_with_errors_has_the_same_range_in_the_headline_and_on_its_tile():
    vec = {f"p{i}.jpg": np.eye(128, dtype=np.float32)[i] for i in range(20)}
    vec["twin.jpg"] = vec["p0.jpg"] * 1.1  # a different person 0.1 away: a false match
    pairs = [Pair("p0.jpg", "twin.jpg", False)] + [Pair(f"p{i}.jpg", f"p{i + 1}.jpg", False) for i in range(19)]
    r = score_pairs(pairs, vec, Settings())
    low, high = metrics.wilson(1, 20)
    words = f"{100 * low:.1f} % to {100 * high:.1f} %"
    assert words in readable.pairs_headline(r)[0]
    assert {t.label: t.note for t in readable.pairs_tiles(r)}["FMR"] == f"1/20 · 95 %: {words}"
