import subprocess
import sys
import threading

import numpy as np
import pytest
from conftest import file_state

from workbench.errors import DatabaseError, GalleryError
from workbench.search import rank, redecide
from workbench.store import FaceRecord, Store


def rec(person: str, seed: int, sha: str | None = None, dim: int = 128) -> FaceRecord:
    v = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return FaceRecord(person=person, image_sha256=sha or f"sha-{person}-{seed}", source_path=f"{person}/{seed}.jpg",
                      box=[0, 0, 50, 50], landmarks=[0.0] * 10,
                      quality={"size": 50, "sharpness": 100.0, "brightness": 120.0, "yaw": 0.0},
                      det_score=1.0, detector="hog", embedding=v)


def test_enrol_is_idempotent_and_counts(db_path):
    with Store(db_path) as db:
        ids, dup = db.faces.add("g", [rec("ann", 1), rec("ann", 2), rec("bob", 3)], consent=True, model="Dlib")
        assert len(ids) == 3 and dup == 0
        ids2, dup2 = db.faces.add("g", [rec("ann", 1), rec("bob", 3)], model="Dlib")
        assert ids2 == [] and dup2 == 2
        g = db.galleries.list()
        assert g.filter(g["gallery"] == "g")["faces"][0] == 3
        people = db.faces.people("g")
        assert people["name"].to_list() == ["ann", "bob"] and all(people["consent"].to_list())
        assert db.faces.has_image("g", "sha-ann-1", "Dlib") and not db.faces.has_image("g", "sha-zed-9", "Dlib")


def test_a_failure_mid_batch_writes_nothing(db_path):
    with Store(db_path) as db:
        db.faces.add("g", [rec("ann", 1)], model="Dlib")
        before = db.faces.list("g").height
        with pytest.raises(DatabaseError, match="nothing was changed"):
            db.faces.add("g", [rec("bob", 2), rec("bob", 3), rec("cat", 4, dim=64)], model="Dlib")
        assert db.faces.list("g").height == before
        assert db.faces.people("g")["name"].to_list() == ["ann"]
        with pytest.raises(DatabaseError):
            db.faces.add("new-gallery", [rec("x", 5, dim=3)], model="Dlib")
        assert "new-gallery" not in db.galleries.list()["gallery"].to_list()


def test_delete_purge_and_unknown_names(db_path):
    with Store(db_path) as db:
        ids, _ = db.faces.add("g", [rec("ann", 1), rec("ann", 2), rec("bob", 3)], model="Dlib")
        db.removal.delete_face("g", ids[0])
        assert db.faces.list("g").height == 2
        assert db.removal.delete_person("g", "bob") == 1
        assert db.faces.people("g")["name"].to_list() == ["ann"]
        assert db.removal.purge_gallery("g") == 1
        assert db.faces.list("g").height == 0 and "g" in db.galleries.list()["gallery"].to_list()
        db.faces.add("g", [rec("cat", 4)], model="Dlib")
        assert db.removal.delete_gallery("g") == 1
        assert db.galleries.list().height == 0
        for call in (lambda: db.faces.people("g"), lambda: db.removal.delete_person("nope", "x"),
                     lambda: db.removal.purge_gallery("nope")):
            with pytest.raises(GalleryError, match="unknown gallery"):
                call()
        db.galleries.create("g2", "Dlib")
        with pytest.raises(GalleryError, match="no face"):
            db.removal.delete_face("g2", 999)


def test_matrix_signature_follows_which_faces_not_how_many(db_path):
    """The Live page rebuilds its tracker when this changes: a deletion plus an enrolment keeps
    the face count but must still give a new signature."""
    with Store(db_path) as db:
        ids, _ = db.faces.add("g", [rec("ann", 1), rec("bob", 2)], model="Dlib")
        first = db.vectors.matrix("g", "Dlib").signature()
        assert db.vectors.matrix("g", "Dlib").signature() == first  # nothing changed, same snapshot
        db.removal.delete_face("g", ids[1])
        db.faces.add("g", [rec("cat", 3)], model="Dlib")
        after = db.vectors.matrix("g", "Dlib")
        assert after.vectors.shape[0] == 2 and after.signature() != first
        db.removal.delete_person("g", "cat")
        db.faces.add("g", [rec("dan", 4)], model="Dlib")
        assert db.vectors.matrix("g", "Dlib").signature() != after.signature()


def test_parquet_round_trip(db_path, tmp_path):
    from dataclasses import replace

    out = tmp_path / "g.parquet"
    # of a real dlib vector's length (about 1.4): an import refuses vectors no model could have made
    faces = [replace(r, embedding=r.embedding * 1.4 / np.linalg.norm(r.embedding))
             for r in (rec("ann", 1), rec("bob", 2))]
    with Store(db_path) as db:
        db.faces.add("g", faces, notes="from test", consent=True, model="Dlib")
        assert db.transfer.export_parquet("g", out) == 2
        src = db.vectors.matrix("g", "Dlib")
    with Store(tmp_path / "other.duckdb") as db2:
        assert db2.transfer.import_parquet(out) == (2, 0)
        assert db2.transfer.import_parquet(out) == (0, 2)  # idempotent
        m = db2.vectors.matrix("g", "Dlib")
        assert np.allclose(np.sort(m.vectors, axis=0), np.sort(src.vectors, axis=0))
        p = db2.faces.people("g")
        assert p["notes"].to_list() == ["from test"] * 2 and all(p["consent"].to_list())
        bad = tmp_path / "bad.parquet"
        bad.write_bytes(b"nope")
        with pytest.raises(GalleryError, match="Parquet"):
            db2.transfer.import_parquet(bad)


def test_other_model_locked_and_corrupt_databases_are_refused_untouched(db_path, tmp_path):
    with Store(db_path) as db:
        db.faces.add("g", [rec("ann", 1)], model="Dlib")
    state = file_state(db_path)
    with pytest.raises(DatabaseError, match="holds 128-d vectors .models: SFace, Dlib"):
        Store(db_path, dim=512)
    assert file_state(db_path) == state

    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb,sys,time; c=duckdb.connect(sys.argv[1]); print('ok', flush=True); time.sleep(30)",
         str(db_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(DatabaseError, match="locked by another process"):
            Store(db_path)
    finally:
        holder.kill()
        holder.wait()
    assert file_state(db_path) == state

    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"this is not a database" * 100)
    junk_state = file_state(junk)
    with pytest.raises(DatabaseError, match="not a readable DuckDB database"):
        Store(junk)
    assert file_state(junk) == junk_state
    empty = tmp_path / "empty.duckdb"
    empty.write_bytes(b"")
    with pytest.raises(DatabaseError, match="empty file"):
        Store(empty)
    with pytest.raises(DatabaseError, match="no database here"):
        Store(tmp_path / "missing.duckdb", create=False)
    assert not (tmp_path / "missing.duckdb").exists()


def test_rank_per_face_and_per_person(db_path):
    with Store(db_path) as db:
        db.faces.add("g", [rec("ann", 1), rec("ann", 2), rec("bob", 3)], model="Dlib")
        m = db.vectors.matrix("g", "Dlib")
    probe = m.vectors[1] + 0.01  # nearest: ann's 2nd face, then ann's 1st
    per_face = rank(probe[None], m, metric="euclidean", threshold=1.0, top_k=3, per_person=False)[0]
    assert [x.person for x in per_face][:2] == ["ann", "ann"] and per_face[0].rank == 1
    assert per_face[0].match and per_face[0].distance < per_face[1].distance
    per_person = rank(probe[None], m, metric="euclidean", threshold=1.0, top_k=3)[0]
    assert [x.person for x in per_person] == ["ann", "bob"]
    strict = redecide(per_person, threshold=0.0)
    assert not any(x.match for x in strict) and strict[0].distance == per_person[0].distance
    assert rank(probe[None], type(m)(m.face_ids[:0], m.person_ids[:0], [], [], m.vectors[:0]),
                metric="euclidean", threshold=1.0) == [[]]


def test_threads_share_one_connection_with_their_own_cursors(db_path):
    errors = []
    with Store(db_path) as db:
        db.galleries.create("g", "Dlib")

        def work(k: int) -> None:
            try:
                for j in range(5):
                    db.faces.add("g", [rec(f"p{k}", 100 * k + j)], model="Dlib")
                    db.vectors.matrix("g", "Dlib")
            except Exception as err:  # noqa: BLE001 - collected and asserted below
                errors.append(err)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert errors == []
        assert db.faces.list("g").height == 20
