"""The storage layer: one DuckDB file per gallery database. All SQL of the workbench lives here.

:class:`GalleryDB` is the one object the other layers use; its parts are one module each:
``db`` (connection, locks, transactions, compaction), ``schema`` (tables and migrations:
change the gallery schema there), ``gallery`` (galleries, people, faces), ``audit`` (the
search log), ``transfer`` (Parquet exchange, bulk loads), ``cache`` (the embedding cache),
``vectors`` (bulk vector reads for indexes), ``removal`` (what a deletion would remove, counted
first), ``derived`` (files derived from a database), ``sightings`` (watch runs and the sightings
log) and ``identities`` (anonymous identities, watchlists).
"""

from workbench.store.audit import SearchAudit, SearchLog
from workbench.store.cache import EmbeddingCache
from workbench.store.db import MEMORY, Database
from workbench.store.gallery import FaceRecord, GalleryMatrix, GalleryStore
from workbench.store.identities import Identities, identity_label
from workbench.store.sightings import IdentityRow, Progress, SightingRow, Sightings, SightingUpdate
from workbench.store.removal import Removal
from workbench.store.transfer import Transfer
from workbench.store.vectors import Vectors


class GalleryDB(GalleryStore, Removal, SearchLog, Transfer, Vectors, EmbeddingCache, Sightings, Identities,
                Database):
    """The workbench database at ``path`` for vectors of ``model`` (see :class:`Database`)."""

    def __init__(self, *args, **kwargs) -> None:
        self._matrix_cache = {}
        super().__init__(*args, **kwargs)


__all__ = ["MEMORY", "FaceRecord", "GalleryDB", "GalleryMatrix", "IdentityRow", "Progress", "SearchAudit",
           "SightingRow", "SightingUpdate", "identity_label"]
