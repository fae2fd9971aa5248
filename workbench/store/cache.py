"""The embedding cache table: one vector per (image content, model, detector settings).

A mixin of :class:`workbench.store.GalleryDB`. The key is the image's sha256, the model and
the detector with its upsampling and downscaling, since each of these changes the vector.
Images without a usable face are cached too (vector ``NULL`` and the reason). The table is
created on first use; purge-all empties it like every other table.
"""

from __future__ import annotations

from typing import Any, Sequence

from workbench.store.db import reads
from workbench.store.results import first

TABLE = "embedding_cache"

#: ``(model, detector, upsample, max_side)``: what, besides the image, decides a vector.
CacheKey = tuple[str, str, int, int]

_DDL = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (image_sha256 VARCHAR NOT NULL, model VARCHAR NOT NULL, "
    "detector VARCHAR NOT NULL, upsample INTEGER NOT NULL, max_side INTEGER NOT NULL, "
    "embedding FLOAT[], box INTEGER[4], faces INTEGER, failure VARCHAR, "
    "cached_at TIMESTAMP DEFAULT current_timestamp, "
    "PRIMARY KEY (image_sha256, model, detector, upsample, max_side))"
)


class EmbeddingCache:
    """The ``embedding_cache`` table (a mixin of :class:`~workbench.store.GalleryDB`)."""

    @reads
    def _cache_exists(self) -> bool:
        row = first(self.cursor().execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [TABLE]))
        return bool(row and row[0])

    @reads
    def cache_size(self) -> int:
        """Number of cached images (all models)."""
        if not self._cache_exists():
            return 0
        return int(first(self.cursor().execute(f"SELECT count(*) FROM {TABLE}"))[0])

    def cache_clear(self) -> int:
        """Forget every cached embedding; returns how many were removed."""
        if not self._cache_exists():
            return 0
        with self.transaction() as cur:
            n = first(cur.execute(f"SELECT count(*) FROM {TABLE}"))[0]
            cur.execute(f"DELETE FROM {TABLE}")
        return int(n)

    @reads
    def cache_lookup(self, shas: Sequence[str], key: CacheKey) -> dict[str, tuple[Any, int, str | None]]:
        """``sha256 -> (vector or None, faces found, failure reason)`` for the cached images."""
        if not shas or not self._cache_exists():
            return {}
        rows = self.cursor().execute(
            f"SELECT image_sha256, embedding, faces, failure FROM {TABLE} WHERE model = ? AND detector = ? "
            "AND upsample = ? AND max_side = ? AND image_sha256 IN (SELECT unnest(?))",
            [*key, list(shas)]).fetchall()
        return {r[0]: tuple(r[1:]) for r in rows}

    def cache_store(self, rows: Sequence[tuple[str, list[float] | None, int, str | None]], key: CacheKey) -> None:
        """Remember ``(sha256, vector or None, faces found, failure)`` per image, in one transaction."""
        with self.transaction() as cur:
            cur.execute(_DDL)
            cur.executemany(
                f"INSERT OR REPLACE INTO {TABLE} (image_sha256, model, detector, upsample, max_side, embedding, "
                "faces, failure) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [[sha, *key, vec, n, why] for sha, vec, n, why in rows])
