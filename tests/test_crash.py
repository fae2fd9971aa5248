"""SIGKILL a CLI enrolment of a folder at random points: after each kill the gallery opens and
holds only whole batches; running the enrolment again finishes it, and once more adds nothing.
Small here; `python tests/crash.py` runs the full-size version by hand (see its docstring)."""

from crash import check, make_folder, run


def test_sigkill_during_enrolment_loses_nothing_and_resumes(tmp_path):
    photos = make_folder(tmp_path / "photos", 8)
    db = tmp_path / "crash.duckdb"
    out = run(db, tmp_path / "photos", photos, kills=4, batch=2, max_delay=6.0, seed=1)
    assert out.problems == [] and out.crashes == 0
    assert out.kills >= 2, "hardly any run was killed: the test proved little"
    assert out.rows_lost == 0 and out.faces == 8 * out.enrolments


def test_the_checker_sees_half_an_enrolment(tmp_path):
    """The invariants are real: a face without its person is reported."""
    import numpy as np

    from workbench.gallery import FaceRecord, GalleryDB

    db = tmp_path / "g.duckdb"
    with GalleryDB(db) as g:
        g.add_faces("crash", [FaceRecord("ann", "s1", "a", [0, 0, 5, 5], [0.0] * 10, {}, 1.0, "hog",
                                         np.zeros(128, np.float32))])
        g.cursor().execute("DELETE FROM people")
    assert any("without their person" in p for p in check(db, "crash", 1, 1))
