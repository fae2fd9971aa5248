"""Property-based tests (hypothesis) for the pure functions: distances, the similarity mapping
and thresholds, box mapping after downscaling, and the error-rate helpers of evaluate.py.

(workbench/metrics.py, being written on another branch, is not covered here yet.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from workbench.evaluation.runners.verification import best_threshold, error_counts
from workbench.pipeline import compare, zoo
from workbench.pipeline.detect import _downscale
from workbench.types import Box

settings.register_profile("workbench", max_examples=60, deadline=None)
settings.load_profile("workbench")

finite = st.floats(-10, 10, allow_nan=False, width=32)


def vectors(n: int, d: int):
    return arrays(np.float32, (n, d), elements=finite)


@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 16), st.data())
def test_distances_are_nonnegative_symmetric_and_match_a_direct_computation(m, n, d, data):
    q = data.draw(vectors(m, d))
    g = data.draw(vectors(n, d))
    e = compare.distances(q, g, "euclidean")
    assert e.shape == (m, n) and e.dtype == np.float32 and (e >= 0).all()
    direct = np.sqrt(((q[:, None, :].astype(np.float64) - g[None, :, :]) ** 2).sum(-1))
    # |q|^2 + |g|^2 - 2 q.g in float32 cancels for near-identical vectors: the error of d is
    # bounded by sqrt(eps * (|q|^2 + |g|^2)), about 5e-4 for unit-norm face vectors (found by hypothesis).
    norms = (q.astype(np.float64) ** 2).sum(1)[:, None] + (g.astype(np.float64) ** 2).sum(1)[None, :]
    tol = np.sqrt(8 * np.finfo(np.float32).eps * norms) + 1e-5 * direct + 1e-6
    assert (np.abs(e - direct) <= tol).all()
    assert (np.abs(compare.distances(g, q, "euclidean") - direct.T) <= tol.T).all()
    c = compare.distances(q, g, "cosine")
    assert (c >= 0).all() and (c <= 2 + 1e-5).all()


@given(vectors(1, 8).map(lambda a: a[0]))
def test_a_vector_is_at_distance_zero_from_itself(v):
    assume(np.linalg.norm(v) > 1e-3)
    assert compare.distances(v, v[None, :], "euclidean")[0] <= 1e-2 * (1 + np.linalg.norm(v))
    assert compare.distances(v, v[None, :], "cosine")[0] <= 1e-4


@given(vectors(3, 8))
def test_euclidean_triangle_inequality(v):
    d = compare.distances(v, v, "euclidean").astype(np.float64)
    slack = 1e-3 * (1 + d.max())
    assert d[0, 2] <= d[0, 1] + d[1, 2] + slack


@given(st.sampled_from(zoo.embedder_names()), st.sampled_from(compare.METRICS),
       st.floats(0, 5, allow_nan=False), st.floats(0, 5, allow_nan=False))
def test_similarity_is_monotonic_bounded_and_anchored(model, metric, a, b):
    t = compare.default_threshold(model, metric)
    sa, sb = compare.similarity(a * t, t), compare.similarity(b * t, t)
    assert 0.0 <= sa <= 100.0
    if a < b:
        assert sa >= sb
    assert compare.similarity(t, t) == pytest.approx(80.0)
    assert compare.similarity(t / 2, t) == pytest.approx(99.0)


@given(st.floats(0.01, 99.99), st.floats(0.01, 50.0))
def test_distance_for_similarity_inverts_similarity(percent, t):
    d = compare.distance_for_similarity(percent, t)
    assert compare.similarity(d, t) == pytest.approx(percent, rel=1e-6, abs=1e-6)


@given(st.floats(0.5, 99.5), st.floats(0.05, 5.0), st.floats(0, 10, allow_nan=False))
def test_deciding_by_similarity_or_by_distance_agrees(percent, t, d):
    cut = compare.distance_for_similarity(percent, t)
    assume(abs(d - cut) > 1e-6 * (1 + cut))
    assert (d <= cut) == (compare.similarity(d, t) >= percent)


boxes_in = st.integers(16, 4000).flatmap(lambda w: st.integers(16, 4000).flatmap(
    lambda h: st.tuples(st.just(w), st.just(h), st.integers(0, w - 2), st.integers(0, h - 2),
                        st.integers(2, w), st.integers(2, h))))


@given(boxes_in, st.integers(64, 2000))
def test_a_box_found_in_the_downscaled_image_maps_back_inside_the_original(case, max_side):
    w, h, l, t, r, b = case
    assume(r > l + 1 and b > t + 1)
    image = np.zeros((h, w, 3), np.uint8)
    small, f = _downscale(image, max_side)
    sh, sw = small.shape[:2]
    assert max(sh, sw) <= max(max_side, 1) or f == 1.0
    assert 0 < f <= 1.0 and (f == 1.0) == (max(h, w) <= max_side)
    # a box in the original, seen in the small image, mapped back the way detect_faces does
    seen = Box(l, t, r, b).scaled(f).clipped(sw, sh)
    back = seen.scaled(1.0 / f).clipped(w, h) if f != 1.0 else seen.clipped(w, h)
    assert 0 <= back.left <= back.right <= w and 0 <= back.top <= back.bottom <= h
    tol = 1.0 / f + 1  # one small-image pixel, in original pixels
    assert abs(back.left - l) <= tol and abs(back.right - r) <= tol
    assert abs(back.top - t) <= tol and abs(back.bottom - b) <= tol


@given(st.tuples(*[st.integers(-50, 150)] * 4), st.tuples(*[st.integers(-50, 150)] * 4))
def test_iou_is_symmetric_bounded_and_one_with_itself(a, b):
    ba, bb = Box(*a), Box(*b)
    assert 0.0 <= ba.iou(bb) <= 1.0 and ba.iou(bb) == pytest.approx(bb.iou(ba))
    if ba.width > 0 and ba.height > 0:
        assert ba.iou(ba) == 1.0


labelled = st.integers(1, 40).flatmap(lambda n: st.tuples(
    arrays(np.float64, n, elements=st.floats(0, 2, allow_nan=False)), arrays(np.bool_, n)))


@given(labelled, st.floats(-0.5, 2.5, allow_nan=False))
def test_best_threshold_is_at_least_as_accurate_as_any_threshold(pairs, other):
    dist, same = pairs
    thr, acc = best_threshold(dist, same)
    assert acc == pytest.approx(((dist <= thr) == same).mean())
    assert acc >= ((dist <= other) == same).mean() - 1e-12


@given(arrays(np.float64, st.integers(0, 30), elements=st.floats(0, 2, allow_nan=False)),
       arrays(np.float64, st.integers(0, 30), elements=st.floats(0, 2, allow_nan=False)),
       st.floats(0, 2, allow_nan=False), st.floats(0, 2, allow_nan=False))
def test_error_counts_are_consistent_and_move_the_right_way_with_the_threshold(gen, imp, t1, t2):
    lo, hi = sorted((t1, t2))
    a, b = error_counts(gen, imp, lo), error_counts(gen, imp, hi)
    assert a["genuine"] == gen.size and a["impostor"] == imp.size
    assert 0 <= a["false_non_matches"] <= gen.size and 0 <= a["false_matches"] <= imp.size
    # a looser threshold never adds misses and never removes false matches
    assert b["false_non_matches"] <= a["false_non_matches"] and b["false_matches"] >= a["false_matches"]
    if gen.size:
        assert math.isclose(a["fnmr"], a["false_non_matches"] / gen.size)
