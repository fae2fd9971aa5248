"""The one scale answer: "how many false candidates does one search of an innocent person return in a
gallery of N faces at threshold T", for the CLI, the reports, the Story, the Evaluate page and the
sightings log, all through :func:`answer_at_scale`.

It rests on the largest impostor set on the machine for the model, in this order:

1. **LFW** (13,233 photos of 5,749 people: every pair of photos of two different people, up to
   86 million comparisons with hog + Dlib), from a reference file built once by hand (:func:`build`, the command
   ``workbench eval scale-reference``; resumable, a part of LFW allowed) and read at answer time;
2. else **the packaged photos**: the impostor pairs of ``deepface-unit/master-subset.csv`` (138
   comparisons, through the embedding cache), the same pairs and call as ``workbench eval pairs``
   on that file. A small basis: the answer leads with its range and its number of comparisons.

Per demographic group, when a UTKFace reference is built (``--data utkface``): the same answer on
the pairs of two different photos within each group (UTKFace's labels, adults only), since a
gallery's make-up matters as much as any single figure.

Which estimate is the headline (counted false matches, the measured range or a fitted tail) is
decided by :mod:`workbench.evaluation.stats.scale`: a fitted tail only where the measurement can
support it.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Callable

import numpy as np

from workbench import config
from workbench.errors import WorkbenchError
from workbench.evaluation.stats import scale
from workbench.pipeline import Settings, compare
from workbench.pipeline.compare import is_match
from workbench.store import references
from workbench.store.references import Reference

Progress = Callable[[int, int, str], None]
#: The packaged impostor pairs the answer falls back to (inside the package).
PACKAGED = ("deepface-unit", "master-subset.csv")
#: Photos embedded between two writes of the reference file (what a stopped build keeps).
CHUNK = 200
#: Impostor distances drawn at random for the fitted tail (all of them when there are fewer).
TAIL_SAMPLE = 50_000
#: UTKFace's groups for the per-group answer, and the youngest age kept (galleries hold adults).
GROUP_COLUMN = "race and gender"
MIN_AGE = 18
#: Rows of the distance matrix computed at a time when counting (memory: rows x photos floats).
BLOCK = 1024


def command(dataset: str, model: str) -> str:
    """The command that builds a reference, as the answer quotes it (it lowers its own priority)."""
    return f"workbench --model {model} eval scale-reference --data {dataset}"


# -- building --------------------------------------------------------------------------------

def dataset_photos(dataset: str, seed: int = 0, per_group: int | None = None) -> tuple[Path, list[str], list[str]]:
    """``(folder, relative paths, labels)`` of a data set in the shared folder, in build order:
    LFW's photos shuffled with ``seed`` (a part of LFW then spans many people), labelled by person;
    UTKFace's adults (``per_group`` of each group at most, drawn with ``seed``), labelled by group
    (:data:`GROUP_COLUMN`)."""
    base = config.faces_dir()
    if dataset == "lfw":
        folder = base / "lfw" if base is not None else None
        if folder is None or not folder.is_dir():
            raise WorkbenchError("LFW is not on this machine (expected ../shared/data/faces/lfw/<Name>/*.jpg)")
        files = sorted(str(p.relative_to(folder)) for p in folder.glob("*/*.jpg"))
        order = np.random.default_rng(seed).permutation(len(files))
        files = [files[i] for i in order]
        return folder, files, [Path(f).parent.name for f in files]
    if dataset == "utkface":
        from workbench.evaluation.runners import audit

        folder = base / "utkface-balanced" if base is not None else None
        if folder is None or not folder.is_dir():
            raise WorkbenchError("UTKFace is not on this machine (expected ../shared/data/faces/utkface-balanced)")
        paths, groups, _, _ = audit.labelled_folder(folder, None, GROUP_COLUMN, MIN_AGE)
        paths, groups = audit.pick_faces(paths, groups, per_group, seed)
        return folder, [str(Path(p).relative_to(folder)) for p in paths], list(groups)
    raise WorkbenchError(f"unknown data set {dataset!r}; choose one of: {', '.join(references.DATASETS)}")


def build(dataset: str, settings: Settings = Settings(), *, db=None, limit: int | None = None,
          per_group: int | None = None, folder: str | os.PathLike | None = None, seed: int = 0,
          chunk: int = CHUNK, progress: Progress | None = None) -> tuple[Path, Reference]:
    """Embed the photos of ``dataset`` (the first ``limit`` in build order; UTKFace: ``per_group``
    of each group) with ``settings``' model
    and write the reference file, ``chunk`` photos at a time: run again, it goes on where it
    stopped (photos already in the file are not embedded again; with ``db``, vectors of the
    embedding cache cost no model time either). Returns ``(file, reference)``."""
    from workbench.evaluation.datasets.embedding import CHOICE_RULE_ID, embed_files

    root, files, labels = dataset_photos(dataset, seed, per_group)
    total = len(files)
    files, labels = files[:limit], labels[:limit]
    out = references.path_for(folder or config.references_dir(), dataset, settings.model, settings.detector)
    meta = {"upsample": int(settings.upsample), "max_side": int(settings.max_side or 0),
            "face_rule": CHOICE_RULE_ID, "seed": seed, "total": total, "whole_image": dataset == "utkface"}
    have = _resume(out, settings, meta)
    done = set(have.paths.tolist()) if have is not None else set()
    todo = [(f, g) for f, g in zip(files, labels) if f not in done]
    ref = have or Reference(dataset, settings.model, settings.detector, np.array([], str), np.array([], str),
                            np.zeros((0, 0), np.float32), np.array([], str), meta)
    for start in range(0, len(todo), chunk):
        part = todo[start:start + chunk]
        base = len(done) + start

        def step(i: int, n: int, text: str, base=base) -> None:
            if progress:
                progress(base + i, len(done) + len(todo), text)

        found, _ = embed_files([str(root / f) for f, _ in part], settings, db, step,
                               whole_image=dataset == "utkface")
        ref = _append(ref, part, found)
        references.save(out, ref)
    if not todo and have is None:
        references.save(out, ref)
    if dataset == "utkface":  # the same photo filed twice is not two people (as the audit): checked once built
        same = _same_photo_pairs(root, ref.paths)
        if ref.meta.get("same_photo") != same:
            ref = Reference(ref.dataset, ref.model, ref.detector, ref.paths, ref.labels, ref.vectors, ref.failed,
                            dict(ref.meta, same_photo=same))
            references.save(out, ref)
    return out, ref


def _same_photo_pairs(root: Path, paths: np.ndarray) -> list[list[int]]:
    """Row pairs ``[i, j]`` (i < j) of the reference whose photos are near-identical
    (:func:`~workbench.evaluation.datasets.duplicates.near_duplicates`, as the audit leaves out)."""
    from workbench.evaluation.datasets.duplicates import near_duplicates

    if not len(paths):
        return []
    i, j = np.nonzero(np.triu(near_duplicates([root / p for p in paths.tolist()]), 1))
    return [[int(a), int(b)] for a, b in zip(i, j)]


def _resume(path: Path, settings: Settings, meta: dict) -> Reference | None:
    """The reference already at ``path`` when it was made the same way; else ``None`` (rebuilt)."""
    if not path.is_file():
        return None
    try:
        ref = references.load(path, settings.model)
    except WorkbenchError:
        return None
    same = all(ref.meta.get(k) == v for k, v in meta.items() if k != "total") and ref.detector == settings.detector
    return Reference(ref.dataset, ref.model, ref.detector, ref.paths, ref.labels, ref.vectors, ref.failed,
                     dict(ref.meta, total=meta["total"])) if same else None


def _append(ref: Reference, part: list[tuple[str, str]], found) -> Reference:
    dim = next((e.vector.size for e in found if e.vector is not None), ref.vectors.shape[1] if ref.vectors.size else 0)
    rows = np.full((len(found), dim), np.nan, np.float32)
    for i, e in enumerate(found):
        if e.vector is not None:
            rows[i] = e.vector
    old = ref.vectors if ref.vectors.size else np.zeros((len(ref.paths), dim), np.float32)
    return Reference(ref.dataset, ref.model, ref.detector,
                     np.concatenate([ref.paths, np.array([f for f, _ in part], str)]),
                     np.concatenate([ref.labels, np.array([g for _, g in part], str)]),
                     np.concatenate([old, rows]),
                     np.concatenate([ref.failed, np.array([e.failure or "" for e in found], str)]), ref.meta)


# -- answering -------------------------------------------------------------------------------

def answer_at_scale(settings: Settings = Settings(), similarities=(80.0, 99.0), sizes=scale.SIZES, *,
                    extra: float | None = None, db=None, folder: str | os.PathLike | None = None
                    ) -> scale.ScaleAnswer:
    """THE scale answer for ``settings``' model and metric at each similarity (and ``extra``),
    for each gallery size, on the largest impostor set on the machine (see the module doc), with
    its basis, a per-group answer when a UTKFace reference is built, and notes on what is missing.

    ``db`` holds the embedding cache the packaged fallback reads its vectors from (model time the
    first time without one)."""
    thresholds = scale.thresholds_for(settings.similarity_base, similarities, extra)
    where = Path(folder) if folder is not None else config.references_dir()
    sizes = tuple(int(s) for s in sizes)
    notes = []
    lfw = references.find(where, "lfw", settings.model, settings.detector)
    answer = _from_lfw(str(lfw), lfw.stat().st_mtime_ns, settings.model, settings.detector, settings.metric_,
                       tuple(thresholds.items()), sizes) if lfw is not None else None
    if answer is None:
        notes.append(f"No LFW reference for {settings.model} on this machine: the answer rests on the packaged "
                     f"photos. For millions of comparisons, run once: {command('lfw', settings.model)}")
        answer = _packaged(settings, thresholds, sizes, db)
    utk = references.find(where, "utkface", settings.model, settings.detector)
    groups = (_groups(str(utk), utk.stat().st_mtime_ns, settings.model, settings.metric_,
                      tuple(thresholds.items()), sizes) if utk is not None else ())
    if not groups:
        notes.append(f"No per-group figure: no UTKFace reference for {settings.model} (run once: "
                     f"{command('utkface', settings.model)}).")
    return answer.with_basis(answer.basis, groups, notes)


def _packaged(settings: Settings, thresholds: dict, sizes: tuple[int, ...], db) -> scale.ScaleAnswer:
    from workbench.evaluation.runners import verification

    r = verification.eval_pairs(config.demo_dir().joinpath(*PACKAGED), settings=settings, db=db)
    imp = ~r.same & np.isfinite(r.distances)
    first = np.array([p.a for p in r.pairs], dtype=object)[imp]
    a = scale.scale_answer(r.distances[imp], thresholds, clusters=first, sizes=sizes)
    return a.with_basis(scale.Basis("the packaged photos", f"impostor pairs of {'/'.join(PACKAGED)}, "
                                    f"{settings.model}/{settings.detector}", small=True))


def _usable(ref: Reference) -> tuple[np.ndarray, np.ndarray]:
    ok = ref.embedded & np.isfinite(ref.vectors).all(axis=1) if ref.vectors.size else np.zeros(0, bool)
    return ref.vectors[ok], ref.labels[ok]


@functools.lru_cache(maxsize=16)
def _from_lfw(path: str, _mtime: int, model: str, detector: str, metric: str, thresholds: tuple,
              sizes: tuple) -> scale.ScaleAnswer | None:
    """The answer on an LFW reference file (kept per file version, metric and thresholds):
    every cross-person pair counted, a random sample of them for the fitted tail."""
    ref = references.load(path, model)
    vectors, people = _usable(ref)
    ids, pid = np.unique(people, return_inverse=True)
    if ids.size < 2:
        return None
    ts = np.array([t for _, t in thresholds], np.float64)
    k = np.zeros((ids.size, ts.size))
    n = np.zeros(ids.size)
    for i0 in range(0, len(vectors), BLOCK):
        d = compare.distances(vectors[i0:i0 + BLOCK], vectors, metric)
        other = pid[i0:i0 + BLOCK, None] != pid[None, :]
        rows = pid[i0:i0 + BLOCK]
        n += np.bincount(rows, other.sum(axis=1), ids.size)
        for j, t in enumerate(ts):
            k[:, j] += np.bincount(rows, (is_match(d, t) & other).sum(axis=1), ids.size)
    sample, who = _tail_sample(vectors, pid, metric)
    # every pair was counted from both ends: halve, so comparisons are pairs of photos
    a = scale.scale_answer(sample, dict(thresholds), clusters=who, sizes=sizes, counts=(k / 2, n / 2))
    dataset_total = int(ref.meta.get("total", len(ref.paths)))
    detail = (f"{len(vectors):,} of {dataset_total:,} photos of {ids.size:,} people, every pair of two different "
              f"people; {model}/{ref.detector}" + ("" if ref.detector == detector else f", not {detector}"))
    return a.with_basis(scale.Basis("LFW", detail, small=a.comparisons < scale.MIN_TAIL_COMPARISONS,
                                    reference=Path(path).name))


def _tail_sample(vectors: np.ndarray, pid: np.ndarray, metric: str, size: int = TAIL_SAMPLE, seed: int = 0):
    """Impostor distances for the tail fit, with the person of the first photo (the bootstrap's
    cluster): all cross-person pairs when there are at most ``size``, else those of photos drawn
    at random against every photo (``size`` of them at most)."""
    m = len(vectors)
    if m * (m - 1) // 2 <= size:
        i, j = np.triu_indices(m, 1)
        d = compare.distances(vectors, vectors, metric)[i, j]
    else:
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(m, min(m, -(-2 * size // m)), replace=False))
        d = compare.distances(vectors[rows], vectors, metric)
        i, j = np.repeat(rows, m), np.tile(np.arange(m), rows.size)
        d = d.reshape(-1)
    keep = pid[i] != pid[j]
    d, i = d[keep], i[keep]
    if d.size > size:
        pick = np.sort(np.random.default_rng(seed + 1).choice(d.size, size, replace=False))
        d, i = d[pick], i[pick]
    return d.astype(np.float64), pid[i]


@functools.lru_cache(maxsize=16)
def _groups(path: str, _mtime: int, model: str, metric: str, thresholds: tuple, sizes: tuple
            ) -> tuple[tuple[str, scale.ScaleAnswer], ...]:
    """Per UTKFace group, the answer on every pair of two photos within the group."""
    ref = references.load(path, model)
    ok = ref.embedded & np.isfinite(ref.vectors).all(axis=1) if ref.vectors.size else np.zeros(0, bool)
    checked = "same_photo" in ref.meta
    same = np.zeros((len(ref.paths), len(ref.paths)), bool)
    for a, b in ref.meta.get("same_photo", []):
        same[a, b] = same[b, a] = True
    out = []
    for g in sorted(set(ref.labels[ok].tolist())):
        rows = np.flatnonzero(ok & (ref.labels == g))
        if len(rows) < 2:
            continue
        v = ref.vectors[rows]
        i, j = np.triu_indices(len(rows), 1)
        two = ~same[rows[i], rows[j]]  # the same photo filed twice is not a pair of two people
        d = compare.distances(v, v, metric)[i, j][two]
        a = scale.scale_answer(d, dict(thresholds), clusters=i[two], sizes=sizes)
        left = int((~two).sum())
        how = (f"; {left} pair(s) of the same photo filed twice left out" if left else "") if checked else \
            "; not checked for the same photo filed twice (a reference built before that check: build it again)"
        out.append((g, a.with_basis(scale.Basis("UTKFace", f"{g}: {len(rows):,} photos of adults, every pair of two "
                                                f"photos within the group{how}",
                                                small=a.comparisons < scale.MIN_TAIL_COMPARISONS,
                                                reference=Path(path).name))))
    return tuple(out)
