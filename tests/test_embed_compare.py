import numpy as np
import pytest

from workbench.errors import ModelError, NoFaceError
from workbench.pipeline import Settings, analyze, compare, verify
from workbench.pipeline.detect import detect_faces
from workbench.pipeline import zoo
from workbench.pipeline.embed import embed_faces


def test_dlib_embeddings_are_128d_and_tagged(astronaut):
    a = analyze(astronaut, Settings(model="Dlib"))
    face = a.faces[0]
    assert face.embedding is not None
    assert face.embedding.model == "Dlib" and face.embedding.dim == 128
    assert face.embedding.vector.dtype == np.float32
    assert a.timings.detect_ms > 0 and a.timings.embed_ms > 0


def test_batch_embedding_matches_one_by_one(astronaut):
    dets = detect_faces(astronaut)
    both = embed_faces(astronaut, dets)
    one = embed_faces(astronaut, dets[:1])
    assert both.shape == (len(dets), 128)
    assert np.allclose(both[0], one[0], atol=1e-5)
    assert embed_faces(astronaut, []).shape == (0, 128)


def test_same_face_mirrored_verifies_and_noise_does_not(astronaut, astronaut_png):
    mirrored = np.ascontiguousarray(astronaut[:, ::-1])
    v = verify(astronaut_png, mirrored)
    assert v.verified and v.distance < 0.4 and v.similarity > 90
    with pytest.raises(NoFaceError):
        verify(astronaut, np.full((100, 100, 3), 90, np.uint8))


def test_distances_match_their_definitions():
    rng = np.random.default_rng(0)
    q = rng.normal(size=(3, 16)).astype(np.float32)
    g = rng.normal(size=(5, 16)).astype(np.float32)
    eu = compare.distances(q, g, "euclidean")
    cos = compare.distances(q, g, "cosine")
    assert eu.shape == (3, 5)
    assert eu[1, 2] == pytest.approx(np.linalg.norm(q[1] - g[2]), rel=1e-4)
    expect = 1 - q[2] @ g[4] / (np.linalg.norm(q[2]) * np.linalg.norm(g[4]))
    assert cos[2, 4] == pytest.approx(expect, abs=1e-5)
    assert compare.distances(q[0], g, "euclidean").shape == (5,)
    with pytest.raises(ModelError, match="dimension"):
        compare.distances(q, rng.normal(size=(2, 8)))


def test_similarity_mapping_anchors():
    t = 0.6
    assert compare.similarity(t, t) == pytest.approx(80.0)
    assert compare.similarity(t / 2, t) == pytest.approx(99.0)
    assert compare.similarity(0.0, t) > 99.9
    assert compare.similarity(2 * t, t) < 1.0
    sims = compare.similarity(np.linspace(0, 2, 50), t)
    assert np.all(np.diff(sims) < 0)  # monotonic: thresholds in % or in distance agree
    assert compare.distance_for_similarity(99.0, t) == pytest.approx(t / 2)
    assert compare.distance_for_similarity(80.0, t) == pytest.approx(t)


def test_every_model_has_thresholds_for_both_metrics():
    for name in zoo.embedder_names():
        for metric in compare.METRICS:
            assert compare.default_threshold(name, metric) > 0
    assert Settings().threshold_ == 0.637 and Settings().metric_ == "cosine"  # the default, SFace
    assert Settings(model="Dlib").threshold_ == 0.6 and Settings(model="Dlib").metric_ == "euclidean"
    assert Settings(model="Dlib", metric="cosine").threshold_ == 0.07
    with pytest.raises(ModelError):
        compare.default_threshold("NoSuchModel")


def test_vectors_of_different_models_are_never_compared():
    from workbench.types import Embedding

    v = np.ones(128, np.float32)
    assert compare.verify_embeddings(Embedding(v, "Dlib"), Embedding(v, "Dlib")).verified
    with pytest.raises(ModelError, match="cannot compare a Dlib vector with a Facenet vector"):
        compare.verify_embeddings(Embedding(v, "Dlib"), Embedding(v, "Facenet"))
