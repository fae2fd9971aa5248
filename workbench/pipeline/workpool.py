"""One pool of worker processes for every session of the app: searches, enrolment photos and
comparisons wait in a fair queue (:mod:`workbench.pipeline.fairqueue`) and run in worker
processes that load their models once.

Why processes: dlib's detector holds Python's interpreter lock, and Streamlit runs every
session as a thread of one server process. Analysed there, one search (378 ms for a 1480 x 832
photo with hog + Dlib) stopped every other session, and the server's own loop, for its whole
length, and a class's searches ran one after another on one core. The workers are
:mod:`workbench.pipeline.parallel`'s (spawned, models loaded at start, gone with the parent).

What a job carries: the photo's bytes, the settings (detector, model, gate), never a database
connection: the app process is the DuckDB file's one writer; workers compute, the app ranks and
logs. One dispatcher thread per worker takes the next job from the fair queue, so the queue, not
the executor's first-come order, decides who goes next.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import BrokenExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from workbench.errors import WorkbenchError
from workbench.pipeline import Analysis, Settings, analyze, capture, parallel
from workbench.pipeline.fairqueue import BATCH, INTERACTIVE, RUNNING, WAITING, FairQueue, Job, Ticket

#: Kinds of jobs, as people read them ("2 searches ahead of you").
SEARCH, ENROLMENT, COMPARISON = "search", "enrolment photo", "comparison photo"


class WorkerLost(WorkbenchError):
    """A worker process died under a job, in a fresh pool too."""


def analyse_photo(data: bytes | np.ndarray, name: str, settings: Settings, embed_faces: str = "all") -> Analysis:
    """Every face of one photo (bytes as uploaded, or an RGB array), as
    :func:`workbench.pipeline.analyze_source` finds them: the job of a search or a comparison."""
    t0 = time.perf_counter()
    image = capture.load_image(data, name or None)
    return analyze(image, settings, embed_faces=embed_faces, load_ms=(time.perf_counter() - t0) * 1000.0)


def plural(kind: str, n: int) -> str:
    """``"1 search"``, ``"2 searches"``, ``"3 enrolment photos"``."""
    if n == 1:
        return f"1 {kind}"
    return f"{n} {kind}es" if kind.endswith(("s", "sh", "ch")) else f"{n} {kind}s"


def status(ticket: Ticket, doing: str, seconds: float) -> str:
    """One line about a job, for the person waiting for it: its place in the queue while it
    waits (what is ahead of it, by kind), then ``doing`` and how long it has run."""
    s = f"{seconds:.0f} s"
    if ticket.state == RUNNING:
        return f"{doing} ({s})."
    if ticket.state != WAITING:
        return f"{doing}: done ({s})."
    ahead = ticket.ahead()
    if not ahead:
        return f"Yours is next: waiting for a free worker ({s}; others' work is running)."
    kinds = list(dict.fromkeys(ahead))  # first seen first
    words = [plural(k, ahead.count(k)) for k in kinds]
    listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return f"In the queue: {listed} ahead of you ({s}). Every session's work takes its turn."


class WorkPool:
    """The fair queue and one dispatcher thread per worker process."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        # a long evaluation or audit takes at most all workers but one: searches always find one
        self.queue = FairQueue({INTERACTIVE: self.workers, BATCH: max(1, self.workers - 1)})
        self._threads = [threading.Thread(target=self._serve, name=f"workbench-workpool-{i}", daemon=True)
                         for i in range(self.workers)]
        for t in self._threads:
            t.start()

    def submit(self, session: str, kind: str, fn: Callable[..., Any], *args: Any, lane: str = INTERACTIVE) -> Ticket:
        """Queue ``fn(*args)`` (module-level and picklable) for ``session``; the ticket says its
        place in the queue and, later, its value or error."""
        return self.queue.put(Job(session, lane, kind, fn, args))

    def _serve(self) -> None:
        while (ticket := self.queue.take()) is not None:
            try:
                value = parallel.run_in_pool(ticket.job.fn, *ticket.job.args, workers=self.workers)
            except BrokenExecutor:
                self.queue.finish(ticket, error=WorkerLost(
                    f"the worker process doing this {ticket.job.kind} stopped twice (out of memory, or killed): "
                    "try again, with a smaller photo if it happens again"))
            except BaseException as err:  # noqa: BLE001 - the job's error belongs to its ticket
                self.queue.finish(ticket, error=err)
            else:
                self.queue.finish(ticket, value)

    def close(self) -> None:
        self.queue.close()
        for t in self._threads:
            t.join(timeout=5)

    def enrolment_analyser(self, session: str, wait: Callable[[Ticket], Any]) -> Callable[..., Iterator]:
        """An ``analyser`` for :func:`workbench.search.enrol.enrol_sources`: every photo is a job of
        ``session`` in the fair queue; ``wait(ticket)`` returns a ticket's value (the app shows the
        place in the queue meanwhile). Jobs still waiting when the enrolment stops are dropped."""

        def analyse(items: Sequence[tuple[str, bytes | np.ndarray, str]], settings: Settings = Settings(), *,
                    workers: int | None = None, all_thumbs: bool = False, full: Sequence[bool] | None = None,
                    progress: Callable[[int, int, str], None] | None = None) -> Iterator[tuple[int, parallel.Analysed]]:
            tickets = [self.submit(session, ENROLMENT, parallel.analyse_one, label, data, sha, settings, all_thumbs,
                                   bool(full and full[i])) for i, (label, data, sha) in enumerate(items)]
            try:
                for i, ticket in enumerate(tickets):
                    res = wait(ticket)
                    if progress:
                        progress(i + 1, len(items), items[i][0])
                    yield i, res
            finally:
                for ticket in tickets:
                    ticket.cancel()

        return analyse


_shared: WorkPool | None = None
_lock = threading.Lock()
_lane = threading.local()


@contextmanager
def batch_lane(session: str, kind: str = "evaluation photo") -> Iterator[None]:
    """Inside the block, work this thread hands to :func:`map_batch` (an evaluation's or an
    audit's photos) runs in the shared pool's batch lane, as ``session``'s: never on more than
    all workers but one, and after every waiting search."""
    before = getattr(_lane, "job", None)
    _lane.job = (session, kind)
    try:
        yield
    finally:
        _lane.job = before


def map_batch(fn: Callable[..., Any], items: Sequence[tuple]) -> Iterator[Any]:
    """``fn(*args)`` for each of ``items``, in order: here, or inside :func:`batch_lane` as jobs of
    the shared pool's batch lane (all queued at once; those still waiting when the caller stops
    are dropped). ``fn`` must be module-level (picklable)."""
    job = getattr(_lane, "job", None)
    if job is None:
        for args in items:
            yield fn(*args)
        return
    pool = shared()
    tickets = [pool.submit(job[0], job[1], fn, *args, lane=BATCH) for args in items]
    try:
        for ticket in tickets:
            yield ticket.result()
    finally:
        for ticket in tickets:
            ticket.cancel()


def shared() -> WorkPool:
    """This process's one work pool (started on first use, one dispatcher per core)."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = WorkPool(parallel.default_workers())
        return _shared


def shutdown() -> None:
    """Stop the shared work pool's dispatchers (waiting jobs are cancelled)."""
    global _shared
    with _lock:
        pool, _shared = _shared, None
    if pool is not None:
        pool.close()
