"""The search log: every search recorded for audit, with the model its vectors came from,
and its export. Logging a search never changes the faces, so it keeps every search matrix
(see :class:`~workbench.store.vectors.FaceVersions`).
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import polars as pl

from workbench.errors import GalleryError
from workbench.files import atomic_path
from workbench.store.db import Database, reads


@dataclass(frozen=True)
class SearchAudit:
    """What a search log row records besides results and latency, to audit it later.

    ``probe_image`` (JPEG bytes) is stored only when the user asked to keep the probe;
    otherwise only its sha256, size and face boxes are kept. ``probe_boxes`` lists every face
    found and ``probe_quality`` its quality verdict (``"ok"`` or the gate's reason; a rejected
    face is not searched and its result lists are empty).
    """

    client: str = "library"
    probe_sha256: str = ""
    probe_width: int = 0
    probe_height: int = 0
    probe_boxes: tuple[tuple[int, int, int, int], ...] = ()
    probe_quality: tuple[str, ...] = ()
    upsample: int | None = None
    max_side: int | None = None
    per_person: bool | None = None
    similarity_base: float | None = None
    gallery_faces: int | None = None
    result_people: tuple[tuple[str, ...], ...] = ()
    result_match: tuple[tuple[bool, ...], ...] = ()
    probe_image: bytes | None = None



class SearchLog:
    """The ``searches`` table of ``db``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, *, gallery: str, model: str, detector: str, metric: str, threshold: float, top_k: int,
            result_face_ids: list[list[int]], result_distances: list[list[float]],
            detect_ms: float, embed_ms: float, search_ms: float, source: str = "",
            audit: SearchAudit | None = None) -> None:
        """Append one search with vectors of ``model`` to the log; ``audit`` adds what an auditor
        needs (see :class:`SearchAudit`)."""
        a = audit or SearchAudit()
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO searches (gallery, model, detector, metric, threshold, top_k, n_faces, "
                "result_face_ids, result_distances, detect_ms, embed_ms, search_ms, source, "
                "workbench_version, client, probe_sha256, probe_width, probe_height, probe_boxes, "
                "upsample, max_side, per_person, similarity_base, gallery_faces, result_people, "
                "result_match, probe_image, probe_quality) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [gallery, model, detector, metric, float(threshold), int(top_k), len(result_face_ids),
                 result_face_ids, result_distances, float(detect_ms), float(embed_ms), float(search_ms), source,
                 _version(), a.client, a.probe_sha256, a.probe_width, a.probe_height,
                 [list(map(int, b)) for b in a.probe_boxes], a.upsample, a.max_side, a.per_person,
                 a.similarity_base, a.gallery_faces, [list(p) for p in a.result_people],
                 [list(m) for m in a.result_match], a.probe_image, list(a.probe_quality)],
            )

    @reads
    def rows(self, limit: int | None = None) -> pl.DataFrame:
        """The log, newest first."""
        sql = "SELECT * FROM searches ORDER BY id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return self.db.frame(sql)

    def export(self, path: str | os.PathLike | io.BytesIO, *, kind: str | None = None,
                          with_probes: bool = False) -> int:
        """Write the search log to ``.csv``, ``.json`` (one object per line) or ``.parquet``.

        ``path`` may be an in-memory buffer (then ``kind`` names the format), so the app can
        offer a download without writing a file. Nested columns become JSON text in CSV.
        Stored probe images go only into Parquet, and only with ``with_probes``. Returns the
        number of searches written.
        """
        buffer = isinstance(path, io.BytesIO)
        kind = (kind or ("" if buffer else Path(path).suffix)).lower().lstrip(".")
        if kind not in ("csv", "json", "jsonl", "parquet"):
            raise GalleryError(f"{path}: export the search log as .csv, .json or .parquet")
        log = self.rows().sort("id")
        if not (with_probes and kind == "parquet"):
            log = log.drop("probe_image", strict=False)
        if kind == "csv":
            nested = [c for c, t in log.schema.items() if t.is_nested()]
            log = log.with_columns(pl.col(c).map_elements(_json_list, return_dtype=pl.String) for c in nested)
        write = {"parquet": log.write_parquet, "csv": log.write_csv}.get(kind, log.write_ndjson)
        if buffer:
            write(path)
            return log.height
        with atomic_path(path) as tmp:
            write(tmp)
        return log.height



def forget_in_log(cur: Any, face_ids: Sequence[int]) -> None:
    """Delete the search-log rows whose results include any of ``face_ids``."""
    if face_ids:
        cur.execute("DELETE FROM searches WHERE list_has_any(flatten(result_face_ids), ?::BIGINT[])",
                    [list(map(int, face_ids))])


def _json_list(value: Any) -> str:
    return json.dumps(value.to_list() if isinstance(value, pl.Series) else value)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("face-workbench")
    except Exception:  # noqa: BLE001 - a source checkout that is not installed
        return "unknown"
