"""The app's side of the shared work pool (:mod:`workbench.pipeline.workpool`): a session's
searches, enrolment photos and comparisons go to one fair queue of worker processes, and the
page says the session's place in it ("2 searches ahead of you") from the first second, then how
long its own job has run. A session that leaves or reruns while its job waits drops the job
(Streamlit stops the waiting run at its next line on the page).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterator

import streamlit as st

from workbench.app.ui import literal
from workbench.pipeline import Analysis, Settings, workpool
from workbench.pipeline.fairqueue import Ticket

#: How often a waiting page looks at its place in the queue (seconds).
POLL_S = 0.25
#: Photos of a comparison analysed per session and kept (choosing another face costs no model time).
KEEP_ANALYSES = 8


def session() -> str:
    """This browser session's id (each tab is one)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def wait(ticket: Ticket, doing: str) -> Any:
    """The ticket's value, once done; meanwhile one line on the page, changed only when its words
    change: the place in the queue, then ``doing`` with the seconds it has run. The job is
    dropped if it still waits when this run stops (the session left, or reran)."""
    slot = st.empty()
    t0 = time.monotonic()
    shown = None
    try:
        while True:
            line = workpool.status(ticket, doing, time.monotonic() - t0)
            if line != shown:
                slot.info(line)
                shown = line
            if ticket.wait(POLL_S):
                break
        return ticket.result()
    finally:
        ticket.cancel()
        slot.empty()


def search_analyser() -> Callable[[bytes, str, Settings], Analysis]:
    """The ``analyse`` of :func:`workbench.search.search_image`: the probe's faces found and
    embedded in a worker, this session's turn in the queue shown meanwhile."""
    pool, me = workpool.shared(), session()

    def analyse(data: bytes, name: str, settings: Settings) -> Analysis:
        ticket = pool.submit(me, workpool.SEARCH, workpool.analyse_photo, data, name, settings, "accepted")
        return wait(ticket, "Searching your photo: finding and measuring its faces")

    return analyse


def enrolment_analyser() -> Callable[..., Iterator]:
    """The ``analyser`` of :func:`workbench.search.enrol.enrol_sources`: one job per photo."""
    return workpool.shared().enrolment_analyser(
        session(), lambda t: wait(t, "Enrolling: finding and measuring the faces of a photo"))


def analysis_of(data: bytes, name: str, settings: Settings) -> Analysis:
    """Every face of an uploaded photo, analysed in a worker once per photo and settings, and kept
    for this session (choosing another face of it costs no model time)."""
    import hashlib

    kept: dict = st.session_state.setdefault("_analyses", {})
    key = (hashlib.sha256(data).hexdigest(), settings)
    if key not in kept:
        ticket = workpool.shared().submit(session(), workpool.COMPARISON, workpool.analyse_photo, data, name, settings)
        kept[key] = wait(ticket, f"Finding and measuring the faces of {literal(name)}")
        while len(kept) > KEEP_ANALYSES:
            kept.pop(next(iter(kept)))
    return kept[key]


def batch_lane():
    """Around an evaluation or an audit: its photos go to the shared pool's batch lane as this
    session's jobs (never on every worker, and after every waiting search)."""
    return workpool.batch_lane(session())
