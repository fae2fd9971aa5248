"""Issue 23 part 4: an approximate index is tuned on faces it has never seen.

The probes are held out of the index while it is tuned (new photos of enrolled people, and
strangers with no face in it), the recall it reports is measured on those probes against an
exact search of the faces it holds, and only then do they join the index.
"""

import numpy as np
import pytest

from workbench.bench import synthetic
from workbench.search import index
from workbench.search.index import tuning
from workbench.store import Store

N = 20_000


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    db = Store(tmp_path_factory.mktemp("tuning") / "g.duckdb")
    for c in synthetic.clustered(N, seed=5, queries=0, chunk=N):
        db.faces.add_bulk("g", c.people, c.person_index, c.vectors, model="Dlib")
    yield db
    db.close()


def _rows(a: np.ndarray) -> set[bytes]:
    return {r.tobytes() for r in np.ascontiguousarray(a, np.float32)}


@pytest.mark.parametrize("kind", ["ivf_pq", "ivf"])
def test_tuning_probes_are_never_faces_of_the_index_and_its_recall_is_theirs(gallery, monkeypatch, kind):
    calls = []
    real = tuning.tune_held_out

    def spy(idx, ids, vecs, held, **kw):
        searches = []
        search = idx.search

        def watched(q, k):
            d, found = search(q, k)
            searches.append((np.array(q), found, idx.searchable))
            return d, found

        idx.search = watched
        try:
            out = real(idx, ids, vecs, held, **kw)
        finally:
            del idx.search
        calls.append((ids, vecs, held, searches, out))
        return out

    monkeypatch.setattr(tuning, "tune_held_out", spy)
    gi = index.build(gallery, "g", kind, "Dlib")
    (ids, vecs, held, searches, out), = calls
    knob = index.SWEEP[kind][0]
    assert out == gi.tuned and out[knob] == getattr(gi.index, knob) and out["probes_from"] == tuning.PROBES_FROM
    assert out["probes"] == len(held.probes) == tuning.TUNE_PROBES and out["strangers"] == held.strangers == 200
    assert np.isin(held.probes, held.out).all()
    indexed = np.setdiff1d(np.arange(N), held.out)
    assert searches and len(searches) == [v for v in index.SWEEP[kind][1]].index(out[knob]) + 1
    for q, found, searchable in searches:
        assert searchable == len(indexed) == N - len(held.out)  # the held-out faces are not in it
        assert np.array_equal(q, vecs[held.probes])  # the probes are the held-out faces...
        assert not _rows(q) & _rows(vecs[indexed])  # ... and none is a face of the index
        assert not np.isin(found, ids[held.out]).any()
    # strangers: no face of their person is in the index while it is tuned
    _, people = gallery.vectors.people_of("g", "Dlib")
    unknown = ~np.isin(people[held.probes], people[indexed])
    assert unknown.sum() >= held.strangers
    # the recall it reports is measured on those probes, against exact search of what it holds
    x, q = vecs[indexed].astype(np.float64), vecs[held.probes].astype(np.float64)
    d = (x**2).sum(1)[None, :] - 2 * q @ x.T  # + |q|^2, the same for a row
    truth = ids[indexed][np.argsort(d, axis=1, kind="stable")[:, :10]]
    found = searches[-1][1]
    assert out["recall"] == pytest.approx(index.recall_at_k(truth, found), abs=1e-4)
    assert out["recall_low"] <= out["recall"] and (out["recall_low"] >= index.TUNE_RECALL
                                                   or out[knob] == index.SWEEP[kind][1][-1])
    # ... and once tuned, they join the index: a held-out face is its own nearest
    assert gi.index.searchable == gi.index.size == N
    probe = held.probes[0]
    assert gi.search(vecs[probe][None], 1)[1][0, 0] == ids[probe]


def test_the_setting_kept_is_the_cheapest_whose_interval_reaches_the_target(gallery):
    ids, vecs = gallery.vectors.load("g", "Dlib")
    _, people = gallery.vectors.people_of("g", "Dlib")
    held = tuning.hold_out(people, 300)
    idx = index.RefinedIndex(128)
    idx.build(ids, vecs, skip=held.out)
    values = index.SWEEP["ivf_pq"][1]
    assert tuning.tune_held_out(idx, ids, vecs, held, target=0.0)["nprobe"] == values[0]
    assert tuning.tune_held_out(idx, ids, vecs, held, target=1.01)["nprobe"] == values[-1]  # none does
    mid = tuning.tune_held_out(idx, ids, vecs, held, target=0.99)
    i = values.index(mid["nprobe"])
    assert mid["recall_low"] >= 0.99 and i > 0
    idx.nprobe = values[i - 1]
    idx.tune()
    per = tuning.per_probe_recall(tuning._true_neighbours(idx._store, vecs[held.probes], 10, held.out),
                                  idx.search(vecs[held.probes], 10)[1])
    assert per.mean() - 1.645 * per.std(ddof=1) / np.sqrt(len(per)) < 0.99  # the one before fell short


def test_hold_out_draws_distinct_people_and_takes_strangers_whole():
    people = np.repeat(np.arange(500), 4)  # 500 people, 4 faces each
    held = tuning.hold_out(people, 100, stranger_share=0.25)
    assert len(held.probes) == 100 and held.strangers == 25
    assert len(set(people[held.probes])) == 100
    assert len(held.out) == 100 + 25 * 3  # a stranger's other 3 faces go with them
    assert tuning.hold_out(people[:11], 100).probes.size == 0  # holding one out would leave k faces
    assert tuning.hold_out(people[:12], 100).probes.size == 1


def test_a_long_scan_is_shared_among_the_cores_with_the_same_answer(gallery, monkeypatch):
    """One probe's scan is split among the cores (faiss ``implem`` 14) from
    ``PARALLEL_SCAN_CODES`` codes on: the answer is the one a single thread gives, and the
    index is left as it was for the next search."""
    import faiss

    from workbench.search.index import faiss_kinds

    ids, vecs = gallery.vectors.load("g", "Dlib")
    idx = index.RefinedIndex(128, nprobe=64)
    idx.build(ids, vecs)
    assert 0 < idx.scanned_codes() <= N
    splits = []
    real = faiss_kinds._faiss_search

    def spy(ix, q, k, *, split=None):
        splits.append(split is not None and q.shape[0] == 1)
        return real(ix, q, k, split=split)

    monkeypatch.setattr(faiss_kinds, "_faiss_search", spy)
    probes = vecs[::997][:20]
    one = [idx.search(p[None], 10) for p in probes]
    assert not any(splits)  # 20,000 faces: far below the threshold, one thread
    monkeypatch.setattr(faiss_kinds, "PARALLEL_SCAN_CODES", 1)
    threads = faiss.omp_get_max_threads()
    split = [idx.search(p[None], 10) for p in probes]
    assert splits[len(probes):] == [True] * len(probes)
    for (d1, i1), (d2, i2) in zip(one, split):
        np.testing.assert_array_equal(i1, i2)
        np.testing.assert_allclose(d1, d2)
    assert idx._ivf_inner.implem == 0 and faiss.omp_get_max_threads() == threads
    idx.split_scans = False  # what ``bench search`` times beside it: every search on one thread
    idx.search(probes[0][None], 10)
    assert splits[-1] is False
