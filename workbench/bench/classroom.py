"""`workbench bench classroom`: a class of N browser sessions searching the app at once.

The app is started as the README starts it (``workbench app``, on a free loopback port, over a
fresh database holding the 9-face demo gallery); N headless Chromium sessions (Debian's
``chromium``, driven by Playwright) open the Search page, and every session uploads a
*different* photo at the same moment: the packaged demo photos first, then the shared
deepface-unit photos. No photo is used twice in a run (the one-session baseline's photo
included), so no cache of one photo's answer can make a figure.

Per session: the seconds from its upload to the answer on its page (the summary line "N faces
found ..."), and to the first line about its search (its place in the queue, or progress).
Every request stays on loopback: the app binds 127.0.0.1 and the browser opens nothing else.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Set
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from workbench import config
from workbench.errors import WorkbenchError
from workbench.pipeline import Settings, capture, zoo

#: Chromium's switches: no background traffic, no sandbox (containers), software rendering.
CHROMIUM_FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic", "--disable-renderer-backgrounding",
                  "--disable-background-timer-throttling", "--disable-backgrounding-occluded-windows")
#: The demo gallery's probe photo the issue measured with; the one-session baseline uses it.
BASELINE_PHOTO = "face-recognition-examples/knn_examples/test/obama1.jpg"


@dataclass(frozen=True)
class SessionOutcome:
    """One browser session's search: its photo, and seconds from upload to answer (``None`` when
    it was not served) and to the first line about the search; ``error`` in words otherwise."""

    photo: str
    seconds: float | None
    first_word_s: float | None
    error: str | None = None


@dataclass(frozen=True)
class ClassroomRow:
    """N sessions at once: how many were served, errors, and the answer times in seconds."""

    sessions: int
    served: int
    errors: int
    p50_s: float | None
    p95_s: float | None
    slowest_s: float | None
    first_word_p95_s: float | None
    load_before: float
    server_cpu_s: float
    workers_cpu_s: float
    browser_cpu_s: float
    outcomes: tuple[SessionOutcome, ...]


def chromium_path() -> str:
    """Debian's chromium, or a one-line error."""
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise WorkbenchError("chromium is not installed (Debian: apt-get install chromium): the classroom "
                             "benchmark drives real browser sessions")
    return path


def photos(count: int) -> list[tuple[str, Path]]:
    """``count`` different photos with faces, by name: the baseline photo first, then the packaged
    demo photos, then the shared deepface-unit photos (when present). Raises when there are fewer."""
    demo = config.demo_dir()
    names: dict[str, Path] = {BASELINE_PHOTO: demo / BASELINE_PHOTO}
    for p in sorted(demo.rglob("*")):
        if capture.is_image(p):
            names.setdefault(str(p.relative_to(demo)), p)
    shared = config.faces_dir()
    if shared is not None and (shared / "deepface-unit").is_dir():
        seen = {capture.sha256(p) for p in names.values()}
        for p in sorted((shared / "deepface-unit").iterdir()):
            if capture.is_image(p) and capture.sha256(p) not in seen:  # the demo holds copies of some
                names[f"shared:{p.relative_to(shared)}"] = p
    if len(names) < count:
        raise WorkbenchError(f"{count} different photos are needed and {len(names)} were found (the packaged "
                             "demo photos, and ../shared/data/faces/deepface-unit when present): ask for fewer sessions")
    return list(names.items())[:count]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(db_path: Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> tuple[str, subprocess.Popen]:
    """``workbench app`` over ``db_path`` on a free loopback port: ``(url, process)`` once healthy.
    This checkout's package is the one started."""
    port = free_port()
    root = config.project_root()
    run_env = dict(os.environ, **(env or {}))
    run_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    log = (cwd / "app.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "workbench.cli", "--db", str(db_path), "app", "--port", str(port),
                             "--address", "127.0.0.1"], cwd=cwd, env=run_env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return url, proc
        except OSError:
            time.sleep(0.5)
    stop_app(proc)
    raise WorkbenchError(f"the app did not start within {timeout:.0f} s (its log: {cwd / 'app.log'})")


def stop_app(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _settle(page, timeout_s: float) -> None:
    """Until Streamlit has drawn the page's title and finished running its script."""
    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    quiet = 0
    while quiet < 2 and time.monotonic() < deadline:  # no run going, nothing stale: twice, 300 ms apart
        busy = page.locator('[data-testid="stStatusWidget"], [data-stale="true"]').count()
        quiet = 0 if busy else quiet + 1
        page.wait_for_timeout(300)


def _choose(page, key: str, option: str) -> None:
    """Pick ``option`` in the sidebar's selectbox ``key`` (typed, as a person would; tried again
    while the box does not show it, as happens on a busy machine)."""
    box = page.locator(f".st-key-{key} input")
    for _ in range(5):
        if box.input_value() == option:
            return
        page.locator(f".st-key-{key}").click()
        page.keyboard.type(option)
        page.keyboard.press("Enter")
        page.wait_for_timeout(500)  # the rerun starts
        _settle(page, 120)
    raise WorkbenchError(f"the sidebar's {key} could not be set to {option} in a browser session")


def _open_search(page, url: str, settings: Settings) -> None:
    page.goto(f"{url}/search", timeout=180_000)
    _settle(page, 180)
    # the sidebar follows the demo gallery's model (it was loaded with settings.model): only a
    # detector other than that model's own is chosen
    if settings.detector != zoo.own_detector(settings.model):
        _choose(page, f"detector_{settings.model}", settings.detector)


#: Installed in every page before Streamlit's scripts: from ``__wbArm()`` on (called just before the
#: upload), a mutation observer notes when the page first shows a line about the search, its
#: answer or an error, by the page's own clock. Polling the page's text from here instead made
#: Chromium lay every page out many times a second, and cost more than the pages themselves.
WATCHER = r"""
(() => {
  const ANSWER = /\d+ faces? found/, FIRST = /In the queue:|Yours is next|Searching your photo/;
  const w = window.__wb = {armed: null, first: null, done: null, error: null};
  window.__wbArm = () => { w.armed = Date.now(); w.first = w.done = w.error = null; };
  const check = () => {
    if (w.armed === null || w.done !== null || w.error !== null) return;
    const main = document.querySelector('[data-testid="stMainBlockContainer"]');
    if (!main) return;
    const text = main.textContent, now = Date.now();
    if (w.first === null && FIRST.test(text)) w.first = now;
    if (ANSWER.test(text)) { w.done = now; return; }
    const bad = main.querySelector('[data-testid="stException"], [data-testid="stAlertContentError"], ' +
                                   '[data-testid="stAlertContentWarning"]');
    if (bad) w.error = bad.textContent.slice(0, 300);
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, characterData: true});
})();
"""


def _watch(pages: Sequence, names: list[str], timeout_s: float) -> list[SessionOutcome]:
    """Until every page shows its answer or an error, or ``timeout_s`` passes: each outcome timed
    by its page's watcher."""
    n = len(pages)
    marks: list[dict | None] = [None] * n
    deadline = time.monotonic() + timeout_s
    while any(m is None for m in marks) and time.monotonic() < deadline:
        for i, page in enumerate(pages):
            if marks[i] is None:
                try:
                    w = page.evaluate("window.__wb")
                except Exception as err:  # noqa: BLE001 - a page that broke is an error of that session
                    w = {"armed": 0, "first": None, "done": None, "error": f"{type(err).__name__}: {err}"}
                if w["done"] is not None or w["error"] is not None:
                    marks[i] = w
        time.sleep(0.25)
    out = []
    for i, name in enumerate(names):
        w = marks[i] or pages[i].evaluate("window.__wb")
        since = (lambda t, w=w: None if t is None else (t - w["armed"]) / 1000.0)
        error = w["error"] if w["done"] is None else None
        if w["done"] is None and error is None:
            error = f"no answer within {timeout_s:.0f} s"
        out.append(SessionOutcome(name, since(w["done"]), since(w["first"]), error and " ".join(error.split())))
    return out


def _children() -> list:
    """This process's child processes, at any depth (psutil's)."""
    import psutil

    return psutil.Process().children(recursive=True)


def _cpu(pid: int, before: Set[int] = frozenset()) -> tuple[float, float, float]:
    """CPU seconds used so far by the app's server process, by its child processes (the workers),
    and by the browser (Playwright's driver and Chromium's processes: this process's children that
    are neither the app's nor among ``before``, as in :func:`lower_browsers`)."""
    import psutil

    def used(p) -> float:
        try:
            t = p.cpu_times()
            return t.user + t.system
        except psutil.Error:
            return 0.0

    server = psutil.Process(pid)
    app = {pid, *(c.pid for c in server.children(recursive=True))}
    mine = [c for c in _children() if c.pid not in app and c.pid not in before]  # Playwright, Chromium
    return (used(server), sum(used(psutil.Process(c)) for c in app - {pid} if psutil.pid_exists(c)),
            sum(used(c) for c in mine))


def lower_browsers(app_pid: int, nice: int, before: Set[int] = frozenset()) -> int:
    """Chromium's processes and Playwright's driver (this process's children that are neither the
    app's nor among ``before``, the children it had before the browser started) at ``nice``: they
    stand in for a class's own laptops, which do not share the server's cores. Processes they start
    later inherit it. Returns how many were changed."""
    import psutil

    if nice <= 0:
        return 0
    app = {app_pid, *(c.pid for c in psutil.Process(app_pid).children(recursive=True))}
    changed = 0
    for c in _children():
        if c.pid not in app and c.pid not in before:
            try:
                c.nice(max(c.nice(), nice))
                changed += 1
            except psutil.Error:
                pass
    return changed


def _row(outcomes: list[SessionOutcome], load_before: float, cpu: tuple[float, ...]) -> ClassroomRow:
    served = [o.seconds for o in outcomes if o.seconds is not None]
    firsts = [o.first_word_s for o in outcomes if o.first_word_s is not None]
    pct = (lambda xs, q: round(float(np.percentile(xs, q)), 2) if xs else None)
    return ClassroomRow(len(outcomes), len(served), len(outcomes) - len(served), pct(served, 50), pct(served, 95),
                        round(max(served), 2) if served else None, pct(firsts, 95), load_before,
                        *(round(c, 2) for c in cpu), tuple(outcomes))


def run_class(browser, url: str, pid: int, pictures: Sequence[tuple[str, Path]], settings: Settings,
              timeout_s: float = 300, browsers_nice: int = 0, before: Set[int] = frozenset()) -> ClassroomRow:
    """One class: a session per photo opens the Search page (and the sidebar's detector and model),
    then every session uploads its photo at once; waits for every answer. With ``browsers_nice``,
    the browser's processes run at that niceness (:func:`lower_browsers`, ``before`` as there)."""
    contexts = [browser.new_context(viewport={"width": 1300, "height": 900}) for _ in pictures]
    for c in contexts:
        c.add_init_script(WATCHER)
    try:
        pages = [c.new_page() for c in contexts]
        for page in pages:
            _open_search(page, url, settings)
        lower_browsers(pid, browsers_nice, before)  # the pages' renderers too
        load = os.getloadavg()[0]
        cpu0 = _cpu(pid, before)
        for page, (_, path) in zip(pages, pictures):  # every upload is sent before any answer is awaited
            page.evaluate("window.__wbArm()")
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
        outcomes = _watch(pages, [name for name, _ in pictures], timeout_s)
        cpu = tuple(b - a for a, b in zip(cpu0, _cpu(pid, before)))
    finally:
        for c in contexts:
            c.close()
    return _row(outcomes, load, cpu)


def bench_classroom(sessions: Sequence[int], settings: Settings = Settings(), *, timeout_s: float = 300,
                    workdir: Path | None = None, progress: Callable[[int, int, str], None] | None = None,
                    browsers_nice: int = 0) -> list[ClassroomRow]:
    """The one-session baseline (the issue's ``obama1.jpg``), then a class of each size in
    ``sessions``, against one app server started as the README does, after two searches at once
    that warm it up (not counted: the models of the sidebar's choice load in each worker); every
    photo is different. ``browsers_nice`` (0-19): the browsers' niceness, so that on one machine
    they stand in for the class's own laptops instead of taking the server's cores (0: as equals)."""
    from playwright.sync_api import sync_playwright

    from workbench.search.enrol import load_demo_gallery
    from workbench.pipeline.embed import model_info
    from workbench.store import Store

    pictures = photos(3 + sum(sessions))
    baseline, warm, rest = pictures[0], pictures[1:3], pictures[3:]
    tmp = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="workbench-classroom-"))
    tmp.mkdir(parents=True, exist_ok=True)
    db_path = tmp / "classroom.duckdb"
    if db_path.exists():
        db_path.unlink()
    with Store(db_path, dim=model_info(settings.model).dim) as db:
        load_demo_gallery(db, settings)
    url, proc = start_app(db_path, tmp)
    rows: list[ClassroomRow] = []
    before = frozenset(c.pid for c in _children())  # not the browser's (a pool, the app)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), headless=True, args=list(CHROMIUM_FLAGS))
            lower_browsers(proc.pid, browsers_nice, before)
            try:  # two at once first: each worker's models loaded
                run_class(browser, url, proc.pid, warm, settings, timeout_s, browsers_nice, before)
                rows.append(run_class(browser, url, proc.pid, [baseline], settings, timeout_s, browsers_nice, before))
                used = 0
                for i, n in enumerate(sessions, 1):
                    if progress:
                        progress(i, len(sessions) + 1, f"{n} sessions")
                    rows.append(run_class(browser, url, proc.pid, rest[used:used + n], settings, timeout_s,
                                          browsers_nice, before))
                    used += n
            finally:
                browser.close()
    finally:
        stop_app(proc)
    with Store(db_path, read_only=True) as db:
        used = db.search_log.rows().select("model", "detector").unique().rows()
    if used and used != [(settings.model, settings.detector)]:
        raise WorkbenchError(f"the sessions searched with {used}, not {settings.model} + {settings.detector}: "
                             "the sidebar's choice did not take")
    if progress:
        progress(len(sessions) + 1, len(sessions) + 1, "done")
    return rows
