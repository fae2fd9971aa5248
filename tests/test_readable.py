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


# -- point 15: rates on log axes, written as the headlines write them ----------------------------

def log_axes(fig) -> dict:
    """Every log axis of a figure, by name (xaxis, yaxis, xaxis2 ...)."""
    return {name: ax for name in fig.layout.to_plotly_json() if name.startswith(("xaxis", "yaxis"))
            and (ax := fig.layout[name]).type == "log"}


def assert_written_out(fig, *, expect: dict[str, str]) -> None:
    """Each log axis names its ticks (plotly's own labels are SI prefixes: '1μ', '100μ', '10k'), in
    the headlines' words; ``expect``: axis -> a tick label it must show."""
    axes = log_axes(fig)
    assert axes and set(expect) <= set(axes), (list(axes), expect)
    for name, ax in axes.items():
        assert ax.tickvals is not None and len(ax.ticktext) == len(ax.tickvals) >= 3, (name, ax)
        for v, text in zip(ax.tickvals, ax.ticktext):
            assert np.log10(v) == round(np.log10(v)), (name, v)  # powers of ten
            assert not any(c in text for c in "μkMG") or "million" in text, (name, text)
            assert "e-" not in text and "e+" not in text, (name, text)
        assert ax.hoverformat, (name, "the hover text would be in SI prefixes too")
    for name, label in expect.items():
        assert label in axes[name].ticktext, (name, label, axes[name].ticktext)


def test_evaluate_charts_write_rates_as_percentages_and_one_in_n():
    from workbench.evaluation.reports import report

    figs = dict(report.pairs_figures(zero_false_matches()))
    assert_written_out(figs["ROC"], expect={"xaxis": "0.01 %<br>1 in 10,000"})
    assert_written_out(figs["DET"], expect={"xaxis": "1 %<br>1 in 100", "yaxis": "100 %"})


def test_story_step_four_writes_gallery_sizes_and_candidates_per_search_in_words():
    from workbench.app import story

    from workbench.evaluation.stats import scale

    d = np.random.default_rng(0).normal(0.9, 0.1, 3000)  # strangers: at 99 % far under one candidate per search
    answer = scale.scale_answer(d, scale.thresholds_for(Settings().similarity_base))
    chart = story.scale_step(Settings(), 300_000, answer=answer).chart
    assert_written_out(chart, expect={"xaxis": "1 million", "yaxis": "1"})
    assert any(t.startswith("1 in ") for t in chart.layout.yaxis.ticktext), chart.layout.yaxis.ticktext


def test_audit_lfw_and_replay_log_axes_are_written_out():
    from workbench.evaluation.reports import plots
    from workbench.evaluation.runners.replay import replay_rows

    audit = plots.audit_fmr_figure(["A", "B"], {"m": ([0.0, 0.002], [0.0, 0.001], [0.01, 0.004], ["0/50", "2/1000"])},
                                   "t")
    assert_written_out(audit, expect={"yaxis": "0.0001 %<br>1 in 1,000,000"})
    curves = {"a": (np.array([0.0, 0.001, 0.1, 1.0]), np.array([1.0, 0.2, 0.01, 0.0]))}
    assert_written_out(plots.roc_curves_figure(curves), expect={"xaxis": "10 %"})
    assert_written_out(plots.det_curves_figure(curves), expect={"yaxis": "0.1 %<br>1 in 1,000"})
    rows = replay_rows(np.linspace(0.3, 1.2, 40).reshape(4, 10), {80.0: 0.6}, extrapolate_to=(25_000, 300_000))
    assert_written_out(plots.replay_growth_figure(rows), expect={"xaxis": "100,000"})


def test_the_gate_in_words_quotes_each_models_own_minimum_face_size():
    from workbench.app import words
    from workbench.pipeline import zoo

    for model in ("SFace", "Dlib"):  # the default and the 2017 comparison: 31 and 37 px, never one figure for both
        said = f"{zoo.embedder(model).gate.min_size} px for {model}"
        assert said in words.GLOSSARY["quality gate"] and said in words.explain("too_small"), (model, said)
