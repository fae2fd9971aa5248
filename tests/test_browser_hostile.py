"""The app opened the way people open it, over a gallery a hostile colleague shared, in Chromium.

One server, started as the README writes it (``streamlit run app.py`` from the checkout,
headless, on a free port), its every outgoing connection watched and refused by an audit hook
(see test_exposure.py), over a gallery whose names are Markdown images and links pointing at
another loopback address (``http://127.0.0.2:9``: tests never send traffic off the machine),
HTML tags, colour and icon directives, formulas, line breaks, right-to-left text, 5,000
characters.

* Right after the start, every page URL is opened first (no visit to the root before): each
  shows its page and the real navigation, and Streamlit's raw ``pages/`` file list never shows.
* Every page is opened with the hostile names: no request leaves the app's own origin, no
  image or link points elsewhere, and the names read as typed.
* The server listens on loopback only and never looks anything up outside.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import psutil
import pytest
from test_browser import CHROMIUM, FLAGS, free_port, stop_app
from test_exposure import HOOK, _cross_origin_handshake

from workbench.app.privacy import is_loopback
from workbench.app.ui import WORD_JOINER

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

ROOT = Path(__file__).resolve().parent.parent
BEACON = "127.0.0.2"

#: The gallery every page shows (sorts first, so the sidebar picks it).
GALLERY = f"![g](http://{BEACON}:9/gallery.png) <b>g</b>"
OTHER_GALLERIES = [f"<style>*{{background:url(http://{BEACON}:9/css)}}</style>", f"[g2](http://{BEACON}:9/g2)"]
PEOPLE = [
    f"![p](http://{BEACON}:9/person.png) [click](http://{BEACON}:9/phish)",
    f"<img src=http://{BEACON}:9/tag.png> <script>fetch('http://{BEACON}:9/s')</script>",
    ":red[alarm] $x^2$ :material/warning: **bold** _it_ `code` ~~s~~ # h",
    "line one\nline two\r\nline three",
    "مرحبا بالعالم \u202eevil\u202c שלום",
    (f"www.example.org http://{BEACON}:9/bare <http://{BEACON}:9/auto> [r]: http://{BEACON}:9/ref ![x][r] "
     "mallory@example.org"),
    "Zoë " + "long " * 1000,
]
#: Photo file names (no "/" in a file name: backslashes, which browsers read as "/" in a URL).
FILES = [f"![f](http:\\\\{BEACON}:9\\f{i}.png) <img src=x> **f{i}** $y$ :blue[z] &amp; .png"
         for i in range(len(PEOPLE))]
#: Every page (a page added to the app belongs here too), by URL: how its title starts.
TITLES = {"": "Face-recognition workbench", "story": "The story", "live": "Live", "enrol": "Enrol",
          "search": "Search", "compare": "Compare two faces", "gallery": "Gallery:", "metrics": "Metrics",
          "evaluate": "Evaluate", "glossary": "Glossary", "cameras": "Cameras", "audit": "Audit",
          "robustness": "Robustness"}
NAV = ["Home", "Story", "Live", "Cameras", "Enrol", "Search", "Compare", "Gallery", "Metrics", "Evaluate", "Audit",
       "Robustness", "Glossary"]

#: Records, in every page, whether Streamlit's own sidebar list of the pages/ folder ever appeared.
WATCH_NAV = """
window.__builtinNav = [];
new MutationObserver(() => {
  for (const el of document.querySelectorAll('[data-testid="stSidebarNav"], [data-testid="stSidebarNavItems"]')) {
    window.__builtinNav.push(el.innerText);
  }
}).observe(document, {subtree: true, childList: true});
"""


def flat(text: str) -> str:
    """Text as a browser shows it: every run of white space (line breaks included) is one space;
    the invisible word joiner literal() puts before a bare URL or e-mail address is left out."""
    return " ".join(text.replace(WORD_JOINER, "").split())


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> list[Path]:
    from crash import make_folder

    return make_folder(tmp_path_factory.mktemp("hostile-photos"), len(PEOPLE) + 1, people=1)


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory, photos) -> Path:
    from workbench.search import search_image
    from workbench.search.enrol import Source, enrol_sources
    from workbench.store import Store

    db_path = tmp_path_factory.mktemp("hostile") / "hostile.duckdb"
    with Store(db_path) as db:
        sources = [Source(f, person, p.read_bytes()) for f, person, p in zip(FILES, PEOPLE, photos)]
        assert enrol_sources(db, GALLERY, sources).enrolled == len(PEOPLE)
        for name in OTHER_GALLERIES:
            db.galleries.create(name, "Dlib")
        search_image(db, GALLERY, photos[-1], name=FILES[0])
        assert set(db.faces.people(GALLERY)["name"]) == set(PEOPLE)  # stored and read back unchanged
    return db_path


@pytest.fixture(scope="module")
def app(hostile_db, tmp_path_factory):
    """The server, started as the README writes it; then every page URL opened first."""
    tmp = tmp_path_factory.mktemp("server")
    (tmp / "hook").mkdir()
    (tmp / "hook" / "sitecustomize.py").write_text(HOOK)
    log = tmp / "net.jsonl"
    port = free_port()
    env = dict(os.environ, WORKBENCH_NET_LOG=str(log), WORKBENCH_DB=str(hostile_db),
               PYTHONPATH=os.pathsep.join([str(tmp / "hook"), str(ROOT)]))
    env.pop("WORKBENCH_FACES", None)
    streamlit = shutil.which("streamlit") or "streamlit"
    proc = subprocess.Popen([streamlit, "run", "app.py", "--server.port", str(port), "--server.headless", "true"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://localhost:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail(f"streamlit run app.py did not start: {proc.stdout.read()[-2000:]}")
    requests: list[str] = []
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        first = _open_every_page_first(browser, url, requests)
        yield {"url": url, "port": port, "proc": proc, "log": log, "browser": browser, "first": first,
               "requests": requests}
        browser.close()
    stop_app(proc)


def _watch(context, requests: list[str]) -> None:
    context.on("request", lambda r: requests.append(r.url))
    context.on("page", lambda page: page.on("websocket", lambda ws: requests.append(ws.url)))


def _settle(page, timeout_ms: int = 60_000) -> None:
    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=timeout_ms)
    for _ in range(240):
        if page.locator('[data-testid="stStatusWidget"]').count() == 0:
            break
        page.wait_for_timeout(250)
    page.wait_for_timeout(500)


def _open_every_page_first(browser, url: str, requests: list[str]) -> dict[str, dict]:
    """A fresh browser session per page, all opened at once on the fresh server, deep links
    first and the root last: what each showed."""
    order = [p for p in TITLES if p] + [""]
    pages = {}
    for path in order:
        context = browser.new_context(viewport={"width": 1300, "height": 900})
        _watch(context, requests)
        context.add_init_script(WATCH_NAV)
        pages[path] = context.new_page()
        pages[path].goto(f"{url}/{path}", wait_until="commit", timeout=60_000)
    seen = {}
    for path, page in pages.items():
        h1 = None
        try:
            _settle(page)
            h1 = page.inner_text('[data-testid="stMainBlockContainer"] h1')
            # the links render once their component code has loaded (the first page load fetches it)
            page.wait_for_function("names => names.every(n => document.querySelector('[data-testid=\"stSidebar\"]')"
                                   "?.innerText.split('\\n').map(s => s.trim()).includes(n))", arg=NAV,
                                   timeout=30_000)
            page.wait_for_selector('[data-testid="stSidebar"] input[aria-label="Gallery"]', timeout=30_000)
        except playwright_api.TimeoutError:
            pass  # reported below, with what the page showed
        sidebar = page.locator('[data-testid="stSidebar"]')
        seen[path] = {"h1": h1, "sidebar": sidebar.inner_text() if sidebar.count() else "",
                      "builtin_nav": page.evaluate("window.__builtinNav"),
                      "exception": page.locator('[data-testid="stException"]').count(),
                      "text": _text(page), "main": flat(page.inner_text("body")) if h1 is None else
                      flat(page.inner_text('[data-testid="stMain"]')),
                      "markup": _markup_from_data(page)}
        page.context.close()
    return seen


def test_every_page_url_works_as_the_first_request_after_a_start(app):
    for path, seen in app["first"].items():
        assert seen["h1"] is not None and seen["h1"].startswith(TITLES[path]), (path, seen)
        assert seen["exception"] == 0, (path, seen)
        links = [line.strip() for line in seen["sidebar"].splitlines()]
        assert all(name in links for name in NAV), (path, seen["sidebar"][:400])  # the real navigation
        assert seen["builtin_nav"] == [], (path, seen["builtin_nav"][:2])  # never the raw file list
        assert "compare\nenrol" not in seen["sidebar"].lower().replace("\n\n", "\n"), seen["sidebar"][:300]


def _visit(page, url: str, path: str) -> str:
    page.goto(f"{url}/{path}", timeout=60_000)
    _settle(page)
    page.wait_for_selector('[data-testid="stSidebar"] input[aria-label="Gallery"]', timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0, (path, page.inner_text("body")[:1500])
    return _text(page)


def _text(page) -> str:
    """What the page shows: its text, and the values in its inputs (the sidebar's gallery box)."""
    values = page.eval_on_selector_all("input", "els => els.map(e => e.value)")
    return flat(page.inner_text("body") + " " + " ".join(values))


def _markup_from_data(page) -> list[str]:
    """What a name may have turned into on this page: an element loading or linking another
    address, a link out of the app, an HTML tag written by a name."""
    found = page.evaluate("([s, b]) => [...document.querySelectorAll(s)]"
                          ".filter(e => (e.src || e.href || '').includes(b))"
                          ".map(e => (e.src || e.href) + ' in ' + e.parentElement.outerHTML.slice(0, 300))",
                          ["img[src], a[href], link[href], script[src], iframe[src], source[src], video[src]", BEACON])
    found += page.evaluate("s => [...document.querySelectorAll(s)].map(e => 'link out: ' + e.href)"
                           ".filter(u => !u.startsWith('link out: ' + location.origin + '/'))",
                           '[data-testid="stMain"] a[href], [data-testid="stSidebar"] a[href]')
    tags = page.evaluate("s => document.querySelectorAll(s).length", '[data-testid="stMain"] script, '
                         '[data-testid="stMain"] style, [data-testid="stSidebar"] style, [data-testid="stMain"] b')
    return found + (["an HTML tag from a name"] if tags else [])


def test_hostile_names_are_shown_as_typed_and_reach_no_network(app, photos, tmp_path):
    url, requests = app["url"], app["requests"]
    context = app["browser"].new_context(viewport={"width": 1400, "height": 1000})
    _watch(context, requests)
    page = context.new_page()
    gallery, people = flat(GALLERY), [flat(p) for p in PEOPLE]
    try:
        for path, seen in app["first"].items():  # every page, as opened first (above)
            assert gallery in seen["text"], (path, seen["text"][:600])  # the sidebar's choice
            if path in ("live", "enrol", "gallery", "metrics"):
                assert gallery in seen["main"], (path, seen["main"][:600])  # and the page's own captions
            assert seen["markup"] == [], (path, seen["markup"])

        _visit(page, url, "gallery")
        for summary in page.locator('[data-testid="stExpander"] summary').all():  # open every person
            summary.click()
        page.wait_for_timeout(1000)
        text = _text(page)
        assert f"Gallery: {gallery}" in text, text[:400]
        for name in people:
            assert name in text, (name[:80], text[:2000])
        for f in FILES:
            assert flat(f) in text, f
        assert _markup_from_data(page) == [], "gallery"

        _visit(page, url, "search")
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
            {"name": FILES[1], "mimeType": "image/jpeg", "buffer": photos[-1].read_bytes()})
        page.wait_for_selector("text=/Face 1: candidates/", timeout=120_000)  # a matched face's candidates
        _settle(page)
        for summary in page.locator('[data-testid="stExpander"] summary').all():  # open them
            summary.click()
        for _ in range(60):  # the candidates' captions render one after the other
            captions = flat(" ".join(page.locator('[data-testid="stMain"] [data-testid="stCaptionContainer"]')
                                     .all_inner_texts()))
            shown = [n for n in people if n in captions]
            if len(shown) >= 5:
                break
            page.wait_for_timeout(500)
        assert _markup_from_data(page) == [], "search results"
        assert len(shown) >= 5, (len(shown), captions[:1500])  # five candidates a face, each name as typed

        _visit(page, url, "compare")
        uploads = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
        for i in (0, 1):
            uploads.nth(i).set_input_files({"name": FILES[i], "mimeType": "image/jpeg",
                                            "buffer": photos[i].read_bytes()})
            page.wait_for_timeout(1500)
        page.wait_for_selector("text=/Called (the SAME person|DIFFERENT people)/", timeout=120_000)
        _settle(page)
        text = _text(page)
        assert flat(FILES[0]) in text and flat(FILES[1]) in text, text[:1500]
        assert _markup_from_data(page) == [], "compare results"
    finally:
        context.close()
    outside = [u for u in requests if urlparse(u).scheme not in ("data", "blob", "about")
               and urlparse(u).hostname not in ("localhost", "127.0.0.1")]
    print(f"requests: {len(requests)}, outside the app's origin: {len(outside)}", *outside[:10], sep="\n")
    assert len(requests) > 100 and any("/_stcore/stream" in u for u in requests)
    assert outside == []


def test_the_server_listens_on_loopback_only_and_looks_nothing_up(app):
    """After every page: then a page of another site tries the app's websocket."""
    answer = _cross_origin_handshake(app["port"])
    assert not answer.startswith(b"HTTP/1.1 101"), answer
    server = psutil.Process(app["proc"].pid)
    conns = [c for pr in [server, *server.children(recursive=True)] for c in pr.net_connections(kind="inet")]
    listening = [c.laddr for c in conns if c.status == psutil.CONN_LISTEN]
    events = [json.loads(line) for line in app["log"].read_text().splitlines()]
    outside = [e for e in events if e[0] != "socket.bind" and not is_loopback(e[1] or "127.0.0.1")]
    print(f"listening: {listening}; connections: {len(conns)}; network events: {len(events)}; outside: {outside}")
    assert listening and all(is_loopback(a.ip) for a in listening), listening
    assert all(is_loopback(c.raddr.ip) for c in conns if c.raddr), conns
    assert any(e[0] == "socket.bind" and str(app["port"]) in e[2] for e in events), events[:5]
    assert outside == []
