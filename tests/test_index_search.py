"""Issue 5: searching through a saved index gives the full search's answer and follows edits."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from workbench.bench import synthetic
from workbench.cli import cli
from workbench.errors import GalleryError
from workbench.pipeline import Settings
from workbench.search import search_image
from workbench.search.enrol import enrol_path
from workbench.store import Store

DLIB = Settings(model="Dlib")  # hog + Dlib: the synthetic strangers are placed around Dlib vectors


def _people(result, n=None):
    return [[m.person for m in fr.matches[:n]] for fr in result.faces]


@pytest.fixture()
def crowded(demo_photos, db_path):
    """The knn photos of 5 people among 3000 synthetic strangers placed around real faces."""
    knn = demo_photos / "face-recognition-examples" / "knn_examples"
    db = Store(db_path)
    enrol_path(db, "knn", knn / "train", DLIB)  # Dlib's: the synthetic strangers are Dlib-like
    _, real = db.vectors.load("knn", "Dlib")
    c = next(synthetic.clustered(3000, seed=2, queries=1, chunk=3000))
    db.faces.add_bulk("knn", c.people, c.person_index, c.vectors + real.mean(axis=0), sha_prefix="syn:", model="Dlib")
    yield db, knn / "test" / "obama_and_biden.jpg"
    db.close()


def test_index_search_gives_the_full_search_answer_and_follows_deletes(crowded):
    db, probe = crowded
    full = search_image(db, "knn", probe, DLIB, log=False)
    everyone = {m.person for fr in full.faces for m in fr.matches}
    assert {"biden", "obama"} <= everyone and any(p.startswith("id") for p in everyone)  # strangers compete
    exact = search_image(db, "knn", probe, DLIB, log=False, index_kind="exact")
    assert _people(exact) == _people(full)
    assert np.allclose([m.distance for fr in exact.faces for m in fr.matches],
                       [m.distance for fr in full.faces for m in fr.matches], atol=1e-5)
    approx = search_image(db, "knn", probe, DLIB, log=False, index_kind="ivf_pq")
    assert _people(approx, 1) == _people(full, 1)
    assert [fr.matches[0].distance for fr in approx.faces] == pytest.approx(
        [fr.matches[0].distance for fr in full.faces], abs=1e-5)
    db.removal.delete_person("knn", "biden")  # the open index is synced, the saved one is purged
    after = search_image(db, "knn", probe, DLIB, log=False, index_kind="ivf_pq")
    assert "biden" not in {m.person for fr in after.faces for m in fr.matches}
    assert _people(after, 1) == _people(search_image(db, "knn", probe, DLIB, log=False), 1)
    # a face enrolled after the index was opened is found through it
    twin = np.stack([fr.face.embedding.vector for fr in after.faces[:1]]).astype(np.float32)
    db.faces.add_bulk("knn", ["newcomer"], np.zeros(1, int), twin, sha_prefix="new:", model="Dlib")
    again = search_image(db, "knn", probe, DLIB, log=False, index_kind="ivf_pq")
    assert again.faces[0].matches[0].person == "newcomer" and again.faces[0].matches[0].distance < 1e-3


def test_cli_search_through_an_index_saves_it_beside_the_database(crowded, db_path):
    db, probe = crowded
    want = [fr.matches[0].person for fr in search_image(db, "knn", probe, DLIB, log=False).faces]
    db.close()
    r = CliRunner().invoke(cli, ["--db", str(db_path), "search", str(probe), "--gallery", "knn",
                                 "--index", "ivf_pq", "--json"])
    assert r.exit_code == 0, r.output
    assert [f["matches"][0]["person"] for f in json.loads(r.stdout)["faces"]] == want
    assert (db_path.parent / f"{db_path.name}.knn.ivf_pq.index").is_file()
    bad = CliRunner().invoke(cli, ["--db", str(db_path), "search", str(probe), "--gallery", "knn",
                                   "--index", "kdtree"])
    assert bad.exit_code != 0 and "kdtree" in bad.output


def test_an_index_refuses_a_cosine_model_before_any_work(crowded):
    db, probe = crowded
    with pytest.raises(GalleryError, match="euclidean"):
        search_image(db, "knn", probe, Settings(model="Dlib", metric="cosine"), index_kind="ivf_pq")
