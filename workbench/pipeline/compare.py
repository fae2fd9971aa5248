"""Stage 5: compare vectors. Distances, per-model thresholds, and a similarity percentage.

Similarity mapping (so users can reason in Rekognition's terms)
---------------------------------------------------------------
Rekognition reports a *similarity* in percent and matches at 80 % by default; police were
told to use 99 %. Our models report *distances* with a per-model threshold ``t``. We map
a distance ``d`` to a similarity with a logistic curve in ``d / t``::

    similarity(d) = 100 / (1 + 0.25 * exp(K * (d / t - 1))),   K = 2 * ln(99 / 4) ~ 6.42

so that, for every model:

* ``d = t``     -> 80 %   (the model's default threshold is Rekognition's default 80 %);
* ``d = t / 2`` -> 99 %   (Rekognition's "99 %" means half the default distance);
* ``d = 0``     -> ~100 %, and ``d = 2 t`` -> ~0.6 %.

The mapping is monotonic, so a similarity threshold ``s`` is exactly the distance threshold
:func:`distance_for_similarity` ``(s)``; matching by either gives the same answers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from workbench.errors import ModelError, RangeError
from workbench.pipeline import zoo
from workbench.types import Embedding

METRICS = zoo.METRICS

_K = 2.0 * math.log(99.0 / 4.0)


def is_match(distance, threshold):
    """The one match rule of the workbench: a distance at or under the threshold matches (ties
    match). Works on floats and on numpy arrays (element-wise)."""
    return distance <= threshold


def default_metric(model: str) -> str:
    return zoo.embedder(model).metric


def default_threshold(model: str, metric: str | None = None) -> float:
    """The model's default distance threshold for ``metric`` (its own metric by default), from its
    zoo entry: Dlib's euclidean 0.6 is dlib's and face_recognition's published tolerance; SFace's
    are OpenCV's published ones, checked on the shared data (see the README); DeepFace's models
    have DeepFace's tuned values."""
    entry = zoo.embedder(model)
    return entry.thresholds.of(metric or entry.metric)


def max_distance(model: str | None, metric: str) -> float | None:
    """The largest distance two real vectors can be apart under ``metric``: 2 for cosine
    (``1 - cos`` runs from 0 to 2); for euclidean twice the model's largest vector length
    (triangle inequality), where that length was measured (``None`` otherwise)."""
    if metric == "cosine":
        return 2.0
    if metric != "euclidean":
        raise ModelError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
    norm = zoo.embedder(model).norm if model else None
    return 2.0 * norm[1] if norm else None


def check_threshold(threshold: float, model: str | None = None, metric: str | None = None) -> float:
    """``threshold`` as a float, if it is a distance the metric can reach: finite, at least 0,
    and at most :func:`max_distance` (when the model and metric say what that is). Otherwise a
    :class:`RangeError` in one line, naming the range and the model's default."""
    try:
        t = float(threshold)
    except (TypeError, ValueError):
        raise RangeError(f"threshold {threshold!r} is not a number") from None
    metric = metric or (default_metric(model) if model else None)
    hi = max_distance(model, metric) if metric else None
    span = f"from 0 to {hi:g}" if hi is not None else "of 0 or more"
    what = f"a {metric} distance {span}" if metric else f"a distance {span}"
    default = f"; the default for {model} is {default_threshold(model, metric)}" if model and metric else ""
    if not math.isfinite(t):
        raise RangeError(f"threshold {t} is not a finite number: give {what}{default}")
    if t < 0 or (hi is not None and t > hi):
        reach = (f" (two {model} vectors, at most {hi / 2:g} long, are never further apart)"
                 if hi is not None and model and metric == "euclidean" else "")
        raise RangeError(f"threshold {t:g} is outside the metric's range: give {what}{reach}{default}")
    return t


def distances(queries: np.ndarray, gallery: np.ndarray, metric: str = "euclidean") -> np.ndarray:
    """All distances between ``queries`` ``(M, D)`` (or ``(D,)``) and ``gallery`` ``(N, D)``.

    Vectorised (one matrix product), float32. Returns ``(M, N)``, or ``(N,)`` for one query.
    Cosine distance is ``1 - cos``; euclidean is the L2 norm of the difference.
    """
    q = np.asarray(queries, dtype=np.float32)
    g = np.asarray(gallery, dtype=np.float32)
    single = q.ndim == 1
    q = np.atleast_2d(q)
    if g.ndim != 2 or (g.shape[0] and q.shape[1] != g.shape[1]):
        raise ModelError(f"cannot compare vectors of dimension {q.shape[1]} with {g.shape[-1]}")
    if metric == "cosine":
        qn = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        gn = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
        d = 1.0 - qn @ gn.T
    elif metric == "euclidean":
        sq = (q * q).sum(1)[:, None] + (g * g).sum(1)[None, :] - 2.0 * (q @ g.T)
        d = np.sqrt(np.maximum(sq, 0.0))
    else:
        raise ModelError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
    d = np.maximum(d, 0.0).astype(np.float32)
    return d[0] if single else d


def similarity(distance: np.ndarray | float, threshold: float) -> np.ndarray | float:
    """Similarity in percent for a distance, given the threshold that maps to 80 %.

    Pass the model's *default* threshold: the percentage is a fixed scale per model, and a
    user's stricter or looser decision threshold does not move it.
    """
    x = np.asarray(distance, dtype=np.float64) / max(float(threshold), 1e-9)
    s = 100.0 / (1.0 + 0.25 * np.exp(np.clip(_K * (x - 1.0), -50, 50)))
    return float(s) if np.ndim(s) == 0 else s


def distance_for_similarity(percent: float, threshold: float, cap: float | None = None) -> float:
    """The distance whose similarity is ``percent`` (inverse of :func:`similarity`), at most ``cap``
    (a metric's :func:`max_distance`: any farther distance matches every pair alike)."""
    p = min(max(float(percent), 1e-6), 100.0 - 1e-6)
    d = float(threshold) * (1.0 + math.log((100.0 / p - 1.0) / 0.25) / _K)
    return d if cap is None else min(d, float(cap))


@dataclass(frozen=True)
class Verdict:
    """Result of comparing two faces."""

    verified: bool
    distance: float
    threshold: float
    similarity: float
    metric: str
    model: str


def verify_embeddings(a: Embedding, b: Embedding, metric: str | None = None,
                      threshold: float | None = None) -> Verdict:
    """:func:`verify_vectors` for two tagged vectors; refuses to compare different models."""
    if a.model != b.model:
        raise ModelError(f"cannot compare a {a.model} vector with a {b.model} vector")
    return verify_vectors(a.vector, b.vector, a.model, metric, threshold)


def verify_vectors(
    a: np.ndarray, b: np.ndarray, model: str, metric: str | None = None, threshold: float | None = None
) -> Verdict:
    """Decide whether two vectors of the same ``model`` show the same person."""
    metric = metric or default_metric(model)
    base = default_threshold(model, metric)
    t = base if threshold is None else check_threshold(threshold, model, metric)
    d = float(distances(a, np.atleast_2d(b), metric)[0])
    return Verdict(bool(is_match(d, t)), round(d, 6), t, round(float(similarity(d, base)), 3), metric, model)
