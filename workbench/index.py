"""Search indexes over a gallery's vectors: exact (numpy) for up to a few million faces, and
approximate ones from faiss for tens of millions.

Every index is built from the DuckDB gallery and remembers which faces it holds (their ids)
and the gallery's *fingerprint* (face count, highest id and an XOR of id hashes, one cheap
SQL aggregate). :func:`sync` compares the fingerprint with the database: when faces were
added it adds their vectors, when faces were deleted it removes them, so a stale index is
never searched. Kinds (:data:`KINDS`):

* ``exact``    float32 matrix, one matrix product + ``argpartition`` (recall 1.0);
* ``sq8``      faiss scalar-quantised flat scan (1 byte per dimension, near exact);
* ``ivf``      faiss inverted lists (k-means cells, ``nprobe`` searched), float32 vectors;
* ``ivf_sq8``  inverted lists over 8-bit vectors (a quarter of the memory);
* ``hnsw``     faiss HNSW graph (fast queries, slow build, deletions force a rebuild);
* ``ivf_pq``   inverted lists of 4-bit product-quantised codes scanned with SIMD (faiss
  "fast scan", 32 bytes a face) after a random rotation, whose best ``k * k_factor``
  candidates are then re-ranked with their exact float32 vectors: the fast path for tens
  of millions of faces.

Distances are squared-free euclidean (as dlib's threshold is quoted) for every kind.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from workbench.errors import GalleryError
from workbench.gallery import SIDE_FILE_SUFFIXES

KINDS = ("exact", "sq8", "ivf", "ivf_sq8", "hnsw", "ivf_pq")
ANN_KINDS = KINDS[1:]

#: Galleries from this size on are searched exactly through a lower-bound pre-pass (see
#: ExactIndex). Measured medians, bounded vs full scan, on synthetic galleries: 0.38 vs 0.45 ms
#: at 20k, 0.47 vs 0.89 at 50k, 2.2 vs 7.5 at 200k, 7.5 vs 17.5 at 500k (2026-11-22).
PRUNE_MIN = 50_000

#: ``progress(done, total, label)`` while vectors are added.
Progress = Callable[[int, int, str], None]

#: Each approximate kind's query-time setting and the values tried, cheapest first.
SWEEP: dict[str, tuple[str | None, tuple[Any, ...]]] = {
    "ivf": ("nprobe", (8, 16, 32, 64, 128, 256, 512)),
    "ivf_sq8": ("nprobe", (8, 16, 32, 64, 128, 256, 512)),
    "hnsw": ("ef_search", (32, 64, 128, 256, 512, 1024)),
    "sq8": (None, (None,)),
    "ivf_pq": ("nprobe", (8, 16, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 448, 512, 768, 1024)),
}

#: Recall@10 an approximate index is tuned to when it is built (:func:`self_tune`).
TUNE_RECALL = 0.99


def fingerprint(db: Any, gallery: str) -> tuple[int, int, int]:
    """``(faces, max id, xor of id hashes)`` of a gallery: changes on any add or delete."""
    gid = db.gallery_id(gallery)
    row = db.cursor().execute(
        "SELECT count(*), coalesce(max(id), 0), coalesce(bit_xor(hash(id)), 0) FROM faces WHERE gallery_id = ?",
        [gid],
    ).fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def _arrow(cur: Any) -> Any:
    """The pending result as a pyarrow Table (duckdb 1.5 renamed ``fetch_arrow_table``)."""
    fetch = getattr(cur, "to_arrow_table", None) or cur.fetch_arrow_table
    return fetch()


def load_vectors(db: Any, gallery: str, *, where: str = "", params: list | None = None,
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``(face ids int64 (N,), vectors float32 (N, dim))`` of a gallery, straight from Arrow."""
    gid = db.gallery_id(gallery)
    tbl = _arrow(db.cursor().execute(
        f"SELECT id, embedding FROM faces WHERE gallery_id = ? {where} ORDER BY id", [gid] + (params or [])))
    ids = tbl.column("id").to_numpy().astype(np.int64)
    if not len(ids):
        return ids, np.zeros((0, db.dim), np.float32)
    emb = tbl.column("embedding").combine_chunks()
    vecs = emb.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return ids, np.ascontiguousarray(vecs.reshape(-1, db.dim))


@dataclass
class ExactIndex:
    """Every vector in one float32 matrix, with squared norms cached for the euclidean trick.

    From :data:`PRUNE_MIN` faces on, a query first reads a *head*: each face's first
    ``dim / 4`` coordinates on the gallery's principal axes (a quarter of the bytes). The
    rotation is orthogonal, so the head distance is a lower bound of the full distance; only
    faces whose bound is within the 10th best exact distance found so far are read in full.
    The answer is the same as a full scan (tested); it is faster because face embeddings
    keep most of their variance in few directions (see :mod:`workbench.synthetic`), so few
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
        sample = _sample(self.vectors, 100_000).astype(np.float64)
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


@dataclass
class FaissIndex:
    """A faiss index keyed by face id (``IndexIDMap2`` around the chosen structure)."""

    kind: str
    dim: int
    nlist: int = 0
    nprobe: int = 16
    ef_search: int = 64
    _index: Any = None
    _ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def size(self) -> int:
        return int(self._index.ntotal) if self._index is not None else 0

    @property
    def ids(self) -> np.ndarray:
        return self._ids

    def nbytes(self) -> int:
        """Estimated bytes held: codes, ids, graph links and centroids."""
        per = {"sq8": self.dim, "ivf": 4 * self.dim + 8, "ivf_sq8": self.dim + 8, "hnsw": 4 * self.dim + 2 * 32 * 4 + 8}
        return int(self.size * per.get(self.kind, 4 * self.dim) + self.nlist * self.dim * 4)

    def build(self, ids: np.ndarray, vectors: np.ndarray, progress: Progress | None = None) -> None:
        import faiss

        n, d = vectors.shape
        if self.kind in ("ivf", "ivf_sq8"):
            self.nlist = self.nlist or _nlist(n)
            quant = faiss.IndexFlatL2(d)
            inner = (faiss.IndexIVFFlat(quant, d, self.nlist) if self.kind == "ivf" else
                     faiss.IndexIVFScalarQuantizer(quant, d, self.nlist, faiss.ScalarQuantizer.QT_8bit))
            inner.train(_sample(vectors, self.nlist * 64))
            self._keep = (quant,)  # the quantizer must outlive the index that points to it
        elif self.kind == "sq8":
            inner = faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit)
            inner.train(np.ascontiguousarray(vectors[: min(n, 200_000)]))
        elif self.kind == "hnsw":
            inner = faiss.IndexHNSWFlat(d, 32)
            inner.hnsw.efConstruction = 80
            inner.hnsw.efSearch = self.ef_search
        else:
            raise GalleryError(f"unknown index kind {self.kind!r}; choose one of: {', '.join(KINDS)}")
        self._inner = inner
        self.tune()
        self._index = faiss.IndexIDMap2(inner)
        self._ids = np.zeros(0, np.int64)
        self.add(ids, vectors, progress)

    def tune(self) -> None:
        """Apply the query-time knobs (``nprobe`` for IVF, ``ef_search`` for HNSW)."""
        inner = getattr(self, "_inner", None)
        if inner is None:
            return
        if self.kind in ("ivf", "ivf_sq8"):
            inner.nprobe = min(self.nprobe, max(self.nlist, 1))
        elif self.kind == "hnsw":
            inner.hnsw.efSearch = self.ef_search

    def add(self, ids: np.ndarray, vectors: np.ndarray, progress: Progress | None = None) -> None:
        step = 200_000
        n = len(ids)
        for s in range(0, n, step):
            self._index.add_with_ids(np.ascontiguousarray(vectors[s:s + step], np.float32),
                                     np.ascontiguousarray(ids[s:s + step], np.int64))
            if progress:
                progress(min(s + step, n), n, f"indexing ({self.kind})")
        self._ids = np.concatenate([self._ids, ids.astype(np.int64)])

    def remove(self, ids: np.ndarray) -> None:
        import faiss

        if self.kind == "hnsw":
            raise NotImplementedError("faiss HNSW cannot delete; rebuild")
        self._index.remove_ids(faiss.IDSelectorBatch(np.ascontiguousarray(ids, np.int64)))
        self._ids = self._ids[~np.isin(self._ids, ids)]

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(np.atleast_2d(queries), np.float32)
        d2, ids = _faiss_search(self._index, q, k)
        return np.sqrt(np.maximum(d2, 0.0)).astype(np.float32), ids.astype(np.int64)


def _faiss_search(index: Any, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``index.search``; one probe runs on one thread (OpenMP start-up and spinning only cost
    time for a single vector, worse on a shared CPU)."""
    import faiss

    if q.shape[0] != 1:
        return index.search(q, k)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return index.search(q, k)
    finally:
        faiss.omp_set_num_threads(threads)


def _sample(vectors: np.ndarray, size: int) -> np.ndarray:
    """Training rows for k-means (faiss: 39..256 points per cell are enough), reproducible."""
    n = len(vectors)
    if n <= size:
        return np.ascontiguousarray(vectors)
    return np.ascontiguousarray(vectors[np.sort(np.random.default_rng(0).choice(n, size, replace=False))])


def _nlist(n: int) -> int:
    """About sqrt(n) cells, at least 39 faces each."""
    return max(1, min(int(math.sqrt(max(n, 1))), 65536, n // 39 or 1))


@dataclass
class RefinedIndex:
    """faiss ``RR{dim},IVF{nlist},PQ{dim/2}x4fs`` proposes ``k * k_factor`` candidates from
    compact codes (fast-scan SIMD, 32 bytes a face at 128 dimensions); their exact float32
    vectors (an :class:`ExactIndex`, same ids) decide the final order and distances.

    The random rotation (``RR``) matters: face embeddings put most of their variance in a few
    dimensions, and 2-dimension sub-quantisers over those lose the ranking (recall@10 0.94
    with every cell probed, 0.994 with the rotation and a quarter of the cells, on a 1M
    synthetic gallery). faiss's own ``IndexRefine`` cannot delete; this pair can: the IVF
    removes ids, the store drops rows."""

    dim: int
    nlist: int = 0
    nprobe: int = 64
    k_factor: int = 32
    kind: str = "ivf_pq"
    _ivf: Any = None
    _store: ExactIndex = field(default_factory=lambda: ExactIndex(prune=False))

    @property
    def size(self) -> int:
        return self._store.size

    @property
    def ids(self) -> np.ndarray:
        return self._store.ids

    def nbytes(self) -> int:
        codes = self.size * (self.dim // 4 + 8)  # 4 bits per half dimension, plus the id
        return int(self._store.nbytes() + codes + (self.nlist + self.dim) * self.dim * 4)

    def build(self, ids: np.ndarray, vectors: np.ndarray, progress: Progress | None = None) -> None:
        import faiss

        n, d = vectors.shape
        if d % 2:
            raise GalleryError(f"ivf_pq needs an even vector size, not {d}")
        self.nlist = self.nlist or _nlist(n)
        self._ivf = faiss.index_factory(d, f"RR{d},IVF{self.nlist},PQ{d // 2}x4fs")
        self._ivf.train(_sample(vectors, max(self.nlist * 64, 65_536)))
        self.tune()
        self._add_codes(ids, vectors, progress)
        # the store takes the loaded matrix as it is (no second copy of millions of vectors)
        self._store = ExactIndex(np.asarray(ids, np.int64), np.ascontiguousarray(vectors, np.float32), prune=False)
        if self._store.size > 1 and not bool(np.all(self._store.ids[1:] > self._store.ids[:-1])):
            self._store = ExactIndex(np.zeros(0, np.int64), np.zeros((0, d), np.float32), prune=False)
            self._store.add(np.asarray(ids, np.int64), np.asarray(vectors, np.float32))

    def tune(self) -> None:
        if self._ivf is not None:
            import faiss

            faiss.extract_index_ivf(self._ivf).nprobe = min(self.nprobe, max(self.nlist, 1))

    def add(self, ids: np.ndarray, vectors: np.ndarray, progress: Progress | None = None) -> None:
        self._add_codes(ids, vectors, progress)
        self._store.add(np.asarray(ids, np.int64), np.asarray(vectors, np.float32))

    def _add_codes(self, ids: np.ndarray, vectors: np.ndarray, progress: Progress | None = None) -> None:
        step = 200_000
        n = len(ids)
        for s in range(0, n, step):
            self._ivf.add_with_ids(np.ascontiguousarray(vectors[s:s + step], np.float32),
                                   np.ascontiguousarray(ids[s:s + step], np.int64))
            if progress:
                progress(min(s + step, n), n, "indexing (ivf_pq)")

    def remove(self, ids: np.ndarray) -> None:
        import faiss

        self._ivf.remove_ids(faiss.IDSelectorBatch(np.ascontiguousarray(ids, np.int64)))
        self._store.remove(ids)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(np.atleast_2d(queries), np.float32)
        dist = np.full((q.shape[0], k), np.inf, np.float32)
        out = np.full((q.shape[0], k), -1, np.int64)
        if not self.size:
            return dist, out
        _, cand = _faiss_search(self._ivf, q, min(k * self.k_factor, self.size))
        for r in range(q.shape[0]):
            dist[r], out[r] = self._store.rerank(q[r], cand[r], k)
        return dist, out

    def dumps(self) -> np.ndarray:
        import faiss

        return faiss.serialize_index(self._ivf)

    def loads(self, raw: np.ndarray, ids: np.ndarray, vectors: np.ndarray) -> None:
        import faiss

        self._ivf = faiss.deserialize_index(raw)
        self._store = ExactIndex(ids, vectors, prune=False)
        self.tune()


@dataclass
class GalleryIndex:
    """An index of one gallery plus the fingerprint of the rows it was built from."""

    gallery: str
    kind: str
    index: Any
    fingerprint: tuple[int, int, int]
    build_s: float
    load_s: float = 0.0
    #: the query setting chosen at build time and the recall it gave, e.g.
    #: ``{"nprobe": 160, "self_recall": 0.991, "probes": 200}`` (empty for exact kinds)
    tuned: dict[str, Any] = field(default_factory=dict)

    def search(self, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """``(distances (M, k), face ids (M, k))``, nearest first (-1 ids pad a small gallery)."""
        return self.index.search(queries, k)

    def nbytes(self) -> int:
        return self.index.nbytes()


def _new(kind: str, dim: int, **opts: Any) -> Any:
    if kind == "exact":
        return None
    if kind not in KINDS:
        raise GalleryError(f"unknown index kind {kind!r}; choose one of: {', '.join(KINDS)}")
    if kind == "ivf_pq":
        return RefinedIndex(dim, **{k: v for k, v in opts.items() if k in ("nlist", "nprobe", "k_factor")})
    return FaissIndex(kind, dim, **{k: v for k, v in opts.items() if k != "k_factor"})


def build(db: Any, gallery: str, kind: str = "exact", progress: Progress | None = None,
          **opts: Any) -> GalleryIndex:
    """Build an index of ``kind`` over every face of ``gallery`` in the database."""
    fp = fingerprint(db, gallery)
    t0 = time.perf_counter()
    ids, vecs = load_vectors(db, gallery)
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    idx = _new(kind, db.dim, **opts)
    tuned: dict[str, Any] = {}
    if idx is None:
        idx = ExactIndex(ids, vecs)
    else:
        idx.build(ids, vecs, progress)
        knob = SWEEP[kind][0]
        if knob is not None and knob not in opts:  # a setting asked for is kept as it is
            tuned = self_tune(idx, ids, vecs)
    return GalleryIndex(gallery, kind, idx, fp, time.perf_counter() - t1, load_s, tuned)


def _true_neighbours(store: ExactIndex, q: np.ndarray, k: int, step: int = 262_144) -> np.ndarray:
    """Exact top-``k`` face ids of many probes at once: chunked matrix products, a running
    top-``k`` (for tuning: one pass over the vectors instead of one per probe)."""
    best_s = np.zeros((len(q), 0), np.float32)
    best_i = np.zeros((len(q), 0), np.int64)
    for s in range(0, store.size, step):
        sc = store._norms[None, s:s + step] - q @ store.vectors[s:s + step].T  # (probes, rows)
        kk = min(k, sc.shape[1])
        part = np.argpartition(sc, kk - 1, axis=1)[:, :kk]
        cand_s = np.concatenate([best_s, np.take_along_axis(sc, part, 1)], axis=1)
        cand_i = np.concatenate([best_i, store.ids[s + part]], axis=1)
        keep = np.argsort(cand_s, axis=1, kind="stable")[:, :k]
        best_s, best_i = np.take_along_axis(cand_s, keep, 1), np.take_along_axis(cand_i, keep, 1)
    return best_i


def _without(found: np.ndarray, own: np.ndarray, k: int) -> np.ndarray:
    """Each row's ids without the probe's own id, cut to ``k`` (padded with -1)."""
    out = np.full((len(found), k), -1, np.int64)
    for r, (row, me) in enumerate(zip(found, own)):
        rest = row[row != me][:k]
        out[r, : len(rest)] = rest
    return out


def self_tune(idx: Any, ids: np.ndarray, vectors: np.ndarray, *, target: float = TUNE_RECALL,
              probes: int = 200, k: int = 10, seed: int = 0) -> dict[str, Any]:
    """Set the cheapest query setting (:data:`SWEEP`) whose recall@``k`` against exact search
    reaches ``target``, and return it with the recall it gave.

    The probes are faces of the gallery itself, each left out of its own results, standing
    in for new photos of enrolled people (``workbench bench search`` measures on fresh probes
    instead). When no setting reaches the target, the most thorough one is kept.
    """
    knob, values = SWEEP[idx.kind]
    n = len(ids)
    if knob is None or n <= k + 1:
        return {}
    rows = np.sort(np.random.default_rng(seed).choice(n, min(probes, n), replace=False))
    q = np.ascontiguousarray(vectors[rows], np.float32)
    store = idx._store if isinstance(idx, RefinedIndex) else ExactIndex(ids, vectors, prune=False)
    truth = _without(_true_neighbours(store, q, k + 1), ids[rows], k)
    recall = 0.0
    for value in values:
        setattr(idx, knob, value)
        idx.tune()
        recall = recall_at_k(truth, _without(idx.search(q, k + 1)[1], ids[rows], k))
        if recall >= target:
            break
    return {knob: getattr(idx, knob), "self_recall": round(recall, 4), "probes": len(rows)}


def sync(db: Any, gi: GalleryIndex) -> tuple[int, int]:
    """Bring an index up to date with the database; returns ``(added, removed)``.

    Nothing is read beyond one aggregate when the fingerprint has not changed.
    """
    fp = fingerprint(db, gi.gallery)
    if fp == gi.fingerprint:
        return 0, 0
    gid = db.gallery_id(gi.gallery)
    current = _arrow(db.cursor().execute("SELECT id FROM faces WHERE gallery_id = ?", [gid])).column("id").to_numpy()
    held = gi.index.ids
    removed = held[~np.isin(held, current)]
    new = current[~np.isin(current, held)]
    if len(removed):
        try:
            gi.index.remove(removed)
        except NotImplementedError:
            rebuilt = build(db, gi.gallery, gi.kind)
            gi.index, gi.fingerprint, gi.tuned = rebuilt.index, rebuilt.fingerprint, rebuilt.tuned
            return len(new), len(removed)
    if len(new):
        lo = int(new.min())
        ids, vecs = load_vectors(db, gi.gallery, where="AND id >= ?", params=[lo])
        mask = np.isin(ids, new)
        gi.index.add(ids[mask], vecs[mask])
    gi.fingerprint = fp
    return len(new), len(removed)


#: Indexes opened for searching, by (database file, gallery, kind); synced before every use.
_OPEN: dict[tuple[str, str, str], GalleryIndex] = {}
_OPEN_LOCK = threading.Lock()


def opened(db: Any, gallery: str, kind: str, progress: Progress | None = None) -> GalleryIndex:
    """The index of ``gallery`` for searching: loaded (or built and saved) once per process,
    then only synced with the database (one aggregate when nothing changed). A classroom
    (in-memory) gallery's index is built in memory and never saved."""
    if kind not in KINDS:
        raise GalleryError(f"unknown index kind {kind!r}; choose one of: {', '.join(KINDS)}")
    key = (str(Path(db.path).resolve()) if not db.in_memory else f"memory:{id(db)}", gallery, kind)
    with _OPEN_LOCK:
        gi = _OPEN.get(key)
        if gi is None:
            gi = (build(db, gallery, kind, progress=progress) if db.in_memory
                  else load(db, gallery, kind, progress=progress))
            _OPEN[key] = gi
        else:
            sync(db, gi)
        return gi


def recall_at_k(truth: np.ndarray, found: np.ndarray) -> float:
    """Mean fraction of the exact top-k ids that an approximate top-k also returned."""
    k = truth.shape[1]
    hits = sum(len(set(t[t >= 0]) & set(f[f >= 0])) for t, f in zip(truth, found))
    total = int((truth >= 0).sum())
    return hits / total if total else 1.0 if k else 0.0


# -- on disk, next to the database ----------------------------------------------------------


# saved indexes copy the gallery's vectors: a deletion or a purge must take them away too
SIDE_FILE_SUFFIXES.extend(s for s in (".*.index", ".*.index.json", ".*.index.part") if s not in SIDE_FILE_SUFFIXES)


def index_path(db: Any, gallery: str, kind: str) -> Path:
    """Where the index of ``gallery`` of ``kind`` lives: beside the DuckDB file."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in gallery)
    return Path(db.path).with_name(f"{Path(db.path).name}.{safe}.{kind}.index")


def save(db: Any, gi: GalleryIndex) -> Path:
    """Write an index (faiss file, or the exact kind's vectors as ``.npy``) and its fingerprint."""
    path = index_path(db, gi.gallery, gi.kind)
    tmp = path.with_name(path.name + ".part")
    if gi.kind in ("exact", "ivf_pq"):
        store = gi.index if gi.kind == "exact" else gi.index._store
        with tmp.open("wb") as fh:
            np.save(fh, store.ids)
            np.save(fh, store.vectors)
            if gi.kind == "ivf_pq":
                np.save(fh, gi.index.dumps())
    else:
        import faiss

        faiss.write_index(gi.index._index, str(tmp))
    tmp.replace(path)
    path.with_name(path.name + ".json").write_text(json.dumps(
        {"gallery": gi.gallery, "kind": gi.kind, "fingerprint": list(gi.fingerprint),
         "nlist": getattr(gi.index, "nlist", 0), "tuned": gi.tuned}))
    return path


def load(db: Any, gallery: str, kind: str, *, build_missing: bool = True, progress: Progress | None = None,
         **opts: Any) -> GalleryIndex:
    """The saved index of a gallery, brought up to date with the database (:func:`sync`);
    built and saved when there is none (or it cannot be read)."""
    path = index_path(db, gallery, kind)
    meta_path = path.with_name(path.name + ".json")
    t0 = time.perf_counter()
    try:
        meta = json.loads(meta_path.read_text())
        tuned = dict(meta["tuned"])  # a file from before indexes tuned themselves is rebuilt
        knob = SWEEP.get(kind, (None,))[0]
        # the setting chosen when it was built (a rebuild below, if the file fails, tunes afresh)
        saved = {knob: tuned[knob]} if knob in tuned and knob not in opts else {}
        if kind in ("exact", "ivf_pq"):
            with path.open("rb") as fh:
                ids, vecs = np.load(fh), np.load(fh)
                if kind == "exact":
                    idx: Any = ExactIndex(ids, vecs)
                else:
                    idx = _new(kind, db.dim, nlist=int(meta.get("nlist", 0)), **opts, **saved)
                    idx.loads(np.load(fh), ids, vecs)
        else:
            import faiss

            raw = faiss.read_index(str(path))
            idx = _new(kind, db.dim, nlist=int(meta.get("nlist", 0)), **opts, **saved)
            idx._index, idx._inner = raw, faiss.downcast_index(raw.index)
            idx._ids = faiss.vector_to_array(raw.id_map).astype(np.int64)
            idx.tune()
        gi = GalleryIndex(gallery, kind, idx, tuple(meta["fingerprint"]), 0.0, time.perf_counter() - t0, tuned)
    except (OSError, ValueError, KeyError, RuntimeError):
        if not build_missing:
            raise GalleryError(f"{path}: no usable {kind} index; build it first") from None
        gi = build(db, gallery, kind, progress=progress, **opts)
        save(db, gi)
        return gi
    added, removed = sync(db, gi)
    if added or removed:
        save(db, gi)
    return gi
