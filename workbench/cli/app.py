"""`workbench app`: the Streamlit workbench, bound to this machine."""

from __future__ import annotations

import os
import socket
import sys

import click

from workbench import config
from workbench.cli.base import Ctx, cli
from workbench.cli.bench import bench
from workbench.errors import WorkbenchError


@cli.command()
@click.option("--port", default=8501, show_default=True)
@click.option("--address", default=None, help="Interface to serve on (default: 127.0.0.1, this machine only; "
              "with --expose: 0.0.0.0, every interface).")
@click.option("--expose", is_flag=True, help="Serve the network, not just this machine: anyone who can reach it "
              "can open, search and purge the gallery. Prints a warning; every page shows a banner.")
@click.option("--headless/--browser", default=True, show_default=True)
@click.option("--classroom", is_flag=True, help="Keep the gallery in memory only: nothing is written to disk.")
@click.pass_obj
def app(obj: Ctx, port: int, address: str | None, expose: bool, headless: bool, classroom: bool) -> None:
    """Start the Streamlit workbench, on this machine only unless --expose."""
    import subprocess

    from workbench.app.privacy import LOCAL_ADDRESS, is_loopback, streamlit_options

    address = address or ("0.0.0.0" if expose else LOCAL_ADDRESS)
    if not expose and not is_loopback(address):
        raise WorkbenchError(f"--address {address} would let others on the network open the gallery and purge it; "
                             "add --expose to mean it")
    overrides = {"server_address": address}
    if expose and not is_loopback(address):
        click.echo(f"workbench: WARNING: serving the network on {address}:{port}: anyone who can reach this "
                   "machine can open, search and purge the gallery (every page shows a banner)", err=True)
        # the address people will type: named, Streamlit does not ask an outside service for it
        overrides["browser_serverAddress"] = socket.gethostname() if address in ("0.0.0.0", "::") else address

    entry = config.project_root() / "app.py"
    if not entry.is_file():
        raise WorkbenchError(f"{entry}: the app entry point is missing (install from a source checkout)")
    db = ":memory:" if classroom or str(obj.db_path) == ":memory:" else str(obj.db_path.resolve())
    env = dict(os.environ, WORKBENCH_DB=db)
    cmd = [sys.executable, "-m", "streamlit", "run", str(entry), "--server.port", str(port),
           "--server.headless", "true" if headless else "false", *streamlit_options(**overrides)]
    # run from the checkout so its .streamlit/config.toml applies too (the options above win anyway)
    if hasattr(os, "execve"):  # become the server: signals reach it, no orphan keeps the database locked
        os.chdir(entry.parent)
        os.execve(sys.executable, cmd, env)
    sys.exit(subprocess.call(cmd, env=env, cwd=entry.parent))



@bench.command("classroom")
@click.option("--sessions", default="12", show_default=True,
              help="Class sizes, comma-separated (e.g. 12,30): that many browser sessions search at once, each "
                   "with a different photo, after one session alone.")
@click.option("--timeout", default=300.0, show_default=True, type=click.FloatRange(1), help="Seconds a session may wait.")
@click.option("--workdir", type=click.Path(file_okay=False), default=None,
              help="Keep the app's database and log here (default: a temporary folder).")
@click.option("--browsers-nice", default=0, show_default=True, type=click.IntRange(0, 19),
              help="Run the browsers at this niceness (19: lowest priority), so that on one machine they stand "
                   "in for the class's own laptops rather than taking the server's cores.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def bench_classroom(obj: Ctx, sessions: str, timeout: float, workdir: str | None, browsers_nice: int,
                    as_json: bool) -> None:
    """A class searching at once: the app started as `workbench app` does, N Chromium sessions on its
    Search page (loopback only), each uploading a different photo; served, errors, p50/p95/slowest
    seconds from upload to answer, beside one session alone in the same run; the p95 seconds to the
    page's first line about the search; CPU seconds of the app's server, its workers and the browsers."""
    from dataclasses import asdict
    from pathlib import Path

    from workbench.bench.classroom import bench_classroom as run
    from workbench.cli.base import _echo_json, _progress

    try:
        sizes = [int(x) for x in sessions.split(",") if x.strip()]
    except ValueError:
        raise WorkbenchError(f"--sessions wants whole numbers, got {sessions!r}") from None
    if not sizes or min(sizes) < 1:
        raise WorkbenchError(f"--sessions wants class sizes of 1 or more, got {sessions!r}")
    rows = run(sizes, obj.settings, timeout_s=timeout, workdir=Path(workdir) if workdir else None,
               progress=_progress("classes"), browsers_nice=browsers_nice)
    if as_json:
        _echo_json([asdict(r) for r in rows])
        return
    s = obj.settings
    click.echo(f"{s.detector} + {s.model}, 9-face demo gallery, a different photo per session"
               + (f"; the browsers at nice {browsers_nice} (standing in for the class's own laptops)"
                  if browsers_nice else "; the browsers on this machine's cores as equals of the app"))
    click.echo(f"{'sessions':>8} {'served':>8} {'errors':>6} {'p50 s':>7} {'p95 s':>7} {'slowest':>8} "
               f"{'first word p95':>14} {'load':>5} {'CPU s: server':>13} {'workers':>7} {'browser':>7}")
    fmt = (lambda v: "-" if v is None else f"{v:.2f}")
    for r in rows:
        click.echo(f"{r.sessions:>8} {f'{r.served}/{r.sessions}':>8} {r.errors:>6} {fmt(r.p50_s):>7} {fmt(r.p95_s):>7} "
                   f"{fmt(r.slowest_s):>8} {fmt(r.first_word_p95_s):>14} {r.load_before:>5.1f} {r.server_cpu_s:>13.2f} "
                   f"{r.workers_cpu_s:>7.2f} {r.browser_cpu_s:>7.2f}")
    for r in rows:
        for o in r.outcomes:
            if o.error:
                click.echo(f"session with {o.photo}: {o.error}", err=True)
