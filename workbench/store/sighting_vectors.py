"""The sightings log's vectors, for a search by photo ("where was this face seen?").

Every sighting keeps the vector of the identification decision that opened it (one per track
and decision, known people and anonymous faces alike; ``dim`` float32 values, 512 bytes for
Dlib and SFace), with the model of its run, which is the gallery's. A read names the model the
vectors will be compared with, and a gallery of another model is refused
(:meth:`~workbench.store.galleries.Galleries.check`) before anything is read. Deleting a person
or a gallery deletes their sightings, vectors included (:func:`~workbench.store.sightings.forget_sightings`).

The matrix is cached until the gallery's log changes (a new sighting, a deletion), so a page
that searches twice reads the file once.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from workbench.errors import DatabaseError
from workbench.store.db import Database, reads
from workbench.store.galleries import Galleries
from workbench.store.results import first, query_arrow


@dataclass(frozen=True, eq=False)
class SightingMatrix:
    """Every searchable sighting of one gallery: ``ids`` int64 ``(n,)`` and ``vectors`` float32
    ``(n, dim)`` in the same order (by id), of ``model``. ``unsearchable`` counts the gallery's
    sightings without a vector (logged before every sighting kept one)."""

    ids: np.ndarray
    vectors: np.ndarray
    model: str
    gallery: str
    unsearchable: int = 0

    @property
    def size(self) -> int:
        return int(self.ids.shape[0])


class SightingVectors:
    """Reads (and, for benchmarks, bulk writes) of the vectors in ``db``'s sightings log."""

    def __init__(self, db: Database, galleries: Galleries) -> None:
        self.db, self.galleries = db, galleries
        self._lock = threading.Lock()
        self._cache: dict[tuple[int, str], tuple[tuple, SightingMatrix]] = {}

    def _state(self, cur, gid: int, model: str) -> tuple:
        """What changes whenever a sighting of the gallery is added, deleted or loses its vector."""
        return tuple(first(cur.execute(
            "SELECT count(*), count(embedding) FILTER (WHERE model = ?), coalesce(max(id), 0), "
            "coalesce(bit_xor(hash(id)) FILTER (WHERE embedding IS NOT NULL), 0) FROM sightings "
            "WHERE gallery_id = ?", [model, gid])))

    @reads
    def matrix(self, gallery: str, model: str) -> SightingMatrix:
        """The vectors of every sighting of ``gallery`` as one ``(n, dim)`` float32 array.
        ``model`` is the model of the vector they will be compared with: a gallery of another
        model is a :class:`~workbench.errors.ModelMismatchError`, an unknown one a
        :class:`~workbench.errors.GalleryError`."""
        cur = self.db.cursor()
        gid = self.galleries.check(gallery, model, cur=cur)
        state = self._state(cur, gid, model)
        with self._lock:
            cached = self._cache.get((gid, model))
        if cached and cached[0] == state and cached[1].gallery == gallery:
            return cached[1]
        dim = self.db.dim
        tbl = query_arrow(cur, "SELECT id, embedding FROM sightings WHERE gallery_id = ? AND model = ? "
                               "AND len(embedding) = ? ORDER BY id", [gid, model, dim])
        ids = tbl.column("id").to_numpy().astype(np.int64)
        if len(ids):
            flat = tbl.column("embedding").combine_chunks().flatten()
            vecs = np.ascontiguousarray(flat.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
                                        .reshape(-1, dim))
        else:
            vecs = np.zeros((0, dim), np.float32)
        m = SightingMatrix(ids, vecs, model, gallery, int(state[0]) - len(ids))
        with self._lock:
            self._cache[(gid, model)] = (state, m)
        return m

    def add_bulk(self, gallery: str, model: str, run_id: int, cameras: Sequence[str], camera_index: np.ndarray,
                 tracks: np.ndarray, video_s: np.ndarray, start: dt.datetime, vectors: np.ndarray | None,
                 chunk: int = 250_000) -> int:
        """Append many synthetic sightings of ``model`` (the gallery's: checked) at once through
        Arrow, in one transaction, for benchmarks of millions (no person, identity, box or chip):
        row ``i`` is track ``tracks[i]`` of camera ``cameras[camera_index[i]]`` at ``video_s[i]``
        seconds (wall clock ``start`` plus that), with vector ``vectors[i]`` (``None``: no vectors,
        to measure what they cost). Returns the sightings added."""
        import pyarrow as pa

        n = len(tracks)
        dim = self.db.dim
        vecs = None if vectors is None else np.asarray(vectors, np.float32)
        if vecs is not None and (vecs.shape != (n, dim)):
            raise DatabaseError(f"{self.db.path}: vectors must be (N, {dim}) for {model}; nothing was changed")
        ids = self.db.next_ids("sighting_ids", n) if n else []
        cams = np.asarray(list(cameras), dtype=object)[np.asarray(camera_index, np.int64)]
        with self.db.transaction() as cur:
            gid = self.galleries.check(gallery, model, cur=cur)
            for s in range(0, n, chunk):
                t = np.asarray(video_s[s:s + chunk], np.float64)
                if vecs is None:
                    emb = pa.nulls(len(t), pa.list_(pa.float32()))
                else:
                    v = np.ascontiguousarray(vecs[s:s + chunk])
                    emb = pa.ListArray.from_arrays(pa.array(np.arange(0, (len(v) + 1) * dim, dim, dtype=np.int32)),
                                                   pa.array(v.reshape(-1)))
                part = pa.table({
                    "id": pa.array(np.asarray(ids[s:s + chunk], np.int64)),
                    "camera": pa.array(list(cams[s:s + chunk]), pa.string()),
                    "track": pa.array(np.asarray(tracks[s:s + chunk], np.int32)),
                    "video_s": pa.array(t),
                    "embedding": emb,
                })
                cur.register("_bulk_sightings", part)
                cur.execute(
                    "INSERT INTO sightings (id, run_id, gallery_id, camera, source, track, decision, first_frame, "
                    "last_frame, first_video_s, last_video_s, first_seen, last_seen, threshold, model, embedding) "
                    "SELECT id, ?, ?, camera, 'synthetic', track, 1, 0, 0, video_s, video_s, "
                    "?::TIMESTAMP + to_microseconds((video_s * 1e6)::BIGINT), "
                    "?::TIMESTAMP + to_microseconds((video_s * 1e6)::BIGINT), 0.0, ?, embedding "
                    "FROM _bulk_sightings ORDER BY id", [int(run_id), gid, start, start, model])
                cur.unregister("_bulk_sightings")
            cur.execute("UPDATE watch_runs SET sightings = sightings + ? WHERE id = ?", [n, int(run_id)])
        return n
