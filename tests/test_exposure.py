"""Who can reach the app: `workbench app` binds loopback, serving the network is an explicit
--expose with a warning and a banner. `streamlit run app.py`, started as the README says, is
proved in Chromium by test_browser_hostile.py (one server for several checks) with the tools
here: the server's every outgoing connection and name lookup is seen by a Python audit hook
(``sys.addaudithook``, installed through a ``sitecustomize`` on its PYTHONPATH), which also
refuses any that is not loopback, so an attempt is seen without anything leaving the machine.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.app.privacy import is_loopback
from workbench.cli import cli

ROOT = Path(__file__).resolve().parent.parent

HOOK = '''
import json, os, sys

_LOG = os.environ["WORKBENCH_NET_LOG"]


def _host(address):
    if isinstance(address, tuple) and address:
        return str(address[0])
    return ""  # a Unix socket path


def _local(host):
    host = str(host or "").strip("[]").lower()
    return host in ("", "localhost", "::1", "0.0.0.0", "::") or host.startswith("127.")


def _hook(event, args):
    if event in ("socket.connect", "socket.sendto", "socket.bind"):
        host = _host(args[1])
    elif event == "socket.getaddrinfo":
        host = args[0].decode() if isinstance(args[0], bytes) else args[0]
    else:
        return
    with open(_LOG, "a") as fh:
        fh.write(json.dumps([event, str(host), repr(args[1]) if event != "socket.getaddrinfo" else ""]) + "\\n")
    if event != "socket.bind" and not _local(host):
        raise OSError(f"test: outside {event} to {host!r} refused")


sys.addaudithook(_hook)
'''


def _cross_origin_handshake(port: int) -> bytes:
    """What a page of another site does to a local app: open its websocket with its own Origin."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall((f"GET /_stcore/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\nOrigin: http://tracker.example\r\n\r\n").encode())
        return s.recv(200)


def test_workbench_app_binds_loopback_and_exposing_is_explicit(monkeypatch, tmp_path):
    calls: list = []

    def fake_execve(path, argv, env):
        calls.append(argv)
        raise SystemExit(0)

    monkeypatch.setattr(os, "execve", fake_execve)
    argv_seen: list = []

    def address(*args):
        r = CliRunner().invoke(cli, ["--db", str(tmp_path / "g.duckdb"), "app", *args])
        argv = calls.pop() if r.exit_code == 0 else None
        argv_seen.append(argv)
        return r, (argv[argv.index("--server.address") + 1] if argv else None)

    r, bound = address()
    assert r.exit_code == 0 and bound == "127.0.0.1" and "WARNING" not in r.stderr
    assert "--browser.serverAddress" not in argv_seen[-1]
    r, bound = address("--address", "0.0.0.0")
    assert r.exit_code == 1 and bound is None and r.stderr.strip().splitlines() == [(
        "workbench: --address 0.0.0.0 would let others on the network open the gallery and purge it; "
        "add --expose to mean it")]
    r, bound = address("--expose")
    assert r.exit_code == 0 and bound == "0.0.0.0"
    assert argv_seen[-1][argv_seen[-1].index("--browser.serverAddress") + 1] == socket.gethostname()  # no lookup
    assert "WARNING: serving the network on 0.0.0.0" in r.stderr and "purge" in r.stderr
    r, bound = address("--expose", "--address", "192.0.2.7")
    assert r.exit_code == 0 and bound == "192.0.2.7"
    r, bound = address("--address", "::1")
    assert r.exit_code == 0 and bound == "::1"
    assert [is_loopback(a) for a in ("127.0.0.1", "127.3.4.5", "::1", "[::1]", "localhost", "0.0.0.0", "::", "",
                                     None, "192.168.1.2", "example.org")] == [True] * 5 + [False] * 6


@pytest.mark.parametrize("bound, banner", [("127.0.0.1", False), ("0.0.0.0", True), ("192.0.2.7", True),
                                           (None, True)])
def test_the_app_carries_a_banner_when_the_network_can_reach_it(bound, banner, db_path, monkeypatch):
    import streamlit as st
    from test_app import app

    monkeypatch.setattr(st, "get_option", lambda key, _real=st.get_option: bound if key == "server.address"
                        else _real(key))
    at = app(db_path, monkeypatch).run()  # app.py draws it before any page (AppTest keeps it on the first run)
    assert not at.exception
    shown = [e.value for e in at.error if "open to the network" in e.value]
    assert bool(shown) == banner, (bound, [e.value for e in at.error])
    if banner:
        assert "can open the gallery, search it and purge it" in shown[0]
        assert f"on {bound}" in shown[0] if bound != "0.0.0.0" and bound else "every network interface" in shown[0]


def test_every_page_goes_through_the_app_shell_first():
    """A page URL opened first after a start runs the page alone (the pages/ folder's old mode):
    ui.current() sends it through app.py (navigation, sidebar), so every page calls it, and the
    shell lists every page file (test_browser_hostile.py opens each URL first in Chromium)."""
    shell = (ROOT / "workbench" / "app" / "shell.py").read_text()
    for page in sorted((ROOT / "pages").glob("*.py")):
        assert "ui.current()" in page.read_text(), f"{page.name} does not call ui.current()"
        assert f'"pages/{page.name}"' in shell, f"{page.name} is not in the navigation"
