import subprocess
import sys
import threading

import numpy as np
import pytest
from conftest import file_state

from workbench.errors import DatabaseError, GalleryError
from workbench.search import rank, redecide
from workbench.store import FaceRecord, GalleryDB


def rec(person: str, seed: int, sha: str | None = None, dim: int = 128) -> FaceRecord:
    v = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return FaceRecord(person=person, image_sha256=sha or f"sha-{person}-{seed}", source_path=f"{person}/{seed}.jpg",
                      box=[0, 0, 50, 50], landmarks=[0.0] * 10,
                      quality={"size": 50, "sharpness": 100.0, "brightness": 120.0, "yaw": 0.0},
                      det_score=1.0, detector="hog", embedding=v)


def test_enrol_is_idempotent_and_counts(db_path):
    with GalleryDB(db_path) as db:
        ids, dup = db.add_faces("g", [rec("ann", 1), rec("ann", 2), rec("bob", 3)], consent=True)
        assert len(ids) == 3 and dup == 0
        ids2, dup2 = db.add_faces("g", [rec("ann", 1), rec("bob", 3)])
        assert ids2 == [] and dup2 == 2
        g = db.galleries()
        assert g.filter(g["gallery"] == "g")["faces"][0] == 3
        people = db.people("g")
        assert people["name"].to_list() == ["ann", "bob"] and all(people["consent"].to_list())
        assert db.has_image("g", "sha-ann-1") and not db.has_image("g", "sha-zed-9")


def test_a_failure_mid_batch_writes_nothing(db_path):
    with GalleryDB(db_path) as db:
        db.add_faces("g", [rec("ann", 1)])
        before = db.faces("g").height
        with pytest.raises(DatabaseError, match="nothing was changed"):
            db.add_faces("g", [rec("bob", 2), rec("bob", 3), rec("cat", 4, dim=64)])
        assert db.faces("g").height == before
        assert db.people("g")["name"].to_list() == ["ann"]
        with pytest.raises(DatabaseError):
            db.add_faces("new-gallery", [rec("x", 5, dim=3)])
        assert "new-gallery" not in db.galleries()["gallery"].to_list()


def test_delete_purge_and_unknown_names(db_path):
    with GalleryDB(db_path) as db:
        ids, _ = db.add_faces("g", [rec("ann", 1), rec("ann", 2), rec("bob", 3)])
        db.delete_face("g", ids[0])
        assert db.faces("g").height == 2
        assert db.delete_person("g", "bob") == 1
        assert db.people("g")["name"].to_list() == ["ann"]
        assert db.purge_gallery("g") == 1
        assert db.faces("g").height == 0 and "g" in db.galleries()["gallery"].to_list()
        db.add_faces("g", [rec("cat", 4)])
        assert db.delete_gallery("g") == 1
        assert db.galleries().height == 0
        for call in (lambda: db.people("g"), lambda: db.delete_person("nope", "x"),
                     lambda: db.purge_gallery("nope")):
            with pytest.raises(GalleryError, match="unknown gallery"):
                call()
        db.create_gallery("g2")
        with pytest.raises(GalleryError, match="no face"):
            db.delete_face("g2", 999)


def test_matrix_signature_follows_which_faces_not_how_many(db_path):
    """The Live page rebuilds its tracker when this changes: a deletion plus an enrolment keeps
    the face count but must still give a new signature."""
    with GalleryDB(db_path) as db:
        ids, _ = db.add_faces("g", [rec("ann", 1), rec("bob", 2)])
        first = db.matrix("g").signature()
        assert db.matrix("g").signature() == first  # nothing changed, same snapshot
        db.delete_face("g", ids[1])
        db.add_faces("g", [rec("cat", 3)])
        after = db.matrix("g")
        assert after.vectors.shape[0] == 2 and after.signature() != first
        db.delete_person("g", "cat")
        db.add_faces("g", [rec("dan", 4)])
        assert db.matrix("g").signature() != after.signature()


def test_parquet_round_trip(db_path, tmp_path):
    from dataclasses import replace

    out = tmp_path / "g.parquet"
    # of a real dlib vector's length (about 1.4): an import refuses vectors no model could have made
    faces = [replace(r, embedding=r.embedding * 1.4 / np.linalg.norm(r.embedding))
             for r in (rec("ann", 1), rec("bob", 2))]
    with GalleryDB(db_path) as db:
        db.add_faces("g", faces, notes="from test", consent=True)
        assert db.export_parquet("g", out) == 2
        src = db.matrix("g")
    with GalleryDB(tmp_path / "other.duckdb") as db2:
        assert db2.import_parquet(out) == (2, 0)
        assert db2.import_parquet(out) == (0, 2)  # idempotent
        m = db2.matrix("g")
        assert np.allclose(np.sort(m.vectors, axis=0), np.sort(src.vectors, axis=0))
        p = db2.people("g")
        assert p["notes"].to_list() == ["from test"] * 2 and all(p["consent"].to_list())
        bad = tmp_path / "bad.parquet"
        bad.write_bytes(b"nope")
        with pytest.raises(GalleryError, match="Parquet"):
            db2.import_parquet(bad)


def test_other_model_locked_and_corrupt_databases_are_refused_untouched(db_path, tmp_path):
    with GalleryDB(db_path) as db:
        db.add_faces("g", [rec("ann", 1)])
    state = file_state(db_path)
    with pytest.raises(DatabaseError, match="built for model Dlib"):
        GalleryDB(db_path, model="Facenet512")
    assert file_state(db_path) == state

    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb,sys,time; c=duckdb.connect(sys.argv[1]); print('ok', flush=True); time.sleep(30)",
         str(db_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(DatabaseError, match="locked by another process"):
            GalleryDB(db_path)
    finally:
        holder.kill()
        holder.wait()
    assert file_state(db_path) == state

    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"this is not a database" * 100)
    junk_state = file_state(junk)
    with pytest.raises(DatabaseError, match="not a readable DuckDB database"):
        GalleryDB(junk)
    assert file_state(junk) == junk_state
    empty = tmp_path / "empty.duckdb"
    empty.write_bytes(b"")
    with pytest.raises(DatabaseError, match="empty file"):
        GalleryDB(empty)
    with pytest.raises(DatabaseError, match="no database here"):
        GalleryDB(tmp_path / "missing.duckdb", create=False)
    assert not (tmp_path / "missing.duckdb").exists()


def test_rank_per_face_and_per_person(db_path):
    with GalleryDB(db_path) as db:
        db.add_faces("g", [rec("ann", 1), rec("ann", 2), rec("bob", 3)])
        m = db.matrix("g")
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
    with GalleryDB(db_path) as db:
        db.create_gallery("g")

        def work(k: int) -> None:
            try:
                for j in range(5):
                    db.add_faces("g", [rec(f"p{k}", 100 * k + j)])
                    db.matrix("g")
            except Exception as err:  # noqa: BLE001 - collected and asserted below
                errors.append(err)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert errors == []
        assert db.faces("g").height == 20
