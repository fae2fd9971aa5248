"""What every benchmark shares: medians of repeated timings, percentiles, process memory,
and keeping DeepFace's chatter off stdout (so ``--json`` stays clean)."""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
from dataclasses import asdict
from typing import Callable

import numpy as np


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``fn()`` over ``repeat`` calls, in milliseconds."""
    times = []
    for _ in range(max(repeat, 1)):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def pcts(ms: list[float]) -> tuple[float, float]:
    """``(p50, p95)`` of a list of milliseconds (zeros for an empty list)."""
    if not ms:
        return 0.0, 0.0
    a = np.asarray(ms)
    return round(float(np.percentile(a, 50)), 3), round(float(np.percentile(a, 95)), 3)


def rss_mb() -> float:
    """Resident memory of this process in MB."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def quiet():
    """DeepFace logs to stdout; keep stdout clean for ``--json`` by sending it to stderr."""
    return contextlib.redirect_stdout(sys.stderr)


def as_dicts(rows: list) -> list[dict]:
    return [asdict(r) for r in rows]
