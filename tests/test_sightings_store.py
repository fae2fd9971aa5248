"""The sightings log in DuckDB: purge leaves no bytes of a person's sightings or kept chips,
batches are all or nothing, old files gain the tables, and anonymous identities can be
re-clustered, merged, split and named (enrolled with consent). No models needed."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from workbench.errors import DatabaseError, GalleryError
from workbench.search import clusters
from workbench.store import FaceRecord, Store, SightingRow

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 30, 12, 0, 0)


def vec(seed: int, base: int | None = None, spread: float = 0.02) -> np.ndarray:
    """A unit-ish 128-d vector; ``base`` makes it a close neighbour of ``vec(base)``."""
    rng = np.random.default_rng(seed)
    if base is None:
        return (rng.normal(size=128) / np.sqrt(128) * 1.0).astype(np.float32)
    return (vec(base) + rng.normal(size=128).astype(np.float32) * spread).astype(np.float32)


def sighting(db: Store, camera: str, person_id: int | None, *, identity: int | None = None,
             chip: bytes | None = None, v: np.ndarray | None = None, frame: int = 0) -> SightingRow:
    sid = db.runs.allocate_ids("sighting_ids", 1)[0]
    return SightingRow(sid, camera, f"{camera}.mp4", 1, 1, frame, frame + 9, frame / 10, frame / 10 + 0.9, NOW, NOW,
                       person_id, person_id, identity, 0.3, 90.0, 0.6, "Dlib", (1, 2, 30, 40), chip=chip,
                       embedding=v if person_id is None else None)


@pytest.fixture()
def logged(db_path):
    db = Store(db_path)
    db.db.cursor().execute("SET force_compression = 'uncompressed'")
    face = lambda p: FaceRecord(p, f"sha-{p}", p, [0, 0, 9, 9], [0.0] * 10, {}, 1.0, "hog", vec(len(p)))  # noqa: E731
    db.faces.add("g", [face("ann"), face("bob")], model="Dlib")
    ids = dict(db.faces.people("g").select("name", "id").iter_rows())
    run = db.runs.start(gallery="g", model="Dlib", detector="hog", metric="euclidean", threshold=0.6,
                             alert_threshold=0.3, identity_threshold=0.5, sources=["a=a.mp4"], mode="local",
                             keep_chips=True)
    rows = [sighting(db, "a", ids["ann"], chip=b"CHIP<ann:%d>" % i * 30, frame=i * 10) for i in range(5)]
    rows += [sighting(db, "a", ids["bob"], chip=b"CHIP<bob:%d>" % i * 30, frame=100 + i) for i in range(5)]
    db.sightings.write_batch(run, "g", "Dlib", rows)
    db.db.cursor().execute("CHECKPOINT")
    yield db, db_path, ids, run
    db.close()


def test_deleting_a_person_leaves_no_byte_of_their_sightings_or_chips(logged):
    db, path, ids, _ = logged
    data = path.read_bytes()
    assert b"CHIP<ann:1>" in data and b"CHIP<bob:1>" in data, "the check could not see the chips at all"
    db.removal.delete_person("g", "ann")
    data = path.read_bytes()
    assert b"CHIP<ann:" not in data and b"CHIP<bob:1>" in data
    left = db.sightings.query("g")
    assert set(left["who"].to_list()) == {"bob"} and left.height == 5
    db.removal.delete_gallery("g")
    assert b"CHIP<bob:" not in path.read_bytes()
    assert db.sightings.query().height == 0


def test_a_batch_is_all_or_nothing(logged):
    db, _, ids, run = logged
    good = sighting(db, "b", ids["bob"])
    clash = sighting(db, "b", ids["bob"])
    clash = SightingRow(good.id, *[getattr(clash, f) for f in list(SightingRow.__dataclass_fields__)[1:]])
    with pytest.raises(DatabaseError, match="nothing was changed"):
        db.sightings.write_batch(run, "g", "Dlib", [good, clash])  # the same id twice: the batch fails
    assert db.sightings.query("g", camera="b").height == 0
    assert db.runs.list("g")["sightings"].to_list() == [10]


def test_an_old_file_gains_the_sightings_tables_on_open(db_path):
    with Store(db_path) as db:
        db.galleries.create("g", "Dlib")
        for t in ("sightings", "identities", "watchlist", "watch_progress", "watch_runs"):
            db.db.cursor().execute(f"DROP TABLE {t}")
    code = "import os, sys; from workbench.store import Store; Store(sys.argv[1]); os._exit(0)"
    subprocess.run([sys.executable, "-c", code, str(db_path)], check=True, cwd=ROOT,
                   env=dict(os.environ, PYTHONPATH=str(ROOT)))  # the migration survives a crash right after it
    with Store(db_path) as db:
        assert {"sightings", "identities", "watchlist", "watch_progress", "watch_runs"} <= set(db.db.data_tables())
        assert db.sightings.query("g").height == 0


def test_identities_are_assigned_reclustered_merged_split_and_named(db_path):
    db = Store(db_path)
    db.galleries.create("g", "Dlib")
    run = db.runs.start(gallery="g", model="Dlib", detector="hog", metric="euclidean", threshold=0.6,
                             alert_threshold=0.6, identity_threshold=0.5, sources=[], mode="local", keep_chips=False)
    book = clusters.IdentityBook.load(db, "g", model="Dlib", metric="euclidean", threshold=0.5)
    rows = []
    for k, v in enumerate([vec(10, 1), vec(11, 2), vec(12, 1), vec(13, 2), vec(14, 3)]):
        iid, _, _ = book.assign(v, lambda: db.runs.allocate_ids("identity_ids", 1)[0])
        rows.append(sighting(db, "cam", None, identity=iid, v=v, chip=b"c%d" % k))
    db.sightings.write_batch(run, "g", "Dlib", rows, identities=book.changes())
    people = [r["identity_id"] for r in db.sightings.query("g").iter_rows(named=True)]
    assert people[0] == people[2] and people[1] == people[3] and len(set(people)) == 3
    assert db.identities.list("g")["sightings"].to_list() == [2, 2, 1]
    # a fresh book from the file puts a new look-alike of stranger 1 with them (across runs)
    again = clusters.IdentityBook.load(db, "g", model="Dlib", metric="euclidean", threshold=0.5)
    assert again.assign(vec(20, 1), lambda: -1)[0] == people[0]

    first, second, third = sorted(set(people))
    assert clusters.merge(db, "g", first, [third], model="Dlib") == 1
    assert db.identities.list("g")["id"].to_list() == [first, second]
    moved = [r["id"] for r in db.sightings.query("g", identity=first).iter_rows(named=True)][-1:]
    new = clusters.split(db, "g", first, moved, model="Dlib")
    assert db.sightings.query("g", identity=new)["id"].to_list() == moved
    r = clusters.recluster(db, "g", model="Dlib", metric="euclidean", threshold=0.5)
    assert (r.sightings, r.after) == (5, 3) and r.kept_ids >= 2
    with pytest.raises(GalleryError):
        clusters.merge(db, "g", first, [999999], model="Dlib")

    target = db.identities.list("g").sort("sightings", descending=True)["id"][0]
    n = int(db.identities.list("g").filter(db.identities.list("g")["id"] == target)["sightings"][0])
    assert db.identities.name("g", target, "stranger one", consent=True, model="Dlib") == n
    p = db.faces.people("g").row(0, named=True)
    assert (p["name"], p["consent"], p["faces"]) == ("stranger one", True, n)
    assert db.sightings.query("g", person="stranger one").height == n
    assert target not in db.identities.list("g")["id"].to_list()
    assert db.vectors.matrix("g", "Dlib").vectors.shape == (n, 128)
    db.close()


def test_purity_counts_mixed_and_split_clusters():
    p = clusters.purity(["a", "a", "b", "b"], [1, 1, 2, 2])
    assert (p["purity"], p["inverse_purity"], p["clusters"]) == (1.0, 1.0, 2)
    mixed = clusters.purity(["a", "a", "b", "b"], [1, 1, 1, 1])
    assert mixed["purity"] == 0.5 and mixed["inverse_purity"] == 1.0
    split = clusters.purity(["a", "a", "a", "b"], [1, 2, 3, 4])
    assert split["purity"] == 1.0 and split["inverse_purity"] == 0.5


def test_a_resumed_run_starts_at_the_committed_progress_and_drops_what_the_killed_run_logged_past_it(logged):
    """A batch can hold sightings that started after its progress mark (events after the last
    mark): the resumed run logs them again, so they are removed first, never duplicated."""
    from workbench.store import Progress

    db, _, ids, run = logged
    early, late = sighting(db, "gate", ids["bob"], frame=40), sighting(db, "gate", ids["bob"], frame=60)
    other = sighting(db, "yard", ids["bob"], frame=60)  # another camera on the same file: untouched
    db.sightings.write_batch(run, "g", "Dlib", [early, late, other], progress=[Progress("gate", "gate.mp4", 50, 5.0)])
    assert db.runs.progress("g", "gate", "gate.mp4") == 50
    assert db.runs.resume("g", "gate", "gate.mp4") == 50
    left = db.sightings.query("g", camera="gate")["first_frame"].to_list()
    assert left == [40] and db.sightings.query("g", camera="yard").height == 1
    assert db.runs.resume("g", "gate", "other.mp4") == 0  # never watched: from the start
