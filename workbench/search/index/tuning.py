"""Self-tuning of approximate indexes: the cheapest query setting that reaches a recall@10
target against exact search, measured on the gallery's own faces."""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.search.index.exact import ExactIndex
from workbench.search.index.faiss_kinds import RefinedIndex

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



def recall_at_k(truth: np.ndarray, found: np.ndarray) -> float:
    """Mean fraction of the exact top-k ids that an approximate top-k also returned."""
    k = truth.shape[1]
    hits = sum(len(set(t[t >= 0]) & set(f[f >= 0])) for t, f in zip(truth, found))
    total = int((truth >= 0).sum())
    return hits / total if total else 1.0 if k else 0.0

