"""Notebooks only call the library; their code cells must keep running."""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_code_cells_run(path, faces):
    cells = json.loads(path.read_text())["cells"]
    namespace: dict = {}
    for cell in cells:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), f"{path.name}", "exec"), namespace)  # noqa: S102
    table = namespace["table"]
    # a stricter threshold never yields more false matches, nor fewer misses
    assert table["false matches"].to_list() == sorted(table["false matches"].to_list(), reverse=True)
    assert table["false non-matches"].to_list() == sorted(table["false non-matches"].to_list())
