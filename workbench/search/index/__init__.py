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
  of millions of faces. One probe's scan is shared among the cores once it is long
  (:data:`~workbench.search.index.faiss_kinds.PARALLEL_SCAN_CODES` codes, from about a million
  faces); shorter scans stay on one thread.

Distances are squared-free euclidean (as dlib's threshold is quoted) for every kind.
"""


from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import GalleryError
from workbench.files import atomic_path
from workbench.search.index.exact import PRUNE_MIN, ExactIndex
from workbench.search.index.faiss_kinds import FaissIndex, Progress, RefinedIndex
from workbench.search.index import tuning
from workbench.search.index.tuning import SWEEP, TUNE_RECALL, recall_at_k
from workbench.store.derived import index_path as _derived_path

__all__ = ["ANN_KINDS", "KINDS", "PRUNE_MIN", "SWEEP", "TUNE_RECALL", "ExactIndex", "FaissIndex", "GalleryIndex",
           "RefinedIndex", "build", "index_path", "load", "opened", "recall_at_k", "save", "sync"]

KINDS = ("exact", "sq8", "ivf", "ivf_sq8", "hnsw", "ivf_pq")
ANN_KINDS = KINDS[1:]


@dataclass
class GalleryIndex:
    """An index of one gallery plus the fingerprint of the rows it was built from."""

    gallery: str
    kind: str
    index: Any
    fingerprint: tuple[int, int, int]
    build_s: float
    load_s: float = 0.0
    #: the query setting chosen at build time and the recall@10 it gave on faces held out of
    #: the index (:mod:`~workbench.search.index.tuning`), e.g. ``{"nprobe": 192, "recall": 0.994,
    #: "recall_low": 0.992, "probes": 1000, "strangers": 200, "probes_from": "held out of the
    #: index"}`` (empty for exact kinds and for a setting asked for)
    tuned: dict[str, Any] = field(default_factory=dict)
    #: the model of the vectors it holds (the gallery's)
    model: str = ""

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


def build(db: Any, gallery: str, kind: str, model: str, progress: Progress | None = None,
          **opts: Any) -> GalleryIndex:
    """Build an index of ``kind`` over every face of ``gallery`` (a :class:`~workbench.store.Store`'s),
    whose vectors are ``model``'s (checked)."""
    fp = db.vectors.fingerprint(gallery)
    t0 = time.perf_counter()
    ids, vecs = db.vectors.load(gallery, model)
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    idx = _new(kind, db.db.dim, **opts)
    tuned: dict[str, Any] = {}
    if idx is None:
        idx = ExactIndex(ids, vecs)
    elif SWEEP[kind][0] is None or SWEEP[kind][0] in opts:  # a setting asked for is kept as it is
        idx.build(ids, vecs, progress)
    else:  # tuned on faces it has never seen: held out of the build, added after
        face_ids, people = db.vectors.people_of(gallery, model)
        if not np.array_equal(face_ids, ids):  # written meanwhile: every face its own person
            people = ids
        held = tuning.hold_out(people)
        idx.build(ids, vecs, progress, skip=held.out)
        tuned = tuning.tune_held_out(idx, ids, vecs, held)
        idx.admit(ids[held.out], vecs[held.out])
    return GalleryIndex(gallery, kind, idx, fp, time.perf_counter() - t1, load_s, tuned, model)


def sync(db: Any, gi: GalleryIndex) -> tuple[int, int]:
    """Bring an index up to date with the database; returns ``(added, removed)``.

    Nothing is read beyond one aggregate when the fingerprint has not changed.
    """
    fp = db.vectors.fingerprint(gi.gallery)
    if fp == gi.fingerprint:
        return 0, 0
    current = db.vectors.face_ids(gi.gallery)
    held = gi.index.ids
    removed = held[~np.isin(held, current)]
    new = current[~np.isin(current, held)]
    if len(removed):
        try:
            gi.index.remove(removed)
        except NotImplementedError:
            rebuilt = build(db, gi.gallery, gi.kind, gi.model)
            gi.index, gi.fingerprint, gi.tuned = rebuilt.index, rebuilt.fingerprint, rebuilt.tuned
            return len(new), len(removed)
    if len(new):
        lo = int(new.min())
        ids, vecs = db.vectors.load(gi.gallery, gi.model, min_id=lo)
        mask = np.isin(ids, new)
        gi.index.add(ids[mask], vecs[mask])
    gi.fingerprint = fp
    return len(new), len(removed)


#: Indexes opened for searching, by (database file, gallery, kind); synced before every use.
_OPEN: dict[tuple[str, str, str], GalleryIndex] = {}
_OPEN_LOCK = threading.Lock()


def opened(db: Any, gallery: str, kind: str, model: str, progress: Progress | None = None) -> GalleryIndex:
    """The index of ``gallery`` (whose vectors are ``model``'s: checked) for searching: loaded
    (or built and saved) once per process, then only synced with the database (one aggregate
    when nothing changed). A classroom (in-memory) gallery's index is built in memory and never
    saved."""
    if kind not in KINDS:
        raise GalleryError(f"unknown index kind {kind!r}; choose one of: {', '.join(KINDS)}")
    db.galleries.check(gallery, model)
    key = (str(Path(db.db.path).resolve()) if not db.db.in_memory else f"memory:{id(db)}", gallery, kind)
    with _OPEN_LOCK:
        gi = _OPEN.get(key)
        if gi is not None and gi.model != model:  # the gallery was deleted and made again for another model
            gi = None
        if gi is None:
            gi = (build(db, gallery, kind, model, progress=progress) if db.db.in_memory
                  else load(db, gallery, kind, model, progress=progress))
            _OPEN[key] = gi
        else:
            sync(db, gi)
        return gi


# -- on disk, next to the database ----------------------------------------------------------


def index_path(db: Any, gallery: str, kind: str) -> Path:
    """Where the index of ``gallery`` of ``kind`` lives (named by the storage layer, which
    removes it with every compaction)."""
    return _derived_path(db.db.path, gallery, kind)


def save(db: Any, gi: GalleryIndex) -> Path:
    """Write an index (faiss file, or the exact kind's vectors as ``.npy``) and its fingerprint."""
    path = index_path(db, gi.gallery, gi.kind)
    with atomic_path(path) as tmp:
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
    with atomic_path(path.with_name(path.name + ".json")) as tmp:
        tmp.write_text(json.dumps(
            {"gallery": gi.gallery, "model": gi.model, "kind": gi.kind, "fingerprint": list(gi.fingerprint),
             "nlist": getattr(gi.index, "nlist", 0), "tuned": gi.tuned}))
    return path


def load(db: Any, gallery: str, kind: str, model: str, *, build_missing: bool = True,
         progress: Progress | None = None, **opts: Any) -> GalleryIndex:
    """The saved index of a gallery of ``model``'s vectors (checked), brought up to date with the
    database (:func:`sync`); built and saved when there is none (or it cannot be read, or holds
    another model's vectors)."""
    db.galleries.check(gallery, model)
    path = index_path(db, gallery, kind)
    meta_path = path.with_name(path.name + ".json")
    t0 = time.perf_counter()
    try:
        meta = json.loads(meta_path.read_text())
        if meta.get("model", model) != model:
            raise ValueError("an index of another model's vectors")
        tuned = dict(meta["tuned"])  # a file from before indexes tuned themselves is rebuilt
        if "self_recall" in tuned:
            raise KeyError("tuned on its own faces, not on held-out ones: rebuilt")
        knob = SWEEP.get(kind, (None,))[0]
        # the setting chosen when it was built (a rebuild below, if the file fails, tunes afresh)
        saved = {knob: tuned[knob]} if knob in tuned and knob not in opts else {}
        if kind in ("exact", "ivf_pq"):
            with path.open("rb") as fh:
                ids, vecs = np.load(fh), np.load(fh)
                if kind == "exact":
                    idx: Any = ExactIndex(ids, vecs)
                else:
                    idx = _new(kind, db.db.dim, nlist=int(meta.get("nlist", 0)), **opts, **saved)
                    idx.loads(np.load(fh), ids, vecs)
        else:
            import faiss

            raw = faiss.read_index(str(path))
            idx = _new(kind, db.db.dim, nlist=int(meta.get("nlist", 0)), **opts, **saved)
            idx._index, idx._inner = raw, faiss.downcast_index(raw.index)
            idx._ids = faiss.vector_to_array(raw.id_map).astype(np.int64)
            idx.tune()
        gi = GalleryIndex(gallery, kind, idx, tuple(meta["fingerprint"]), 0.0, time.perf_counter() - t0, tuned,
                          model)
    except (OSError, ValueError, KeyError, RuntimeError):
        if not build_missing:
            raise GalleryError(f"{path}: no usable {kind} index; build it first") from None
        gi = build(db, gallery, kind, model, progress=progress, **opts)
        save(db, gi)
        return gi
    added, removed = sync(db, gi)
    if added or removed:
        save(db, gi)
    return gi
