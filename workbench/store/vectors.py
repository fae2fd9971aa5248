"""Face vectors in bulk, for search indexes and benchmarks: Arrow straight into numpy.

A mixin of :class:`workbench.store.GalleryDB`.
"""

from __future__ import annotations

import numpy as np

from workbench.store.db import reads
from workbench.store.results import first, query_arrow


class Vectors:
    """Bulk reads of a gallery's vectors (a mixin of :class:`~workbench.store.GalleryDB`)."""

    @reads
    def fingerprint(self, gallery: str) -> tuple[int, int, int]:
        """``(faces, max id, xor of id hashes)`` of a gallery: changes on any add or delete."""
        gid = self.gallery_id(gallery)
        row = first(self.cursor().execute(
            "SELECT count(*), coalesce(max(id), 0), coalesce(bit_xor(hash(id)), 0) FROM faces "
            "WHERE gallery_id = ?", [gid]))
        return int(row[0]), int(row[1]), int(row[2])

    @reads
    def face_ids(self, gallery: str) -> np.ndarray:
        """Every face id of a gallery, int64, in no particular order."""
        gid = self.gallery_id(gallery)
        tbl = query_arrow(self.cursor(), "SELECT id FROM faces WHERE gallery_id = ?", [gid])
        return tbl.column("id").to_numpy().astype(np.int64)

    @reads
    def load_vectors(self, gallery: str, *, min_id: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(face ids int64 (N,), vectors float32 (N, dim))`` of a gallery, by id, straight from
        Arrow; ``min_id`` keeps only faces with an id from that value on."""
        gid = self.gallery_id(gallery)
        where, params = ("AND id >= ?", [gid, int(min_id)]) if min_id is not None else ("", [gid])
        tbl = query_arrow(self.cursor(), f"SELECT id, embedding FROM faces WHERE gallery_id = ? {where} ORDER BY id",
                          params)
        ids = tbl.column("id").to_numpy().astype(np.int64)
        if not len(ids):
            return ids, np.zeros((0, self.dim), np.float32)
        emb = tbl.column("embedding").combine_chunks()
        vecs = emb.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
        return ids, np.ascontiguousarray(vecs.reshape(-1, self.dim))

    def set_memory_limit(self, limit: str) -> None:
        """Cap DuckDB's own cache (``"4GB"``), leaving memory to vectors held in numpy."""
        self.cursor().execute(f"SET memory_limit = '{limit.replace(chr(39), '')}'")
