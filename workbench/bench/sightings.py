"""``workbench bench sightings --size N``: how many logged sightings a search by photo compares per
second, on a synthetic log of ``N`` sightings written to a real DuckDB file.

The log's vectors are :mod:`workbench.bench.synthetic`'s clustered faces at Dlib's distances:
each identity is one person seen in ``1 + Poisson(4)`` sightings, spread over ``cameras`` cameras
and an hour; the probes are fresh faces of logged identities, so each should find its own
sightings. Timed in the same run, on the same matrix and probes:

* the product's path (:class:`~workbench.search.log_search.LogIndex`: a lower bound on the
  principal axes, then exact distances for the sightings that can still be within the threshold);
* the baseline: a plain scan of every vector with :func:`workbench.pipeline.compare.distances`.

Both must return the same sightings (checked). Also reported: cold start (a new connection to
the file -> matrix -> index), memory, the file's bytes per sighting with and without its vector.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from workbench.bench import synthetic
from workbench.bench.common import pcts, rss_mb
from workbench.bench.search import MEMORY_LIMIT, SYNTHETIC_MODEL

GALLERY = "synthetic"
START = dt.datetime(2026, 1, 1, 8, 0, 0)


@dataclass(frozen=True)
class SightingsBench:
    sightings: int
    probes: int
    threshold: float
    found_per_probe: float
    own_found_per_probe: float      # of those, the probe's own identity's sightings
    own_logged_per_probe: float     # the probe's identity's sightings in the log (what a perfect search finds)
    ours_p50_ms: float
    ours_p95_ms: float
    scan_p50_ms: float
    scan_p95_ms: float
    sightings_per_s: float          # sightings compared per second by the product (at p50)
    scan_sightings_per_s: float
    speedup: float
    same_answers: bool
    cold_start_s: float             # new connection -> matrix read -> index built
    matrix_read_s: float
    index_build_s: float
    memory_mb: float                # process growth for matrix and index
    write_s: float                  # writing the synthetic log (0 when reused)
    file_mb: float
    bytes_per_sighting: float       # the file's size over the sightings (everything a row holds)
    vector_bytes_per_sighting: float  # measured: a log with vectors minus the same log without
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)


def _write_log(path: Path, size: int, seed: int, probes: int, cameras: int,
               progress: Callable[[int, int, str], None] | None, with_vectors: bool = True
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A log of ``size`` synthetic sightings in a new DuckDB file at ``path``, one track per synthetic
    identity; returns ``(probes, each probe's identity, each sighting's identity in id order)``."""
    from workbench.store import Store

    rng = np.random.default_rng(seed + 1)  # cameras and times: the vectors come from synthetic.clustered(seed)
    qs, who_q, who, done = [], [], [], 0
    with Store(path) as db:
        db.db.set_memory_limit(MEMORY_LIMIT)
        db.galleries.create(GALLERY, SYNTHETIC_MODEL)
        run = db.runs.start(gallery=GALLERY, model=SYNTHETIC_MODEL, detector="synthetic", metric="euclidean",
                            threshold=0.6, alert_threshold=0.6, identity_threshold=0.51,
                            sources=[f"cam{c}=synthetic" for c in range(cameras)], mode="synthetic", keep_chips=False)
        for c in synthetic.clustered(size, seed=seed, queries=probes, chunk=250_000):
            n = len(c.vectors)
            vecs = c.vectors if with_vectors else None
            identity = np.array([int(name[2:]) for name in c.people], np.int64)  # "id123" -> 123
            db.sighting_vectors.add_bulk(GALLERY, SYNTHETIC_MODEL, run, [f"cam{k}" for k in range(cameras)],
                                         rng.integers(0, cameras, n), identity[c.person_index],
                                         np.sort(rng.uniform(0, 3600, n)), START, vecs)
            qs.append(c.queries)
            who_q.append(np.array([int(name[2:]) for name in c.query_people], np.int64))
            who.append(identity[c.person_index])
            done += n
            if progress:
                progress(done, size, "writing the synthetic log")
        db.runs.end(run, "completed")
        db.db.checkpoint()
    return np.vstack(qs), np.concatenate(who_q), np.concatenate(who)


def _vector_bytes(sample: int, seed: int, cameras: int) -> float:
    """Bytes a vector adds to a sighting on disk: two logs of ``sample`` sightings, with and without."""
    sizes = []
    with tempfile.TemporaryDirectory() as tmp:
        for with_vectors in (True, False):
            p = Path(tmp) / f"log-{with_vectors}.duckdb"
            _write_log(p, sample, seed, 0, cameras, None, with_vectors)
            sizes.append(p.stat().st_size)
    return (sizes[0] - sizes[1]) / sample


def bench_sightings(size: int, *, workdir: str | None = None, seed: int = 0, probes: int = 200, cameras: int = 20,
                    threshold: float = 0.6, progress: Callable[[int, int, str], None] | None = None) -> SightingsBench:
    """Search a synthetic log of ``size`` sightings with ``probes`` probes, the product's way and
    by a plain scan (see the module docstring). The log is kept in ``workdir`` and reused."""
    from workbench.pipeline import compare
    from workbench.search.log_search import LogIndex, scan
    from workbench.store import Store
    from workbench.types import Embedding

    compare.check_threshold(threshold, SYNTHETIC_MODEL, "euclidean")
    folder = Path(workdir or tempfile.mkdtemp(prefix="workbench-bench-sightings-"))
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / f"sightings-{size}-s{seed}-q{probes}-c{cameras}"
    path, extra = base.with_suffix(".duckdb"), base.with_suffix(".npz")
    t0 = time.perf_counter()
    if path.is_file() and extra.is_file():
        with np.load(extra) as z:
            q, who_q, who = z["probes"], z["probe_identity"], z["identity"]
        write_s = 0.0
    else:
        path.unlink(missing_ok=True)
        q, who_q, who = _write_log(path, size, seed, probes, cameras, progress)
        np.savez(extra, probes=q, probe_identity=who_q, identity=who)
        write_s = time.perf_counter() - t0
    gc.collect()
    rss0 = rss_mb()
    with Store(path, read_only=True) as db:
        db.db.set_memory_limit(MEMORY_LIMIT)
        t0 = time.perf_counter()
        matrix = db.sighting_vectors.matrix(GALLERY, SYNTHETIC_MODEL)
        t1 = time.perf_counter()
        index = LogIndex(matrix, "euclidean")
        t2 = time.perf_counter()
    memory = rss_mb() - rss0
    probes_e = [Embedding(v, SYNTHETIC_MODEL) for v in q]
    logged = np.bincount(who, minlength=int(max(who.max(initial=0), who_q.max(initial=0))) + 1)
    ours, base_ms, found, own, same = [], [], [], [], True
    for k, p in enumerate(probes_e):
        a = time.perf_counter()
        got = index.within(p, threshold, threshold)
        b = time.perf_counter()
        want = scan(matrix, p, "euclidean", threshold)
        c = time.perf_counter()
        ours.append((b - a) * 1000)
        base_ms.append((c - b) * 1000)
        found.append(len(got))
        rows = np.searchsorted(matrix.ids, np.array([m.sighting_id for m in got], np.int64))
        own.append(int(np.count_nonzero(who[rows] == who_q[k])))
        same &= set(int(m.sighting_id) for m in got) == set(int(i) for i in want)
        if progress and (k + 1) % 20 == 0:
            progress(k + 1, len(probes_e), "searching")
    (p50, p95), (s50, s95) = pcts(ours), pcts(base_ms)
    n = matrix.size
    mean = (lambda xs: round(float(np.mean(xs)), 2) if len(xs) else 0.0)  # noqa: E731
    return SightingsBench(n, len(probes_e), threshold, mean(found), mean(own), mean(logged[who_q]), p50, p95,
                          s50, s95, round(n / (p50 / 1000)) if p50 else 0.0, round(n / (s50 / 1000)) if s50 else 0.0,
                          round(s50 / p50, 2) if p50 else 0.0, bool(same), round(t2 - t0, 2), round(t1 - t0, 2),
                          round(t2 - t1, 2), round(memory, 1), round(write_s, 1), round(path.stat().st_size / 2**20, 1),
                          round(path.stat().st_size / max(n, 1), 1),
                          round(_vector_bytes(min(size, 100_000), seed, cameras), 1),
                          tuple(round(x, 2) for x in os.getloadavg()))
