"""The bugs a review confirmed (issue 14) and the mutations that survived the suite before it.

None of these needs the shared photos: they build what they need from scikit-image's
astronaut and random vectors.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from crash import make_folder

from workbench.cli import cli
from workbench.errors import GalleryError
from workbench.pipeline import compare, quality
from workbench.search import rank
from workbench.store import FaceRecord, Store, GalleryMatrix, derived
from workbench.types import Box, Detection

ROOT = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    """The CLI in a fresh process: nothing imported beforehand by the test session."""
    return subprocess.run([sys.executable, "-m", "workbench.cli", "--db", str(db), *map(str, args)],
                          env=_env(), capture_output=True, text=True, timeout=300)


def rec(person: str, seed: int, dim: int = 128) -> FaceRecord:
    v = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return FaceRecord(person, f"sha-{person}-{seed}", f"{person}/{seed}.jpg", [0, 0, 50, 50], [0.0] * 10,
                      {"size": 50, "sharpness": 100.0, "brightness": 120.0, "yaw": 0.0}, 1.0, "hog", v)


# -- 1. purge means gone, whatever this process imported ------------------------------------

def test_deleting_a_person_removes_a_saved_index_in_a_fresh_process(tmp_path, astronaut_png):
    db = tmp_path / "g.duckdb"
    with Store(db) as g:
        g.faces.add("G", [rec("P", 1), rec("Q", 2)], model="Dlib")
    r = _cli(db, "search", astronaut_png, "--gallery", "G", "--index", "exact")
    assert r.returncode == 0, r.stderr
    saved = derived.index_path(db, "G", "exact")
    assert saved.is_file() and derived.existing(db)
    # a new process that never imports the index module deletes the person
    r = _cli(db, "gallery", "delete", "G", "--person", "P")
    assert r.returncode == 0, r.stderr
    assert not saved.exists() and derived.existing(db) == []
    deleted = np.random.default_rng(1).normal(size=128).astype(np.float32).tobytes()
    assert not any(deleted in f.read_bytes() for f in tmp_path.iterdir() if f.is_file())


def test_purge_all_removes_every_derived_file(tmp_path):
    db = tmp_path / "g.duckdb"
    with Store(db) as g:
        g.faces.add("G", [rec("P", 1)], model="Dlib")
    for kind in ("exact", "ivf_pq"):
        derived.index_path(db, "G", kind).write_bytes(b"vectors")
    r = _cli(db, "gallery", "purge-all", "--yes")
    assert r.returncode == 0, r.stderr
    assert derived.existing(db) == []


# -- 2. a face id of another gallery -------------------------------------------------------

def test_deleting_a_face_checks_its_gallery(db_path):
    with Store(db_path) as g:
        g.faces.add("A", [rec("ann", 1)], model="Dlib")
        (b_face,), _ = g.faces.add("B", [rec("bob", 2)], model="Dlib")
    r = CliRunner().invoke(cli, ["--db", str(db_path), "gallery", "delete", "A", "--face", str(b_face)])
    assert r.exit_code == 1 and "is in gallery 'B'" in r.stderr and "nothing was deleted" in r.stderr
    with Store(db_path) as g:
        assert g.faces.list("B").height == 1 and g.faces.list("A").height == 1
        with pytest.raises(GalleryError, match="is in gallery 'B'"):
            g.removal.delete_face("A", b_face)
        g.removal.delete_face("B", b_face)
        assert g.faces.list("B").height == 0


# -- 3. a logged search does not empty the search matrix cache -----------------------------

def test_a_logged_search_keeps_the_matrix_and_only_face_changes_reload_it(db_path):
    with Store(db_path) as g:
        g.faces.add("G", [rec("ann", 1), rec("bob", 2)], model="Dlib")
        g.faces.add("H", [rec("cat", 3)], model="Dlib")
        first = g.vectors.matrix("G", "Dlib")
        g.search_log.add(gallery="G", detector="hog", metric="euclidean", threshold=0.6, top_k=1,
                     result_face_ids=[[1]], result_distances=[[0.1]], detect_ms=1, embed_ms=1, search_ms=1, model="Dlib")
        g.cache.store([("sha", [0.0] * 128, 1, None)], ("Dlib", "hog", 1, 0))
        assert g.vectors.matrix("G", "Dlib") is first  # no reload after a logged search or a cache write
        g.faces.add("H", [rec("dan", 4)], model="Dlib")
        assert g.vectors.matrix("G", "Dlib") is first  # another gallery's faces changed
        g.faces.add("G", [rec("eve", 5)], model="Dlib")
        second = g.vectors.matrix("G", "Dlib")
        assert second is not first and second.vectors.shape[0] == 3
        g.removal.delete_person("G", "eve")
        assert g.vectors.matrix("G", "Dlib").vectors.shape[0] == 2
        g.removal.purge_all()
        with pytest.raises(GalleryError):
            g.vectors.matrix("G", "Dlib")


# -- 4. the app and the CLI audit the same photo as the same probe -------------------------

def test_the_search_log_hashes_the_bytes_given_in_the_app_and_the_cli(db_path, astronaut_png, monkeypatch):
    import hashlib

    from streamlit.testing.v1 import AppTest

    from workbench.app import ui

    with Store(db_path) as g:
        g.faces.add("G", [rec("P", 1)], model="Dlib")
    r = CliRunner().invoke(cli, ["--db", str(db_path), "search", str(astronaut_png), "--gallery", "G"])
    assert r.exit_code == 0, r.output
    data = astronaut_png.read_bytes()
    monkeypatch.setenv("WORKBENCH_DB", str(db_path))
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(ui, "image_input", lambda label, key: ("astronaut.png", data))
    ui.get_db.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state["gallery"] = "G"
    at.run()
    at.switch_page("pages/search.py").run()
    assert not at.exception, [e.message for e in at.exception]
    log = ui.get_db(str(db_path)).search_log.rows().sort("id")  # the app's own connection
    ui.get_db.clear()
    assert log["client"].to_list() == ["cli", "app"]
    assert set(log["probe_sha256"].to_list()) == {hashlib.sha256(data).hexdigest()}


# -- 5. one real-time preset ---------------------------------------------------------------

def test_the_live_page_and_the_video_bench_use_the_same_real_time_preset(tmp_path, astronaut, monkeypatch):
    import av

    from workbench.bench.video import bench_video
    from workbench.live import REALTIME, LiveProcessor

    made: list[LiveProcessor] = []
    real = LiveProcessor.realtime.__func__

    def spy(cls, *args, **kwargs):
        proc = real(cls, *args, **kwargs)
        made.append(proc)
        return proc

    monkeypatch.setattr(LiveProcessor, "realtime", classmethod(spy))
    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 512, 512, "yuv420p"
        for i in range(4):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.roll(astronaut, 3 * i, axis=1),
                                                                    format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    bench_video(str(path), None, runs=1, naive_frames=1)
    assert made and all((p.detect_every, p.upsample, p.embed_async, p.recheck_every)
                        == (REALTIME["detect_every"], REALTIME["upsample"], REALTIME["embed_async"],
                            REALTIME["recheck_every"]) for p in made)
    page = (ROOT / "pages" / "live.py").read_text()
    assert "LiveProcessor.realtime(" in page and "recheck_every=" not in page and "detect_every=" not in page


# -- mutations that survived -----------------------------------------------------------------

def test_enrolment_commits_whole_batches_and_a_kill_keeps_exactly_them(tmp_path):
    """Killed right after its 2nd commit, an enrolment in batches of 3 keeps exactly 6 faces,
    each with its person (a mutation with one transaction per face, or one at the end, fails)."""
    make_folder(tmp_path / "photos", 9, people=3)
    db = tmp_path / "k.duckdb"
    script = (
        "import os, signal, sys\n"
        "from workbench.store import Store\n"
        "from workbench.store.faces import Faces\n"
        "from workbench.search.enrol import enrol_path\n"
        "from workbench.pipeline import Settings\n"
        "orig = Faces.add\n"
        "calls = []\n"
        "def add_faces(self, *a, **k):\n"
        "    out = orig(self, *a, **k)\n"
        "    calls.append(len(out[0]))\n"
        "    if len(calls) == 2:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return out\n"
        "Faces.add = add_faces\n"
        "db = Store(sys.argv[1])\n"
        "enrol_path(db, 'g', sys.argv[2], Settings(), batch_size=3, workers=1)\n"
    )
    p = subprocess.run([sys.executable, "-c", script, str(db), str(tmp_path / "photos")], env=_env(),
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == -signal.SIGKILL, p.stderr[-2000:]
    with Store(db, read_only=True) as g:
        faces = g.faces.list("g")
        assert faces.height == 6 and faces["person"].null_count() == 0
        assert g.faces.people("g")["faces"].sum() == 6


def test_per_person_results_are_ordered_by_distance_not_by_person():
    v = np.zeros((3, 2), np.float32)
    v[0], v[1], v[2] = (3.0, 0.0), (1.0, 0.0), (2.0, 0.0)
    m = GalleryMatrix(np.array([10, 11, 12]), np.array([1, 2, 3]), ["a", "b", "c"], ["", "", ""], v)
    got = rank(np.zeros((1, 2), np.float32), m, metric="euclidean", threshold=2.0, top_k=3)[0]
    assert [x.person for x in got] == ["b", "c", "a"]
    assert [x.match for x in got] == [True, True, False]  # 2.0 is exactly the threshold: a match


def test_a_distance_equal_to_the_threshold_is_a_match():
    a = np.zeros(128, np.float32)
    b = a.copy()
    b[0] = 0.5  # distance exactly 0.5, representable in float32
    assert compare.verify_vectors(a, b, "Dlib", threshold=0.5).verified
    assert not compare.verify_vectors(a, b, "Dlib", threshold=np.nextafter(0.5, 0)).verified
    assert compare.is_match(0.5, 0.5) and not compare.is_match(0.5000001, 0.5)


def test_quality_gate_uses_the_short_side_and_resolution_free_sharpness(astronaut):
    import cv2

    det = Detection(Box(180, 60, 300, 100), ((0.0, 0.0),) * 5, 1.0, "hog")  # 120 x 40 px
    assert quality.assess(astronaut, det).size == 40
    narrow = Detection(Box(180, 60, 300, 95), ((0.0, 0.0),) * 5, 1.0, "hog")  # 35 px high: under the 36-px rule
    assert quality.assess(astronaut, narrow).reason == quality.TOO_SMALL
    face = Detection(Box(170, 40, 300, 190), ((0.0, 0.0),) * 5, 1.0, "hog")
    big = cv2.resize(astronaut, (1024, 1024), interpolation=cv2.INTER_CUBIC)
    face2 = Detection(Box(340, 80, 600, 380), ((0.0, 0.0),) * 5, 1.0, "hog")
    s1, s2 = quality.measure(astronaut, face)[0], quality.measure(big, face2)[0]
    assert 0.5 < s2 / s1 < 2.0  # the same face at twice the resolution: about the same sharpness


def test_a_live_name_reverts_to_unknown_when_the_recheck_finds_no_match(astronaut):
    from workbench.live import UNKNOWN, LiveProcessor
    from workbench.pipeline import analyze

    face = analyze(astronaut).embedded[0]
    same = GalleryMatrix(np.array([1]), np.array([1]), ["eileen"], [""], face.embedding.vector[None])
    proc = LiveProcessor(matrix=same, recheck_every=2)
    proc.process(astronaut)
    assert any(t.label == "eileen" for t in proc.tracks)
    stranger = np.random.default_rng(0).normal(size=(1, 128)).astype(np.float32)
    proc.matrix = GalleryMatrix(np.array([2]), np.array([2]), ["someone"], [""], stranger)
    for _ in range(3):
        proc.process(astronaut)
    assert proc.tracks and all(t.label == UNKNOWN for t in proc.tracks)
