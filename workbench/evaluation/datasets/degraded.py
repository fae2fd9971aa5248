"""Degraded photos, measured once and kept: what each model/detector finds in a photo at each
degradation level (:mod:`workbench.pipeline.degrade`), in part files a long run adds to and a
re-run reads instead of computing again.

For every photo: its *reference* face (YuNet's central face on the photo as it is: the box whose
width the width levels scale, the five points the occlusions are drawn from, and the yaw that bins
pairs by pose); then, for each model/detector and level, the face the project's rule compares (the
central one, weighted by size, as :func:`~workbench.pipeline.choose_face`), what the quality gate
measures on it (size, light, sharpness, yaw) and its vector. The gate's *verdict* is not stored:
the measurements are, so any gate's limits can be applied afterwards
(:func:`workbench.pipeline.quality.decide`).

A part file is a Parquet table, one row per (photo, model/detector, level), written whole when a
batch of photos is done (:class:`PartStore`). Rows are keyed by the photo's sha256, so a moved data
set is still found, and by :data:`workbench.pipeline.degrade.VERSION`: a change to the operations
recomputes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from workbench.pipeline import Settings, analyze, capture, degrade, detect, quality
from workbench.pipeline.analyze import central_face, face_score
from workbench.types import YUNET5

#: The combination name of the reference rows (the face every level is scaled and drawn from).
REFERENCE = "reference"
#: Photos per batch: a run that stops loses at most one batch per worker.
BATCH = 24


def combo_label(settings: Settings) -> str:
    return f"{settings.detector} + {settings.model}"


def reference_face(image: np.ndarray) -> degrade.Reference | None:
    """YuNet's central face on the photo as it is (``None``: YuNet finds no face)."""
    dets = detect.detect_faces(image, "yunet")
    if not dets:
        return None
    h, w = image.shape[:2]
    d = max(dets, key=lambda x: face_score(x.box, w, h))
    return degrade.Reference(d.box, d.landmarks_array())


def _row(sha: str, photo: str, combo: str, level: str, **values) -> dict:
    base = {"sha256": sha, "photo": photo, "combo": combo, "level": level, "version": degrade.VERSION,
            "faces": 0, "found": False, "size": None, "exposure": None, "sharpness": None, "yaw": None,
            "vector": None}
    base.update(values)
    return base


def measure_photo(path: str, combos: Sequence[Settings], levels: Sequence[degrade.Level],
                  done: frozenset = frozenset()) -> list[dict]:
    """Rows for one photo: its reference, then every (combo, level) not in ``done`` (a set of
    ``(combo label, level id)``). A photo that cannot be read gives no row (it is skipped and
    listed by the caller); a photo without a reference face gives its reference row only."""
    data = capture.read_bytes(path)
    sha = capture.sha256(data)
    image = capture.load_image(data, name=path)
    ref = reference_face(image)
    rows = [_row(sha, path, REFERENCE, degrade.AS_PHOTOGRAPHED.id, faces=int(ref is not None), found=ref is not None,
                 size=None if ref is None else ref.width,
                 yaw=None if ref is None else quality.yaw_from_landmarks(ref.points, YUNET5))]
    if ref is None:
        return rows
    for level in levels:
        todo = [s for s in combos if (combo_label(s), level.id) not in done]
        if not todo:
            continue
        degraded = degrade.apply(image, level, ref)
        for s in todo:
            a = analyze(degraded, s)
            i = central_face(a.faces, a.shape)
            if i is None:
                rows.append(_row(sha, path, combo_label(s), level.id, faces=len(a.faces)))
                continue
            f = a.faces[i]
            q = f.quality
            rows.append(_row(sha, path, combo_label(s), level.id, faces=len(a.faces), found=True, size=q.size,
                             exposure=q.exposure, sharpness=q.sharpness, yaw=q.yaw,
                             vector=f.embedding.vector.astype(np.float32).tolist()))
    return rows


def measure_batch(paths: Sequence[str], combos: Sequence[Settings], levels: Sequence[degrade.Level],
                  done: dict[str, frozenset]) -> tuple[list[dict], list[str]]:
    """:func:`measure_photo` over a batch (a worker's task): ``(rows, unreadable paths)``."""
    from workbench.errors import ImageError

    rows, bad = [], []
    for p in paths:
        try:
            rows += measure_photo(p, combos, levels, done.get(p, frozenset()))
        except ImageError:
            bad.append(p)
    return rows, bad


@dataclass(frozen=True, eq=False)
class Outcomes:
    """Every stored row of one data set, as columns (one entry per row)."""

    sha256: np.ndarray
    photo: np.ndarray
    combo: np.ndarray
    level: np.ndarray
    faces: np.ndarray
    found: np.ndarray
    size: np.ndarray
    exposure: np.ndarray
    sharpness: np.ndarray
    yaw: np.ndarray
    vectors: list

    def select(self, combo: str, level: str) -> dict[str, int]:
        """``sha256 -> row index`` of one combination at one level."""
        sel = np.flatnonzero((self.combo == combo) & (self.level == level))
        return {self.sha256[i]: int(i) for i in sel}


class PartStore:
    """The part files of one data set under ``folder`` (``<name>-<time>-<pid>.parquet``)."""

    def __init__(self, folder: str | os.PathLike, name: str) -> None:
        self.folder = Path(folder)
        self.name = name

    def files(self) -> list[Path]:
        return sorted(self.folder.glob(f"{self.name}-*.parquet")) if self.folder.is_dir() else []

    def frame(self):
        import polars as pl

        files = self.files()
        if not files:
            return None
        df = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
        df = df.filter(pl.col("version") == degrade.VERSION)
        return df.unique(subset=["sha256", "combo", "level"], keep="last", maintain_order=True)

    def done(self) -> dict[str, set[tuple[str, str]]]:
        """``sha256 -> {(combo, level id)}`` already measured (the reference counts as ``(reference, as-is)``)."""
        df = self.frame()
        out: dict[str, set[tuple[str, str]]] = {}
        if df is None:
            return out
        for sha, combo, level in df.select("sha256", "combo", "level").iter_rows():
            out.setdefault(sha, set()).add((combo, level))
        return out

    def save(self, rows: list[dict]) -> Path | None:
        """Write one part atomically (``None`` for no rows)."""
        import polars as pl

        from workbench.files import atomic_path

        if not rows:
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        df = pl.DataFrame(rows, schema={"sha256": pl.Utf8, "photo": pl.Utf8, "combo": pl.Utf8, "level": pl.Utf8,
                                        "version": pl.Utf8, "faces": pl.Int32, "found": pl.Boolean,
                                        "size": pl.Int32, "exposure": pl.Float32, "sharpness": pl.Float32,
                                        "yaw": pl.Float32, "vector": pl.List(pl.Float32)})
        path = self.folder / f"{self.name}-{time.time_ns()}-{os.getpid()}.parquet"
        with atomic_path(path) as tmp:
            df.write_parquet(tmp)
        return path

    def outcomes(self) -> Outcomes | None:
        df = self.frame()
        if df is None:
            return None

        def col(name, fill):
            return df[name].fill_null(fill).to_numpy()

        return Outcomes(df["sha256"].to_numpy(), df["photo"].to_numpy(), df["combo"].to_numpy(),
                        df["level"].to_numpy(), col("faces", 0), col("found", False), col("size", 0),
                        col("exposure", 0.0), col("sharpness", 0.0), col("yaw", 0.0), df["vector"].to_list())
