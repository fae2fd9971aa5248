"""Measuring error honestly: pair verification accuracy, thresholds, genuine vs impostor
distances of a gallery, and false match / false non-match counts at a threshold.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from workbench import compare
from workbench.errors import WorkbenchError
from workbench.gallery import GalleryMatrix
from workbench.pipeline import Settings, analyze_source, main_face


def best_threshold(dist: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """The distance threshold with the highest accuracy on labelled pairs, and that accuracy.

    ``dist`` are pair distances, ``same`` booleans (True = same person). A pair is
    predicted "same" when ``dist <= threshold``. Candidates are midpoints between sorted
    distances, so the answer does not sit exactly on a sample.
    """
    d = np.asarray(dist, np.float64)
    y = np.asarray(same, bool)
    if d.size == 0:
        return float("nan"), float("nan")
    s = np.unique(d)
    cands = np.concatenate([[s[0] - 1e-6], (s[:-1] + s[1:]) / 2.0, [s[-1] + 1e-6]])
    acc = ((d[None, :] <= cands[:, None]) == y[None, :]).mean(axis=1)
    i = int(np.argmax(acc))
    return float(cands[i]), float(acc[i])


def error_counts(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> dict[str, float]:
    """False non-matches (genuine over threshold) and false matches (impostors under it)."""
    g = np.asarray(genuine)
    i = np.asarray(impostor)
    fnm = int((g > threshold).sum())
    fm = int((i <= threshold).sum())
    return {
        "genuine": int(g.size), "impostor": int(i.size),
        "false_non_matches": fnm, "false_matches": fm,
        "fnmr": fnm / g.size if g.size else 0.0, "fmr": fm / i.size if i.size else 0.0,
    }


def gallery_pair_distances(matrix: GalleryMatrix, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Distances of every pair of faces in a gallery: ``(genuine, impostor)`` (same / other person)."""
    n = matrix.vectors.shape[0]
    if n < 2:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    d = compare.distances(matrix.vectors, matrix.vectors, metric)
    iu = np.triu_indices(n, k=1)
    same = (matrix.person_ids[:, None] == matrix.person_ids[None, :])[iu]
    flat = d[iu]
    return flat[same], flat[~same]


@dataclass(frozen=True, eq=False)
class PairsReport:
    pairs: int
    accuracy: float
    best_threshold: float
    accuracy_at_default: float
    default_threshold: float
    metric: str
    model: str
    detector: str
    failed_images: list[str] = field(default_factory=list)
    distances: np.ndarray = field(default_factory=lambda: np.zeros(0))
    same: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    def as_dict(self) -> dict:
        return {
            "pairs": self.pairs, "accuracy": round(self.accuracy, 4),
            "best_threshold": round(self.best_threshold, 4),
            "accuracy_at_default": round(self.accuracy_at_default, 4),
            "default_threshold": self.default_threshold, "metric": self.metric, "model": self.model,
            "detector": self.detector, "failed_images": self.failed_images,
        }


def read_pairs(csv_path: str | os.PathLike) -> list[tuple[str, str, bool]]:
    """Rows ``file_x,file_y,Decision`` (Yes/No) of a pairs CSV."""
    p = Path(csv_path)
    if not p.is_file():
        raise WorkbenchError(f"{p}: no such file")
    with p.open(newline="") as fh:
        reader = csv.DictReader(fh)
        cols = {c.lower(): c for c in (reader.fieldnames or [])}
        if not {"file_x", "file_y", "decision"} <= set(cols):
            raise WorkbenchError(f"{p}: need columns file_x,file_y,Decision")
        return [(r[cols["file_x"]], r[cols["file_y"]], r[cols["decision"]].strip().lower() in {"yes", "1", "true"})
                for r in reader]


def eval_pairs(csv_path: str | os.PathLike, images_dir: str | os.PathLike, settings: Settings = Settings(),
               progress: Callable[[int, int, str], None] | None = None) -> PairsReport:
    """Verify every labelled pair; each image is embedded once (its largest face).

    A pair whose image cannot be read or has no face is decided "not the same" (as a search
    system would answer), and the image is listed in ``failed_images``.
    """
    rows = read_pairs(csv_path)
    files = sorted({f for a, b, _ in rows for f in (a, b)})
    missing = [f for f in files if not (Path(images_dir) / f).is_file()]
    if missing:  # a wrong --images folder, not a face the model missed: say so instead of scoring it
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise WorkbenchError(f"{csv_path}: {len(missing)} file(s) it names are not in {images_dir}: "
                             f"{', '.join(missing[:3])}{more}")
    vecs: dict[str, np.ndarray] = {}
    failed: list[str] = []
    for i, f in enumerate(files, 1):
        try:
            vecs[f] = main_face(analyze_source(Path(images_dir) / f, settings), f).embedding.vector
        except WorkbenchError:
            failed.append(f)
        if progress:
            progress(i, len(files), f)
    metric, default = settings.metric_, settings.threshold_
    dist = np.array([
        float(compare.distances(vecs[a], vecs[b][None, :], metric)[0]) if a in vecs and b in vecs else np.inf
        for a, b, _ in rows
    ])
    same = np.array([s for _, _, s in rows], bool)
    thr, acc = best_threshold(np.where(np.isinf(dist), 1e9, dist), same)
    acc_default = float(((dist <= default) == same).mean()) if rows else float("nan")
    return PairsReport(len(rows), acc, thr, acc_default, default, metric, settings.model, settings.detector,
                       failed, dist, same)
