"""Search benchmarks, run by hand: ``workbench bench search --sizes ...`` (vectorised exact
top-k against a Python loop) and ``--size N [--ann]`` (indexes at scale).

A synthetic clustered gallery (:mod:`workbench.bench.synthetic`) is written to a real DuckDB file,
then every index kind of :mod:`workbench.search.index` is built from it and timed on single-vector
top-10 queries against exact search; ``DeepFace.find`` is timed on the same kind of vectors.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from workbench.bench import synthetic
from workbench.bench.common import median_ms, pcts, quiet, rss_mb
from workbench.search import rank
from workbench.store import GalleryMatrix


def loop_top_k(query: np.ndarray, vectors: np.ndarray, k: int) -> list[int]:
    """The baseline: one distance per row in a Python loop, then a sort."""
    dists = [(float(np.sqrt(((query - row) ** 2).sum())), i) for i, row in enumerate(vectors)]
    return [i for _, i in sorted(dists)[:k]]


@dataclass(frozen=True)
class SearchBench:
    gallery_size: int
    vectorised_ms: float
    loop_ms: float
    speedup: float
    loop_rows_timed: int
    same_answer: bool


def bench_search(sizes: list[int], *, top_k: int = 5, repeat: int = 5, loop_cap: int = 20_000,
                 progress: Callable[[int, int, str], None] | None = None) -> list[SearchBench]:
    """Median time of one exact top-k query, vectorised vs loop, per gallery size.

    The loop is timed on at most ``loop_cap`` rows and scaled linearly (it is O(n)).
    """
    out = []
    for i, n in enumerate(sizes, 1):
        m = synthetic.gallery_matrix(n)
        q = m.vectors[n // 2] + 0.01
        fast = median_ms(lambda: rank(q[None], m, metric="euclidean", threshold=0.6, top_k=top_k,
                                       per_person=False), repeat)
        rows = min(n, loop_cap)
        slow = median_ms(lambda: loop_top_k(q, m.vectors[:rows], top_k), max(1, repeat // 2)) * n / rows
        sub = GalleryMatrix(m.face_ids[:rows], m.person_ids[:rows], m.people[:rows], m.sources[:rows],
                            m.vectors[:rows])
        fast_ids = [x.face_id for x in rank(q[None], sub, metric="euclidean", threshold=0.6, top_k=top_k,
                                            per_person=False)[0]]
        same = fast_ids == loop_top_k(q, sub.vectors, top_k)
        out.append(SearchBench(n, round(fast, 3), round(slow, 1), round(slow / fast, 1), rows, bool(same)))
        if progress:
            progress(i, len(sizes), f"{n} faces")
    return out



@dataclass(frozen=True)
class IndexBench:
    size: int
    kind: str
    p50_ms: float
    p95_ms: float
    recall_at_10: float
    match_recall: float
    ram_mb: float
    index_mb: float
    build_s: float
    cold_start_s: float
    params: str
    queries: int
    #: of the ``queries`` probes, how many are strangers (no face of theirs in the gallery)
    strangers: int = 0
    #: what ``index.build`` chose by itself, tuned on faces held out of the index (see
    #: :mod:`workbench.search.index.tuning`): the setting a search through the product's index
    #: uses, its own estimate (and the lower end of its 95 % interval) beside what the same
    #: unseen probes as every other row measure
    as_built: str = ""
    as_built_estimate: float | None = None
    as_built_estimate_low: float | None = None
    as_built_p50_ms: float | None = None
    as_built_p95_ms: float | None = None
    as_built_recall_at_10: float | None = None
    as_built_recall_strangers: float | None = None
    #: the bounded exact search's p50 over the as-built p50, same probes, same run
    as_built_speedup: float | None = None
    #: ``ivf_pq`` shares one probe's long scan among the cores (``PARALLEL_SCAN_CODES``): the as-built
    #: p50 again with every search on one thread, same probes, same run (``None`` for other kinds)
    as_built_one_thread_p50_ms: float | None = None


#: DuckDB's own cache while benchmarks read millions of vectors (its default is 80 % of RAM).
MEMORY_LIMIT = "4GB"
#: The model the synthetic vectors stand for: they are made at Dlib's distances and spread.
SYNTHETIC_MODEL = "Dlib"


def synthetic_db(size: int, workdir: str, *, seed: int = 0, queries: int = 1000,
                 progress: Callable[[int, int, str], None] | None = None) -> tuple[str, np.ndarray, float]:
    """A DuckDB gallery ``synthetic`` of ``size`` clustered faces (see :mod:`workbench.bench.synthetic`),
    reused when it already exists in ``workdir``; returns ``(db path, probe vectors, insert seconds)``.
    The probes are drawn between the gallery's chunks from the same generator, so the probe
    count is part of the file name: another count is another gallery."""
    from pathlib import Path

    from workbench.bench import synthetic
    from workbench.store import Store

    base = Path(workdir) / f"synthetic-{size}-s{seed}-q{queries}"
    db_path, q_path = base.with_suffix(".duckdb"), base.with_suffix(".queries.npy")
    if db_path.is_file() and q_path.is_file():
        return str(db_path), np.load(q_path), 0.0
    db_path.unlink(missing_ok=True)
    qs = []
    t0 = time.perf_counter()
    with Store(db_path) as db:
        db.db.set_memory_limit(MEMORY_LIMIT)  # leave RAM to the vectors (and to others)
        for c in synthetic.clustered(size, seed=seed, queries=queries):
            db.faces.add_bulk("synthetic", c.people, c.person_index, c.vectors, model=SYNTHETIC_MODEL,
                              sha_prefix=f"{len(qs)}:")
            qs.append(c.queries)
            if progress:
                progress(min(len(qs) * 500_000, size), size, "writing the synthetic gallery")
    q = np.vstack(qs)
    np.save(q_path, q)
    return str(db_path), q, time.perf_counter() - t0


def _time_queries(gi, q: np.ndarray, k: int = 10) -> tuple[list[float], np.ndarray, np.ndarray]:
    ms, ids, dist = [], [], []
    for row in q:
        t0 = time.perf_counter()
        d, i = gi.search(row[None], k)
        ms.append((time.perf_counter() - t0) * 1000)
        ids.append(i[0])
        dist.append(d[0])
    return ms, np.asarray(ids), np.asarray(dist)


def _match_recall(truth_ids: np.ndarray, truth_d: np.ndarray, found: np.ndarray, threshold: float) -> float:
    """Share of the exact results under the match threshold that the index also returned."""
    want = [set(t[d <= threshold]) for t, d in zip(truth_ids, truth_d)]
    total = sum(len(w) for w in want)
    return round(sum(len(w & set(f)) for w, f in zip(want, found)) / total, 4) if total else 1.0


def bench_search_scale(size: int, *, kinds: tuple[str, ...] = ("exact",), workdir: str, seed: int = 0,
                       queries: int = 1000, target_recall: float = 0.98, margin: float = 0.005,
                       progress: Callable[[int, int, str], None] | None = None) -> list[IndexBench]:
    """Exact and approximate top-10 over a synthetic clustered gallery stored in DuckDB.

    For each kind: build time (from the DuckDB file), process memory growth, estimated index
    size, cold start (a new connection to the file -> index ready, loading a saved index when
    there is one), and per-query latency percentiles over single-vector queries. Approximate
    kinds are tuned (``nprobe`` / ``efSearch``) on half of the probes until recall@10 reaches
    ``target_recall + margin`` (so that the other half, unseen, still clears the target) and
    measured on the other half. Before that, the same half is searched with the setting the
    build chose by itself on faces held out of the index (``as_built*``: what ``workbench search
    --index`` uses), with the estimate its tuning made.
    ``match_recall`` counts only exact results under the Dlib match threshold (0.6): the
    faces a search would call a match. Probes are never faces of the gallery: fresh faces of
    its identities (new photos of enrolled people) and, in the share the index's own tuning
    uses (:data:`~workbench.search.index.tuning.STRANGER_SHARE`), faces of strangers.
    ``cold_start_s`` runs from a new connection to the file to the first answer.
    """
    import gc

    from workbench.search import index
    from workbench.store import Store

    db_path, q, _ = synthetic_db(size, workdir, seed=seed, queries=queries, progress=progress)
    share = index.tuning.STRANGER_SHARE
    odd = synthetic.strangers(int(round(len(q) * share / (1 - share))), seed=seed)
    tune = np.vstack([q[: len(q) // 2], odd[: len(odd) // 2]])
    test = np.vstack([q[len(q) // 2:], odd[len(odd) // 2:]])
    stranger = np.arange(len(test)) >= len(q) - len(q) // 2
    rows: list[IndexBench] = []
    with Store(db_path, read_only=True) as db:
        db.db.set_memory_limit(MEMORY_LIMIT)
        rss0 = rss_mb()
        t0 = time.perf_counter()
        exact = index.build(db, "synthetic", "exact", SYNTHETIC_MODEL)
        cold = time.perf_counter() - t0
        ram = rss_mb() - rss0
        # the baseline and the truth: a plain full scan over the same arrays (no copy)
        scan = index.ExactIndex(exact.index.ids, exact.index.vectors, prune=False)
        _time_queries(scan, test[:5])  # first touches
        scan_ms, truth, truth_d = _time_queries(scan, test)
        _, tune_truth, _ = _time_queries(scan, tune)
        ms, found, _ = _time_queries(exact, test)
        p50, p95 = pcts(ms)
        exact_p50 = p50
        bound = exact.index._axes is not None
        rows.append(IndexBench(size, "exact", p50, p95, round(index.recall_at_k(truth, found), 4),
                               _match_recall(truth, truth_d, found, 0.6), round(ram, 1),
                               round(exact.nbytes() / 2**20, 1), round(exact.build_s, 2), round(cold, 2),
                               f"lower bound on {exact.index._axes.shape[1]} principal axes, then full vectors"
                               if bound else "float32 matmul + argpartition", len(test), int(stranger.sum())))
        if bound:
            p50s, p95s = pcts(scan_ms)
            rows.append(replace(rows[-1], kind="exact_scan", p50_ms=p50s, p95_ms=p95s, recall_at_10=1.0,
                                match_recall=1.0, index_mb=round(scan.nbytes() / 2**20, 1),
                                params="baseline: full float32 scan, matmul + argpartition"))
        del scan
        index.save(db, exact)  # the cached copy (.npy beside the database) and its cold start
        saved_ids = exact.index.ids
        del exact
        gc.collect()
        t0 = time.perf_counter()
        exact = index.load(db, "synthetic", "exact", SYNTHETIC_MODEL, build_missing=False)
        exact.search(test[:1], 10)
        cold_cached = time.perf_counter() - t0
        same = bool(np.array_equal(exact.index.ids, saved_ids))
        rows.insert(1, replace(rows[0], cold_start_s=round(cold_cached, 2),
                            params=f"cached .npy copy, checked against the database ({'same ids' if same else 'STALE'})"))
        if progress:
            progress(1, len(kinds) + 1, "exact")
        if "exact" not in kinds:
            del rows[:]
        del exact
        gc.collect()
    for n, kind in enumerate(k for k in kinds if k != "exact"):
        with Store(db_path, read_only=True) as db:
            index.index_path(db, "synthetic", kind).unlink(missing_ok=True)
            rss0 = rss_mb()
            gi = index.build(db, "synthetic", kind, SYNTHETIC_MODEL)
            ram = rss_mb() - rss0
            index.save(db, gi)
        knob, values = index.SWEEP[kind]
        chosen = None
        for v in values:
            if knob:
                setattr(gi.index, knob, v)
                gi.index.tune()
            _, found, _ = _time_queries(gi, tune)
            chosen = v
            if index.recall_at_k(tune_truth, found) >= target_recall + margin:
                break
        build_s = gi.build_s + gi.load_s
        del gi
        gc.collect()
        with Store(db_path, read_only=True) as db:  # cold start: file -> saved index -> synced
            t0 = time.perf_counter()
            gi = index.load(db, "synthetic", kind, SYNTHETIC_MODEL, build_missing=False)
            gi.search(test[:1], 10)
            cold = time.perf_counter() - t0
            _time_queries(gi, test[:5])
            own = {}
            if knob:  # first as the product will search it: the setting the build chose
                own_ms, own_found, _ = _time_queries(gi, test)
                t = gi.tuned
                own = dict(as_built=f"{knob}={t[knob]} (estimate {t['recall']}, at least {t['recall_low']}, on "
                                    f"{t['probes']} faces held out of the index, {t['strangers']} of them strangers)",
                           as_built_estimate=t["recall"], as_built_estimate_low=t["recall_low"],
                           as_built_p50_ms=pcts(own_ms)[0], as_built_p95_ms=pcts(own_ms)[1],
                           as_built_recall_at_10=round(index.recall_at_k(truth, own_found), 4),
                           as_built_recall_strangers=round(index.recall_at_k(truth[stranger], own_found[stranger]), 4),
                           as_built_speedup=round(exact_p50 / max(pcts(own_ms)[0], 1e-6), 1))
                if hasattr(gi.index, "split_scans"):  # the same probes, each on one thread
                    gi.index.split_scans = False
                    own["as_built_one_thread_p50_ms"] = pcts(_time_queries(gi, test)[0])[0]
                    gi.index.split_scans = True
                setattr(gi.index, knob, chosen)
                gi.index.tune()
            ms, found, _ = _time_queries(gi, test)
        p50, p95 = pcts(ms)
        params = f"{knob}={chosen}" if knob else "8-bit codes"
        if kind.startswith("ivf"):
            params = f"nlist={gi.index.nlist}, {params}"
        if kind == "ivf_pq":
            params += f", rotated PQ{gi.index.dim // 2}x4fs, {gi.index.k_factor * 10} candidates re-ranked exactly"
        rows.append(IndexBench(size, kind, p50, p95, round(index.recall_at_k(truth, found), 4),
                               _match_recall(truth, truth_d, found, 0.6), round(ram, 1),
                               round(gi.nbytes() / 2**20, 1), round(build_s, 2), round(cold, 2), params, len(test),
                               int(stranger.sum()), **own))
        del gi
        gc.collect()
        if progress:
            progress(n + 2, len(kinds) + 1, kind)
    return rows


@dataclass(frozen=True)
class FindBench:
    gallery_size: int
    deepface_find_ms: float
    deepface_represent_ms: float
    deepface_search_ms: float
    ours_embed_ms: float
    ours_search_ms: float
    speedup_end_to_end: float
    speedup_search: float


def bench_deepface_find(size: int = 10_000, *, repeat: int = 3, seed: int = 0) -> FindBench:
    """``DeepFace.find`` against this workbench on the same ``size`` synthetic Dlib vectors.

    DeepFace.find reads its vectors from a datastore file it writes next to a folder of
    images. To give it exactly our gallery without ``size`` photos, the datastore is written
    with DeepFace's own serialiser from the synthetic vectors, and ``find`` runs with
    ``refresh_database=False`` (it trusts the file) on one aligned 150 x 150 face chip with
    ``detector_backend='skip'``; so both sides do the same work: embed one face, rank the
    gallery. DeepFace's search share is its ``find`` time minus ``represent`` on the same chip.
    """
    import tempfile

    from workbench.bench import synthetic
    from workbench.pipeline import models
    from workbench.pipeline.embed import embed_chips
    from workbench.search.index import ExactIndex

    models.prepare_deepface()
    from deepface import DeepFace
    from deepface.modules import recognition

    chunk = next(synthetic.clustered(size, seed=seed, queries=1, chunk=size))
    vecs = chunk.vectors
    chip = np.random.default_rng(seed).integers(0, 255, (150, 150, 3), dtype=np.uint8)
    bgr = np.ascontiguousarray(chip[:, :, ::-1])
    with tempfile.TemporaryDirectory() as tmp:
        reps = [{"identity": f"{tmp}/{chunk.people[p]}_{i}.jpg", "hash": "", "embedding": v.tolist(),
                 "target_x": 0, "target_y": 0, "target_w": 150, "target_h": 150}
                for i, (p, v) in enumerate(zip(chunk.person_index, vecs))]
        name = "ds_model_dlib_detector_skip_aligned_normalization_base_expand_0.npz"
        store = recognition.build_file_store(tmp)
        getattr(recognition, "__save_representations")(store=store, datastore_path=store.join(name),
                                                       representations=reps, datastore_format="npz")
        kw = dict(db_path=tmp, model_name="Dlib", detector_backend="skip", distance_metric="euclidean",
                  refresh_database=False, silent=True, k=10, enforce_detection=False, return_type="pandas")
        with quiet():
            DeepFace.find(bgr, **kw)
            find_ms = median_ms(lambda: DeepFace.find(bgr, **kw), repeat)
            rep_ms = median_ms(lambda: DeepFace.represent(bgr, model_name="Dlib", detector_backend="skip",
                                                           enforce_detection=False), repeat)
    ex = ExactIndex(np.arange(size, dtype=np.int64), vecs)
    embed_chips([chip])
    emb_ms = median_ms(lambda: embed_chips([chip]), repeat)
    q = embed_chips([chip])
    search_ms = median_ms(lambda: ex.search(q, 10), max(repeat, 5))
    df_search = max(find_ms - rep_ms, 1e-3)
    return FindBench(size, round(find_ms, 2), round(rep_ms, 2), round(df_search, 2), round(emb_ms, 2),
                     round(search_ms, 3), round(find_ms / (emb_ms + search_ms), 1), round(df_search / search_ms, 1))
