"""Explaining a match (issue 22, part 2): the occlusion map is made of re-embedded chips, on the
packaged demo photos with the real models; its grid, counts and batching on a fake model; the
closest impostors on a gallery."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pytest

from workbench.errors import ModelError
from workbench.pipeline import Settings, detect, occlusion, zoo
from workbench.pipeline.compare import distances
from workbench.search import explain
from workbench.store import GalleryMatrix
from workbench.types import Detection

KNN = "face-recognition-examples/knn_examples"
STEPS = 5


@pytest.fixture(scope="module")
def obama(demo_photos):
    """obama1.jpg (the probe) against obama.jpg, both shipped models, a 5 x 5 grid: computed once."""
    return explain.explain_photos(demo_photos / KNN / "test" / "obama1.jpg",
                                  demo_photos / KNN / "train" / "obama" / "obama.jpg", steps=STEPS)


@pytest.mark.parametrize("model", ["Dlib", "SFace"])
def test_the_map_is_not_uniform_and_covering_the_whole_chip_moves_the_distance_most(obama, model):
    m = obama.map_of(model)
    assert m.change.shape == (STEPS, STEPS)
    assert m.change.max() - m.change.min() > 0.02 and m.change.std() > 0.01, m.change  # some patches matter more
    # the same person: hiding the whole face pushes the two apart more than hiding any one patch
    assert m.whole_change > 0 and m.whole_change > np.abs(m.change).max(), (m.whole_change, m.change)


@pytest.mark.parametrize("model", ["Dlib", "SFace"])
def test_a_patch_over_the_eyes_moves_the_distance_more_than_the_background_corner(obama, model):
    m = obama.map_of(model)
    # where the eyes are in this chip: YuNet's points, found on the chip itself
    (found,) = detect.detect_faces(m.chip, "yunet", upsample=0, max_side=None)
    eyes = found.landmarks_array()[:2]
    eye = min(m.at(x, y) for x, y in eyes)  # the patch over each eye
    corner = m.change[-1, -1]  # bottom right: the blue backdrop beside the cheek in obama1.jpg
    assert eye > 0 and eye > 3 * abs(corner), (eye, corner, m.change)


def test_the_maps_baseline_is_the_distance_the_comparison_reported(demo_photos, obama):
    from workbench.pipeline import compare_photos

    for model in ("Dlib", "SFace"):
        s = Settings(detector=Settings().detector, model=model)  # the detector the fixture's explanation used
        v = compare_photos(demo_photos / KNN / "test" / "obama1.jpg",
                           demo_photos / KNN / "train" / "obama" / "obama.jpg", s).verdict
        assert obama.map_of(model).baseline == pytest.approx(v.distance, abs=2e-3), model
    assert obama.embeddings == 2 * (STEPS**2 + 2) + 2  # each map, and each model's reference chip
    assert "embeddings in" in obama.describe() and obama.seconds > 0


# -- a fake model: counts and batching ----------------------------------------------------------

@dataclass(frozen=True)
class Pixels(zoo.Embedder):
    """A 'model' whose vector is its 48-pixel thumbnail, counting the calls it gets."""

    calls: list = None

    def aligned_chips(self, image: np.ndarray, detections: Sequence[Detection]) -> list[np.ndarray]:
        return [np.ascontiguousarray(image[:40, :40]) for _ in detections]

    def embed_chips(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        self.calls.append(len(chips))
        return np.stack([np.asarray(c, np.float32)[::10, ::10].reshape(-1) / 255.0 for c in chips])


@pytest.fixture()
def pixels():
    entry = Pixels("Pixels", 48, "euclidean", zoo.Thresholds(0.1, 1.0), chip_side=40, calls=[])
    with zoo.registered(entry):
        yield entry


@pytest.mark.parametrize("steps", [1, 3, 4, 8])
def test_embeddings_are_the_grid_plus_the_uncovered_and_whole_chips_in_one_call(pixels, steps):
    rng = np.random.default_rng(steps)
    chip = rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)
    m = occlusion.occlusion_map(chip, pixels.embed_chips([chip])[0], "Pixels", steps=steps)
    assert pixels.calls == [1, steps * steps + 2]  # the reference, then the whole map in one batch
    assert m.embeddings == m.grid.size + 2 and m.change.shape == (steps, steps)
    assert m.baseline == pytest.approx(0.0, abs=0.01)  # the reference is the probe itself
    covered = np.zeros((40, 40), bool)
    for b in m.grid.boxes():
        covered[b.top:b.bottom, b.left:b.right] = True
    assert covered.all(), "the patches leave part of the chip never covered"


def test_a_patch_moves_the_distance_only_where_the_model_looks(pixels):
    chip = np.full((40, 40, 3), 100, np.uint8)
    chip[::10, ::10] = 200  # the 16 pixels the fake model reads: a patch that misses them changes nothing
    m = occlusion.occlusion_map(chip, pixels.embed_chips([chip])[0], "Pixels", steps=7, patch_fraction=0.1)
    reads = [any(b.left <= x < b.right and b.top <= y < b.bottom for x in range(0, 40, 10) for y in range(0, 40, 10))
             for b in m.grid.boxes()]
    assert m.grid.patch == 6 and not all(reads) and any(reads)
    assert np.all((m.change.reshape(-1) > 0) == np.array(reads)), m.change


def test_a_model_without_chips_is_said_not_explained(pixels):
    blind = zoo.Embedder("Blind", 8, "cosine", zoo.Thresholds(0.4, 1.0))
    with zoo.registered(blind):
        assert "Blind" not in occlusion.explainable_models() and "Pixels" in occlusion.explainable_models()
        with pytest.raises(ModelError, match="embeds whole photos only"):
            occlusion.occlusion_map(np.zeros((40, 40, 3), np.uint8), np.zeros(8), "Blind")
        assert explain._models(["Pixels", "Blind"]) == (["Pixels"], [occlusion.why_not("Blind")])


# -- the closest impostors ------------------------------------------------------------------------

def matrix_of(people: list[str], vectors: np.ndarray, model: str = "Dlib") -> GalleryMatrix:
    n = len(people)
    ids = {p: i for i, p in enumerate(dict.fromkeys(people))}
    return GalleryMatrix(face_ids=np.arange(1, n + 1), person_ids=np.array([ids[p] for p in people]), people=people,
                         sources=[""] * n, vectors=np.asarray(vectors, np.float32), model=model, gallery="g")


def test_closest_impostors_leave_out_the_probe_and_come_nearest_first():
    rng = np.random.default_rng(0)
    people = ["ann", "ann", "bob", "cy", "cy", "dee", "eve"]
    vectors = rng.normal(size=(7, 128)).astype(np.float32)
    probe = vectors[0] + 0.01
    kw = dict(model="Dlib", metric="euclidean", threshold=0.6, similarity_base=0.6)
    known = explain.closest_impostors(probe, matrix_of(people, vectors), person="ann", k=3, **kw)
    names = [m.person for m in known.impostors]
    assert "ann" not in names and len(names) == 3 == len(set(names))
    d = [m.distance for m in known.impostors]
    assert d == sorted(d) and [m.rank for m in known.impostors] == [1, 2, 3]
    every = distances(probe, vectors, "euclidean")
    others = sorted(min(every[i] for i, p in enumerate(people) if p == q) for q in set(people) - {"ann"})
    assert d == pytest.approx(others[:3], abs=1e-5)  # each person's closest face, the three nearest people
    unknown = explain.closest_impostors(probe, matrix_of(people, vectors), k=3, **kw)
    assert unknown.impostors[0].person == "ann" and "may be the probe's own person" in unknown.describe()
    with pytest.raises(ModelError, match="never compared"):
        explain.closest_impostors(probe, matrix_of(people, vectors, "SFace"), **kw)


def test_explaining_against_the_demo_gallery(demo_photos, tmp_path):
    from workbench.pipeline import analyze_source
    from workbench.pipeline.capture import load_image
    from workbench.search.enrol import load_demo_gallery
    from workbench.store import Store

    probe = demo_photos / KNN / "test" / "obama_and_biden.jpg"
    dlib = Settings(model="Dlib")  # a gallery of Dlib vectors: only Dlib's map can be drawn against it
    with Store(tmp_path / "g.duckdb") as db:
        load_demo_gallery(db, dlib)
        matrix = db.vectors.matrix("demo", "Dlib")
        image = load_image(probe)
        faces = analyze_source(image, dlib).faces
        biden = next(i for i, f in enumerate(faces, 1)
                     if explain.closest_impostors(f.embedding.vector, matrix, model="Dlib", metric="euclidean",
                                                  threshold=0.6, similarity_base=0.6, k=1).impostors[0].person
                     == "biden")
        e = explain.explain_search_face(image, faces[biden - 1], matrix, dlib, number=biden, name="o_and_b.jpg",
                                        person="biden", steps=2)
    assert e.against.startswith("its closest gallery face: biden") and [m.model for m in e.maps] == ["Dlib"]
    assert e.maps[0].baseline == pytest.approx(float(e.against.split("distance ")[1].rstrip(")")), abs=2e-3)
    assert any(line.startswith("SFace: the gallery stores Dlib vectors only") for line in e.without_map)
    names = [m.person for m in e.neighbours.impostors]
    assert "biden" not in names and len(names) == 4  # the 4 other people of the demo gallery, nearest first
    assert [m.distance for m in e.neighbours.impostors] == sorted(m.distance for m in e.neighbours.impostors)
    assert e.embeddings == 2 * 2 + 2 and [c.model for c in e.probe.chips] == ["SFace", "Dlib"]  # the default first
    assert [c.side for c in e.probe.chips] == [112, 150] and e.probe.crop.shape == (160, 160, 3)
