"""The embedding cache table: one vector per (image content, model, detector settings).

Every read names the model (it is part of the key). The key is the image's sha256, the model and
the detector with its upsampling and downscaling, since each of these changes the vector; and
``face_rule`` says how the one face of a photo was chosen (a row made under another rule is
not used, and is replaced when the photo is analysed again). Images without a usable face are
cached too (vector ``NULL`` and the reason). The table is created on first use; purge-all
empties it like every other table.
"""

from __future__ import annotations

from typing import Any, Sequence

from workbench.store.db import Database, reads
from workbench.store.results import first

TABLE = "embedding_cache"

#: ``(model, detector, upsample, max_side)``: what, besides the image, decides a vector.
CacheKey = tuple[str, str, int, int]

_DDL = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (image_sha256 VARCHAR NOT NULL, model VARCHAR NOT NULL, "
    "detector VARCHAR NOT NULL, upsample INTEGER NOT NULL, max_side INTEGER NOT NULL, "
    "embedding FLOAT[], box INTEGER[4], faces INTEGER, failure VARCHAR, "
    "cached_at TIMESTAMP DEFAULT current_timestamp, face_rule VARCHAR, "
    "PRIMARY KEY (image_sha256, model, detector, upsample, max_side))"
)


class EmbeddingCache:
    """The ``embedding_cache`` table of ``db``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @reads
    def _exists(self) -> bool:
        row = first(self.db.cursor().execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [TABLE]))
        return bool(row and row[0])

    @reads
    def size(self) -> int:
        """Number of cached images (all models)."""
        if not self._exists():
            return 0
        return int(first(self.db.cursor().execute(f"SELECT count(*) FROM {TABLE}"))[0])

    def clear(self) -> int:
        """Forget every cached embedding; returns how many were removed."""
        if not self._exists():
            return 0
        with self.db.transaction() as cur:
            n = first(cur.execute(f"SELECT count(*) FROM {TABLE}"))[0]
            cur.execute(f"DELETE FROM {TABLE}")
        return int(n)

    @reads
    def _has_rule(self) -> bool:
        row = first(self.db.cursor().execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND column_name = 'face_rule'",
            [TABLE]))
        return bool(row and row[0])

    @reads
    def lookup(self, shas: Sequence[str], key: CacheKey,
                     face_rule: str = "") -> dict[str, tuple[Any, int, str | None, Any]]:
        """``sha256 -> (vector or None, faces found, failure reason, box)`` for the images cached
        under ``key`` and ``face_rule``."""
        if not shas or not self._exists() or not self._has_rule():
            return {}
        rows = self.db.cursor().execute(
            f"SELECT image_sha256, embedding, faces, failure, box FROM {TABLE} WHERE model = ? AND detector = ? "
            "AND upsample = ? AND max_side = ? AND coalesce(face_rule, '') = ? "
            "AND image_sha256 IN (SELECT unnest(?))",
            [*key, face_rule, list(shas)]).fetchall()
        return {r[0]: tuple(r[1:]) for r in rows}

    def store(self, rows: Sequence[tuple], key: CacheKey, face_rule: str = "") -> None:
        """Remember ``(sha256, vector or None, faces found, failure[, box])`` per image, in one
        transaction (a table made before ``face_rule`` existed gains the column first)."""
        if self._exists() and not self._has_rule():
            with self.db.transaction() as cur:
                cur.execute(f"ALTER TABLE {TABLE} ADD COLUMN face_rule VARCHAR")
            self.db.checkpoint()  # see workbench.store.schema: an ALTER is checkpointed at once
        with self.db.transaction() as cur:
            cur.execute(_DDL)
            cur.executemany(
                f"INSERT OR REPLACE INTO {TABLE} (image_sha256, model, detector, upsample, max_side, embedding, "
                "faces, failure, box, face_rule) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[r[0], *key, r[1], r[2], r[3], (list(r[4]) if len(r) > 4 and r[4] is not None else None),
                  face_rule] for r in rows])
