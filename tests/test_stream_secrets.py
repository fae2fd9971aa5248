"""A stream's user and password connect and are never kept: no table, log line, report, JSON
summary or page holds them (issue 24, point 6). The streams are loopback addresses that refuse
the connection (a closed port) or refuse the password (HTTP 401)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from workbench.live.sources import CameraSpec, parse_source, redact, secrets_of

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cr3t"


def closed_port() -> int:
    with socket.socket() as s:  # bound, never listening: connections are refused
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def refusing_server():
    """A loopback HTTP/RTSP server that answers every request "401 Unauthorized" (at most 20)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(30)

    def serve() -> None:
        for _ in range(20):
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"cam\"\r\n"
                                 b"Content-Length: 0\r\n\r\n")
                except OSError:
                    pass

    threading.Thread(target=serve, daemon=True).start()
    yield srv.getsockname()[1]
    srv.close()


def test_sources_show_no_user_or_password():
    spec = parse_source("rtsp://admin:s3cr3t@127.0.0.1:554/s")
    assert (spec.name, spec.source, spec.kind) == ("127.0.0.1:554", "rtsp://127.0.0.1:554/s", "stream")
    assert spec.target == "rtsp://admin:s3cr3t@127.0.0.1:554/s"  # only to connect
    assert SECRET not in repr(spec) and SECRET not in spec.label()
    named = parse_source("gate=http://cam.local/video.cgi?user=admin&pwd=s3cr3t&res=720#x")
    assert named.source == "http://cam.local/video.cgi?user=***&pwd=***&res=720#x" and named.name == "gate"
    # a password with an unescaped / or @ is still taken whole, never shown in part
    assert redact("rtsp://admin:p@ss/w0rd@[::1]:8554/live") == "rtsp://[::1]:8554/live"
    assert redact("rtsp://admin:p%40ss@h/s") == "rtsp://h/s" and "p@ss" in secrets_of("rtsp://admin:p%40ss@h/s")
    plain = parse_source("lobby=rtsp://127.0.0.1:9/s")
    assert plain.target == plain.source == "rtsp://127.0.0.1:9/s"
    msg = spec.scrub("[tcp] rtsp://admin:s3cr3t@127.0.0.1:554/s: refused; user admin:s3cr3t; s3cr3t")
    assert SECRET not in msg and "rtsp://127.0.0.1:554/s: refused" in msg
    assert CameraSpec("a", "x.mp4", "file").scrub("x.mp4 s3cr3t") == "x.mp4 s3cr3t"  # nothing to hide


def everything_in(db: Path) -> str:
    """Every row of every table of a DuckDB file, as text."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return "\n".join(f"{t}: {con.execute('SELECT * FROM ' + json.dumps(t)).fetchall()}" for t in tables)
    finally:
        con.close()


def test_a_watch_of_streams_with_passwords_keeps_no_password(tmp_path, refusing_server):
    db, report = tmp_path / "w.duckdb", tmp_path / "report"
    closed = closed_port()
    cams = [f"rtsp://admin:{SECRET}@127.0.0.1:{closed}/s",
            f"door=http://admin:{SECRET}@127.0.0.1:{refusing_server}/video.mjpg?pwd={SECRET}"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    made = subprocess.run([sys.executable, "-m", "workbench.cli", "--db", str(db), "gallery", "create", "g"],
                          capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert made.returncode == 0, made.stderr  # a watch never makes its gallery
    r = subprocess.run([sys.executable, "-m", "workbench.cli", "--db", str(db), "watch", *cams, "--gallery", "g",
                        "--retries", "0", "--report", str(report), "--json"],
                       capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert r.returncode == 1 and "every camera failed" in r.stderr, r.stderr
    summary = json.loads(r.stdout)
    cams_out = {c["camera"]: c for c in summary["cameras"]}
    assert set(cams_out) == {f"127.0.0.1:{closed}", "door"}
    assert cams_out["door"]["source"] == f"http://127.0.0.1:{refusing_server}/video.mjpg?pwd=***"
    assert all(c["state"] == "failed" for c in cams_out.values())
    assert f"rtsp://127.0.0.1:{closed}/s" in cams_out[f"127.0.0.1:{closed}"]["message"]
    stored = everything_in(db)
    assert f"rtsp://127.0.0.1:{closed}/s" in stored  # watch_runs.sources and the search log name it ...
    pages = "".join(p.read_text(errors="replace") for p in report.rglob("*") if p.is_file())
    for where, text in (("stdout", r.stdout), ("stderr", r.stderr), ("tables", stored), ("report", pages)):
        assert SECRET not in text and "admin:" not in text, where  # ... without its user and password
    for f in tmp_path.glob("w.duckdb*"):  # nor any page of the file, freed or not
        assert SECRET.encode() not in f.read_bytes(), f.name
