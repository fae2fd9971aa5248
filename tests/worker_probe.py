"""Imported inside pool workers by tests: this module imports nothing that would blur the answer."""

from __future__ import annotations

import sys


def worker_state() -> dict:
    """What a pool worker's start left behind: Streamlit modules, and the parent's main script."""
    main = sys.modules.get("__mp_main__")
    return {"streamlit": sorted(m for m in sys.modules if m == "streamlit" or m.startswith("streamlit.")),
            "main_file": getattr(main, "__file__", None),
            "main_names": sorted(k for k in vars(main) if not k.startswith("__")) if main else []}


def loaded_models() -> list[str]:
    """The models a pool worker holds (loaded by its initializer)."""
    from workbench.pipeline import models

    return models.loaded()


def search_job(data, name, settings, barrier=None):
    """A search's job as the app's work pool runs it (:func:`workbench.pipeline.workpool.analyse_photo`),
    after ``barrier`` (two jobs meet there only when two workers run them at once), with the worker's
    process id and its model load counts."""
    import os

    from workbench.pipeline import models, workpool

    if barrier is not None:
        barrier.wait(timeout=120)
    return os.getpid(), workpool.analyse_photo(data, name, settings, "accepted"), models.load_counts()
