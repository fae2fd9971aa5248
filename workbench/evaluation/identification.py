"""Identification (1:N) evaluation: probe photos searched against a gallery, with FPIR, FNIR
and CMC from :mod:`workbench.metrics`. Probe vectors come through the embedding cache.

Who a probe is: the name of its sub-folder (``probes/<person>/photo.jpg``); for a photo
directly in the probes folder, its file name without extension and trailing digits
(``obama1.jpg`` -> ``obama``). A probe is *mated* when that name is a person of the gallery.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from workbench.errors import WorkbenchError
from workbench.evaluation import embedding as cache
from workbench.evaluation import metrics
from workbench.pipeline import Settings, capture, compare
from workbench.store import GalleryDB


@dataclass(frozen=True, eq=False)
class Probes:
    """Probe photos with a vector (largest face), who they are, and the ones that failed."""

    paths: list[str]
    persons: list[str]
    vectors: np.ndarray
    failed: dict[str, str]
    stats: cache.CacheStats


def probe_person(path: Path, root: Path) -> str:
    rel = path.relative_to(root)
    if len(rel.parts) > 1:
        return rel.parts[0]
    return re.sub(r"[\s_\-]*\d+$", "", path.stem) or path.stem


def load_probes(folder: str | os.PathLike, settings: Settings, db: GalleryDB | None = None,
                progress: Callable[[int, int, str], None] | None = None) -> Probes:
    """Embed every photo under ``folder`` (one level of person sub-folders)."""
    root = Path(folder)
    if not root.is_dir():
        raise WorkbenchError(f"{root}: no such folder")
    def photos(d: Path) -> list[Path]:  # CSVs, licences and videos beside the photos are not probes
        return sorted(p for p in d.iterdir() if p.is_file() and not p.name.startswith(".") and capture.is_image(p))

    files = photos(root)
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files += photos(d)
    if not files:
        raise WorkbenchError(f"{root}: no probe photos in it")
    done, stats = cache.embed_files(files, settings, db, progress)
    ok = [(e, f) for e, f in zip(done, files) if e.vector is not None]
    dim = ok[0][0].vector.shape[0] if ok else 0
    return Probes(
        paths=[str(f) for _, f in ok], persons=[probe_person(f, root) for _, f in ok],
        vectors=np.stack([e.vector for e, _ in ok]).astype(np.float32) if ok else np.zeros((0, dim), np.float32),
        failed={str(f.relative_to(root)): e.failure for e, f in zip(done, files) if e.vector is None},
        stats=stats)


@dataclass(frozen=True, eq=False)
class SearchReport:
    """1:N errors of probes against one gallery, at the decision threshold and over all."""

    gallery: str
    probes: list[str]
    persons: list[str]
    gallery_people: list[str]
    gallery_faces: int
    dist: np.ndarray          # (M, P) probe to closest face of each gallery person
    mate: np.ndarray          # (M,) column of the true person, -1 when not in the gallery
    threshold: float
    curve: metrics.IdentificationCurve
    cmc: np.ndarray
    fpir: float
    fnir: float
    failed: dict[str, str] = field(default_factory=dict)
    groups: list[dict] = field(default_factory=list)
    group_column: str = ""

    def as_dict(self) -> dict:
        def r(x: float):
            return None if x != x else round(float(x), 4)

        return {"gallery": self.gallery, "probes": len(self.probes), "mated": self.curve.mated,
                "nonmated": self.curve.nonmated, "gallery_people": len(self.gallery_people),
                "gallery_faces": self.gallery_faces, "threshold": round(self.threshold, 4),
                "fpir": r(self.fpir), "fnir": r(self.fnir),
                "cmc": [r(x) for x in self.cmc], "failed_images": self.failed,
                "group_column": self.group_column, "groups": self.groups}


def eval_search(db: GalleryDB, gallery: str, probes_dir: str | os.PathLike, settings: Settings = Settings(), *,
                labels=None, max_rank: int = 10, use_cache: bool = True,
                progress: Callable[[int, int, str], None] | None = None) -> SearchReport:
    """Search every probe photo (its largest face) in ``gallery`` and measure FPIR/FNIR/CMC."""
    matrix = db.matrix(gallery, settings.model)  # unknown gallery or another model's: fails before model time
    if matrix.vectors.shape[0] == 0:
        raise WorkbenchError(f"gallery {gallery!r} is empty: enrol faces first")
    probes = load_probes(probes_dir, settings, db if use_cache else None, progress)
    if not probes.paths:
        raise WorkbenchError(f"{probes_dir}: no probe photo has a usable face")
    face_d = compare.distances(probes.vectors, matrix.vectors, settings.metric_)
    pids, dist = metrics.person_distances(face_d, matrix.person_ids)
    name_of = {int(i): n for i, n in zip(matrix.person_ids, matrix.people)}
    people = [name_of[int(i)] for i in pids]
    col = {n: j for j, n in enumerate(people)}
    mate = np.array([col.get(p, -1) for p in probes.persons], int)
    t = settings.threshold_
    steps = np.unique(np.concatenate([[0.0, t], dist.ravel()[np.isfinite(dist.ravel())]]))
    curve = metrics.identification_rates(dist, mate, steps)
    at = metrics.identification_rates(dist, mate, [t])
    groups, column = [], ""
    if labels is not None:
        column = labels.column
        g = np.array([labels.of(person=p, file=f) for p, f in zip(probes.persons, probes.paths)], dtype=object)
        for name in sorted(set(g) | set(labels.groups())):
            sel = g == name
            r = metrics.identification_rates(dist[sel], mate[sel], [t]) if sel.any() else None
            mated, non = (r.mated, r.nonmated) if r else (0, 0)
            groups.append({"group": name, "probes": int(sel.sum()), "mated": mated, "nonmated": non,
                           "fpir": None if not non else round(float(r.fpir[0]), 4),
                           "fnir": None if not mated else round(float(r.fnir[0]), 4),
                           "warning": metrics.small_sample_warning(non, "non-mated searches")
                           or metrics.small_sample_warning(mated, "mated searches")})
    return SearchReport(gallery, probes.paths, probes.persons, people, int(matrix.vectors.shape[0]), dist, mate, t,
                        curve, metrics.cmc(dist, mate, max_rank), float(at.fpir[0]), float(at.fnir[0]),
                        probes.failed, groups, column)
