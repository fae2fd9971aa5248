"""The shared work pool of the app: a fair queue (round robin between sessions, the batch lane never
before a search nor on every worker, places, cancellation), the place in the queue said on the page,
and two sessions' searches served at once by worker processes that load their models once."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError

import pytest

from workbench.pipeline import Settings, workpool
from workbench.pipeline.fairqueue import BATCH, INTERACTIVE, FairQueue, Job

S, E = workpool.SEARCH, workpool.ENROLMENT


def _put(q: FairQueue, session: str, kind: str = S, lane: str = INTERACTIVE, tag: str = ""):
    return q.put(Job(session, lane, kind, print, (tag or session,)))


def _order(q: FairQueue) -> list[str]:
    out = []
    while (t := q.take(timeout=0)) is not None:
        out.append(t.job.args[0])
        q.finish(t)
    return out


def test_sessions_take_turns_so_a_long_enrolment_cannot_starve_a_search():
    q = FairQueue()
    for i in range(1, 5):
        _put(q, "A", E, tag=f"a{i}")  # one session queues four photos first
    _put(q, "B", S, tag="b1")
    _put(q, "C", S, tag="c1")
    assert _order(q) == ["a1", "b1", "c1", "a2", "a3", "a4"]


def test_a_waiting_job_knows_what_is_ahead_of_it_and_says_it_in_words():
    q = FairQueue()
    a = [_put(q, "A", E) for _ in range(3)]
    b = _put(q, "B", S)
    assert b.ahead() == [E]  # A's turn comes first, then B's: one of A's photos
    assert sorted(a[2].ahead()) == sorted([E, E, S])  # A's own two, and B's search in between
    assert workpool.status(b, "Searching", 2.4) == "In the queue: 1 enrolment photo ahead of you (2 s). " \
                                                  "Every session's work takes its turn."
    assert "2 enrolment photos and 1 search ahead of you" in workpool.status(a[2], "x", 0)
    running = q.take(timeout=0)
    assert running is a[0] and a[0].ahead() == [] and workpool.status(a[0], "Enrolling", 3) == "Enrolling (3 s)."
    assert b.ahead() == []
    assert workpool.status(b, "Searching", 0).startswith("Yours is next")


def test_the_batch_lane_comes_after_searches_and_never_takes_every_worker():
    q = FairQueue({INTERACTIVE: 2, BATCH: 1})
    _put(q, "E", "evaluation photo", BATCH, "x1")
    _put(q, "E", "evaluation photo", BATCH, "x2")
    _put(q, "S", S, tag="s1")  # queued after the evaluation's photos
    first, second = q.take(timeout=0), q.take(timeout=0)
    assert (first.job.args[0], second.job.args[0]) == ("s1", "x1")
    assert q.take(timeout=0) is None  # x2 waits: one evaluation photo at a time leaves a worker free
    _put(q, "S", S, tag="s2")
    assert q.take(timeout=0).job.args[0] == "s2"
    q.finish(second)
    assert q.take(timeout=0).job.args[0] == "x2"


def test_a_session_that_goes_away_drops_what_it_queued():
    q = FairQueue()
    t1, t2 = _put(q, "A"), _put(q, "A")
    other = _put(q, "B")
    running = q.take(timeout=0)
    assert running is t1 and not t1.cancel()  # running: left alone
    assert t2.cancel() and t2.state == "cancelled"
    with pytest.raises(CancelledError):
        t2.result(timeout=0)
    assert q.cancel_session("B") == 1 and other.state == "cancelled"
    assert q.waiting() == 0 and q.take(timeout=0) is None


class _Slot:
    """Stands for ``st.empty()``: records every line shown, and releases the queue at the first."""

    def __init__(self, first_line: threading.Event):
        self.lines: list[str] = []
        self._first = first_line

    def info(self, line: str) -> None:
        self.lines.append(line)
        self._first.set()

    def empty(self) -> None:
        self.lines.append("(emptied)")


def test_the_page_says_the_place_in_the_queue_before_the_search_starts(monkeypatch):
    from workbench.app import work

    q = FairQueue({INTERACTIVE: 1})
    busy = _put(q, "other", S)
    assert q.take(timeout=0) is busy  # the one worker is busy with another session's search
    ahead = _put(q, "third", S)
    mine = _put(q, "me", S)
    shown = threading.Event()
    slot = _Slot(shown)
    monkeypatch.setattr(work.st, "empty", lambda: slot)

    def worker() -> None:  # the dispatcher, once the page has said where the search stands
        assert shown.wait(60)
        q.finish(busy)
        q.finish(q.take(timeout=0))  # the third session's search
        assert q.take(timeout=0) is mine
        q.finish(mine, "the answer")

    t = threading.Thread(target=worker)
    t.start()
    assert work.wait(mine, "Searching your photo") == "the answer"
    t.join()
    assert slot.lines[0].startswith("In the queue: 1 search ahead of you"), slot.lines
    assert slot.lines[-1] == "(emptied)"
    assert ahead.state == "done"


@pytest.fixture(scope="module")
def pool():
    from workbench.pipeline import parallel

    parallel.shutdown_pool()
    p = workpool.WorkPool(2)
    yield p
    p.close()
    parallel.shutdown_pool()


def test_two_sessions_searches_run_at_once_in_workers_that_load_their_models_once(pool, db_path, demo_photos):
    """Each search waits at a barrier in its worker: it passes only when both run at once."""
    import multiprocessing as mp

    from worker_probe import search_job

    from workbench.pipeline import models
    from workbench.search import search_image
    from workbench.search.enrol import load_demo_gallery
    from workbench.store import Store

    db = Store(db_path)
    load_demo_gallery(db)  # through the same two workers
    here = models.load_counts()
    test = demo_photos / "face-recognition-examples/knn_examples/test"
    photos = {"one": test / "obama1.jpg", "two": test / "alex_lacamoire1.jpg"}
    seen: dict[str, tuple] = {}
    results: dict = {}
    with mp.get_context("spawn").Manager() as manager:
        barrier = manager.Barrier(2)

        def session(name: str) -> None:
            def analyse(data, photo, settings):
                pid, analysis, loads = pool.submit(name, S, search_job, data, photo, settings, barrier).result()
                seen[name] = (pid, loads)
                return analysis

            results[name] = search_image(db, "demo", photos[name].read_bytes(), name=photos[name].name, client="app",
                                         analyse=analyse)

        threads = [threading.Thread(target=session, args=(n,)) for n in photos]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results["one"].faces[0].best.person == "obama", results
    assert results["two"].faces[0].best.person == "alex_lacamoire", results
    assert {s["source"] for s in db.search_log.rows().to_dicts()} == {"obama1.jpg", "alex_lacamoire1.jpg"}
    pids = {pid for pid, _ in seen.values()}
    assert len(pids) == 2  # two worker processes, one search each, at the same time
    from workbench.pipeline import zoo

    default = zoo.detector(Settings().detector).loads + zoo.embedder(Settings().model).loads  # yunet, SFace
    assert set(default) == {"opencv.yunet", "opencv.sface"}
    for _, loads in seen.values():
        assert all(loads.get(m) == 1 for m in default), loads
    # more searches: the same processes, still one load of each model
    again = [pool.submit("one", S, search_job, photos["one"].read_bytes(), "obama1.jpg", Settings()) for _ in range(4)]
    for ticket in again:
        pid, _, loads = ticket.result()
        assert pid in pids and all(loads.get(m) == 1 for m in default), (pid, pids, loads)
    assert models.load_counts() == here  # the app's process loaded no model for them
    db.close()


def test_a_photo_that_is_not_one_fails_in_the_worker_with_its_one_line(pool):
    from workbench.errors import ImageError

    ticket = pool.submit("s", S, workpool.analyse_photo, b"not an image at all", "junk.jpg", Settings())
    with pytest.raises(ImageError) as err:
        ticket.result()
    assert str(err.value).startswith("junk.jpg: ") and err.value.reason in str(err.value)
