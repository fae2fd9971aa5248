"""The robustness lab on LFW's View-2 pairs: the second photo of every pair degraded as a camera
would (:mod:`workbench.pipeline.degrade`), the first left as photographed, and for every
model/detector at every level the failures to acquire and the error rates
(:mod:`workbench.evaluation.stats.robustness`); pairs binned by pose as well.

Long: every level of every degraded photo is analysed by every model. The work is measured fold by
fold (fold 1 first, so its curves are complete early), in batches spread over at most two worker
processes, each batch written to a part file when done (:class:`~workbench.evaluation.datasets.
degraded.PartStore`): a run that stops continues where it was, and a re-run at another threshold
costs no model time. The first photo of each pair comes from the embedding cache, like ``eval lfw``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from workbench.errors import WorkbenchError
from workbench.evaluation.datasets import embedding as cache
from workbench.evaluation.datasets.degraded import BATCH, REFERENCE, Outcomes, PartStore, combo_label, measure_batch
from workbench.evaluation.datasets.lfw import read_pairs
from workbench.evaluation.stats import robustness as rs
from workbench.pipeline import Settings, compare, degrade, quality

Progress = Callable[[int, int, str], None]
#: Pose bins: how far the more turned face of a pair is towards profile (0 frontal, 1 profile; the
#: yaw from YuNet's points on the photos as they are, on dlib's scale: quality.yaw_from_landmarks).
POSE_BINS = (0.0, 0.15, 0.3, 0.5, 10.0)
MAX_WORKERS = 2


def workdir_for(db_path: str | os.PathLike) -> Path:
    """Where measured photos are kept: ``robustness/`` beside the database file; for a database in
    memory (the classroom mode, which writes nothing of its own), a folder in the system's temp."""
    if str(db_path) == ":memory:":
        import tempfile

        return Path(tempfile.gettempdir()) / "face-workbench-robustness"
    return Path(db_path).parent / "robustness"


def levels_of(kinds: Sequence[str]) -> list[degrade.Level]:
    """The default levels of the given kinds of degradation, in order."""
    return [lv for lv in degrade.DEFAULT_LEVELS if lv.kind in set(kinds)]


def gate_of(settings: Settings) -> quality.QualityThresholds:
    """The gate a model's faces go through: the settings' own limits, else the model's (the zoo's)."""
    return settings.gate_


def thresholds_of(settings: Settings) -> tuple[float, float]:
    """The model's default threshold (80 % similarity) and the distance of 99 % similarity."""
    return settings.threshold_, compare.distance_for_similarity(99.0, settings.similarity_base)


def measure(store: PartStore, work: dict[str, Sequence[degrade.Level]], combos: Sequence[Settings], *,
            workers: int = 1, progress: Progress | None = None,
            meanwhile: Callable[[Progress | None], None] | None = None, label: str = "") -> list[str]:
    """Measure every photo of ``work`` (path -> its levels; an empty list: its reference only) that
    ``store`` does not hold yet, in batches over ``workers`` processes (at most :data:`MAX_WORKERS`),
    each batch saved when done. ``meanwhile(progress)`` runs in this process while the workers work
    (on a thread: its progress is passed on from this thread, between batches, since a caller's
    progress display may belong to this thread, unless the callback says ``thread_safe``). Returns
    the photos that could not be read."""
    from workbench.pipeline import capture

    paths = list(work)
    done = store.done()
    need: dict[str, frozenset] = {}
    todo: list[str] = []
    for k, p in enumerate(paths, 1):
        if progress and (k == 1 or k % 500 == 0):  # hashing thousands of photos takes a while: say so
            progress(0, len(paths), f"{label}checking {k:,} of {len(paths):,} photos against the stored parts")
        try:
            sha = capture.sha256(capture.read_bytes(p))
        except WorkbenchError:
            todo.append(p)  # measure_batch lists it as unreadable
            continue
        have = done.get(sha, set())
        want = {(combo_label(s), lv.id) for s in combos for lv in work[p]} | {(REFERENCE, degrade.AS_PHOTOGRAPHED.id)}
        if not want <= have:
            need[p] = frozenset(have)
            todo.append(p)
    # photos with the same levels go together, so one batch is one kind of work
    todo.sort(key=lambda p: len(work[p]))
    batches = [todo[i:i + BATCH] for i in range(0, len(todo), BATCH)]
    bad: list[str] = []
    total, finished = len(todo), 0
    if progress:
        progress(0, max(total, 1), f"{label}{total:,} photos to measure ({len(paths) - total:,} already stored)")
    if not batches:
        if meanwhile:
            meanwhile(progress)
        return bad

    side_news: list[tuple[int, int, str]] = []

    def done_batch(rows: list[dict], unread: list[str], n: int) -> None:
        nonlocal finished
        store.save(rows)
        bad.extend(unread)
        finished += n
        if progress:
            if side_news:
                progress(*side_news[-1])
            progress(finished, total, f"{label}{finished:,} of {total:,} photos measured")

    n_workers = max(1, min(int(workers), MAX_WORKERS))
    if n_workers == 1:
        if meanwhile:
            meanwhile(progress)
        for b in batches:
            rows, unread = measure_batch(b, combos, _union(work, b), {p: need.get(p, frozenset()) for p in b})
            done_batch(rows, unread, len(b))
        return bad
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    import threading

    failed: list[BaseException] = []

    def side_work() -> None:  # the first photos' clean vectors, while the workers degrade the second ones
        try:
            direct = progress if getattr(progress, "thread_safe", False) else None
            meanwhile(direct or (lambda i, n, text: side_news.append((i, n, text)) if progress else None))
        except BaseException as err:  # raised again below, after the batches are saved
            failed.append(err)

    with ProcessPoolExecutor(n_workers, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(measure_batch, b, list(combos), _union(work, b),
                               {p: need.get(p, frozenset()) for p in b}): len(b) for b in batches}
        side = threading.Thread(target=side_work, name="clean-vectors", daemon=True) if meanwhile else None
        if side:
            side.start()
        for f in as_completed(futures):  # each batch is saved as soon as it is done
            rows, unread = f.result()
            done_batch(rows, unread, futures[f])
        if side:
            side.join()
            if progress and side_news:
                progress(*side_news[-1])
    if failed:
        raise failed[0]
    return bad


def _union(work: dict[str, Sequence[degrade.Level]], batch: list[str]) -> list[degrade.Level]:
    """The levels of a batch (every photo of a batch wants the same ones, or none)."""
    seen: dict[str, degrade.Level] = {}
    for p in batch:
        for lv in work[p]:
            seen.setdefault(lv.id, lv)
    return list(seen.values())


@dataclass(frozen=True, eq=False)
class RobustnessReport:
    """Every model/detector at every level on one data set's pairs."""

    dataset: str
    combos: list[Settings]
    levels: list[degrade.Level]
    pairs: int
    genuine: int
    impostor: int
    folds: list[int]
    rows: list[rs.LevelRates]        # per combo: as photographed, then every level in order
    pose: list[rs.LevelRates]
    skipped: list[str] = field(default_factory=list)
    no_reference: int = 0           # pairs left out: no face in the photo as it is, to scale or draw on

    def of(self, combo: str, kind: str | None = None) -> list[rs.LevelRates]:
        return [r for r in self.rows if r.combo == combo and (kind is None or r.kind == kind)]

    def clean(self, combo: str) -> rs.LevelRates:
        return next(r for r in self.rows if r.combo == combo and r.kind == degrade.AS_IS)

    def half_loss(self, combo: str, kind: str) -> rs.HalfLoss:
        unit = " px" if kind == degrade.WIDTH else ""
        return rs.half_loss(self.clean(combo), self.of(combo, kind), unit)

    def gate(self, combo: str) -> rs.GateFromCurves:
        return rs.gate_from_curves(self.clean(combo), self.of(combo, degrade.WIDTH), self.of(combo, degrade.GAUSSIAN))


def pair_distances(a_vectors: dict[str, np.ndarray | None], b_rows: dict[str, int], out: Outcomes,
                   pairs_a: Sequence[str], pairs_b_sha: Sequence[str], metric: str) -> np.ndarray:
    """Distance of each pair (clean first photo, degraded second); ``inf`` when either has no face."""
    d = np.full(len(pairs_a), np.inf)
    for k, (a, sha) in enumerate(zip(pairs_a, pairs_b_sha)):
        va, i = a_vectors.get(a), b_rows.get(sha)
        if va is not None and i is not None and out.found[i] and out.vectors[i] is not None:
            d[k] = float(compare.distances(va, np.asarray(out.vectors[i], np.float32)[None, :], metric)[0])
    return d


def score_level(settings: Settings, level_id: str, kind: str, value: float, words: str, out: Outcomes,
                a_vectors: dict[str, np.ndarray | None], pairs_a: Sequence[str], b_sha: Sequence[str],
                same: np.ndarray) -> rs.LevelRates:
    """One level of one combination from the stored outcomes (the gate applied to the measurements)."""
    combo = combo_label(settings)
    rows = out.select(combo, level_id)
    photos = sorted(set(b_sha))
    index = {s: k for k, s in enumerate(photos)}
    idx = [rows.get(s) for s in photos]
    found = np.array([i is not None and bool(out.found[i]) for i in idx], bool)
    gate = gate_of(settings)
    reasons = [quality.decide(int(out.size[i]), float(out.exposure[i]), float(out.sharpness[i]), float(out.yaw[i]),
                              gate)[0] if f else None for i, f in zip(idx, found)]
    sizes = np.array([out.size[i] if f else np.nan for i, f in zip(idx, found)], float)
    sharp = np.array([out.sharpness[i] if f else np.nan for i, f in zip(idx, found)], float)
    d = pair_distances(a_vectors, rows, out, pairs_a, b_sha, settings.metric_)
    return rs.level_rates(combo, kind, value, level_id, words, same=same, distances=d,
                          probe=np.array([index[s] for s in b_sha], int), found=found, reasons=reasons, sizes=sizes,
                          sharpness=sharp, thresholds=thresholds_of(settings))


def run_lfw(pairs_file: str | os.PathLike, lfw_dir: str | os.PathLike, combos: Sequence[Settings],
            levels: Sequence[degrade.Level] = degrade.DEFAULT_LEVELS, *, folds: Sequence[int] = (1,), db=None,
            workdir: str | os.PathLike, workers: int = 1, per_fold: int | None = None,
            progress: Progress | None = None) -> RobustnessReport:
    """Measure what is missing (fold by fold) and score every level; see the module docstring.
    ``folds`` are 1-based; ``per_fold`` keeps the first that many same-person and as many
    different-person pairs of each fold (a quick run)."""
    lfw = _subset(read_pairs(pairs_file, lfw_dir), per_fold)
    bad_folds = [f for f in folds if not 1 <= f <= lfw.n_folds]
    if bad_folds:
        raise WorkbenchError(f"there is no fold {bad_folds[0]} (1 to {lfw.n_folds})")
    store = PartStore(workdir, "lfw")
    skipped: list[str] = []
    for f in folds:
        sel = [p for p, k in zip(lfw.pairs, lfw.folds) if k == f - 1]
        work: dict[str, Sequence[degrade.Level]] = {}
        for p in sel:
            work.setdefault(p.a, [])
        for p in sel:
            work[p.b] = [degrade.AS_PHOTOGRAPHED, *levels]
        firsts = sorted({p.a for p in sel})

        def clean_firsts(report: Progress | None) -> None:
            for s in combos:
                cache.embed_files(firsts, s, db, _prefixed(report, f"fold {f}, {combo_label(s)}, first photos: "))

        skipped += measure(store, work, combos, workers=workers, progress=progress, meanwhile=clean_firsts,
                           label=f"fold {f}: ")
    return score_lfw(store, lfw, combos, levels, folds, db, sorted(set(skipped)), progress, per_fold)


def _subset(lfw, per_fold: int | None):
    """The first ``per_fold`` same-person and different-person pairs of every fold (all: ``None``)."""
    if per_fold is None:
        return lfw
    from workbench.evaluation.datasets.lfw import LfwPairs

    keep, seen = [], {}
    for p, f in zip(lfw.pairs, lfw.folds):
        k = (int(f), p.same)
        seen[k] = seen.get(k, 0) + 1
        keep.append(seen[k] <= per_fold)
    return LfwPairs([p for p, k in zip(lfw.pairs, keep) if k], lfw.folds[np.array(keep)], lfw.n_folds)


def _prefixed(progress: Progress | None, prefix: str) -> Progress | None:
    if progress is None:
        return None
    return lambda i, n, text: progress(i, n, prefix + Path(text).name)


def score_lfw(store: PartStore, lfw, combos: Sequence[Settings], levels: Sequence[degrade.Level],
              folds: Sequence[int], db, skipped: list[str], progress: Progress | None = None,
              per_fold: int | None = None) -> RobustnessReport:
    """Score the stored outcomes of the given folds (no model time but for first photos not cached)."""
    from workbench.pipeline import capture

    out = store.outcomes()
    if out is None:
        raise WorkbenchError("nothing measured yet")
    sel = [p for p, k in zip(lfw.pairs, lfw.folds) if k + 1 in folds]
    sha_of = {p: capture.sha256(capture.read_bytes(p)) for p in sorted({q for pr in sel for q in (pr.a, pr.b)})}
    refs = out.select(REFERENCE, degrade.AS_PHOTOGRAPHED.id)
    has_ref = [refs.get(sha_of[p.b]) is not None and bool(out.found[refs[sha_of[p.b]]]) for p in sel]
    kept = [p for p, ok in zip(sel, has_ref) if ok]
    same = np.array([p.same for p in kept], bool)
    pairs_a, b_sha = [p.a for p in kept], [sha_of[p.b] for p in kept]
    rows: list[rs.LevelRates] = []
    pose: list[rs.LevelRates] = []
    yaw = {sha: abs(float(out.yaw[i])) if out.found[i] else np.nan for sha, i in refs.items()}
    pair_yaw = np.array([np.nanmax([yaw.get(sha_of[p.a], np.nan), yaw[sha_of[p.b]]]) for p in kept])
    for s in combos:
        done, _ = cache.embed_files(sorted(set(pairs_a)), s, db, progress)
        a_vec = {e.path: e.vector for e in done}
        for lv in [degrade.AS_PHOTOGRAPHED, *levels]:
            rows.append(score_level(s, lv.id, lv.kind, lv.value, lv.words, out, a_vec, pairs_a, b_sha, same))
        for lo, hi in zip(POSE_BINS[:-1], POSE_BINS[1:]):
            keep = (pair_yaw >= lo) & (pair_yaw < hi)
            words = (f"heads turned {lo:.2f}-{hi:.2f} of the way to profile" if hi < 10 else
                     f"heads turned more than {lo:.2f} of the way to profile")
            idx = np.flatnonzero(keep)
            r = score_level(s, degrade.AS_PHOTOGRAPHED.id, "pose", lo, words, out, a_vec,
                            [pairs_a[i] for i in idx], [b_sha[i] for i in idx], same[idx])
            pose.append(r)
    name = f"LFW View 2, fold{'s' if len(folds) > 1 else ''} {_folds_words(folds)}" + (
        f" (the first {per_fold} same-person and {per_fold} different-person pairs of each)" if per_fold else "")
    return RobustnessReport(name, list(combos),
                            list(levels), len(kept), int(same.sum()), int((~same).sum()), list(folds), rows, pose,
                            skipped, len(sel) - len(kept))


def _folds_words(folds: Sequence[int]) -> str:
    f = sorted(folds)
    return f"{f[0]}-{f[-1]}" if len(f) > 2 and f == list(range(f[0], f[-1] + 1)) else ", ".join(map(str, f))
