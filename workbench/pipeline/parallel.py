"""Analysing many images fast: one worker process per core.

dlib's models run one call at a time per process (see :func:`workbench.pipeline.models.use`), and
their Python bindings hold the GIL, so threads cannot use a second core. A small pool of
*processes*, each with its own copy of the models (loaded lazily on the first image it
gets), can. The pool is created once per process and reused (starting a worker costs about
a second: importing dlib and OpenCV, loading the weights).

Enrolment analyses each photo as ``workbench detect`` does (the same detector, size and
upsampling), so the face it keeps, or the choice it asks for, is made among the faces ``detect``
lists. (A quicker pass on a 640-px copy used to come first; it missed small second faces, and
enrolled a guessed face in 1 of deepface-unit's 64 photos for each shipped detector.)

A worker that fails is said once, in words, in the log (``workbench.pipeline.parallel``); the
work is redone in this process and a fresh pool starts at the next use.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from workbench.errors import ModelError, WorkbenchError
from workbench.pipeline import Analysis, Settings, analyze, capture
from workbench.pipeline.capture import ImageSource

#: Below this many images the pool's start-up costs more than it saves.
MIN_PARALLEL = 4

_pool: ProcessPoolExecutor | None = None
_pool_workers = 0
_pool_lock = threading.Lock()
log = logging.getLogger(__name__)


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


@dataclass(frozen=True, eq=False)
class Analysed:
    """One source's outcome: its image hash, the analysis, the image's thumbnails per face
    (RGB arrays), or the error that stopped it."""

    sha256: str
    analysis: Analysis | None = None
    thumbnails: tuple[np.ndarray, ...] = ()
    error: str | None = None


def _analyse_one(label: str, data: bytes | np.ndarray, sha: str, settings: Settings, all_thumbs: bool,
                 full: bool = False) -> Analysed:
    """One source, analysed as ``workbench detect`` lists its faces (``full``, a face chosen by
    number, needs nothing more: every analysis is the full one)."""
    try:
        image = capture.load_image(data, name=label)
        a = analyze(image, settings, embed_faces="accepted")
    except ModelError:
        raise  # a missing model or weights file is no fault of this photo: it stops the whole run
    except WorkbenchError as err:
        return Analysed(sha, error=str(getattr(err, "reason", err)))
    keep = a.faces if (all_thumbs or len(a.embedded) > 1) else a.embedded[:1]
    thumbs = tuple(capture.thumbnail(image, f.box) for f in keep)
    return Analysed(sha, a, thumbs)


def _load_models() -> None:
    """The default detector and model, loaded and run once (a first pass allocates their buffers)."""
    from workbench.pipeline import zoo

    zoo.detector(zoo.DEFAULT_DETECTOR).warm_up()
    zoo.embedder(zoo.DEFAULT_MODEL).warm_up()


def _init_worker(parent: int) -> None:
    """A pool worker's start: leave when the parent process is gone, then load the models.

    A parent killed by SIGKILL or stopped by SIGTERM (a server being shut down) never runs its
    exit handlers, and the worker's queue never reaches end-of-file (the worker holds its write
    end too), so without this watch the workers would live on, orphaned, for ever.
    """
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="parent-watch").start()
    _load_models()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _noop() -> None:
    return None


def _get_pool(workers: int) -> ProcessPoolExecutor:
    global _pool, _pool_workers
    import multiprocessing as mp

    with _pool_lock:
        if _pool is None or _pool_workers != workers:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            # spawn, not fork: the parent may hold dlib models, DuckDB and threads.
            _pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                        initializer=_init_worker, initargs=(os.getpid(),))
            _pool_workers = workers
            # spawned pools start workers one per waiting task: start them all now, so the
            # first real task never waits for a cold worker to import dlib and load weights
            for _ in range(workers):
                _pool.submit(_noop)
        return _pool


def warm_up(workers: int | None = None) -> int:
    """Load the models in this process and start the worker pool with its models loaded, so the
    first enrolment, evaluation or live embedding does not pay for it (the app calls this in the
    background when its server starts). Blocks until every worker is ready; returns how many."""
    _load_models()
    n = default_workers() if workers is None else max(1, workers)
    if n > 1:
        pool = _get_pool(n)
        for fut in [pool.submit(_noop) for _ in range(n)]:
            fut.result()
    return n if n > 1 else 0


def failure(err: BaseException) -> str:
    """A worker's failure in words, for one log line."""
    if isinstance(err, BrokenExecutor):
        return "a worker process stopped (out of memory, killed, or crashed)"
    return f"{type(err).__name__}: {err}"


def _discard_pool(pool: ProcessPoolExecutor, err: BaseException | None = None, doing: str = "") -> None:
    """Forget a failed pool so the next call starts a fresh one; with ``err``, say so once (in the
    log, in words: the first failure of this pool only)."""
    global _pool
    with _pool_lock:
        if _pool is not pool:
            return
        _pool = None
    if err is not None:
        log.warning("%s failed in a worker process (%s): what that pool had left is done in this process, "
                    "and a fresh pool of worker processes starts at the next use", doing or "work", failure(err))


def discard_broken_pool(err: BaseException) -> None:
    """After ``err`` from a pool's task: forget the pool when it is broken (its processes gone), so
    the next call starts a fresh one. The caller says what it does instead."""
    pool = _pool
    if isinstance(err, BrokenExecutor) and pool is not None and getattr(pool, "_broken", True):
        _discard_pool(pool)


def shutdown_pool() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None


atexit.register(shutdown_pool)


def analyse_sources(items: Sequence[tuple[str, bytes | np.ndarray, str]], settings: Settings = Settings(), *,
                    workers: int | None = None, all_thumbs: bool = False, full: Sequence[bool] | None = None,
                    progress: Callable[[int, int, str], None] | None = None) -> Iterator[tuple[int, Analysed]]:
    """Analyse ``(label, bytes or RGB array, sha256)`` items; yields ``(index, Analysed)`` in order.

    ``full[i]`` asks for the full pass on item ``i`` (no coarse shortcut: a face chosen by
    number). A :class:`~workbench.errors.ModelError` (missing weights, unknown model) stops
    everything at once: it would fail every item the same way.

    With ``workers > 1`` and at least :data:`MIN_PARALLEL` items, the work goes to the process
    pool; otherwise it runs here. Every item yields exactly once, errors included; an item
    whose worker died is redone in this process. Scripts that enrol must keep their top-level
    code under ``if __name__ == "__main__":`` (workers are *spawned* and import ``__main__``).
    """
    n = len(items)
    workers = default_workers() if workers is None else max(1, workers)
    if workers > 1 and n >= MIN_PARALLEL:
        pool = _get_pool(workers)
        futures = [pool.submit(_analyse_one, label, data, sha, settings, all_thumbs, bool(full and full[i]))
                   for i, (label, data, sha) in enumerate(items)]
        for i, fut in enumerate(futures):
            try:
                res = fut.result()
            except ModelError:
                for f in futures:
                    f.cancel()
                raise
            except Exception as err:  # a worker died (out of memory, a crash, an unguarded __main__): redo it here
                _discard_pool(pool, err, f"analysing {items[i][0]}")
                res = _analyse_one(*items[i], settings, all_thumbs, bool(full and full[i]))
            if progress:
                progress(i + 1, n, items[i][0])
            yield i, res
        return
    for i, (label, data, sha) in enumerate(items):
        res = _analyse_one(label, data, sha, settings, all_thumbs, bool(full and full[i]))
        if progress:
            progress(i + 1, n, label)
        yield i, res


def _embed_chips(chips: list[np.ndarray], model: str) -> np.ndarray:
    from workbench.pipeline.embed import embed_chips

    return embed_chips(chips, model)


def submit_embed_chips(chips: list[np.ndarray], model: str, workers: int | None = None):
    """Embed aligned chips in the pool; returns a :class:`~concurrent.futures.Future` of
    ``float32 (len(chips), dim)``."""
    return _get_pool(default_workers() if workers is None else workers).submit(_embed_chips, chips, model)


def source_bytes(data: ImageSource) -> bytes | np.ndarray:
    """Bytes of a path (read once), or the bytes/array as given."""
    return data if isinstance(data, (bytes, np.ndarray)) else capture.read_bytes(data)


#: One source's analysis, as a job of the app's work pool (:mod:`workbench.pipeline.workpool`).
analyse_one = _analyse_one


def run_in_pool(fn: Callable, *args, workers: int | None = None):
    """``fn(*args)`` (module-level, picklable) in a worker process of the shared pool; its value,
    or its error raised here. A pool broken by a dead worker is replaced and the job tried once
    more."""
    from concurrent.futures import BrokenExecutor

    n = default_workers() if workers is None else max(1, workers)
    for attempt in (0, 1):
        pool = _get_pool(n)
        try:
            return pool.submit(fn, *args).result()
        except BrokenExecutor:
            _discard_pool(pool)
            if attempt:
                raise
