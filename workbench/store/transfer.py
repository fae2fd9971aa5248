"""Moving galleries in and out: Parquet export and import.

An import is all or nothing: the file's vectors keep the model they were exported with, and a
gallery of another model is refused (:meth:`~workbench.store.faces.Faces.add`). Bulk inserts
at benchmark scale are :meth:`~workbench.store.faces.Faces.add_bulk`.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import polars as pl

from workbench.errors import DatabaseError, GalleryError, RangeError
from workbench.files import atomic_path
from workbench.pipeline import zoo
from workbench.store.db import Database, first_line, reads
from workbench.store.faces import FaceRecord, Faces, people_sql
from workbench.store.galleries import Galleries
from workbench.types import Consent


def _consent(row: dict) -> Consent | None:
    """The consent an export carries: given, an exception with its reason, or not recorded
    (older exports carry only the flag: ``false`` there means nothing was recorded)."""
    if row.get("consent"):
        return Consent(True)
    reason = (row.get("consent_reason") or "").strip()
    return Consent(False, reason) if reason else None


class Transfer:
    """Parquet exchange of ``db``'s galleries."""

    def __init__(self, db: Database, galleries: Galleries, faces: Faces) -> None:
        self.db, self.galleries, self.faces = db, galleries, faces

    @reads
    def export_parquet(self, gallery: str, path: str | os.PathLike | io.BytesIO) -> int:
        """Write a gallery's people and faces, with their vectors and the model that made them
        (the ``model`` column), to one Parquet file (or buffer)."""
        gid = self.galleries.id(gallery)
        df = self.db.frame(
            "SELECT g.name AS gallery, p.name AS person, p.notes, p.consent, p.consent_reason, p.consent_at, "
            "f.image_sha256, "
            "f.source_path, f.box, f.landmarks, f.quality, f.det_score, f.model, f.detector, "
            f"f.embedding, f.thumbnail, f.enrolled_at FROM faces f JOIN ({people_sql(self.db.cursor())}) p "
            "ON p.id = f.person_id "
            "JOIN galleries g ON g.id = f.gallery_id WHERE f.gallery_id = ? ORDER BY f.id", [gid]
        )
        if isinstance(path, io.BytesIO):  # a download built in memory: nothing touches the disk
            df.write_parquet(path)
            return df.height
        with atomic_path(path) as tmp:
            df.write_parquet(tmp)
        return df.height

    def import_parquet(self, path: str | os.PathLike, gallery: str | None = None) -> tuple[int, int]:
        """Load a Parquet export into ``gallery`` (default: the one it was exported from).

        Returns ``(faces added, duplicates skipped)``; all or nothing.
        """
        p = Path(path)
        try:
            df = pl.read_parquet(p)
        except FileNotFoundError:
            raise GalleryError(f"{p}: no such file") from None
        except Exception as err:  # polars raises several kinds for a bad file
            raise GalleryError(f"{p}: not a readable Parquet file ({first_line(err)})") from None
        needed = {"gallery", "person", "image_sha256", "model", "embedding", "box", "landmarks"}
        missing = needed - set(df.columns)
        if missing:
            raise GalleryError(f"{p}: not a workbench export (missing columns: {', '.join(sorted(missing))})")
        models_in = sorted(map(str, df["model"].unique().to_list()))
        if len(models_in) > 1:
            raise DatabaseError(f"{p}: holds {', '.join(models_in)} vectors mixed; a gallery keeps one model")
        target = gallery or (df["gallery"][0] if df.height else None)
        if not target:
            raise GalleryError(f"{p}: empty export and no --gallery given")
        if not models_in:  # no vector, so no model to make a gallery for: nothing to do
            if not self.galleries.exists(target):
                raise GalleryError(f"{p}: an empty export (no face, so no model), and no gallery {target!r} "
                                   "to import it into; nothing was changed")
            return 0, 0
        model = models_in[0]
        known = zoo.embedder(model).dim if zoo.has_embedder(model) else None
        if known != self.db.dim:
            fits = ", ".join(n for n in zoo.embedder_names() if zoo.embedder(n).dim == self.db.dim)
            raise DatabaseError(f"{p}: holds {model} vectors; this database stores {self.db.dim}-d vectors "
                                f"(models: {fits})")
        self.galleries.check_writable(target, model)
        self._check_vectors(p, df, model)
        records = []
        for row in df.iter_rows(named=True):
            q = row.get("quality") or {}
            records.append(FaceRecord(
                person=row["person"], image_sha256=row["image_sha256"], source_path=row.get("source_path") or "",
                box=row["box"], landmarks=row["landmarks"], quality=q, det_score=row.get("det_score") or 0.0,
                detector=row.get("detector") or "", embedding=np.asarray(row["embedding"], np.float32),
                thumbnail=row.get("thumbnail") or b"",
            ))
        meta = {r["person"]: (r.get("notes"), _consent(r)) for r in df.iter_rows(named=True)}
        ids, skipped = self.faces.add(target, records, people_meta=meta, model=model)
        return len(ids), skipped

    def _check_vectors(self, p: Path, df: pl.DataFrame, model: str) -> None:
        """Refuse the whole file, in one line, unless every vector is one ``model`` (the file's)
        could have made: of its dimension, finite, of plausible length (its zoo entry's ``implausible``)."""
        rows = df["embedding"].to_list()
        for i, v in enumerate(rows):
            if v is None or len(v) != self.db.dim:
                size = "no" if v is None else f"a {len(v)}-d"
                raise DatabaseError(f"{p}: row {i} has {size} vector, which cannot go in a {model} "
                                    f"({self.db.dim}-d) database; nothing was changed")
        vectors = np.asarray([[np.nan if x is None else x for x in v] for v in rows], np.float64)
        bad, rule = zoo.embedder(model).implausible(vectors)
        if bad.any():
            i = int(np.argmax(bad))
            raise RangeError(f"{p}: {int(bad.sum())} of {len(rows)} vectors are not {model} face vectors "
                             f"(wanted: {rule}; first: row {i}, person {df['person'][i]!r}); nothing was changed")
