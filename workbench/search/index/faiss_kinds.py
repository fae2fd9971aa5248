"""Approximate indexes from faiss: scalar-quantised flat, IVF, IVF-SQ8, HNSW, and ``ivf_pq``
(rotated 4-bit PQ fast-scan IVF whose candidates are re-ranked with exact vectors)."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from workbench.errors import GalleryError
from workbench.search.index.exact import ExactIndex, sample_rows

#: ``progress(done, total, label)`` while vectors are added.
Progress = Callable[[int, int, str], None]

#: faiss's OpenMP thread count is one process-wide setting; a single-vector query sets it to
#: 1 and back under this lock, so two threads never restore each other's value (threadpoolctl
#: changes the same global setting, so it would race the same way without a lock).
_OMP_LOCK = threading.Lock()

#: faiss ``IndexIVFFastScan.implem`` that shares one query's probed cells among the OpenMP
#: threads (0, the default, gives a single query one thread whatever the setting).
_SPLIT_PROBES = 14

#: A single probe's scan is split among the cores from this many codes on (``nprobe`` x faces
#: per cell). Measured on 2 cores (2026-12-07, 20 % of the cells probed, top 320): 60,000 codes
#: 0.22 ms on one thread against 0.24 split; 200,000 codes 0.97 against 0.71 ms; 2.4 million
#: (10M faces, nprobe 768) 7.4 against 4.2 ms.
PARALLEL_SCAN_CODES = 150_000


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

    @property
    def searchable(self) -> int:
        """Faces a search can propose (fewer than the gallery's while some are held out)."""
        return self.size

    def nbytes(self) -> int:
        """Estimated bytes held: codes, ids, graph links and centroids."""
        per = {"sq8": self.dim, "ivf": 4 * self.dim + 8, "ivf_sq8": self.dim + 8, "hnsw": 4 * self.dim + 2 * 32 * 4 + 8}
        return int(self.size * per.get(self.kind, 4 * self.dim) + self.nlist * self.dim * 4)

    def build(self, ids: np.ndarray, vectors: np.ndarray, progress: Progress | None = None,
              skip: np.ndarray | None = None) -> None:
        """Train on and index every row but ``skip`` (sorted row positions, held out for
        tuning until :meth:`admit`)."""
        import faiss

        n, d = vectors.shape
        if self.kind in ("ivf", "ivf_sq8"):
            self.nlist = self.nlist or _nlist(n)
            quant = faiss.IndexFlatL2(d)
            inner = (faiss.IndexIVFFlat(quant, d, self.nlist) if self.kind == "ivf" else
                     faiss.IndexIVFScalarQuantizer(quant, d, self.nlist, faiss.ScalarQuantizer.QT_8bit))
            inner.train(sample_rows(vectors, self.nlist * 64, skip))
            self._keep = (quant,)  # the quantizer must outlive the index that points to it
        elif self.kind == "sq8":
            inner = faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit)
            inner.train(np.ascontiguousarray(vectors[: min(n, 200_000)]))
        elif self.kind == "hnsw":
            inner = faiss.IndexHNSWFlat(d, 32)
            inner.hnsw.efConstruction = 80
            inner.hnsw.efSearch = self.ef_search
        else:
            raise GalleryError(f"unknown faiss index kind {self.kind!r}")
        self._inner = inner
        self.tune()
        self._index = faiss.IndexIDMap2(inner)
        self._ids = np.zeros(0, np.int64)
        _add_in_steps(self._index, ids, vectors, progress, f"indexing ({self.kind})", skip=skip)
        self._ids = _without_rows(np.asarray(ids, np.int64), skip)

    def admit(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """The faces held out of :meth:`build` (``skip``) join the index."""
        self.add(ids, vectors)

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
        _add_in_steps(self._index, ids, vectors, progress, f"indexing ({self.kind})")
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



def _without_rows(a: np.ndarray, skip: np.ndarray | None) -> np.ndarray:
    return a if skip is None or not len(skip) else np.delete(a, skip, axis=0)


def _add_in_steps(index: Any, ids: np.ndarray, vectors: np.ndarray, progress: Progress | None, label: str,
                  step: int = 200_000, skip: np.ndarray | None = None) -> None:
    """``index.add_with_ids`` a slice at a time (no full-size float32 copy), reporting progress;
    rows at the sorted positions ``skip`` are left out."""
    n = len(ids)
    skip = np.zeros(0, np.int64) if skip is None else np.asarray(skip, np.int64)
    for s in range(0, n, step):
        gone = skip[(skip >= s) & (skip < s + step)] - s
        index.add_with_ids(np.ascontiguousarray(_without_rows(vectors[s:s + step], gone), np.float32),
                           np.ascontiguousarray(_without_rows(ids[s:s + step], gone), np.int64))
        if progress:
            progress(min(s + step, n), n, label)


def _faiss_search(index: Any, q: np.ndarray, k: int, *, split: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """``index.search``; one probe runs on one thread (OpenMP start-up and spinning only cost
    time for a single vector, worse on a shared CPU), unless ``split`` is given: the fast-scan
    IVF inside ``index`` whose probed cells are then shared among every core for this one
    probe (faiss's ``implem`` 14), which only pays for a long scan (see
    :data:`PARALLEL_SCAN_CODES`). The answer is the same either way."""
    import faiss

    if q.shape[0] != 1:
        return index.search(q, k)
    with _OMP_LOCK:
        threads = faiss.omp_get_max_threads()
        if split is None:
            faiss.omp_set_num_threads(1)
        else:
            split.implem = _SPLIT_PROBES
        try:
            return index.search(q, k)
        finally:
            faiss.omp_set_num_threads(threads)
            if split is not None:
                split.implem = 0


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
    #: share one probe's long scan among the cores (:data:`PARALLEL_SCAN_CODES`); ``False`` keeps
    #: every search on one thread (``bench search`` times both, same probes, same run)
    split_scans: bool = True
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

    def build(self, ids: np.ndarray, vectors: np.ndarray, progress: Progress | None = None,
              skip: np.ndarray | None = None) -> None:
        """Train on and index every row but ``skip`` (sorted row positions, held out for
        tuning until :meth:`admit`): their codes are left out, so no search proposes them,
        while the exact store holds every vector (no second copy of millions of vectors)."""
        import faiss

        n, d = vectors.shape
        if d % 2:
            raise GalleryError(f"ivf_pq needs an even vector size, not {d}")
        self.nlist = self.nlist or _nlist(n)
        self._ivf = faiss.index_factory(d, f"RR{d},IVF{self.nlist},PQ{d // 2}x4fs")
        self._ivf.train(sample_rows(vectors, max(self.nlist * 64, 65_536), skip))
        self.tune()
        _add_in_steps(self._ivf, ids, vectors, progress, "indexing (ivf_pq)", skip=skip)
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
        _add_in_steps(self._ivf, ids, vectors, progress, "indexing (ivf_pq)")
        self._store.add(np.asarray(ids, np.int64), np.asarray(vectors, np.float32))

    def admit(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """The faces held out of :meth:`build` (``skip``) join the index (the store has them)."""
        _add_in_steps(self._ivf, ids, vectors, None, "indexing (ivf_pq)")

    @property
    def searchable(self) -> int:
        """Faces a search can propose (the codes), fewer than :attr:`size` while some are held out."""
        return int(self._ivf.ntotal) if self._ivf is not None else 0

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
        long_scan = self.split_scans and self.scanned_codes() >= PARALLEL_SCAN_CODES
        _, cand = _faiss_search(self._ivf, q, min(k * self.k_factor, self.size),
                                split=self._ivf_inner if long_scan else None)
        for r in range(q.shape[0]):
            dist[r], out[r] = self._store.rerank(q[r], cand[r], k)
        return dist, out

    @property
    def _ivf_inner(self) -> Any:
        """The fast-scan IVF inside the rotation (where ``nprobe`` and ``implem`` live)."""
        import faiss

        return faiss.downcast_index(faiss.extract_index_ivf(self._ivf))

    def scanned_codes(self) -> int:
        """About how many codes one probe scans: ``nprobe`` cells of the average size."""
        if self._ivf is None or not self.nlist:
            return 0
        return int(self.searchable * min(self.nprobe, self.nlist) / self.nlist)

    def dumps(self) -> np.ndarray:
        import faiss

        return faiss.serialize_index(self._ivf)

    def loads(self, raw: np.ndarray, ids: np.ndarray, vectors: np.ndarray) -> None:
        import faiss

        self._ivf = faiss.deserialize_index(raw)
        self._store = ExactIndex(ids, vectors, prune=False)
        self.tune()

