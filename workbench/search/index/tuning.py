"""Tuning of approximate indexes: the cheapest query setting whose recall@10 against exact
search reaches a target on faces the index has never seen.

The rule (:func:`hold_out`): before an index is built, probe faces are drawn at random from the
gallery and kept out of it, as if they were new photos. Most stand for a new photo of an
enrolled person (that one face is held out, the person's other faces stay in); a share
(:data:`STRANGER_SHARE`) stands for a stranger (every face of that person is held out). The
index is built and trained on the other faces only, every setting of :data:`SWEEP` is tried
on the probes against an exact search of those other faces, and only then are the held-out
faces added. The synthetic benchmark draws its probes the same way (fresh faces of enrolled
identities and of new ones, in the same shares), so the estimate and its measurement answer
the same question.

Tuning on faces already in the index (each left out of its own results) estimated 0.9905 at
10M where unseen probes then gave 0.981 (issue 23).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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

#: Recall@10 an approximate index is tuned to when it is built: the lower end of a one-sided
#: 95 % interval over the probes must reach it (the cheapest setting whose mean first touches
#: the target is, more often than not, a setting that falls short on other probes).
TUNE_RECALL = 0.99
#: Probes held out of a gallery to tune its index (a tenth of its faces when it is smaller).
TUNE_PROBES = 1000
#: Share of probes that are strangers (people with no face in the index).
STRANGER_SHARE = 0.2
#: z of a one-sided 95 % interval.
_Z = 1.645
#: How a saved index's ``tuned`` says where its probes came from (older files tuned on their
#: own faces and are rebuilt).
PROBES_FROM = "held out of the index"


@dataclass(frozen=True)
class HeldOut:
    """Faces kept out of an index while it is tuned, as row positions of the gallery's
    vectors: ``probes`` (one face per person), ``out`` (every held-out face, sorted:
    the probes and the strangers' other faces), and how many probes are strangers."""

    probes: np.ndarray
    out: np.ndarray
    strangers: int


def hold_out(person_ids: np.ndarray, probes: int = TUNE_PROBES, *, stranger_share: float = STRANGER_SHARE,
             k: int = 10, seed: int = 0) -> HeldOut:
    """Draw ``probes`` faces (at most a tenth of the gallery) of distinct people, at random;
    the first ``stranger_share`` of them take every face of their person out with them.

    ``person_ids`` (N,) says whose face each row is. Empty when the gallery is too small for
    the index to keep more than ``k`` faces."""
    person_ids = np.asarray(person_ids, np.int64)
    n = len(person_ids)
    m = min(probes, n // 10)
    empty = HeldOut(np.zeros(0, np.int64), np.zeros(0, np.int64), 0)
    if m < 1:
        return empty
    rng = np.random.default_rng(seed)
    drawn = rng.choice(n, min(n, 4 * m), replace=False)
    _, first = np.unique(person_ids[drawn], return_index=True)  # one face per person
    rows = drawn[np.sort(first)][:m]
    s = int(round(stranger_share * len(rows)))
    whole = np.flatnonzero(np.isin(person_ids, person_ids[rows[:s]]))
    out = np.union1d(whole, rows).astype(np.int64)
    if n - len(out) <= k:
        return empty
    return HeldOut(np.sort(rows).astype(np.int64), out, s)


def _true_neighbours(store: ExactIndex, q: np.ndarray, k: int, skip: np.ndarray | None = None,
                     step: int | None = None) -> np.ndarray:
    """Exact top-``k`` face ids of many probes at once among the store's rows except ``skip``
    (sorted row positions): chunked matrix products, a running top-``k`` (one pass over the
    vectors instead of one per probe; chunks of at most 64 M scores)."""
    step = step or max(1024, 2**26 // max(len(q), 1))
    skip = np.zeros(0, np.int64) if skip is None else np.asarray(skip, np.int64)
    best_s = np.zeros((len(q), 0), np.float32)
    best_i = np.zeros((len(q), 0), np.int64)
    for s in range(0, store.size, step):
        sc = store._norms[None, s:s + step] - q @ store.vectors[s:s + step].T  # (probes, rows)
        gone = skip[(skip >= s) & (skip < s + sc.shape[1])] - s
        sc[:, gone] = np.inf
        kk = min(k, sc.shape[1])
        part = np.argpartition(sc, kk - 1, axis=1)[:, :kk]
        cand_s = np.concatenate([best_s, np.take_along_axis(sc, part, 1)], axis=1)
        cand_i = np.concatenate([best_i, np.where(np.isinf(np.take_along_axis(sc, part, 1)), -1,
                                                  store.ids[s + part])], axis=1)
        keep = np.argsort(cand_s, axis=1, kind="stable")[:, :k]
        best_s, best_i = np.take_along_axis(cand_s, keep, 1), np.take_along_axis(cand_i, keep, 1)
    return best_i


def tune_held_out(idx: Any, ids: np.ndarray, vectors: np.ndarray, held: HeldOut, *,
                  target: float = TUNE_RECALL, k: int = 10) -> dict[str, Any]:
    """Set the cheapest query setting (:data:`SWEEP`) of ``idx`` (built without the rows
    ``held.out``) whose recall@``k`` on the held-out probes, against exact search of the faces
    it holds, reaches ``target`` at the lower end of a one-sided 95 % interval; return it
    with the estimate. When no setting does, the most thorough one is kept."""
    knob, values = SWEEP[idx.kind]
    if knob is None or not len(held.probes):
        return {}
    q = np.ascontiguousarray(vectors[held.probes], np.float32)
    store = idx._store if isinstance(idx, RefinedIndex) else ExactIndex(ids, vectors, prune=False)
    truth = _true_neighbours(store, q, k, held.out)
    mean = low = 0.0
    for value in values:
        setattr(idx, knob, value)
        idx.tune()
        per = per_probe_recall(truth, idx.search(q, k)[1])
        mean = float(per.mean())
        low = mean - _Z * float(per.std(ddof=1)) / math.sqrt(len(per)) if len(per) > 1 else mean
        if low >= target:
            break
    return {knob: getattr(idx, knob), "recall": round(mean, 4), "recall_low": round(low, 4),
            "probes": len(q), "strangers": held.strangers, "probes_from": PROBES_FROM}


def per_probe_recall(truth: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Each probe's share of its exact top-k ids (``-1`` pads are not counted) that an
    approximate top-k also returned (1.0 for a probe with no true neighbour)."""
    out = np.ones(len(truth))
    for r, (t, f) in enumerate(zip(truth, found)):
        want = set(t[t >= 0].tolist())
        if want:
            out[r] = len(want & set(f[f >= 0].tolist())) / len(want)
    return out


def recall_at_k(truth: np.ndarray, found: np.ndarray) -> float:
    """Mean fraction of the exact top-k ids that an approximate top-k also returned."""
    k = truth.shape[1]
    hits = sum(len(set(t[t >= 0]) & set(f[f >= 0])) for t, f in zip(truth, found))
    total = int((truth >= 0).sum())
    return hits / total if total else 1.0 if k else 0.0
