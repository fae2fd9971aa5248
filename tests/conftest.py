"""Fixtures: a packaged test photo (scikit-image's astronaut), tmp databases, the demo photos
that ship inside the package (``demo_photos``: always there, also in a bare clone) and the cast
of the watch tests' footage made of them, and the data sets that never ship, in
../shared/data/faces (``faces_lfw``, ``faces_utkface``, ``faces_deepface``: each skips, naming
its data set, when absent). A bare clone skips no other test for want of photos: a skip that
blames the shared folder without naming one of those data sets fails (the hook at the end)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from workbench import config


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory, monkeypatch):
    """Never touch the user's data/ folder: models home and DB default go to a tmp folder."""
    home = tmp_path_factory.getbasetemp() / "models"
    monkeypatch.setenv("WORKBENCH_MODELS", str(home))
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


#: The data sets a bare clone lacks (they never ship: research-use terms, or photos too large for
#: the package; see workbench/demo/SOURCES.md), with the files a test needs of each.
NOT_SHIPPED = {
    "lfw": ("LFW (research data, ../shared/data/faces/lfw)", ("lfw", "lfw-pairs.txt")),
    "utkface": ("UTKFace (research data, ../shared/data/faces/utkface-balanced)", ("utkface-balanced",)),
    "deepface": ("deepface's full unit-test set (its 63 photos, master.csv and face-recognition-pivot.csv in "
                 "../shared/data/faces/deepface-unit; 18 of the photos ship)",
                 ("deepface-unit/master.csv", "deepface-unit/face-recognition-pivot.csv", "deepface-unit/img1.jpg")),
}


def _shared(data_set: str) -> Path:
    """The shared photo folder, when it holds ``data_set``; else the test skips, naming it."""
    what, files = NOT_SHIPPED[data_set]
    d = config.faces_dir()
    if d is None or not all((d / f).exists() for f in files):
        pytest.skip(f"needs {what}: not on this machine (set WORKBENCH_FACES)")
    return d


@pytest.fixture(scope="session")
def faces_lfw() -> Path:
    """../shared/data/faces, with LFW and its pairs file (``faces_lfw / "lfw"``)."""
    return _shared("lfw")


@pytest.fixture(scope="session")
def faces_utkface() -> Path:
    """../shared/data/faces, with UTKFace (``faces_utkface / "utkface-balanced"``)."""
    return _shared("utkface")


@pytest.fixture(scope="session")
def faces_deepface() -> Path:
    """../shared/data/faces, with all of deepface's unit-test photos and pair lists."""
    return _shared("deepface")


@pytest.fixture(scope="session")
def faces() -> Path:
    """The whole shared folder, for a test that needs none of the data sets above by name; prefer
    ``demo_photos`` (the same photos at the same paths) or the named fixtures: in a bare clone,
    a test skipped here fails (see :func:`pytest_runtest_makereport`)."""
    d = config.faces_dir()
    if d is None:
        pytest.skip("real photos not found: ../shared/data/faces is absent (set WORKBENCH_FACES)")
    return d


@pytest.fixture(scope="session")
def cast(demo_photos, tmp_path_factory):
    """Four people of the packaged demo photos as face stills for synthetic footage
    (``cast.photo("obama", 2)``): see ``footage.CAST``."""
    from footage import Cast

    return Cast(demo_photos, tmp_path_factory.mktemp("cast"))


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray cluster for the whole session (2 CPUs, no dashboard, loopback only)."""
    pytest.importorskip("ray", reason="ray is not installed (pip install -e '.[ray]')")
    from workbench.pipeline import raycluster

    raycluster.connect("local", num_cpus=2)
    yield
    raycluster.shutdown()


_NAMED = tuple(f"needs {what}" for what, _ in NOT_SHIPPED.values())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test skipped for want of the shared photos must name the data set it needs (one of
    :data:`NOT_SHIPPED`); otherwise it could run on the packaged photos, and the skip fails."""
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and isinstance(report.longrepr, tuple)):
        return
    reason = str(report.longrepr[2]).removeprefix("Skipped: ")
    if ("../shared" in reason or "photos" in reason) and not reason.startswith(_NAMED):
        report.outcome = "failed"
        report.longrepr = (f"skipped for want of the shared photos without naming a data set that does not ship "
                           f"({', '.join(NOT_SHIPPED)}): {reason!r}; run it on demo_photos instead")
