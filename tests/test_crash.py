"""SIGKILL a CLI enrolment of a folder at random points: after each kill the gallery opens and
holds only whole batches; running the enrolment again finishes it, and once more adds nothing.
Small here; `python tests/crash.py` runs the full-size version by hand (see its docstring)."""

from crash import check, make_folder, run


def test_sigkill_during_enrolment_loses_nothing_and_resumes(tmp_path):
    photos = make_folder(tmp_path / "photos", 8)
    db = tmp_path / "crash.duckdb"
    out = run(db, tmp_path / "photos", photos, kills=5, batch=2, max_delay=6.0, seed=1)
    assert out.problems == [] and out.crashes == 0
    assert out.kills >= 2, "hardly any run was killed: the test proved little"
    assert out.rows_lost == 0 and out.faces == 8 * out.enrolments


def test_the_checker_sees_half_an_enrolment(tmp_path):
    """The invariants are real: a face without its person is reported."""
    import numpy as np

    from workbench.store import FaceRecord, Store

    db = tmp_path / "g.duckdb"
    with Store(db) as g:
        g.faces.add("crash", [FaceRecord("ann", "s1", "a", [0, 0, 5, 5], [0.0] * 10, {}, 1.0, "hog",
                                         np.zeros(128, np.float32))], model="Dlib")
        g.db.cursor().execute("DELETE FROM people")
    assert any("without their person" in p for p in check(db, "crash", 1, 1))


CHURN = """
import sys, numpy as np
from workbench.store import FaceRecord, Store

def face(person, k):
    v = np.random.default_rng([k, len(person)]).normal(size=128).astype(np.float32)
    return FaceRecord(person, f"{person}-{k}", "x", [0, 0, 5, 5], [0.0] * 10, {}, 1.0, "hog", v, b"t" * 2000)

db = Store(sys.argv[1])
print("ready", flush=True)
i = 0
while True:  # delete (and compact) and re-enrol, until killed
    name = f"p{i % 5}"
    if name in db.faces.people("g")["name"].to_list():
        db.removal.delete_person("g", name)
    db.faces.add("g", [face(name, i * 1000 + k) for k in range(200)], model="Dlib")
    i += 1
"""


def test_sigkill_during_deletion_and_compaction_leaves_a_database_that_opens(tmp_path):
    """Kills land in deletes, in the copy to the fresh file and around the swap."""
    import os
    import random
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from workbench.store import Store

    root = Path(__file__).resolve().parent.parent
    db = tmp_path / "churn.duckdb"
    rng = random.Random(3)
    with Store(db) as g:
        g.galleries.create("g", "Dlib")
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", CHURN, str(db)], stdout=subprocess.PIPE, text=True,
                                env=dict(os.environ, PYTHONPATH=str(root)))
        assert proc.stdout.readline().strip() == "ready"
        try:
            proc.wait(timeout=rng.uniform(0.5, 4.0))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        assert check(db, "g", 200, -1) == []
        with Store(db) as g:
            counts = g.faces.people("g")["faces"].to_list()
        assert all(n == 200 for n in counts), counts  # every person whole: no half deletion
        assert not db.with_name(db.name + ".compact").exists()


def test_a_database_whose_creation_was_killed_opens_and_is_completed(tmp_path):
    """SIGKILL between DuckDB creating the file and our schema commit leaves a file with no table."""
    import duckdb
    import pytest

    from workbench.errors import DatabaseError
    from workbench.store import Store

    blank = tmp_path / "blank.duckdb"
    duckdb.connect(str(blank)).close()
    with pytest.raises(DatabaseError, match="creation was interrupted"):
        Store(blank, read_only=True)
    with Store(blank) as g:
        assert g.db.data_tables() == ["faces", "galleries", "identities", "people", "searches", "sightings",
                                   "watch_cameras", "watch_progress", "watch_runs", "watchlist"]
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE stuff (x INT)")
    con.close()
    with pytest.raises(DatabaseError, match="not a workbench database"):
        Store(other)
