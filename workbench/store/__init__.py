"""The storage layer: one DuckDB file per gallery database. All SQL of the workbench lives here.

:class:`GalleryDB` is the one object the other layers use; its parts are one module each:
``db`` (connection, locks, transactions, compaction), ``schema`` (tables and migrations:
change the gallery schema there), ``gallery`` (galleries, people, faces), ``audit`` (the
search log), ``transfer`` (Parquet exchange, bulk loads), ``cache`` (the embedding cache),
``vectors`` (bulk vector reads for indexes), ``removal`` (what a deletion would remove, counted
first) and ``derived`` (files derived from a database).
"""

from workbench.store.audit import SearchAudit, SearchLog
from workbench.store.cache import EmbeddingCache
from workbench.store.db import MEMORY, Database
from workbench.store.gallery import FaceRecord, GalleryMatrix, GalleryStore
from workbench.store.removal import Removal
from workbench.store.transfer import Transfer
from workbench.store.vectors import Vectors


class GalleryDB(GalleryStore, Removal, SearchLog, Transfer, Vectors, EmbeddingCache, Database):
    """The workbench database at ``path`` for vectors of ``model`` (see :class:`Database`)."""

    def __init__(self, *args, **kwargs) -> None:
        self._matrix_cache = {}
        super().__init__(*args, **kwargs)


__all__ = ["MEMORY", "FaceRecord", "GalleryDB", "GalleryMatrix", "SearchAudit"]
