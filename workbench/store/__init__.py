"""The storage layer: one DuckDB file per gallery database. All SQL of the workbench lives here.

:class:`Store` opens a file and composes small parts, each with one job and each given the
objects it needs (nothing is shared through attributes defined elsewhere):

* ``db`` (:mod:`~workbench.store.db`): the connection, locks, transactions and compaction;
  ``schema``: tables and migrations (change the gallery schema there);
* ``galleries``: galleries and the model each holds, the check every vector read and write
  goes through;
* ``faces``: people and faces, and writing them; ``vectors``: reading a gallery's vectors for
  one model (the search matrix, index candidates, bulk reads);
* ``search_log`` (the audit log of searches), ``cache`` (the embedding cache), ``transfer``
  (Parquet export and import), ``removal`` (deletions, counted first, then compaction);
* ``runs`` (watch runs and resume points), ``sightings`` (the sightings log), ``sighting_vectors``
  (its vectors, for a search by photo), ``identities`` (anonymous identities), ``watchlist``.

No part knows a "current" model: every read of vectors names its model and every write is
checked against the gallery's (:class:`~workbench.errors.ModelMismatchError`).
"""

from __future__ import annotations

import os
from typing import Any

from workbench.store.audit import SearchAudit, SearchLog
from workbench.store.cache import EmbeddingCache
from workbench.store.db import MEMORY, Database
from workbench.store.faces import FaceRecord, Faces
from workbench.store.galleries import Galleries
from workbench.store.identities import Identities, identity_id, identity_label
from workbench.store.removal import Removal
from workbench.store.sighting_vectors import SightingMatrix, SightingVectors
from workbench.store.sightings import IdentityRow, Progress, SightingRow, Sightings, SightingUpdate
from workbench.store.transfer import Transfer
from workbench.store.vectors import FaceVersions, GalleryMatrix, Vectors
from workbench.store.watch_runs import RunCamera, WatchRuns
from workbench.store.watchlist import Watchlist


class Store:
    """The workbench database at ``path`` and its parts (see the module docstring).

    Args:
        path: the DuckDB file (``":memory:"``: nothing written to disk), as :class:`Database`.
        dim: the vector size of a file created here; an existing file of another size is refused.
        create, read_only: as :class:`Database`.
    """

    def __init__(self, path: str | os.PathLike, *, dim: int | None = None, create: bool = True,
                 read_only: bool = False) -> None:
        self.db = db = Database(path, dim=dim, create=create, read_only=read_only)
        versions = FaceVersions()
        self.galleries = galleries = Galleries(db)
        self.faces = faces = Faces(db, galleries, versions)
        self.vectors = Vectors(db, galleries, versions)
        self.search_log = search_log = SearchLog(db)
        self.cache = EmbeddingCache(db)
        self.transfer = Transfer(db, galleries, faces)
        self.removal = Removal(db, galleries, versions)
        self.runs = WatchRuns(db, galleries, search_log)
        self.sightings = Sightings(db, galleries)
        self.sighting_vectors = SightingVectors(db, galleries)
        self.identities = Identities(db, galleries, versions)
        self.watchlist = Watchlist(db, galleries)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


__all__ = ["MEMORY", "Database", "FaceRecord", "GalleryMatrix", "IdentityRow", "Progress", "RunCamera", "SearchAudit",
           "SightingMatrix", "SightingRow", "SightingUpdate", "Store", "identity_id", "identity_label"]
