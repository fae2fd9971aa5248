"""A model in one place (issue 24): a third embedding model and a third kind of detector, each
registered here and nowhere else, go through the library's normal calls: thresholds and their
ranges, the quality gate, detection, enrolment, search, verification and the CLI. Nothing else
of the workbench is touched or patched."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from click.testing import CliRunner

from workbench.errors import RangeError
from workbench.pipeline import Settings, analyze, compare, verify, zoo
from workbench.pipeline.capture import load_image
from workbench.pipeline.quality import TOO_SMALL, QualityThresholds
from workbench.types import Box, Detection


@dataclass(frozen=True)
class Projection(zoo.Embedder):
    """A fake embedding: a fixed random projection of the face box resized to a small square chip."""

    def aligned_chips(self, image: np.ndarray, detections: list[Detection]) -> list[np.ndarray]:
        import cv2

        side = self.chip_side or 24
        return [cv2.resize(np.ascontiguousarray(image[d.box.top:d.box.bottom, d.box.left:d.box.right]), (side, side),
                           interpolation=cv2.INTER_AREA) for d in detections]

    def embed_chips(self, chips) -> np.ndarray:
        x = np.stack([np.asarray(c, np.float32).reshape(-1) for c in chips])
        x -= x.mean(axis=1, keepdims=True)
        v = x @ np.random.default_rng(24).normal(size=(x.shape[1], self.dim)).astype(np.float32)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


#: The third model: 64-d, cosine, its own thresholds, and a gate that wants faces of 60 px or more.
PROJECTION = Projection("Projection", 64, "cosine", zoo.Thresholds(cosine=0.02, euclidean=0.2), chip_side=24,
                        unit_length=True, norm=(0.99, 1.01), gate=QualityThresholds(min_size=60))


@dataclass(frozen=True)
class FixedBox(zoo.Detector):
    """A fake detector: one box where the astronaut's face is, whatever the image (the points come
    from dlib's predictor, as for any detector without points of its own)."""

    def detect(self, image: np.ndarray, upsample: int):
        FixedBox.asked.append(upsample)
        s = image.shape[1] / 512  # the box scales with the image
        return [(Box(int(175 * s), int(76 * s), int(266 * s), int(167 * s)), 0.9, None)]


FixedBox.asked = []
FIXED = FixedBox("fixed", upsample=False)


@pytest.fixture()
def projection():
    with zoo.registered(PROJECTION):
        yield PROJECTION.name


@pytest.fixture()
def fixed():
    with zoo.registered(FIXED):
        yield FIXED.name


@pytest.fixture(scope="module")
def obama(demo_photos) -> np.ndarray:
    return load_image(demo_photos / "face-recognition-examples/knn_examples/train/obama/obama.jpg")


def test_a_third_model_registered_in_one_place_has_thresholds_and_ranges(projection):
    assert zoo.embedder_names()[:2] == ["SFace", "Dlib"] and projection in zoo.embedder_names()
    assert compare.default_metric(projection) == "cosine" and compare.default_threshold(projection) == 0.02
    assert compare.default_threshold(projection, "euclidean") == 0.2
    s = Settings(model=projection)
    assert (s.metric_, s.threshold_, s.similarity_base, s.gate_.min_size) == ("cosine", 0.02, 0.02, 60)
    assert compare.similarity(0.02, s.similarity_base) == pytest.approx(80.0)
    with pytest.raises(RangeError, match="the default for Projection is 0.02"):
        Settings(model=projection, threshold=2.5)  # past a cosine distance's reach
    bad, rule = zoo.embedder(projection).implausible(np.stack([np.eye(64)[0], 2 * np.eye(64)[0]]))
    assert bad.tolist() == [False, True] and "of length 0.99 to 1.01" in rule


def test_a_third_model_enrols_searches_and_verifies_through_the_library(projection, astronaut, obama, tmp_path):
    from workbench.search import search_image
    from workbench.search.enrol import Source, enrol_sources
    from workbench.store import Store

    s = Settings(model=projection)
    with Store(tmp_path / "p.duckdb", dim=zoo.embedder(projection).dim) as db:  # a file of 64-d vectors
        report = enrol_sources(db, "g", [Source("a.png", "eileen", astronaut), Source("o.jpg", "obama", obama)], s,
                               consent=True, workers=1)
        assert report.enrolled == 2, report.skipped
        matrix = db.vectors.matrix("g", projection)
        assert matrix.vectors.shape == (2, 64) and matrix.model == projection
        found = search_image(db, "g", astronaut, s)
        best = found.faces[0].best
        assert found.faces[0].verdict() == "match" and best.person == "eileen" and best.distance < 1e-4
        assert found.threshold == 0.02 and found.metric == "cosine"
    from workbench.pipeline import embed
    from workbench.pipeline.detect import detect_faces

    dets = detect_faces(astronaut)
    chips = embed.aligned_chips(astronaut, dets, model=projection)  # the live pipeline's path
    assert chips[0].shape == (24, 24, 3) and embed.takes_chips(projection)
    assert np.allclose(embed.embed_chips(chips, projection), embed.embed_faces(astronaut, dets, projection), atol=1e-6)
    same, other = verify(astronaut, astronaut, s), verify(astronaut, obama, s)
    assert same.verified and same.model == projection and same.similarity > 99
    assert not other.verified and other.distance > 0.02


def test_a_face_can_pass_one_models_gate_and_fail_anothers(projection, astronaut):
    import cv2

    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)  # her face: about 45 px
    dlib_face = analyze(small, Settings(), embed_faces="none").faces[0]
    ours = analyze(small, Settings(model=projection), embed_faces="none").faces[0]
    assert dlib_face.quality.accepted and 36 <= dlib_face.quality.size < 60
    assert ours.quality.reason == TOO_SMALL and "the gate needs at least 60 px" in ours.quality.rule


def test_a_third_detector_registered_in_one_place_detects_for_every_model(fixed, astronaut, astronaut_png):
    from workbench.cli import cli
    from workbench.pipeline.detect import detect_faces

    FixedBox.asked.clear()
    dets = detect_faces(astronaut, fixed, upsample=1)
    assert [d.box.as_list() for d in dets] == [[175, 76, 266, 167]] and dets[0].detector == fixed
    assert dets[0].scheme == "dlib5" and len(dets[0].landmarks) == 5
    assert FixedBox.asked == [0]  # upsample does not apply to it: the entry says so
    for model in ("Dlib", "SFace"):
        v = verify(astronaut, astronaut_png, Settings(detector=fixed, model=model))
        assert v.verified and v.distance < 1e-3, (model, v)
    r = CliRunner().invoke(cli, ["--detector", fixed, "detect", str(astronaut_png)])
    assert r.exit_code == 0 and "1 face" in r.output and "box=[175, 76, 266, 167]" in r.output, r.output
    assert fixed in zoo.detector_names() and fixed not in {d for d, _ in zoo.combos().values()}


def test_unknown_names_are_one_line_and_the_defaults_are_declared_once():
    from workbench.errors import ModelError

    with pytest.raises(ModelError, match="unknown model 'Nope'; choose one of: SFace, Dlib"):
        zoo.embedder("Nope")
    with pytest.raises(ModelError, match="unknown detector 'nope'; choose one of: yunet, hog, cnn"):
        zoo.detector("nope")
    with pytest.raises(ModelError, match="already registered"):
        zoo.register(zoo.embedder("Dlib"))
    s = Settings()
    assert (s.detector, s.model) == (zoo.DEFAULT_DETECTOR, zoo.DEFAULT_MODEL) == ("yunet", "SFace")
    assert zoo.embedder_names()[0] == zoo.DEFAULT_MODEL and zoo.detector_names()[0] == zoo.DEFAULT_DETECTOR
    assert list(zoo.combos()) == ["yunet + SFace", "hog + Dlib", "yunet + Dlib", "hog + SFace"]
    assert (zoo.COMPARISON_DETECTOR, zoo.COMPARISON_MODEL) == ("hog", "Dlib")  # the 2017 pair set beside it


def test_a_model_comes_with_its_own_detector_unless_one_is_named():
    assert (Settings(model="Dlib").detector, Settings(model="SFace").detector) == ("hog", "yunet")
    assert Settings(model="Dlib", detector="yunet").detector == "yunet"
    assert zoo.own_detector("Facenet512") == zoo.DEFAULT_DETECTOR  # no detector of its own: the default
    assert zoo.own_detector("no such model") == zoo.DEFAULT_DETECTOR  # its error comes where it is used
