"""The architecture, checked: layers point one way, only storage talks to DuckDB, only the app
layer imports Streamlit (the contracts are in pyproject.toml), and no module grows past what
one can read in a sitting."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "BROKEN" not in out.stdout and "KEPT" in out.stdout


def test_modules_and_classes_stay_readable():
    too_long = []
    for f in sorted((ROOT / "workbench").rglob("*.py")):
        src = f.read_text()
        lines = src.count("\n")
        if lines > 400:
            too_long.append(f"{f.relative_to(ROOT)}: {lines} lines")
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > 300:
                too_long.append(f"{f.relative_to(ROOT)}: class {node.name} {node.end_lineno - node.lineno + 1} lines")
    assert not too_long, too_long
