"""Verification (1:1) evaluations: labelled pairs from a CSV or from a folder per person,
embedded once each (through the embedding cache), scored with :mod:`workbench.evaluation.stats.metrics`.

Each photo gives the face :func:`~workbench.pipeline.choose_face` picks (nearest the centre,
weighted by size). A photo in which no face is found is a *failure to acquire*: counted and
reported (overall and per group), and by default its pairs are decided "not the same", so a
same-person pair counts in FNMR, as NIST does (``include_fta=False`` leaves those pairs out).
Files that are not images, or cannot be read, are skipped and listed, never counted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from workbench.errors import WorkbenchError
from workbench.evaluation.datasets import embedding as cache
from workbench.evaluation.stats import metrics
from workbench.evaluation.stats.metrics import best_threshold  # noqa: F401  (re-exported)
from workbench.evaluation.datasets.pairs import (  # noqa: F401  (re-exported: callers use verification.*)
    Pair, folder_pairs, identities_from_pairs, non_images, person_folders, read_pairs, resolve, sample_folders,
    sample_pair_csvs)
from workbench.pipeline import Settings, compare
from workbench.store import GalleryMatrix


def error_counts(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> dict[str, float]:
    """False non-matches (genuine over threshold) and false matches (impostors under it)."""
    r = metrics.rates_at(genuine, impostor, threshold)
    return {
        "genuine": r.genuine, "impostor": r.impostor,
        "false_non_matches": r.false_non_matches, "false_matches": r.false_matches,
        "fnmr": r.fnmr if r.genuine else 0.0, "fmr": r.fmr if r.impostor else 0.0,
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
class PairsReport(metrics.LabelledDistances):
    """A verification evaluation: rates at the decision threshold, the whole curve, the
    equal error rate, 95 % Wilson intervals and, with labels, the same per group
    (``distances`` and ``same`` of every pair come first, from the base)."""

    dataset: str
    pairs: list[Pair]
    images: int
    threshold: float
    default_threshold: float
    metric: str
    model: str
    detector: str
    rates: metrics.ErrorRates
    eer: metrics.EER
    best_threshold: float
    best_accuracy: float
    ci: metrics.Intervals
    failed_images: dict[str, str] = field(default_factory=dict)
    groups: list[metrics.GroupRates] = field(default_factory=list)
    group_column: str = ""
    cache_stats: cache.CacheStats = cache.CacheStats(0, 0)
    fta: list[str] = field(default_factory=list)            # photos with no face (failures to acquire)
    fta_included: bool = True                               # their pairs decided "not the same"
    fta_pairs: int = 0                                      # pairs with such a photo
    skipped: dict[str, str] = field(default_factory=dict)   # files not used: not images, unreadable
    skipped_pairs: int = 0
    photos: int = 0                                         # readable photos (with or without a face)
    group_fta: dict[str, int] = field(default_factory=dict)

    @property
    def fta_rate(self) -> float:
        return len(self.fta) / self.photos if self.photos else float("nan")

    def fta_words(self) -> str:
        """How many photos had no face and how their pairs are counted, in one sentence."""
        if not self.fta:
            return f"a face was found in every one of the {self.photos} photos"
        how = (f"their {self.fta_pairs} pairs are decided 'not the same' (in FNMR when same-person, as NIST "
               "counts them; --exclude-fta leaves them out)" if self.fta_included
               else f"their {self.fta_pairs} pairs are left out (--exclude-fta)")
        return f"no face found in {len(self.fta)} of {self.photos} photos ({self.fta_rate:.1%}): {how}"

    @property
    def accuracy(self) -> float:
        return self.rates.accuracy

    def at(self, threshold: float) -> metrics.ErrorRates:
        """The rates at another threshold (no model time: distances are kept)."""
        return metrics.rates_at(self.genuine, self.impostor, threshold)

    def as_dict(self) -> dict:
        r, ci = self.rates, self.ci
        return {
            "dataset": self.dataset, "pairs": len(self.pairs), "images": self.images,
            "genuine_pairs": r.genuine, "impostor_pairs": r.impostor,
            "model": self.model, "detector": self.detector, "metric": self.metric,
            "threshold": round(self.threshold, 4), "accuracy": _r(r.accuracy),
            "fmr": _r(r.fmr), "fnmr": _r(r.fnmr),
            "false_matches": r.false_matches, "false_non_matches": r.false_non_matches,
            "ci": {"level": ci.level, "fmr": [_r(ci.fmr.low), _r(ci.fmr.high)],
                   "fnmr": [_r(ci.fnmr.low), _r(ci.fnmr.high)],
                   "accuracy": [_r(ci.accuracy.low), _r(ci.accuracy.high)]},
            "eer": _r(self.eer.eer), "eer_threshold": _r(self.eer.threshold),
            "best_threshold": _r(self.best_threshold), "best_accuracy": _r(self.best_accuracy),
            "default_threshold": self.default_threshold,
            "accuracy_at_default": _r(self.at(self.default_threshold).accuracy),
            "failed_images": self.failed_images,
            "failures_to_acquire": {"count": len(self.fta), "photos": self.photos, "rate": _r(self.fta_rate),
                                    "included_in_fnmr": self.fta_included, "pairs": self.fta_pairs,
                                    "files": self.fta},
            "skipped_files": self.skipped, "skipped_pairs": self.skipped_pairs,
            "cache": {"hits": self.cache_stats.hits, "computed": self.cache_stats.computed},
            "group_column": self.group_column,
            "groups": [group_dict(g, self.group_fta) for g in self.groups],
        }


def _r(x: float) -> float | None:
    return None if x != x else round(x, 4)  # nan -> null in JSON


def group_dict(g: metrics.GroupRates, fta: dict[str, int] | None = None) -> dict:
    """One group's row: counts, rates (``None`` where there is nothing to count), and its
    failures to acquire (photos of the group with no face found)."""
    r = g.rates
    n_fta = (fta or {}).get(g.group, 0)
    return {"group": g.group, "images": g.images, "genuine_pairs": r.genuine, "impostor_pairs": r.impostor,
            "false_matches": r.false_matches, "false_non_matches": r.false_non_matches,
            "fmr": _r(r.fmr), "fnmr": _r(r.fnmr), "accuracy": _r(r.accuracy),
            "failures_to_acquire": n_fta, "fta_rate": _r(n_fta / g.images) if g.images else None,
            "warning": g.warning}


def score_pairs(pairs: list[Pair], vectors: dict[str, np.ndarray | None], settings: Settings, *,
                dataset: str = "", labels=None, person_of: dict[str, str] | None = None,
                failed: dict[str, str] | None = None, stats: cache.CacheStats = cache.CacheStats(0, 0),
                include_fta: bool = True, skipped: dict[str, str] | None = None) -> PairsReport:
    """Score labelled pairs from already computed vectors (``None``: the photo gave no face).

    ``failed`` says why a vector is missing (by file name, as :func:`embed_pairs` gives it):
    ``no_face`` is a failure to acquire; anything else (an unreadable file) is skipped with its
    pairs. With ``include_fta`` a pair with a faceless photo is decided "not the same" at
    every threshold (distance infinity), as a search system would answer: a false non-match
    when it was genuine (NIST counts them so); without, those pairs are left out.
    """
    from workbench.evaluation.datasets.embedding import NO_FACE

    metric, thr = settings.metric_, settings.threshold_
    failed = dict(failed or {})
    skipped = dict(skipped or {})

    def why(p: str) -> str:
        return failed.get(p) or failed.get(Path(p).name) or NO_FACE

    unusable = {p for p in vectors if vectors[p] is None and why(p) != NO_FACE}
    fta_paths = {p for p in vectors if vectors[p] is None and p not in unusable}
    skipped.update({Path(p).name: why(p) for p in unusable})
    failed = {Path(p).name: why(p) for p in vectors if vectors[p] is None}
    keep = [p for p in pairs if p.a not in unusable and p.b not in unusable]
    skipped_pairs = len(pairs) - len(keep)
    touches_fta = [p.a in fta_paths or p.b in fta_paths for p in keep]
    fta_pairs = sum(touches_fta)
    if not include_fta:
        keep = [p for p, t in zip(keep, touches_fta) if not t]
    pairs = keep
    vectors = {k: v for k, v in vectors.items() if k not in unusable}
    dist = np.full(len(pairs), np.inf)
    for k, p in enumerate(pairs):
        va, vb = vectors.get(p.a), vectors.get(p.b)
        if va is not None and vb is not None:
            dist[k] = float(compare.distances(va, vb[None, :], metric)[0])
    same = np.array([p.same for p in pairs], bool)
    finite = np.where(np.isinf(dist), 1e9, dist)
    bt, ba = metrics.best_threshold(finite, same)
    groups, column, group_fta = [], "", {}
    if labels is not None:
        from workbench.evaluation.datasets.labels import pair_group

        def group(path: str) -> str:
            return labels.of(person=(person_of or {}).get(path), file=path)

        files = sorted(vectors)
        pg = [pair_group(group(p.a), group(p.b)) for p in pairs]
        per_image: dict[str, int] = {}
        for f in files:
            per_image[group(f)] = per_image.get(group(f), 0) + 1
        groups = metrics.rates_by_group(dist, same, pg, thr, groups=sorted(set(pg) | set(labels.groups())),
                                        images=per_image)
        column = labels.column
        for f in fta_paths:
            group_fta[group(f)] = group_fta.get(group(f), 0) + 1
    rates = metrics.rates_at(dist[same], dist[~same], thr)
    return PairsReport(
        dataset=dataset, pairs=pairs, images=len(vectors), distances=dist, same=same, threshold=thr,
        default_threshold=settings.similarity_base, metric=metric, model=settings.model,
        detector=settings.detector, rates=rates,
        eer=metrics.equal_error_rate(dist[same], dist[~same]), best_threshold=bt, best_accuracy=ba,
        ci=metrics.wilson_intervals(rates),
        failed_images=failed, groups=groups, group_column=column, cache_stats=stats,
        fta=sorted(Path(p).name for p in fta_paths), fta_included=include_fta, fta_pairs=fta_pairs,
        skipped=skipped, skipped_pairs=skipped_pairs, photos=len(vectors), group_fta=group_fta)


def embed_pairs(pairs: list[Pair], settings: Settings, db=None,
                progress: Callable[[int, int, str], None] | None = None
                ) -> tuple[dict[str, np.ndarray | None], dict[str, str], cache.CacheStats]:
    """Embed each photo of the pairs once (through the cache when ``db`` is given)."""
    files = sorted({f for p in pairs for f in (p.a, p.b)})
    done, stats = cache.embed_files(files, settings, db, progress)
    vectors = {e.path: e.vector for e in done}
    failed = {e.path: e.failure for e in done if e.vector is None}
    return vectors, failed, stats


def eval_pairs(csv_path: str | os.PathLike, images_dir: str | os.PathLike | None = None,
               settings: Settings = Settings(), *, db=None, labels=None, include_fta: bool = True,
               progress: Callable[[int, int, str], None] | None = None) -> PairsReport:
    """Verify every labelled pair of a CSV; each photo is embedded once (its largest face).

    Args:
        csv_path: ``file_x,file_y,Decision`` rows.
        images_dir: where the files are (default: the CSV's folder); see :func:`resolve`.
        settings: model, detector and the decision threshold.
        db: a :class:`~workbench.store.Store` whose embedding cache to use, or ``None``.
        labels: :class:`~workbench.evaluation.datasets.labels.Labels` by ``file`` for the per-group breakdown.
    """
    from workbench.pipeline.capture import is_image

    pairs = read_pairs(csv_path, images_dir)
    if labels is not None and labels.key != "file":
        raise WorkbenchError("a pairs CSV names files, not people: the labels CSV needs a 'file' column")
    skipped = {Path(f).name: "not an image file" for p in pairs for f in (p.a, p.b) if not is_image(f)}
    usable = [p for p in pairs if is_image(p.a) and is_image(p.b)]
    if not usable:
        raise WorkbenchError(f"{csv_path}: none of its pairs names two image files")
    vectors, failed, stats = embed_pairs(usable, settings, db, progress)
    r = score_pairs(usable, vectors, settings, dataset=str(csv_path), labels=labels, failed=failed, stats=stats,
                    include_fta=include_fta, skipped=skipped)
    return replace(r, skipped_pairs=r.skipped_pairs + len(pairs) - len(usable))


def eval_folder(folder: str | os.PathLike, settings: Settings = Settings(), *, db=None, labels=None,
                max_impostors: int = 10_000, seed: int = 0, include_fta: bool = True,
                progress: Callable[[int, int, str], None] | None = None) -> PairsReport:
    """Verification on a folder with one sub-folder per person (see :func:`folder_pairs`);
    files that are not images are skipped and listed."""
    people = person_folders(folder)
    pairs = folder_pairs(people, max_impostors, seed)
    person_of = {str(f): name for name, files in people.items() for f in files}
    vectors, failed, stats = embed_pairs(pairs, settings, db, progress)
    return score_pairs(pairs, vectors, settings, dataset=str(folder), labels=labels, person_of=person_of,
                       failed=failed, stats=stats, include_fta=include_fta, skipped=non_images(folder))


