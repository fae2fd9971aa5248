"""`workbench app`: the Streamlit workbench, bound to this machine."""

from __future__ import annotations

import os
import socket
import sys

import click

from workbench import config
from workbench.cli.base import Ctx, cli
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

