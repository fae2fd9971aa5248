"""The embedding cache (keyed by image hash + model + detector) and the labels CSV reader."""

import shutil

import numpy as np
import pytest

from workbench.errors import WorkbenchError
from workbench.evaluation.datasets import embedding as cache
from workbench.evaluation.datasets.labels import MIXED, UNLABELLED, pair_group, read_labels
from workbench.pipeline import Settings
from workbench.store import Store


def test_cache_hits_by_content_not_path_and_per_detector(astronaut_png, blank_png, db_path, tmp_path):
    copy = tmp_path / "renamed.png"
    shutil.copy(astronaut_png, copy)
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8 not a jpeg")
    with Store(db_path) as db:
        first, s1 = cache.embed_files([astronaut_png, blank_png, corrupt], Settings(), db)
        assert (s1.hits, s1.computed) == (0, 3)
        assert first[0].vector.shape == (128,) and first[1].failure == "no_face"
        assert first[2].failure.startswith("unreadable")
        assert cache.size(db) == 2  # "no face" is remembered; an unreadable file is not
    with Store(db_path) as db:  # survives closing the file
        again, s2 = cache.embed_files([copy, blank_png], Settings(), db)
        assert (s2.hits, s2.computed) == (2, 0) and again[0].cached and again[0].path == str(copy)
        np.testing.assert_array_equal(again[0].vector, first[0].vector)
        _, s3 = cache.embed_files([astronaut_png], Settings(detector="haar"), db)
        assert s3.computed == 1  # another detector is another key
        assert cache.clear(db) == 3 and cache.size(db) == 0
        _, s4 = cache.embed_files([astronaut_png], Settings(), db)
        assert s4.computed == 1
        assert db.removal.purge_all()["embedding_cache"] == 1 and cache.size(db) == 0  # purge everything empties it too


def test_clear_on_a_database_without_the_table(db_path):
    with Store(db_path) as db:
        assert cache.clear(db) == 0 and cache.size(db) == 0


def test_labels_by_file_and_by_person(tmp_path):
    f = tmp_path / "l.csv"
    f.write_text("file,group,camera\nsub/img1.jpg,A,x\nimg2.jpg,,y\n")
    lab = read_labels(f)
    assert lab.key == "file" and lab.column == "group" and lab.columns == ("group", "camera")
    assert lab.of(file="/anywhere/img1.jpg") == "A" and lab.of(file="img2.jpg") == UNLABELLED
    assert lab.of(file="img9.jpg") == UNLABELLED
    assert read_labels(f, "camera").of(file="img2.jpg") == "y"
    p = tmp_path / "p.csv"
    p.write_text("person,source\nobama,project 1\n")
    assert read_labels(p).of(person="obama", file="x.jpg") == "project 1"
    assert pair_group("A", "A") == "A" and pair_group("A", "B") == MIXED


@pytest.mark.parametrize("text", ["", "name,group\nx,A\n", "file\nx\n"])
def test_bad_labels_are_one_clear_error(tmp_path, text):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(WorkbenchError):
        read_labels(f)
    with pytest.raises(WorkbenchError, match="no column"):
        g = tmp_path / "g.csv"
        g.write_text("file,group\nx,A\n")
        read_labels(g, "colour")
