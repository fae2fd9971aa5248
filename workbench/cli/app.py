"""`workbench app`: the Streamlit workbench, bound to this machine."""

from __future__ import annotations

import os
import sys

import click

from workbench import config
from workbench.cli.base import Ctx, cli
from workbench.errors import WorkbenchError


@cli.command()
@click.option("--port", default=8501, show_default=True)
@click.option("--address", default="localhost", show_default=True, help="Interface to serve on.")
@click.option("--headless/--browser", default=True, show_default=True)
@click.option("--classroom", is_flag=True, help="Keep the gallery in memory only: nothing is written to disk.")
@click.pass_obj
def app(obj: Ctx, port: int, address: str, headless: bool, classroom: bool) -> None:
    """Start the Streamlit workbench."""
    import subprocess

    from workbench.app.privacy import streamlit_options

    entry = config.project_root() / "app.py"
    if not entry.is_file():
        raise WorkbenchError(f"{entry}: the app entry point is missing (install from a source checkout)")
    db = ":memory:" if classroom or str(obj.db_path) == ":memory:" else str(obj.db_path.resolve())
    env = dict(os.environ, WORKBENCH_DB=db)
    cmd = [sys.executable, "-m", "streamlit", "run", str(entry), "--server.port", str(port),
           "--server.address", address, "--server.headless", "true" if headless else "false",
           *streamlit_options()]
    # run from the checkout so its .streamlit/config.toml applies too (the options above win anyway)
    if hasattr(os, "execve"):  # become the server: signals reach it, no orphan keeps the database locked
        os.chdir(entry.parent)
        os.execve(sys.executable, cmd, env)
    sys.exit(subprocess.call(cmd, env=env, cwd=entry.parent))

