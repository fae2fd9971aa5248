"""Galleries and the model each holds: listing, creating, and the model check every read and
write of vectors goes through.

A gallery states its model when it is made (``galleries.model``), and from then on holds that
model's vectors only: its faces, its sightings' vectors and its anonymous identities. Another
model is refused (:class:`~workbench.errors.ModelMismatchError`), whether the gallery holds faces
yet or not, so one rule answers everywhere (search, enrol, import, watch, naming an identity).
Nothing here creates a gallery as a side effect of a read: only :meth:`Galleries.create` and
writes that are asked to (enrolment, import) make one.

A file of an older version opened read-only has no ``galleries.model`` column: all its
galleries are the model the file was made for.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from workbench.errors import DatabaseError, GalleryError, ModelMismatchError
from workbench.pipeline.embed import model_info
from workbench.store.db import Database, reads
from workbench.store.results import first


class Galleries:
    """The ``galleries`` table of ``db``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _model_sql(self) -> tuple[str, list]:
        """SQL for a gallery's model (alias ``g``) and its parameters."""
        return ("coalesce(g.model, ?)" if self.db.gallery_models else "?"), [self.db.file_model]

    @reads
    def list(self) -> pl.DataFrame:
        """Every gallery with its model, people and face counts."""
        expr, params = self._model_sql()
        return self.db.frame(
            f"SELECT g.name AS gallery, {expr} AS model, "
            "(SELECT count(*) FROM people p WHERE p.gallery_id = g.id) AS people, "
            "(SELECT count(*) FROM faces f WHERE f.gallery_id = g.id) AS faces, g.created_at "
            "FROM galleries g ORDER BY g.name", params
        )

    @reads
    def exists(self, name: str) -> bool:
        return first(self.db.cursor().execute("SELECT 1 FROM galleries WHERE name = ?", [name])) is not None

    @reads
    def id(self, name: str, *, cur: Any = None) -> int:
        """Id of gallery ``name``; :class:`GalleryError` (naming the known ones) if there is none."""
        cur = cur or self.db.cursor()
        row = first(cur.execute("SELECT id FROM galleries WHERE name = ?", [name]))
        if row:
            return int(row[0])
        known = [r[0] for r in cur.execute("SELECT name FROM galleries ORDER BY name").fetchall()]
        hint = f"; known: {', '.join(known)}" if known else "; there are no galleries yet"
        raise GalleryError(f"unknown gallery {name!r}{hint}")

    @reads
    def model(self, name: str, *, cur: Any = None) -> str:
        """The model whose vectors gallery ``name`` holds (:class:`GalleryError` if unknown)."""
        cur = cur or self.db.cursor()
        gid = self.id(name, cur=cur)
        expr, params = self._model_sql()
        return str(first(cur.execute(f"SELECT {expr} FROM galleries g WHERE g.id = ?", params + [gid]))[0])

    @reads
    def size(self, name: str) -> int:
        """Faces in gallery ``name`` (:class:`GalleryError` if unknown)."""
        gid = self.id(name)
        return int(first(self.db.cursor().execute("SELECT count(*) FROM faces WHERE gallery_id = ?", [gid]))[0])

    @reads
    def check(self, name: str, model: str, *, cur: Any = None) -> int:
        """The id of gallery ``name`` once it is known to hold ``model``'s vectors: an unknown
        gallery is a :class:`GalleryError`, one of another model a :class:`ModelMismatchError`
        (empty or not). Callers check before any model time."""
        cur = cur or self.db.cursor()
        gid = self.id(name, cur=cur)
        have = self.model(name, cur=cur)
        if have != model:
            raise ModelMismatchError(name, have, model)
        return gid

    def check_writable(self, name: str, model: str) -> None:
        """Refuse, before any model time, what :meth:`writable` would refuse: a model whose vectors
        are of another size than this file's, or an existing gallery of another model."""
        self._fits(model)
        if self.exists(name):
            self.check(name, model)

    def _fits(self, model: str) -> None:
        dim = model_info(model).dim
        if dim != self.db.dim:
            raise DatabaseError(f"{self.db.path}: holds {self.db.dim}-d vectors; {model} makes {dim}-d vectors, "
                                "which need a file of their own; nothing was changed")

    def writable(self, cur: Any, name: str, model: str, *, create: bool) -> int:
        """Inside a write: the id of gallery ``name`` for vectors of ``model``, made for ``model``
        when missing and ``create``; a gallery of another model is refused."""
        self._fits(model)
        if create and not self.exists(name):
            if not name or not name.strip():
                raise GalleryError("a gallery needs a non-empty name")
            return int(first(cur.execute("INSERT INTO galleries (name, model) VALUES (?, ?) RETURNING id",
                                         [name, model]))[0])
        return self.check(name, model, cur=cur)

    def create(self, name: str, model: str) -> int:
        """Make gallery ``name`` for ``model``'s vectors (one that exists for ``model`` is kept as
        it is; one of another model is refused); returns its id."""
        with self.db.transaction() as cur:
            return self.writable(cur, name, model, create=True)
