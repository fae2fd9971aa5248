"""A closed pipe ends a command quietly, as Unix tools do (issue 24, point 8):
`workbench detect img3.jpg | head -1` used to end with "internal error: BrokenPipeError"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from workbench.cli.base import EXIT_PIPE

ROOT = Path(__file__).resolve().parent.parent


def test_a_reader_that_leaves_early_ends_the_command_quietly(tmp_path):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before the first line: every write meets a closed pipe
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    try:
        r = subprocess.run([sys.executable, "-m", "workbench.cli", "detect",
                            str(ROOT / "workbench" / "demo" / "retinaface" / "img3.jpg")],
                           stdout=write_end, stderr=subprocess.PIPE, text=True, env=env, timeout=300, cwd=tmp_path)
    finally:
        os.close(write_end)
    assert r.stderr == "" and r.returncode == EXIT_PIPE, r.stderr
