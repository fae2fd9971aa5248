"""Which model's vectors each gallery holds (a mixin of :class:`~workbench.store.GalleryDB`,
through :class:`~workbench.store.gallery.GalleryStore`).

Each gallery states its model (``galleries.model``); a file of an older version opened
read-only has no such column, and all its galleries are the file's model. A gallery holding
faces of one model refuses another's (:class:`~workbench.errors.ModelMismatchError`); an empty
gallery takes the model of its first faces.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from workbench.errors import ModelMismatchError
from workbench.store.db import reads
from workbench.store.results import first


class GalleryModels:
    """Gallery models: listing, checking, adopting."""

    def _model_sql(self) -> tuple[str, list]:
        """SQL for a gallery's model (alias ``g``) and its parameters; a file of an older version
        opened read-only has no ``galleries.model`` column: all its galleries are the file's model."""
        return ("coalesce(g.model, ?)" if self.gallery_models else "?"), [self.file_model]

    @reads
    def galleries(self) -> pl.DataFrame:
        """Every gallery with its model, people and face counts."""
        expr, params = self._model_sql()
        return self._frame(
            f"SELECT g.name AS gallery, {expr} AS model, "
            "(SELECT count(*) FROM people p WHERE p.gallery_id = g.id) AS people, "
            "(SELECT count(*) FROM faces f WHERE f.gallery_id = g.id) AS faces, g.created_at "
            "FROM galleries g ORDER BY g.name", params
        )

    @reads
    def gallery_model(self, name: str, *, cur: Any = None) -> str:
        """The model whose vectors gallery ``name`` holds (:class:`GalleryError` if unknown)."""
        cur = cur or self.cursor()
        gid = self.gallery_id(name, cur=cur)
        expr, params = self._model_sql()
        return str(first(cur.execute(f"SELECT {expr} FROM galleries g WHERE g.id = ?", params + [gid]))[0])

    @reads
    def check_gallery_model(self, name: str, model: str, *, must_exist: bool = False) -> None:
        """Refuse (:class:`ModelMismatchError`) to use gallery ``name`` with ``model`` when it holds
        faces of another model; a gallery that does not exist yet (unless ``must_exist``) or is
        empty is fine. Callers check before any model time."""
        cur = self.cursor()
        if not must_exist and first(cur.execute("SELECT 1 FROM galleries WHERE name = ?", [name])) is None:
            return
        have = self.gallery_model(name, cur=cur)
        if have != model and first(cur.execute("SELECT count(*) FROM faces f JOIN galleries g ON g.id = "
                                               "f.gallery_id WHERE g.name = ?", [name]))[0]:
            raise ModelMismatchError(name, have, model)

    def _adopt_model(self, cur: Any, gid: int, gallery: str, model: str) -> None:
        """Inside a write: refuse a gallery holding another model's faces; an empty one takes ``model``."""
        have = self.gallery_model(gallery, cur=cur)
        if have == model:
            return
        if first(cur.execute("SELECT count(*) FROM faces WHERE gallery_id = ?", [gid]))[0]:
            raise ModelMismatchError(gallery, have, model)
        cur.execute("UPDATE galleries SET model = ? WHERE id = ?", [model, gid])
