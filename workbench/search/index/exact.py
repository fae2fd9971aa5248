"""The exact index: every vector in one float32 matrix, searched with a lower-bound pre-pass
for large galleries. Its answers are a full scan's."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Galleries from this size on are searched exactly through a lower-bound pre-pass (see
#: ExactIndex). Bounded search was faster than the full scan at every size measured from 20k
#: faces on (README, "Search at scale").
PRUNE_MIN = 50_000


@dataclass
class ExactIndex:
    """Every vector in one float32 matrix, with squared norms cached for the euclidean trick.

    From :data:`PRUNE_MIN` faces on, a query first reads a *head*: each face's first
    ``dim / 4`` coordinates on the gallery's principal axes (a quarter of the bytes). The
    rotation is orthogonal, so the head distance is a lower bound of the full distance; only
    faces whose bound is within the 10th best exact distance found so far are read in full.
    The answer is the same as a full scan (tested); it is faster because face embeddings
    keep most of their variance in few directions (see :mod:`workbench.bench.synthetic`), so few
    faces survive the bound. On isotropic data it stays exact, only slower.
    """

    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 128), np.float32))
    kind: str = "exact"
    prune: bool = True

    def __post_init__(self) -> None:
        self._norms = 0.5 * np.einsum("ij,ij->i", self.vectors, self.vectors)  # half squared norms
        self._axes: np.ndarray | None = None  # (dim, dim / 4) principal axes, then the head
        self._mean = np.zeros(self.vectors.shape[1], np.float32)
        self._head = np.zeros((0, 0), np.float32)
        self._head_half = np.zeros(0, np.float32)
        self._fit_head()

    @property
    def size(self) -> int:
        return int(self.ids.shape[0])

    def nbytes(self) -> int:
        return int(self.vectors.nbytes + self.ids.nbytes + self._norms.nbytes + self._head.nbytes)

    def _fit_head(self) -> None:
        """Principal axes from (a sample of) the vectors, and every face's head coordinates."""
        if not self.prune or self.size < PRUNE_MIN:
            self._axes, self._head, self._head_half = None, np.zeros((0, 0), np.float32), np.zeros(0, np.float32)
            return
        sample = sample_rows(self.vectors, 100_000).astype(np.float64)
        mean = sample.mean(axis=0)
        _, axes = np.linalg.eigh(np.cov(sample - mean, rowvar=False))
        self._mean = mean.astype(np.float32)
        self._axes = np.ascontiguousarray(axes[:, ::-1][:, : max(1, self.vectors.shape[1] // 4)], np.float32)
        self._head = self._project(self.vectors)
        self._head_half = 0.5 * np.einsum("ij,ij->i", self._head, self._head)

    def _project(self, vectors: np.ndarray) -> np.ndarray:
        out = np.empty((len(vectors), self._axes.shape[1]), np.float32)
        for s in range(0, len(vectors), 500_000):  # no full-size float temporaries
            out[s:s + 500_000] = (vectors[s:s + 500_000] - self._mean) @ self._axes
        return out

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.ids = np.concatenate([self.ids, ids.astype(np.int64)])
        self.vectors = np.ascontiguousarray(np.vstack([self.vectors, vectors.astype(np.float32)]))
        self._norms = np.concatenate([self._norms, 0.5 * np.einsum("ij,ij->i", vectors, vectors)])
        if self._axes is not None:  # the axes stay (any orthogonal axes give a valid bound)
            head = self._project(np.asarray(vectors, np.float32))
            self._head = np.ascontiguousarray(np.vstack([self._head, head]))
            self._head_half = np.concatenate([self._head_half, 0.5 * np.einsum("ij,ij->i", head, head)])
        if self.ids.size > 1 and not bool(np.all(self.ids[1:] > self.ids[:-1])):  # keep ids sorted
            order = np.argsort(self.ids, kind="stable")
            self.ids, self.vectors, self._norms = self.ids[order], self.vectors[order], self._norms[order]
            if self._axes is not None:
                self._head, self._head_half = self._head[order], self._head_half[order]
        if self._axes is None:
            self._fit_head()

    def remove(self, ids: np.ndarray) -> None:
        keep = ~np.isin(self.ids, ids)
        self.ids, self.vectors, self._norms = self.ids[keep], np.ascontiguousarray(self.vectors[keep]), self._norms[keep]
        if self._axes is not None:
            self._head, self._head_half = np.ascontiguousarray(self._head[keep]), self._head_half[keep]

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(distances (M, k), face ids (M, k))``, nearest first; ids are -1 past the gallery size."""
        q = np.atleast_2d(np.asarray(queries, np.float32))
        n = self.size
        kk = min(k, n)
        dist = np.full((q.shape[0], k), np.inf, np.float32)
        out = np.full((q.shape[0], k), -1, np.int64)
        if kk == 0:
            return dist, out
        buf = np.empty(n, np.float32)
        for r in range(q.shape[0]):
            top, d2 = self._pruned(q[r], kk, buf) if self._axes is not None else self._full(q[r], kk, buf)
            dist[r, :kk] = np.sqrt(np.maximum(d2, 0.0))
            out[r, :kk] = self.ids[top]
        return dist, out

    def _full(self, q: np.ndarray, k: int, buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # |q - x|^2 = |x|^2 - 2 q.x + |q|^2: rank by |x|^2 / 2 - q.x (one matrix-vector pass over
        # the vectors, which is the memory-bandwidth floor, then one pass over n scores).
        np.dot(self.vectors, q, out=buf)
        np.subtract(self._norms, buf, out=buf)
        n = len(buf)
        top = np.argpartition(buf, k - 1)[:k] if k < n else np.arange(n)
        top = top[np.argsort(buf[top], kind="stable")]
        return top, 2.0 * buf[top] + float(q @ q)

    def _exact_d2(self, q: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return 2.0 * (self._norms[rows] - self.vectors[rows] @ q) + float(q @ q)

    def _pruned(self, q: np.ndarray, k: int, buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        qh = (q - self._mean) @ self._axes
        np.dot(self._head, qh, out=buf)
        np.subtract(self._head_half, buf, out=buf)  # bound^2 = 2 * buf + |qh|^2
        qq = float(qh @ qh)
        first = np.argpartition(buf, 4 * k)[: 4 * k] if 4 * k < len(buf) else np.arange(len(buf))
        tau = float(np.partition(self._exact_d2(q, first), k - 1)[k - 1])  # an upper bound of the k-th
        # everything that could beat tau; the slack covers float32 rounding of both sums
        rows = np.flatnonzero(buf <= (tau - qq) / 2.0 + 1e-4 * (1.0 + abs(tau)))
        d2 = self._exact_d2(q, rows)
        best = np.argpartition(d2, k - 1)[:k] if k < len(rows) else np.arange(len(rows))
        best = best[np.argsort(d2[best], kind="stable")]
        return rows[best], d2[best]

    def within(self, query: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
        """Every vector at euclidean distance ``radius`` or less from one ``query`` (a range search,
        for "every sighting of this face"): ``(distances, ids)``, nearest first. With the head
        (from :data:`PRUNE_MIN` vectors on), faces whose lower bound is already farther are left
        out before their full vectors are read; the answer is a full scan's (a hair of slack
        covers float32 rounding: callers decide on exact distances)."""
        q = np.asarray(query, np.float32).reshape(-1)
        r2 = float(radius) ** 2
        slack = 1e-4 * (1.0 + r2)
        if self._axes is not None:
            qh = (q - self._mean) @ self._axes
            bound = self._head_half - self._head @ qh  # bound^2 = 2 * bound + |qh|^2
            rows = np.flatnonzero(bound <= (r2 - float(qh @ qh)) / 2.0 + slack)
            d2 = self._exact_d2(q, rows)
        else:
            rows = np.arange(self.size)
            d2 = 2.0 * (self._norms - self.vectors @ q) + float(q @ q) if self.size else np.zeros(0, np.float32)
        keep = d2 <= r2 + slack
        rows, dist = rows[keep], np.sqrt(np.maximum(d2[keep], 0.0)).astype(np.float32)
        order = np.argsort(dist, kind="stable")
        return dist[order], self.ids[rows[order]]

    def rerank(self, query: np.ndarray, candidates: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact ``(distances (k,), ids (k,))`` of one query to the ``candidates`` ids it holds."""
        cand = np.unique(candidates[candidates >= 0])
        rows = np.searchsorted(self.ids, cand)
        ok = rows < self.size
        rows = rows[ok][self.ids[rows[ok]] == cand[ok]]
        dist = np.full(k, np.inf, np.float32)
        out = np.full(k, -1, np.int64)
        if not rows.size:
            return dist, out
        q = np.asarray(query, np.float32)
        d2 = self._exact_d2(q, rows)
        top = np.argsort(d2, kind="stable")[:k]
        dist[: top.size] = np.sqrt(np.maximum(d2[top], 0.0))
        out[: top.size] = self.ids[rows[top]]
        return dist, out



def sample_rows(vectors: np.ndarray, size: int, skip: np.ndarray | None = None) -> np.ndarray:
    """Up to ``size`` rows, reproducibly (training samples for k-means and principal axes),
    none of them at the row positions ``skip`` (faces held out of an index)."""
    n = len(vectors)
    gone = skip is not None and len(skip) > 0
    if n <= size:
        return np.ascontiguousarray(np.delete(vectors, skip, axis=0) if gone else vectors)
    rows = np.sort(np.random.default_rng(0).choice(n, size, replace=False))
    return np.ascontiguousarray(vectors[rows[~np.isin(rows, skip)] if gone else rows])
