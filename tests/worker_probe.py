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
