"""Warming the models up, so the first Compare, Enrol or Evaluate does not wait for them.

Once per server process, in the background: the default detector and model, the worker processes
(each loads its own) and the evaluation modules; the first page is drawn meanwhile. Then, on each
run, the sidebar's detector and model (their zoo entries). A background warm-up that fails only
means a slower first use: it is said once in the server's log and once per session in the sidebar,
in words.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import streamlit as st

from workbench.app.ui import literal
from workbench.pipeline import zoo

log = logging.getLogger(__name__)


@dataclass
class WarmUp:
    """The background warm-up's progress: ``done`` is set when it has finished; ``error`` says in
    words what failed."""

    done: threading.Event
    workers: int = 0
    seconds: float = 0.0
    error: str | None = None


#: The warm-up this server process started (``None`` before the app's first run).
state: WarmUp | None = None


@st.cache_resource(show_spinner=False)
def start() -> WarmUp:
    """Start the background warm-up, once per server process."""
    global state
    started = state = WarmUp(threading.Event())
    threading.Thread(target=_run, args=(started,), name="workbench-warm-up", daemon=True).start()
    return started


def _run(started: WarmUp) -> None:
    t0 = time.perf_counter()
    try:
        from workbench.app import story  # noqa: F401
        from workbench.evaluation.reports import plots, readable, report  # noqa: F401
        from workbench.evaluation.runners import verification  # noqa: F401
        from workbench.pipeline import parallel

        started.workers = parallel.warm_up()
    except Exception as err:  # noqa: BLE001 - a failed warm-up only means a slower first use: said once
        from workbench.app import words

        started.error = (f"The face models could not be prepared in the background ({words.message(err)}). "
                         "The first enrolment, search or comparison will load them itself and say what is wrong.")
        log.warning("%s", started.error)
    finally:
        started.seconds = time.perf_counter() - t0
        started.done.set()


def say_failure() -> None:
    """Once per session, after the background warm-up failed: what failed and what it means, in words."""
    if state is not None and state.done.is_set() and state.error and not st.session_state.get("_warm_up_said"):
        st.session_state["_warm_up_said"] = True
        st.sidebar.warning(literal(state.error))


@st.cache_resource(show_spinner="Loading face models (once per process) ...")
def load_models(detector: str, model: str) -> list[str]:
    """Warm the sidebar's detector and model (their zoo entries) so the first search does not pay."""
    from workbench.pipeline import models

    zoo.detector(detector).warm_up()
    zoo.embedder(model).warm_up()
    return models.loaded()
