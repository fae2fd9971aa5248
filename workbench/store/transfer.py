"""Moving galleries in and out: Parquet export and import, and bulk inserts at benchmark scale.

A mixin of :class:`workbench.store.GalleryDB`. An import is all or nothing.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import polars as pl

from workbench.errors import DatabaseError, GalleryError, RangeError
from workbench.files import atomic_path
from workbench.pipeline import zoo
from workbench.store.db import first_line, reads
from workbench.store.gallery import FaceRecord, people_sql
from workbench.types import Consent


def _consent(row: dict) -> Consent | None:
    """The consent an export carries: given, an exception with its reason, or not recorded
    (older exports carry only the flag: ``false`` there means nothing was recorded)."""
    if row.get("consent"):
        return Consent(True)
    reason = (row.get("consent_reason") or "").strip()
    return Consent(False, reason) if reason else None


class Transfer:
    """Parquet exchange and bulk loads (a mixin of :class:`~workbench.store.GalleryDB`)."""

    @reads
    def export_parquet(self, gallery: str, path: str | os.PathLike | io.BytesIO) -> int:
        """Write a gallery's people and faces (with vectors) to one Parquet file (or buffer)."""
        gid = self.gallery_id(gallery)
        df = self._frame(
            "SELECT g.name AS gallery, p.name AS person, p.notes, p.consent, p.consent_reason, p.consent_at, "
            "f.image_sha256, "
            "f.source_path, f.box, f.landmarks, f.quality, f.det_score, f.model, f.detector, "
            f"f.embedding, f.thumbnail, f.enrolled_at FROM faces f JOIN ({people_sql(self.cursor())}) p "
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
        model = models_in[0] if models_in else self.model
        known = zoo.embedder(model).dim if zoo.has_embedder(model) else None
        if df.height and known != self.dim:
            raise DatabaseError(f"{p}: holds {model} vectors; this database stores {self.dim}-d vectors "
                                f"({self.file_model} and models of that size)")
        target = gallery or (df["gallery"][0] if df.height else None)
        if not target:
            raise GalleryError(f"{p}: empty export and no --gallery given")
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
        ids, skipped = self.add_faces(target, records, people_meta=meta, model=model)
        return len(ids), skipped

    def _check_vectors(self, p: Path, df: pl.DataFrame, model: str) -> None:
        """Refuse the whole file, in one line, unless every vector is one ``model`` (the file's)
        could have made: of its dimension, finite, of plausible length (its zoo entry's ``implausible``)."""
        rows = df["embedding"].to_list()
        for i, v in enumerate(rows):
            if v is None or len(v) != self.dim:
                size = "no" if v is None else f"a {len(v)}-d"
                raise DatabaseError(f"{p}: row {i} has {size} vector, which cannot go in a {model} "
                                    f"({self.dim}-d) database; nothing was changed")
        vectors = np.asarray([[np.nan if x is None else x for x in v] for v in rows], np.float64)
        bad, rule = zoo.embedder(model).implausible(vectors)
        if bad.any():
            i = int(np.argmax(bad))
            raise RangeError(f"{p}: {int(bad.sum())} of {len(rows)} vectors are not {model} face vectors "
                             f"(wanted: {rule}; first: row {i}, person {df['person'][i]!r}); nothing was changed")

    def add_vectors_bulk(self, gallery: str, people: Sequence[str], person_index: np.ndarray,
                         vectors: np.ndarray, *, sha_prefix: str = "bulk:", detector: str = "",
                         chunk: int = 500_000, model: str | None = None) -> int:
        """Append many faces at once through Arrow, in one transaction; returns faces added.

        For synthetic galleries of millions of faces (no thumbnails, landmarks or quality).
        ``people`` names the identities, ``person_index[i]`` is row ``i``'s index into it, and
        each row's image hash is ``sha_prefix`` followed by its row number.
        """
        import pyarrow as pa

        vecs = np.asarray(vectors, np.float32)
        model = model or self.model
        if vecs.ndim != 2 or vecs.shape[1] != self.dim:
            raise DatabaseError(f"{self.path}: vectors must be (N, {self.dim}) for {model}; nothing was changed")
        pidx = np.asarray(person_index, np.int64)
        with self.transaction() as cur:
            gid = self.gallery_id(gallery, create=True, cur=cur, model=model)
            self._adopt_model(cur, gid, gallery, model)
            cur.register("_bulk_people", pa.table({"name": pa.array(list(people), pa.string())}))
            cur.execute("INSERT INTO people (gallery_id, name) SELECT DISTINCT ?, name FROM _bulk_people "
                        "WHERE name NOT IN (SELECT name FROM people WHERE gallery_id = ?)", [gid, gid])
            cur.unregister("_bulk_people")
            ids = dict(cur.execute("SELECT name, id FROM people WHERE gallery_id = ?", [gid]).fetchall())
            pid_of = np.array([ids[p] for p in people], np.int64)
            for s in range(0, len(vecs), chunk):
                v = np.ascontiguousarray(vecs[s:s + chunk])
                part = pa.table({
                    "n": pa.array(np.arange(s, s + len(v), dtype=np.int64)),
                    "person_id": pa.array(pid_of[pidx[s:s + chunk]]),
                    "embedding": pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1)), self.dim),
                })
                cur.register("_bulk_faces", part)
                cur.execute(
                    "INSERT INTO faces (gallery_id, person_id, image_sha256, source_path, model, detector, "
                    f"embedding) SELECT ?, person_id, ? || n, '', ?, ?, embedding::FLOAT[{self.dim}] "
                    "FROM _bulk_faces ORDER BY n", [gid, sha_prefix, model, detector])
                cur.unregister("_bulk_faces")
        self._faces_changed(gid)
        return int(len(vecs))

