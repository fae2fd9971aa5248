"""Fixtures: a packaged test photo (scikit-image's astronaut), tmp databases, the demo photos
that ship inside the package (``demo_photos``: always there), and the larger shared photo sets in
../shared/data/faces for the tests that need more than the demo (``faces``: skipped cleanly
when absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from workbench import config


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory, monkeypatch):
    """Never touch the user's data/ folder: models home, scale references and DB default go to a
    tmp folder (no reference is built there: the scale answer rests on the packaged photos)."""
    home = tmp_path_factory.getbasetemp() / "models"
    monkeypatch.setenv("WORKBENCH_MODELS", str(home))
    monkeypatch.setenv("WORKBENCH_REFERENCES", str(tmp_path_factory.getbasetemp() / "no-references"))
    monkeypatch.delenv("WORKBENCH_DB", raising=False)
    monkeypatch.delenv("WORKBENCH_ALLOW_DOWNLOADS", raising=False)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """RGB uint8 (512, 512, 3): one frontal face, shipped inside scikit-image (its mission
    patch, which the HOG detector takes for a face, blurred: see corpus.astronaut_one_face)."""
    from corpus import astronaut_one_face

    return astronaut_one_face()


@pytest.fixture(scope="session")
def astronaut_png(tmp_path_factory, astronaut) -> Path:
    p = tmp_path_factory.mktemp("img") / "astronaut.png"
    Image.fromarray(astronaut).save(p)
    return p


@pytest.fixture(scope="session")
def blank_png(tmp_path_factory) -> Path:
    """A valid image with no face in it."""
    p = tmp_path_factory.mktemp("img") / "blank.png"
    Image.fromarray(np.full((240, 320, 3), 128, np.uint8)).save(p)
    return p


@pytest.fixture()
def db_path(tmp_path) -> Path:
    return tmp_path / "gallery.duckdb"


def file_state(path: Path) -> tuple | None:
    """What a 'nothing was written' check compares: existence, size and content hash."""
    if not path.exists():
        return None
    import hashlib

    return path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def demo_photos() -> Path:
    """The real photos packaged in ``workbench/demo`` (a bare clone has them too); same relative
    paths as in ../shared/data/faces."""
    d = config.demo_dir()
    assert (d / "SOURCES.md").is_file(), f"{d}: the packaged demo photos are missing"
    return d


@pytest.fixture(scope="session")
def faces() -> Path:
    """The shared photo sets (all of deepface's unit photos, LFW, UTKFace ...), for the tests the
    demo photos cannot serve; they skip with a reason when the folder is absent."""
    d = config.faces_dir()
    if d is None:
        pytest.skip("real photos not found: ../shared/data/faces is absent (set WORKBENCH_FACES)")
    return d


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray cluster for the whole session (2 CPUs, no dashboard, loopback only)."""
    pytest.importorskip("ray", reason="ray is not installed (pip install -e '.[ray]')")
    from workbench.pipeline import raycluster

    raycluster.connect("local", num_cpus=2)
    yield
    raycluster.shutdown()
