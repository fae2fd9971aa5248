"""Searching the sightings log with one probe vector: every sighting within the threshold (a range
search, not a top-k: "everywhere this face appeared"), best first.

The log's vectors (:class:`~workbench.store.SightingMatrix`) go into an
:class:`~workbench.search.index.ExactIndex`, whose lower bound on the principal axes leaves out
sightings that cannot be within the threshold before their full vectors are read; the
survivors' distances are then computed by :func:`workbench.pipeline.compare.distances` and
decided by :func:`~workbench.pipeline.compare.is_match`, the one formula and the one rule every
search uses. Cosine models are searched on unit-length copies (``|a - b|^2 = 2 (1 - cos)``).

An index is built once per matrix (the store keeps the matrix until the log changes) and
forgotten with it.
"""

from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass

import numpy as np

from workbench.errors import ModelMismatchError
from workbench.pipeline import compare
from workbench.search.index.exact import ExactIndex
from workbench.store import SightingMatrix
from workbench.types import Embedding


@dataclass(frozen=True)
class LogMatch:
    """A sighting within the threshold of the probe."""

    sighting_id: int
    distance: float
    similarity: float


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


class LogIndex:
    """The vectors of one :class:`SightingMatrix`, ready for range searches under ``metric``."""

    def __init__(self, matrix: SightingMatrix, metric: str) -> None:
        if metric not in compare.METRICS:
            raise ValueError(f"unknown metric {metric!r}")
        self.matrix, self.metric = matrix, metric
        vectors = _unit(matrix.vectors) if metric == "cosine" else matrix.vectors
        self.index = ExactIndex(matrix.ids, np.ascontiguousarray(vectors, np.float32))

    def within(self, probe: Embedding, threshold: float, similarity_base: float) -> list[LogMatch]:
        """Every sighting at ``threshold`` or closer to ``probe`` (a vector of the matrix's model:
        another model's is a :class:`ModelMismatchError`), nearest first (ties: older first)."""
        m = self.matrix
        if probe.model != m.model:
            raise ModelMismatchError(m.gallery or "(sightings)", m.model, probe.model)
        compare.check_threshold(threshold, m.model, self.metric)
        if m.size == 0:
            return []
        q = np.asarray(probe.vector, np.float32).reshape(-1)
        if self.metric == "cosine":
            _, ids = self.index.within(_unit(q), math.sqrt(2.0 * max(threshold, 0.0)))
        else:
            _, ids = self.index.within(q, threshold)
        rows = np.searchsorted(m.ids, ids)
        d = compare.distances(q, m.vectors[rows], self.metric).reshape(-1)
        keep = np.asarray(compare.is_match(d, threshold), bool).reshape(-1)
        rows, d = rows[keep], d[keep]
        order = np.lexsort((m.ids[rows], d))
        sims = np.atleast_1d(compare.similarity(d[order], similarity_base))
        return [LogMatch(int(m.ids[r]), round(float(x), 6), round(float(s), 3))
                for r, x, s in zip(rows[order], d[order], sims)]


_lock = threading.Lock()
_built: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def index_for(matrix: SightingMatrix, metric: str) -> LogIndex:
    """The :class:`LogIndex` of ``matrix`` (built on first use, forgotten with the matrix)."""
    with _lock:
        have = _built.setdefault(matrix, {})
        if metric not in have:
            have[metric] = LogIndex(matrix, metric)
        return have[metric]


def scan(matrix: SightingMatrix, probe: Embedding, metric: str, threshold: float) -> np.ndarray:
    """The baseline of ``workbench bench sightings``: a plain scan of every vector with
    :func:`~workbench.pipeline.compare.distances`; the ids within the threshold, unordered."""
    d = compare.distances(np.asarray(probe.vector, np.float32), matrix.vectors, metric).reshape(-1)
    return matrix.ids[np.asarray(compare.is_match(d, threshold), bool).reshape(-1)]
