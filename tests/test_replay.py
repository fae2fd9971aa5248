"""The replay simulator and pair generation, on hand-made distance matrices and file lists."""

from pathlib import Path

import pytest

from workbench.evaluation.runners.replay import replay_rows
from workbench.evaluation.runners.verification import folder_pairs

# 3 innocent probes x 4 gallery faces
D = [[0.10, 0.70, 0.90, 0.95],
     [0.40, 0.45, 0.80, 0.90],
     [0.60, 0.70, 0.80, 0.90]]


def test_replay_counts_probes_with_any_false_match():
    rows = replay_rows(D, {80.0: 0.5, 99.0: 0.2}, sizes=[2, 4], extrapolate_to=[100],
                       probe_groups=["A", "B", "B"])
    loose, strict = rows
    assert (loose.flagged, loose.false_matches, loose.comparisons) == (2, 3, 12)
    assert (strict.flagged, strict.false_matches) == (1, 1)
    assert loose.by_group == {"A": (1, 1), "B": (1, 2)} and strict.by_group == {"A": (1, 1), "B": (0, 2)}
    # the whole gallery is the measured count; half of it: probe 0 keeps its 1 hit in 1/2 of the
    # subsets, probe 1 keeps one of its 2 hits in 1 - C(2,2)/C(4,2) = 5/6 of them
    assert loose.growth[4] == 2 and loose.growth[2] == pytest.approx(0.5 + 5 / 6)
    p = 3 / 12
    assert loose.extrapolated[100] == pytest.approx(3 * (1 - (1 - p) ** 100))
    assert loose.extrapolated_upper[100] >= loose.extrapolated[100]


def test_zero_false_matches_still_has_an_upper_bound():
    (row,) = replay_rows(D, {99.9: 0.01}, extrapolate_to=[25_000])
    assert row.flagged == 0 and row.extrapolated[25_000] == 0
    assert row.extrapolated_upper[25_000] > 0  # 12 comparisons prove little


def test_folder_pairs_all_genuine_and_sampled_impostors():
    people = {"a": [Path("a1"), Path("a2"), Path("a3")], "b": [Path("b1")], "c": [Path("c1"), Path("c2")]}
    every = folder_pairs(people)
    assert sum(p.same for p in every) == 4 and sum(not p.same for p in every) == 11
    some = folder_pairs(people, max_impostors=5, seed=3)
    imp = [(p.a, p.b) for p in some if not p.same]
    assert len(imp) == len(set(imp)) == 5 and all(a[0] != b[0] for a, b in imp)
    assert folder_pairs(people, max_impostors=5, seed=3) == some


def test_identities_from_same_person_pairs():
    from workbench.evaluation.runners.verification import Pair, identities_from_pairs

    ids = identities_from_pairs([Pair("c", "a", True), Pair("a", "b", True), Pair("d", "a", False),
                                 Pair("e", "d", True), Pair("f", "a", False)])
    assert ids == {"a": 0, "b": 0, "c": 0, "d": 1, "e": 1, "f": 2}
