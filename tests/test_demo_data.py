"""The demo photos packaged in workbench/demo: listed file by file in SOURCES.md (size and sha256),
small, MIT-licensed sources only, found when ../shared is absent, and declared as package data."""

from __future__ import annotations

import csv
import hashlib
import re
import tomllib
from pathlib import Path

from workbench import config

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("deepface-unit", "face-recognition-examples", "retinaface")  # the three MIT-licensed projects


def demo_files(demo: Path) -> dict[str, Path]:
    return {str(p.relative_to(demo)): p for p in sorted(demo.rglob("*")) if p.is_file() and p.name != "SOURCES.md"}


def listed(demo: Path) -> dict[str, tuple[int, str]]:
    rows = re.findall(r"^\| `([^`]+)` \| (\d+) \| `([0-9a-f]{64})` \|$", (demo / "SOURCES.md").read_text(), re.M)
    return {path: (int(size), sha) for path, size, sha in rows}


def test_every_demo_file_is_listed_with_its_size_and_hash(demo_photos):
    files = demo_files(demo_photos)
    assert listed(demo_photos) == {name: (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
                                   for name, p in files.items()}
    assert sum(p.stat().st_size for p in files.values()) <= 10_000_000
    assert {name.split("/")[0] for name in files} == set(SOURCES)  # never LFW, UTKFace or anything else
    for source in SOURCES:
        assert (demo_photos / source / "LICENSE").read_text().strip().startswith("MIT License")
    # what the app, the Story page and the tests rely on
    people = {p.parent.name for p in (demo_photos / "face-recognition-examples/knn_examples/train").glob("*/*")}
    assert len(people) == 5
    for name in ("retinaface/img3.jpg", "retinaface/couple.jpg", "face-recognition-examples/short_hamilton_clip.mp4",
                 "deepface-unit/master-subset.csv"):
        assert name in files


def test_demo_files_are_the_shared_files_unchanged(demo_photos, faces_deepface):
    for name, p in demo_files(demo_photos).items():
        if name != "deepface-unit/master-subset.csv":
            assert p.read_bytes() == (faces_deepface / name).read_bytes(), name
    # the subset is master.csv's rows whose two photos ship, in order
    have = {p.name for p in (demo_photos / "deepface-unit").glob("*.jpg")}
    with (faces_deepface / "deepface-unit/master.csv").open() as fh:
        rows = [r for r in csv.reader(fh)]
    expected = [rows[0]] + [r for r in rows[1:] if r[0] in have and r[1] in have]
    with (demo_photos / "deepface-unit/master-subset.csv").open() as fh:
        assert list(csv.reader(fh)) == expected


def test_the_demo_photos_stand_in_when_the_shared_folder_is_absent(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_FACES", raising=False)
    monkeypatch.setattr(config, "project_root", lambda: tmp_path / "clone")  # a clone with no ../shared
    monkeypatch.chdir(tmp_path)
    assert config.faces_dir() is None
    assert config.photos_dir() == config.demo_dir()
    from workbench.app import ui
    from workbench.search.enrol import demo_folder

    assert "retinaface/img3.jpg" in ui.sample_images()
    assert "face-recognition-examples/short_hamilton_clip.mp4" in ui.sample_videos()
    assert demo_folder() == config.demo_dir() / "face-recognition-examples/knn_examples/train"


def test_the_demo_photos_are_declared_as_package_data(demo_photos):
    """A non-editable install (a wheel) carries only the files pyproject.toml declares."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    package = ROOT / "workbench"
    covered = {p for pattern in declared.get("workbench", []) for p in package.glob(pattern) if p.is_file()}
    assert set((demo_photos / n) for n in demo_files(demo_photos)) | {demo_photos / "SOURCES.md"} <= covered


def test_the_pickers_offer_the_demo_photos_listed_once_not_the_research_data_sets(tmp_path, monkeypatch):
    """LFW and UTKFace stay out of the Search, Compare and Enrol pickers (15,332 names in every rerun
    of those pages); the listing is kept until a folder's content changes."""
    from workbench.app import ui

    shared = tmp_path / "faces"
    for name in ("lfw/Ann_Smith/Ann_Smith_0001.jpg", "utkface-balanced/20_1_0_x.jpg", "deepface-unit/img1.jpg",
                 "couple.jpg"):
        (shared / name).parent.mkdir(parents=True, exist_ok=True)
        (shared / name).write_bytes(b"x")
    monkeypatch.setenv("WORKBENCH_FACES", str(shared))
    assert list(ui.sample_images()) == ["couple.jpg", "deepface-unit/img1.jpg"]
    hits = config._demo_files.cache_info().hits
    ui.sample_images()
    assert config._demo_files.cache_info().hits == hits + 1  # listed once
    (shared / "deepface-unit" / "img2.jpg").write_bytes(b"x")
    assert "deepface-unit/img2.jpg" in ui.sample_images()  # a new photo is offered


def test_a_skip_for_want_of_the_shared_photos_must_name_a_data_set_that_does_not_ship():
    """Issue 24, point 16: a bare clone skipped 47 tests "real photos not found", most of which the
    packaged photos serve. Such a skip now fails unless it names LFW, UTKFace or deepface's full set."""
    from types import SimpleNamespace

    import conftest

    def outcome(reason: str) -> str:
        report = SimpleNamespace(skipped=True, outcome="skipped", longrepr=("tests/x.py", 1, f"Skipped: {reason}"))
        hook = conftest.pytest_runtest_makereport(None, None)
        next(hook)
        try:
            hook.send(SimpleNamespace(get_result=lambda: report))
        except StopIteration:
            pass
        return report.outcome

    assert outcome("real photos not found: ../shared/data/faces is absent (set WORKBENCH_FACES)") == "failed"
    assert outcome("UTKFace photos are not in ../shared") == "failed"  # names it, but not as the fixtures do
    for what, _ in conftest.NOT_SHIPPED.values():
        assert outcome(f"needs {what}: not on this machine (set WORKBENCH_FACES)") == "skipped"
    assert outcome("Debian's chromium is not installed") == "skipped"  # not about photos: left alone
