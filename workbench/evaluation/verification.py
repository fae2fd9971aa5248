"""Verification (1:1) evaluations: labelled pairs from a CSV or from a folder per person,
embedded once each (through the embedding cache), scored with :mod:`workbench.evaluation.metrics`.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from workbench.errors import WorkbenchError
from workbench.evaluation import embedding as cache
from workbench.evaluation import metrics
from workbench.evaluation.metrics import best_threshold  # noqa: F401  (re-exported)
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


@dataclass(frozen=True)
class Pair:
    """Two photos (paths) and whether they show the same person."""

    a: str
    b: str
    same: bool


def resolve(images_dir: str | os.PathLike, name: str) -> Path:
    """Where a file named in a CSV is: ``images_dir/name``, else ``images_dir/<its file name>``.

    The second form lets a CSV written for another folder layout (such as deepface's
    ``deepface/tests/dataset/img1.jpg``) be used on the same photos.
    """
    base = Path(images_dir)
    direct = base / name
    if direct.exists():
        return direct
    by_name = base / Path(name.replace("\\", "/")).name
    return by_name if by_name.exists() else direct


def read_pairs(csv_path: str | os.PathLike, images_dir: str | os.PathLike | None = None) -> list[Pair]:
    """Rows ``file_x,file_y,Decision`` (Yes/No) of a pairs CSV, paths resolved against
    ``images_dir`` (default: the CSV's folder)."""
    p = Path(csv_path)
    if not p.is_file():
        raise WorkbenchError(f"{p}: no such file")
    base = Path(images_dir) if images_dir is not None else p.parent
    if not base.is_dir():
        raise WorkbenchError(f"{base}: no such folder")
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            cols = {c.strip().lower(): c for c in (reader.fieldnames or [])}
            if not {"file_x", "file_y", "decision"} <= set(cols):
                raise WorkbenchError(f"{p}: need columns file_x,file_y,Decision")
            rows = [(r[cols["file_x"]], r[cols["file_y"]], r[cols["decision"]]) for r in reader]
    except (UnicodeDecodeError, csv.Error) as err:
        raise WorkbenchError(f"{p}: not a readable CSV ({err})") from None
    if not rows:
        raise WorkbenchError(f"{p}: no pairs in it")
    pairs = [Pair(str(resolve(base, a)), str(resolve(base, b)), (d or "").strip().lower() in {"yes", "1", "true"})
             for a, b, d in rows]
    missing = sorted({Path(f).name for pr in pairs for f in (pr.a, pr.b) if not Path(f).is_file()})
    if missing:  # a wrong --images folder, not a face the model missed: say so instead of scoring it
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise WorkbenchError(f"{p}: {len(missing)} file(s) it names are not in {base}: "
                             f"{', '.join(missing[:3])}{more}")
    return pairs


def person_folders(folder: str | os.PathLike) -> dict[str, list[Path]]:
    """``folder/<person>/<photo>``: each person's photos (hidden files and folders skipped)."""
    base = Path(folder)
    if not base.is_dir():
        raise WorkbenchError(f"{base}: no such folder")
    people = {d.name: sorted(f for f in d.iterdir() if f.is_file() and not f.name.startswith("."))
              for d in sorted(base.iterdir()) if d.is_dir() and not d.name.startswith(".")}
    people = {k: v for k, v in people.items() if v}
    if not people:
        raise WorkbenchError(f"{base}: expected one sub-folder of photos per person, found none")
    return people


def folder_pairs(people: dict[str, list[Path]], max_impostors: int = 10_000, seed: int = 0) -> list[Pair]:
    """Every same-person pair, and different-person pairs: all of them when there are at most
    ``max_impostors``, else that many drawn at random (without repeats) with ``seed``."""
    import itertools

    genuine = [Pair(str(a), str(b), True) for files in people.values() for a, b in itertools.combinations(files, 2)]
    names = list(people)
    sizes = np.array([len(people[n]) for n in names])
    cross = [(i, j) for i, j in itertools.combinations(range(len(names)), 2)]
    total = int(sum(sizes[i] * sizes[j] for i, j in cross))
    if total <= max_impostors:
        impostors = [Pair(str(a), str(b), False) for i, j in cross
                     for a in people[names[i]] for b in people[names[j]]]
    else:
        rng = np.random.default_rng(seed)
        flat = [f for n in names for f in people[n]]
        owner = np.repeat(np.arange(len(names)), sizes)
        seen: set[tuple[int, int]] = set()
        while len(seen) < max_impostors:
            a, b = (int(x) for x in rng.integers(0, len(flat), 2))
            if owner[a] != owner[b]:
                seen.add((min(a, b), max(a, b)))
        impostors = [Pair(str(flat[a]), str(flat[b]), False) for a, b in sorted(seen)]
    return genuine + impostors


@dataclass(frozen=True, eq=False)
class PairsReport:
    """A verification evaluation: rates at the decision threshold, the whole curve, the
    equal error rate, bootstrap intervals and, with labels, the same per group."""

    dataset: str
    pairs: list[Pair]
    images: int
    distances: np.ndarray
    same: np.ndarray
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

    @property
    def genuine(self) -> np.ndarray:
        return self.distances[self.same]

    @property
    def impostor(self) -> np.ndarray:
        return self.distances[~self.same]

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
            "cache": {"hits": self.cache_stats.hits, "computed": self.cache_stats.computed},
            "group_column": self.group_column,
            "groups": [group_dict(g) for g in self.groups],
        }


def _r(x: float) -> float | None:
    return None if x != x else round(x, 4)  # nan -> null in JSON


def group_dict(g: metrics.GroupRates) -> dict:
    r = g.rates
    return {"group": g.group, "images": g.images, "genuine_pairs": r.genuine, "impostor_pairs": r.impostor,
            "false_matches": r.false_matches, "false_non_matches": r.false_non_matches,
            "fmr": _r(r.fmr), "fnmr": _r(r.fnmr), "accuracy": _r(r.accuracy), "warning": g.warning}


def score_pairs(pairs: list[Pair], vectors: dict[str, np.ndarray | None], settings: Settings, *,
                dataset: str = "", labels=None, person_of: dict[str, str] | None = None,
                failed: dict[str, str] | None = None, stats: cache.CacheStats = cache.CacheStats(0, 0),
                n_boot: int = 2000, seed: int = 0) -> PairsReport:
    """Score labelled pairs from already computed vectors (``None``: the photo had no face).

    A pair with a missing vector is decided "not the same" at every threshold (distance
    infinity), as a search system would answer: a false non-match when it was genuine.
    """
    metric, thr = settings.metric_, settings.threshold_
    dist = np.full(len(pairs), np.inf)
    for k, p in enumerate(pairs):
        va, vb = vectors.get(p.a), vectors.get(p.b)
        if va is not None and vb is not None:
            dist[k] = float(compare.distances(va, vb[None, :], metric)[0])
    same = np.array([p.same for p in pairs], bool)
    finite = np.where(np.isinf(dist), 1e9, dist)
    bt, ba = metrics.best_threshold(finite, same)
    groups, column = [], ""
    if labels is not None:
        from workbench.evaluation.labels import pair_group

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
    return PairsReport(
        dataset=dataset, pairs=pairs, images=len(vectors), distances=dist, same=same, threshold=thr,
        default_threshold=settings.similarity_base, metric=metric, model=settings.model,
        detector=settings.detector, rates=metrics.rates_at(dist[same], dist[~same], thr),
        eer=metrics.equal_error_rate(dist[same], dist[~same]), best_threshold=bt, best_accuracy=ba,
        ci=metrics.bootstrap_ci(dist[same], dist[~same], thr, n_boot=n_boot, seed=seed),
        failed_images=dict(failed or {}), groups=groups, group_column=column, cache_stats=stats)


def embed_pairs(pairs: list[Pair], settings: Settings, db=None,
                progress: Callable[[int, int, str], None] | None = None
                ) -> tuple[dict[str, np.ndarray | None], dict[str, str], cache.CacheStats]:
    """Embed each photo of the pairs once (through the cache when ``db`` is given)."""
    files = sorted({f for p in pairs for f in (p.a, p.b)})
    done, stats = cache.embed_files(files, settings, db, progress)
    vectors = {e.path: e.vector for e in done}
    failed = {Path(e.path).name: e.failure for e in done if e.vector is None}
    return vectors, failed, stats


def eval_pairs(csv_path: str | os.PathLike, images_dir: str | os.PathLike | None = None,
               settings: Settings = Settings(), *, db=None, labels=None,
               progress: Callable[[int, int, str], None] | None = None) -> PairsReport:
    """Verify every labelled pair of a CSV; each photo is embedded once (its largest face).

    Args:
        csv_path: ``file_x,file_y,Decision`` rows.
        images_dir: where the files are (default: the CSV's folder); see :func:`resolve`.
        settings: model, detector and the decision threshold.
        db: a :class:`~workbench.store.GalleryDB` whose embedding cache to use, or ``None``.
        labels: :class:`~workbench.evaluation.labels.Labels` by ``file`` for the per-group breakdown.
    """
    pairs = read_pairs(csv_path, images_dir)
    if labels is not None and labels.key != "file":
        raise WorkbenchError("a pairs CSV names files, not people: the labels CSV needs a 'file' column")
    vectors, failed, stats = embed_pairs(pairs, settings, db, progress)
    return score_pairs(pairs, vectors, settings, dataset=str(csv_path), labels=labels, failed=failed, stats=stats)


def eval_folder(folder: str | os.PathLike, settings: Settings = Settings(), *, db=None, labels=None,
                max_impostors: int = 10_000, seed: int = 0,
                progress: Callable[[int, int, str], None] | None = None) -> PairsReport:
    """Verification on a folder with one sub-folder per person (see :func:`folder_pairs`)."""
    people = person_folders(folder)
    pairs = folder_pairs(people, max_impostors, seed)
    person_of = {str(f): name for name, files in people.items() for f in files}
    vectors, failed, stats = embed_pairs(pairs, settings, db, progress)
    return score_pairs(pairs, vectors, settings, dataset=str(folder), labels=labels, person_of=person_of,
                       failed=failed, stats=stats)


def sample_pair_csvs(base: str | os.PathLike | None) -> dict[str, Path]:
    """Pairs CSVs (with ``file_x,file_y``) under ``base``, by relative name (for pickers)."""
    if base is None:
        return {}
    out = {}
    for p in sorted(Path(base).rglob("*.csv")):
        with p.open(encoding="utf-8-sig", errors="replace") as fh:
            head = fh.readline().lower()
        if "file_x" in head and "file_y" in head:
            out[str(p.relative_to(base))] = p
    return out


def sample_folders(base: str | os.PathLike | None, *, people: bool = False) -> dict[str, Path]:
    """Folders under ``base`` holding photos (``people``: holding one sub-folder per person)."""
    from workbench.pipeline.capture import is_image

    if base is None:
        return {}
    out = {}
    for d in sorted(p for p in Path(base).rglob("*") if p.is_dir()):
        subs = [s for s in d.iterdir() if s.is_dir()]
        if people:
            ok = len(subs) >= 2 and all(any(is_image(f) for f in s.iterdir()) for s in subs)
        else:
            ok = sum(1 for f in d.iterdir() if is_image(f)) >= 2
        if ok:
            out[str(d.relative_to(base))] = d
    return out


def identities_from_pairs(pairs: list[Pair]) -> dict[str, int]:
    """Group photos into identities: photos linked by same-person pairs share a number.

    Useful when a data set only says which pairs match (deepface's CSVs) and not who is who.
    Photos never in a same-person pair get an identity of their own. Numbers follow the
    sorted file names, so they are stable.
    """
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        ra, rb = root(p.a), root(p.b)
        if p.same and ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = sorted({root(f) for f in list(parent)})
    number = {r: i for i, r in enumerate(roots)}
    return {f: number[root(f)] for f in sorted(parent)}
