"""Unknown faces become anonymous identities: tracks that match nobody in the gallery are
grouped, across cameras and runs, so the same stranger gets one id ("unknown 0007").

Two steps, both stated with their thresholds:

* **while watching** (:class:`IdentityBook`): a new unknown track's vector goes to the nearest
  identity centroid when it is within ``threshold`` (default :data:`IDENTITY_FACTOR` times the
  model's match threshold: 0.85 x 0.6 = 0.51 euclidean for Dlib), else it opens a new identity;
  the centroid is the running mean of its members. Fast (one matrix-vector product), online,
  and the same in every camera because the one writer assigns.
* **on demand** (:func:`recluster`): every anonymous sighting's vector is clustered again with
  scikit-learn (average-linkage agglomerative clustering cut at ``threshold``, or DBSCAN with
  ``eps = threshold``), which fixes what the online order got wrong; existing ids are kept for
  the clusters that hold most of their members.

:func:`merge` and :func:`split` are the manual fixes; naming an identity is
:meth:`workbench.store.identities.Identities.name`. :func:`purity` measures clusters against known
people.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from workbench.errors import GalleryError, RangeError
from workbench.pipeline import compare
from workbench.store import IdentityRow, Store, identity_label

#: Default identity threshold as a share of the model's match threshold: a stranger is joined
#: to an identity only when closer than a match would need (strangers are not in the gallery,
#: so a false join merges two innocent people's movements).
IDENTITY_FACTOR = 0.85
METHODS = ("agglomerative", "dbscan")


def default_identity_threshold(model: str, metric: str | None = None) -> float:
    return round(IDENTITY_FACTOR * compare.default_threshold(model, metric), 4)


class IdentityBook:
    """The anonymous identities of one gallery, in memory, for online assignment.

    Args:
        ids, labels, centroids, members: as :meth:`~workbench.store.identities.Identities.book` returns them.
        metric: the model's metric; ``threshold``: the largest distance that joins an identity.
    """

    def __init__(self, ids: np.ndarray, labels: list[str], centroids: np.ndarray, members: np.ndarray, *,
                 metric: str, threshold: float) -> None:
        self.ids = [int(i) for i in ids]
        self.labels = list(labels)
        self.centroids = [np.asarray(c, np.float32) for c in centroids]
        self.members = [int(m) for m in members]
        self.metric, self.threshold = metric, float(threshold)
        self._unwritten: set[int] = set()
        self._dirty: set[int] = set()

    @classmethod
    def load(cls, db: Store, gallery: str, *, model: str, metric: str, threshold: float) -> IdentityBook:
        """The identities of ``gallery``, whose vectors are ``model``'s (checked)."""
        return cls(*db.identities.book(gallery, model), metric=metric, threshold=threshold)

    def __len__(self) -> int:
        return len(self.ids)

    def nearest(self, vec: np.ndarray) -> tuple[int, float]:
        """``(index, distance)`` of the nearest identity, or ``(-1, inf)`` when there is none."""
        if not self.ids:
            return -1, float("inf")
        d = compare.distances(np.asarray(vec, np.float32), np.stack(self.centroids), self.metric)
        j = int(np.argmin(d))
        return j, float(d[j])

    def assign(self, vec: np.ndarray, allocate: Callable[[], int]) -> tuple[int, str, float | None]:
        """The identity of an unknown track's vector: ``(id, label, distance to it)``; a new
        identity (distance ``None``) when none is within the threshold."""
        v = np.asarray(vec, np.float32).reshape(-1)
        j, d = self.nearest(v)
        if j >= 0 and compare.is_match(d, self.threshold):
            n = self.members[j]
            self.centroids[j] = (self.centroids[j] * n + v) / (n + 1)
            self.members[j] = n + 1
            self._dirty.add(self.ids[j])
            return self.ids[j], self.labels[j], d
        iid = int(allocate())
        self.ids.append(iid)
        self.labels.append(identity_label(iid))
        self.centroids.append(v.copy())
        self.members.append(1)
        self._unwritten.add(iid)
        self._dirty.add(iid)
        return iid, self.labels[-1], None

    def changes(self) -> list[IdentityRow]:
        """The identities created or moved since the last call, as rows for the next batch."""
        at = {iid: k for k, iid in enumerate(self.ids)}
        rows = [IdentityRow(iid, self.labels[at[iid]], self.centroids[at[iid]], self.members[at[iid]],
                            new=iid in self._unwritten) for iid in sorted(self._dirty)]
        self._unwritten.clear()
        self._dirty.clear()
        return rows


def cluster_labels(vectors: np.ndarray, *, metric: str, threshold: float, method: str = "agglomerative") -> np.ndarray:
    """Cluster labels (0..k-1) of ``vectors`` ``(n, dim)``: faces closer than ``threshold`` group."""
    n = len(vectors)
    if n == 0:
        return np.zeros(0, np.int64)
    if n == 1:
        return np.zeros(1, np.int64)
    if method == "agglomerative":
        from sklearn.cluster import AgglomerativeClustering

        model = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, linkage="average",
                                        metric=metric)
        return model.fit_predict(np.asarray(vectors, np.float64)).astype(np.int64)
    if method == "dbscan":
        from sklearn.cluster import DBSCAN

        # min_samples=1: every track belongs somewhere (a stranger seen once is still an identity)
        return DBSCAN(eps=threshold, min_samples=1, metric=metric).fit_predict(np.asarray(vectors, np.float64))
    raise GalleryError(f"unknown clustering method {method!r}; choose one of: {', '.join(METHODS)}")


@dataclass(frozen=True)
class Reclustered:
    sightings: int
    before: int
    after: int
    kept_ids: int


def _apply(db: Store, gallery: str, model: str, sids: np.ndarray, new_ids: np.ndarray, vecs: np.ndarray) -> None:
    centroids = {int(i): vecs[new_ids == i].mean(axis=0) for i in np.unique(new_ids)}
    db.identities.assign(gallery, model, sids.tolist(), new_ids.tolist(), centroids)


def checked_identity_threshold(threshold: float, model: str, metric: str) -> float:
    """An identity threshold, if it is a distance ``model``'s ``metric`` can reach (a
    :class:`RangeError` in one line otherwise)."""
    try:
        return compare.check_threshold(threshold, model, metric)
    except RangeError as err:
        raise RangeError(f"identity {err}") from None


def recluster(db: Store, gallery: str, *, model: str, metric: str, threshold: float,
              method: str = "agglomerative") -> Reclustered:
    """Cluster every anonymous sighting of ``gallery`` (of ``model``'s vectors) again and store
    the result; a cluster keeps the old id that most of its sightings had (when no larger
    cluster took it). ``threshold`` must be a distance the metric can reach."""
    threshold = checked_identity_threshold(threshold, model, metric)
    sids, old, vecs = db.identities.anonymous_vectors(gallery, model)
    labels = cluster_labels(vecs, metric=metric, threshold=threshold, method=method)
    new_ids = np.zeros(len(sids), np.int64)
    taken: set[int] = set()
    kept = 0
    order = sorted(set(labels.tolist()), key=lambda c: -int((labels == c).sum()))
    fresh = iter(db.runs.allocate_ids("identity_ids", len(order)))
    for c in order:
        mask = labels == c
        best = next((i for i, _ in Counter(old[mask].tolist()).most_common() if i not in taken), None)
        if best is None:
            best = next(fresh)
        else:
            kept += 1
        taken.add(int(best))
        new_ids[mask] = best
    if len(sids):
        _apply(db, gallery, model, sids, new_ids, vecs)
    return Reclustered(len(sids), len(set(old.tolist())), len(order), kept)


def merge(db: Store, gallery: str, keep: int, others: Sequence[int], *, model: str) -> int:
    """Move every sighting of ``others`` into identity ``keep``; returns sightings moved."""
    sids, ids, vecs = db.identities.anonymous_vectors(gallery, model)
    wanted = {int(keep), *map(int, others)}
    missing = wanted - set(ids.tolist())
    if missing:
        raise GalleryError(f"no anonymous identity {', '.join(map(identity_label, sorted(missing)))} "
                           f"in gallery {gallery!r}")
    moved = np.isin(ids, list(wanted - {int(keep)}))
    ids = np.where(moved, int(keep), ids)
    _apply(db, gallery, model, sids, ids, vecs)
    return int(moved.sum())


def split(db: Store, gallery: str, identity: int, sighting_ids: Sequence[int], *, model: str) -> int:
    """Move the given sightings of ``identity`` into a new identity; returns its id."""
    sids, ids, vecs = db.identities.anonymous_vectors(gallery, model)
    chosen = np.isin(sids, list(map(int, sighting_ids))) & (ids == int(identity))
    if not chosen.any():
        raise GalleryError(f"none of those sightings belongs to {identity_label(int(identity))}")
    if chosen.sum() == (ids == int(identity)).sum():
        raise GalleryError("a split must leave at least one sighting in the identity")
    new = db.runs.allocate_ids("identity_ids", 1)[0]
    ids = np.where(chosen, new, ids)
    _apply(db, gallery, model, sids, ids, vecs)
    return int(new)


def purity(truth: Sequence[object], clusters: Sequence[object]) -> dict[str, float | int | None]:
    """How well clusters follow known people.

    ``purity``: share of items whose cluster's majority person is their own (1.0: no cluster
    mixes people); ``inverse_purity``: share of items in their person's largest cluster (1.0:
    no person is split over clusters). Counts beside the rates.
    """
    n = len(truth)
    if n == 0:
        return {"items": 0, "people": 0, "clusters": 0, "purity": None, "inverse_purity": None}
    pairs = Counter(zip(clusters, truth))
    by_cluster: dict[object, int] = {}
    by_person: dict[object, int] = {}
    for (c, t), k in pairs.items():
        by_cluster[c] = max(by_cluster.get(c, 0), k)
        by_person[t] = max(by_person.get(t, 0), k)
    return {"items": n, "people": len(by_person), "clusters": len(by_cluster),
            "purity": sum(by_cluster.values()) / n, "inverse_purity": sum(by_person.values()) / n}
