"""`workbench bench classroom`, small: the app started as `workbench app` starts it, one session
alone, then three Chromium sessions searching at once, each with a different photo (loopback
only). Everyone is served without an error, every page says where its search stands before the
answer, and the search log holds each photo once: no answer came from a cache. No speed is
asserted (the figures are the README's, measured by hand)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_browser import CHROMIUM

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


def test_three_sessions_search_at_once_and_each_is_served_and_told_where_it_stands(tmp_path):
    from workbench.bench.classroom import bench_classroom
    from workbench.store import Store

    rows = bench_classroom([3], workdir=tmp_path, timeout_s=600)
    assert [r.sessions for r in rows] == [1, 3]
    for r in rows:
        assert (r.served, r.errors) == (r.sessions, 0), r.outcomes
        for o in r.outcomes:  # the queue or progress line came first, from the page itself
            assert o.first_word_s is not None and 0 <= o.first_word_s <= o.seconds, o
    photos = [o.photo for r in rows for o in r.outcomes]
    assert len(set(photos)) == len(photos) == 4
    with Store(tmp_path / "classroom.duckdb", read_only=True) as db:
        log = db.search_log.rows()
    assert log.height == 6 and log["probe_sha256"].n_unique() == 6  # with the warm-up's two, each photo once
    assert set(log["client"].to_list()) == {"app"}


def test_a_class_size_that_is_not_one_is_refused_in_one_line():
    from workbench.cli import cli

    for bad in ("0", "three", ""):
        result = CliRunner().invoke(cli, ["bench", "classroom", "--sessions", bad])
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1 and "--sessions" in result.output, result.output


def test_the_browsers_can_stand_in_for_laptops_at_low_priority_and_the_app_keeps_its_own():
    """``lower_browsers``: this process's children that are not the app's (Chromium, Playwright)
    get the niceness asked for; the app and its workers keep theirs."""
    import subprocess
    import sys

    import psutil

    from workbench.bench.classroom import lower_browsers

    wait = [sys.executable, "-c", "import sys; sys.stdin.read()"]  # until its stdin closes
    other = subprocess.Popen(wait, stdin=subprocess.PIPE)  # a child from before the browser (a pool worker)
    before = {c.pid for c in psutil.Process().children(recursive=True)}
    app = subprocess.Popen([sys.executable, "-c", "import subprocess, sys; "
                            f"w = subprocess.Popen({wait!r}, stdin=subprocess.PIPE); print(w.pid, flush=True); "
                            "sys.stdin.read(); w.stdin.close(); w.wait()"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    browser = subprocess.Popen(wait, stdin=subprocess.PIPE)
    try:
        worker = psutil.Process(int(app.stdout.readline()))  # the app's worker, started by the app
        mine = psutil.Process().nice()
        assert lower_browsers(app.pid, 19, before) == 1
        assert psutil.Process(browser.pid).nice() == 19
        assert psutil.Process(app.pid).nice() == mine and worker.nice() == mine
        assert psutil.Process(other.pid).nice() == mine
        assert lower_browsers(app.pid, 0, before) == 0  # 0: the browsers as equals, nothing changed
    finally:
        for p in (app, browser, other):
            p.stdin.close()
            p.wait(timeout=30)


def test_the_browsers_cpu_leaves_out_the_children_from_before_the_browser():
    """The browsers' CPU seconds count this process's children that are neither the app's nor
    among those from before the browser started (a pool worker's CPU is not Chromium's)."""
    import subprocess
    import sys

    import psutil

    from workbench.bench.classroom import _cpu

    burn = [sys.executable, "-c", "sum(range(20_000_000)); print('done', flush=True); import sys; sys.stdin.read()"]
    other = subprocess.Popen(burn, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert other.stdout.readline().strip() == "done"  # its CPU is spent before the browser starts
    before = {c.pid for c in psutil.Process().children(recursive=True)}
    wait = [sys.executable, "-c", "import sys; sys.stdin.read()"]
    app = subprocess.Popen(wait, stdin=subprocess.PIPE)
    browser = subprocess.Popen(wait, stdin=subprocess.PIPE)
    try:
        spent = sum(psutil.Process(other.pid).cpu_times()[:2])
        assert spent > 0.2
        browsers = _cpu(app.pid, before)[2]
        assert browsers < spent / 2
        assert _cpu(app.pid)[2] >= spent  # without ``before`` the pool worker would be counted
    finally:
        for p in (app, browser, other):
            p.stdin.close()
            p.wait(timeout=30)
