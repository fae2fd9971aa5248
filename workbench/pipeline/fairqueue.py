"""A fair queue for the work of many sessions: round robin between sessions, lanes that never
block each other, a visible place in the queue, and cancellation.

The app serves a class from one server process; a search, an enrolment photo or a comparison is
a job that waits here until a worker is free (:mod:`workbench.pipeline.workpool` runs them in
worker processes). Jobs are taken

* **lane by lane**: ``interactive`` (searches, enrolments, comparisons) before ``batch``
  (evaluations, audits), and the batch lane never holds more than its limit of workers at once,
  so a long evaluation always leaves a worker to the searches;
* **round robin between sessions** within a lane: one job of each waiting session in turn, so a
  session that queues 40 enrolment photos cannot starve one that searches a single photo.

:meth:`Ticket.ahead` says which jobs will start before a waiting one ("2 searches ahead of you");
:meth:`Ticket.cancel` and :meth:`FairQueue.cancel_session` drop jobs whose session went away.
Pure threading: no Streamlit, no processes, so the rules are tested on their own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from typing import Any, Callable

#: Lanes in the order they are served.
INTERACTIVE, BATCH = "interactive", "batch"
LANES = (INTERACTIVE, BATCH)
WAITING, RUNNING, DONE, CANCELLED = "waiting", "running", "done", "cancelled"


@dataclass(frozen=True)
class Job:
    """What to run: ``fn(*args)`` (both picklable when a worker process runs it), for ``session``,
    in ``lane``; ``kind`` names it for people ("search", "enrolment photo", "comparison photo")."""

    session: str
    lane: str
    kind: str
    fn: Callable[..., Any]
    args: tuple = field(default=())


class Ticket:
    """One job's place and outcome: waiting, running, done or cancelled."""

    def __init__(self, queue: "FairQueue", job: Job) -> None:
        self.job = job
        self.state = WAITING
        self._queue = queue
        self._done = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None

    def ahead(self) -> list[str]:
        """The kinds of the jobs that will start before this one (``[]`` once it runs)."""
        return self._queue.ahead(self)

    def wait(self, timeout: float | None = None) -> bool:
        """Until the job is done or cancelled (or ``timeout`` seconds); True when it is."""
        return self._done.wait(timeout)

    def result(self, timeout: float | None = None) -> Any:
        """The job's value, or its error raised here (:class:`CancelledError` when cancelled)."""
        if not self._done.wait(timeout):
            raise TimeoutError("the job is not done")
        if self._error is not None:
            raise self._error
        return self._value

    def cancel(self) -> bool:
        """Drop the job if it still waits (True); a running or finished job is left alone."""
        return self._queue.cancel(self)

    def _finish(self, state: str, value: Any = None, error: BaseException | None = None) -> None:
        self.state, self._value, self._error = state, value, error
        self._done.set()


class FairQueue:
    """Jobs of many sessions, taken lane by lane and round robin between sessions.

    ``limits`` caps how many jobs of a lane may run at once (a lane left out has no cap).
    """

    def __init__(self, limits: dict[str, int] | None = None) -> None:
        self._limits = dict(limits or {})
        self._cond = threading.Condition()
        # per lane: session -> its waiting tickets; the dict's order is the rotation (next first)
        self._waiting: dict[str, OrderedDict[str, deque[Ticket]]] = {lane: OrderedDict() for lane in LANES}
        self._running: dict[str, int] = {lane: 0 for lane in LANES}
        self._closed = False

    def put(self, job: Job) -> Ticket:
        """Queue ``job``; its ticket says its place and, later, its outcome."""
        if job.lane not in LANES:
            raise ValueError(f"unknown lane {job.lane!r}; lanes: {', '.join(LANES)}")
        ticket = Ticket(self, job)
        with self._cond:
            if self._closed:
                raise RuntimeError("the work queue is closed")
            self._waiting[job.lane].setdefault(job.session, deque()).append(ticket)
            self._cond.notify_all()
        return ticket

    def take(self, timeout: float | None = None) -> Ticket | None:
        """The next job to run (now marked running), or ``None`` after ``timeout`` or once closed."""
        with self._cond:
            while True:
                ticket = self._next()
                if ticket is not None or self._closed:
                    return ticket
                if not self._cond.wait(timeout):
                    return None

    def _next(self) -> Ticket | None:
        for lane in LANES:
            sessions = self._waiting[lane]
            if not sessions or self._running[lane] >= self._limits.get(lane, 1 << 30):
                continue
            session, tickets = next(iter(sessions.items()))
            ticket = tickets.popleft()
            sessions.move_to_end(session)  # served: its next job waits for every other session's turn
            if not tickets:
                del sessions[session]
            self._running[lane] += 1
            ticket.state = RUNNING
            return ticket
        return None

    def finish(self, ticket: Ticket, value: Any = None, error: BaseException | None = None) -> None:
        """Record a taken job's outcome and free its place in its lane."""
        with self._cond:
            self._running[ticket.job.lane] -= 1
            self._cond.notify_all()
        ticket._finish(DONE, value, error)

    def cancel(self, ticket: Ticket) -> bool:
        with self._cond:
            if ticket.state != WAITING:
                return False
            sessions = self._waiting[ticket.job.lane]
            tickets = sessions.get(ticket.job.session)
            if tickets is None or ticket not in tickets:
                return False
            tickets.remove(ticket)
            if not tickets:
                del sessions[ticket.job.session]
        ticket._finish(CANCELLED, error=CancelledError(f"the {ticket.job.kind} was cancelled"))
        return True

    def cancel_session(self, session: str) -> int:
        """Drop every waiting job of ``session`` (it went away); returns how many."""
        with self._cond:
            dropped = [t for lane in LANES for t in self._waiting[lane].pop(session, ())]
        for t in dropped:
            t._finish(CANCELLED, error=CancelledError(f"the {t.job.kind} was cancelled"))
        return len(dropped)

    def ahead(self, ticket: Ticket) -> list[str]:
        """Kinds of the jobs that start before ``ticket``: the waiting jobs of lanes served first,
        then, in its lane, what round robin serves before it (``k`` = its place among its session's
        jobs: ``k`` of its own, and of every other session up to ``k`` jobs, one more for sessions
        whose turn comes first)."""
        with self._cond:
            if ticket.state != WAITING:
                return []
            lane = ticket.job.lane
            out = [t.job.kind for before in LANES[:LANES.index(lane)]
                   for tickets in self._waiting[before].values() for t in tickets]
            sessions = self._waiting[lane]
            order = list(sessions)
            mine = sessions[ticket.job.session]
            k = list(mine).index(ticket)
            turn = order.index(ticket.job.session)
            for j, session in enumerate(order):
                n = k + (1 if j < turn else 0)
                out += [t.job.kind for t in list(sessions[session])[:n]]
            return out

    def waiting(self) -> int:
        with self._cond:
            return sum(len(t) for lane in LANES for t in self._waiting[lane].values())

    def close(self) -> None:
        """Wake every taker with ``None``; waiting jobs are cancelled."""
        with self._cond:
            self._closed = True
            sessions = [s for lane in LANES for s in self._waiting[lane]]
            self._cond.notify_all()
        for s in sessions:
            self.cancel_session(s)
