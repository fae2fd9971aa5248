"""The served app, in headless Chromium: nothing leaves localhost, and four sessions enrol and
search the same gallery at once without an error, a lost enrolment or a duplicate, while a
second process (the CLI) that tries to write is told the file is locked.

Small in CI (2 rounds per session); WORKBENCH_SESSION_ROUNDS=N runs longer by hand.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from test_browser import CHROMIUM, FLAGS, PAGES, serve_app, settle, stop_app

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

ROOT = Path(__file__).resolve().parent.parent
SESSIONS = 4
ROUNDS = int(os.environ.get("WORKBENCH_SESSION_ROUNDS", "2"))
LOCAL = {"127.0.0.1", "localhost", "::1", "[::1]"}


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> list[Path]:
    from crash import make_folder

    return make_folder(tmp_path_factory.mktemp("photos"), 1 + SESSIONS * ROUNDS, people=1)


@pytest.fixture(scope="module")
def app_server(tmp_path_factory, photos):
    """`workbench app` on a free port over a gallery 'class' holding one face."""
    from workbench.search.enrol import Source, enrol_sources
    from workbench.store import Store

    tmp = tmp_path_factory.mktemp("sessions")
    db_path = tmp / "class.duckdb"
    with Store(db_path) as db:
        assert enrol_sources(db, "class", [Source(str(photos[0]), "teacher", photos[0])]).enrolled == 1
    url, proc = serve_app(db_path, tmp)
    yield url, db_path, proc
    stop_app(proc)


@pytest.fixture(scope="module")
def chromium():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


def test_every_request_of_every_page_stays_on_localhost(app_server, chromium):
    url, _, _ = app_server
    seen: list[str] = []
    context = chromium.new_context(viewport={"width": 1300, "height": 900})
    context.on("request", lambda r: seen.append(r.url))
    page = context.new_page()
    page.on("websocket", lambda ws: seen.append(ws.url))
    try:
        for name, path in PAGES.items():
            page.goto(f"{url}/{path}", timeout=60_000)
            settle(page)
            assert page.locator('[data-testid="stException"]').count() == 0, (name, page.inner_text("body")[:1500])
        page.goto(f"{url}/live", timeout=60_000)  # start WebRTC too: its component and signalling
        settle(page)
        frame = page.frame_locator('iframe[title*="webrtc"]').first
        frame.get_by_role("button", name=re.compile("start", re.I)).click(timeout=60_000)
        page.wait_for_timeout(5000)
    finally:
        context.close()
    outside = [u for u in seen if urlparse(u).scheme not in ("data", "blob", "about")
               and urlparse(u).hostname not in LOCAL]
    print(f"requests seen: {len(seen)}, requests that left localhost: {len(outside)}", *outside, sep="\n")
    assert len(seen) > 50, "the network log caught nothing: the check proved nothing"
    assert any("/_stcore/stream" in u for u in seen) and any("component" in u for u in seen), seen[:20]
    assert outside == []


def _enrol(page, url: str, person: str, photo: Path) -> None:
    page.goto(f"{url}/enrol", timeout=60_000)
    settle(page)
    page.get_by_label("Person's name").fill(person)
    page.get_by_label("Person's name").press("Enter")
    page.get_by_text("They consented to being enrolled").click()  # an explicit choice is required
    settle(page)  # its rerun must end first: an upload sent while the page re-renders is dropped
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(photo))
    page.get_by_role("button", name="Enrol", exact=True).click(timeout=60_000)


def _search(page, url: str, photo: Path) -> None:
    page.goto(f"{url}/search", timeout=60_000)
    settle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(photo))


def _wait_for(page, pattern: str, timeout_s: float = 180) -> str:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        text = page.inner_text('[data-testid="stMainBlockContainer"]')
        if re.search(pattern, text):
            return text
        assert page.locator('[data-testid="stException"]').count() == 0, text[:1500]
        page.wait_for_timeout(300)
    raise AssertionError(f"{pattern!r} never appeared: {page.inner_text('body')[:1500]}")


def test_the_enrol_form_is_empty_in_the_browser_after_enrolling(app_server, chromium, photos):
    """Issue 24.14: after an enrolment the browser shows an empty form, as the README says (the page
    used to empty its state only: the browser kept showing the name and the photo, and sent them back)."""
    url, _, _ = app_server
    page = chromium.new_page(viewport={"width": 1300, "height": 900})
    try:
        page.goto(f"{url}/enrol", timeout=60_000)
        settle(page)
        page.get_by_label("Person's name").fill("teacher")
        page.get_by_label("Person's name").press("Enter")
        page.get_by_text("They consented to being enrolled").click()
        settle(page)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(photos[0]))
        files = page.locator('[data-testid="stFileChipName"]')
        files.first.wait_for(timeout=30_000)
        assert files.count() == 1
        page.get_by_role("button", name="Enrol", exact=True).click(timeout=60_000)
        text = _wait_for(page, r"face\(s\) enrolled for teacher")
        assert "1 already enrolled" in text, text[:800]  # photos[0] is the teacher's: the gallery is unchanged
        settle(page)
        assert page.get_by_label("Person's name").input_value() == ""
        assert files.count() == 0
        assert not page.get_by_role("radio", name="They consented to being enrolled").is_checked()
    finally:
        page.close()


def test_four_sessions_enrol_and_search_one_gallery_while_the_cli_is_refused(app_server, chromium, photos):
    url, db_path, proc = app_server
    contexts = [chromium.new_context(viewport={"width": 1300, "height": 900}) for _ in range(SESSIONS)]
    pages = [c.new_page() for c in contexts]
    own = {i: photos[1 + i * ROUNDS: 1 + (i + 1) * ROUNDS] for i in range(SESSIONS)}
    try:
        for r in range(ROUNDS):
            for i, page in enumerate(pages):  # every session submits before any is awaited
                _enrol(page, url, f"student{i}", own[i][r])
            for i, page in enumerate(pages):
                text = _wait_for(page, rf"(\d+) face\(s\) enrolled for student{i}")
                assert f"1 face(s) enrolled for student{i}" in text, text[:800]
            for i, page in enumerate(pages):
                _search(page, url, own[(i + 1) % SESSIONS][r])
            for page in pages:
                _wait_for(page, r"Face 1: \*?\*?\w")

        # a second process trying to write while the app holds the file
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        cli = subprocess.run([sys.executable, "-m", "workbench.cli", "--db", str(db_path), "enrol", str(photos[0]),
                              "--gallery", "class", "--person", "intruder", "--consent"], capture_output=True, text=True, env=env,
                             timeout=300)
        assert cli.returncode == 1 and "Traceback" not in cli.stderr, cli.stderr
        lines = cli.stderr.strip().splitlines()
        assert len(lines) == 1 and "locked by another process" in lines[0], lines
        assert f"process {proc.pid}" in lines[0], lines  # the app server itself holds it
    finally:
        for c in contexts:
            c.close()
    proc.terminate()
    proc.wait(timeout=30)

    from workbench.store import Store

    with Store(db_path) as db:
        faces = db.faces.list("class")
        people = db.faces.people("class")
        searches = db.search_log.rows()
    print(f"sessions: {SESSIONS}, rounds: {ROUNDS}, faces: {faces.height}, searches: {searches.height}")
    assert faces.height == 1 + SESSIONS * ROUNDS  # no lost enrolment
    assert faces["image_sha256"].n_unique() == faces.height  # no duplicate
    assert sorted(people["name"].to_list()) == sorted(["teacher", *[f"student{i}" for i in range(SESSIONS)]])
    assert all(n == ROUNDS for n, name in zip(people["faces"], people["name"]) if name != "teacher")
    assert searches.height == SESSIONS * ROUNDS and set(searches["client"].to_list()) == {"app"}
