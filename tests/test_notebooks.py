"""The classroom notebooks run top to bottom in a real Jupyter kernel (nbclient), offline; a
failing cell fails the test. Notebooks 1 and 6 run on the demo photos that ship with the package, 2
and 3 need deepface's full pair lists from ../shared/data/faces, 4 UTKFace and 5 LFW. Outputs are never
committed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_classroom_notebooks_are_there_without_outputs():
    assert [p.name for p in NOTEBOOKS] == ["01-pixels-to-vector.ipynb", "02-thresholds-and-false-matches.ipynb",
                                           "03-bias-audit.ipynb", "04-demographic-audit.ipynb",
                                           "05-robustness-camera-quality.ipynb",
                                           "06-explain-a-match.ipynb"]
    for p in NOTEBOOKS:
        for cell in json.loads(p.read_text())["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, p.name


@pytest.fixture(scope="module")
def classroom_db(tmp_path_factory) -> Path:
    """One database for the three notebooks, as in a classroom: notebook 3 reuses 2's vectors."""
    return tmp_path_factory.mktemp("notebooks") / "classroom.duckdb"


#: The photos each notebook reads (a fixture of conftest.py): 1 and 6 the packaged demo photos, the
#: others a data set that does not ship (they skip, naming it, when it is absent).
PHOTOS = {"01-": "demo_photos", "02-": "faces_deepface", "03-": "faces_deepface", "04-": "faces_utkface",
          "05-": "faces_lfw", "06-": "demo_photos"}


def photos_for(notebook: Path, request) -> Path:
    return request.getfixturevalue(PHOTOS[notebook.name[:3]])


@pytest.mark.integration
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path, request, classroom_db, monkeypatch):
    faces = photos_for(path, request)
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    # the kernel imports this checkout's package, whatever the editable install points at
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("WORKBENCH_FACES", str(faces))
    monkeypatch.setenv("WORKBENCH_DB", str(classroom_db))
    monkeypatch.setenv("WORKBENCH_NOTEBOOK_PER_GROUP", "6")  # the audit notebook on a small subset
    monkeypatch.setenv("WORKBENCH_NOTEBOOK_PAIRS", "2")  # the robustness notebook on 2 + 2 pairs
    monkeypatch.setenv("WORKBENCH_NOTEBOOK_STEPS", "3")  # the explanation notebook on a coarse grid
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    charts = [o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(charts) >= 2, f"{path.name}: expected charts, got {len(charts)}"
