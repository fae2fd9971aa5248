"""Explaining one match, for classrooms: what each model compared, which patches of the probe's
face moved the distance, and who else in the gallery looks like the probe to the model.

One question, one call:

* :func:`explain_comparison`: a Compare page's pair (the first photo's face is the probe, the
  second's the reference), every model that can be explained side by side;
* :func:`explain_search_face`: one face of a search, against its closest gallery face (the
  gallery's model only: its vectors are the only ones stored);
* :func:`explain_photos`: the first from two photos and, optionally, a gallery (notebooks, benchmarks).

Each returns an :class:`Explanation`. The maps are :mod:`workbench.pipeline.occlusion`'s; the
closest impostors are ranked by :func:`workbench.search.rank.rank` over the gallery's vectors of the
model named (:func:`closest_impostors`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

from workbench.errors import ModelError, WorkbenchError
from workbench.pipeline import Comparison, Settings, analyze, compare_analyses, embed, occlusion
from workbench.pipeline.capture import ImageSource, load_image
from workbench.pipeline.occlusion import FaceChips, OcclusionMap
from workbench.search.rank import rank
from workbench.store import GalleryMatrix, Store
from workbench.types import Face, Match

#: How many closest impostors are listed by default.
IMPOSTORS = 5

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True, eq=False)
class Neighbours:
    """The gallery's people closest to the probe, one face each, nearest first, under ``model``.

    ``excluded`` is the probe's own person when it was given (left out: they are not impostors);
    when it was not, the first names may be the probe's own person.
    """

    gallery: str
    model: str
    metric: str
    excluded: str | None
    people: int
    faces: int
    impostors: tuple[Match, ...]

    def describe(self) -> str:
        who = (f"everyone but {self.excluded}" if self.excluded is not None else
               "everyone (who the probe is was not given: the first may be the probe's own person)")
        n = len(self.impostors)
        where = f"gallery {self.gallery}" if self.gallery else "the gallery"
        return (f"The {n} closest of {who}, among {self.people} people ({self.faces} faces) of {where}, "
                f"by {self.model}'s {self.metric} distance.")


def closest_impostors(vector: np.ndarray, matrix: GalleryMatrix, *, model: str, metric: str, threshold: float,
                      similarity_base: float, person: str | None = None, k: int = IMPOSTORS) -> Neighbours:
    """The ``k`` people of ``matrix`` closest to a probe ``vector`` (one face each, nearest first),
    leaving out ``person`` (the probe's own, when known). ``matrix`` must hold ``model``'s vectors."""
    if matrix.model and matrix.model != model:
        raise ModelError(f"the gallery holds {matrix.model} vectors, not {model}: they are never compared")
    if int(k) < 1:
        raise WorkbenchError(f"closest impostors: give at least 1, not {k}")
    found = rank(np.asarray(vector, np.float32), matrix, metric=metric, threshold=threshold, top_k=int(k) + 1,
                 per_person=True, similarity_base=similarity_base)[0]
    others = [m for m in found if person is None or m.person != person][: int(k)]
    return Neighbours(matrix.gallery, model, metric, person, len(set(matrix.people)),
                      int(matrix.vectors.shape[0]), tuple(replace(m, rank=r) for r, m in enumerate(others, 1)))


@dataclass(frozen=True, eq=False)
class Explanation:
    """What one match compared and what moved its distance.

    ``probe`` and ``reference`` (``None`` when the probe was compared with a gallery face) hold the
    crops and every explained model's chip; ``against`` says in words what the probe was compared
    with; ``maps`` one occlusion map per model (:class:`~workbench.pipeline.occlusion.OcclusionMap`);
    ``without_map`` one line per model left out, and why; ``neighbours`` the closest impostors
    (``None``, with ``neighbours_note`` saying why, when there is no gallery to ask).
    ``reference_embeddings`` counts the reference chips embedded (one per model for a photo);
    ``seconds`` is the wall time of the whole explanation (chips, maps, impostors).
    """

    probe: FaceChips
    reference: FaceChips | None
    against: str
    maps: tuple[OcclusionMap, ...]
    without_map: tuple[str, ...]
    neighbours: Neighbours | None
    neighbours_note: str = ""
    reference_embeddings: int = 0
    seconds: float = 0.0

    @property
    def embeddings(self) -> int:
        """Every embedding the explanation took: each map's chips and the reference chips."""
        return sum(m.embeddings for m in self.maps) + self.reference_embeddings

    def map_of(self, model: str) -> OcclusionMap:
        for m in self.maps:
            if m.model == model:
                return m
        raise ModelError(f"no occlusion map of {model} in this explanation")

    def describe(self) -> str:
        """The cost and the scope, in one line."""
        models = ", ".join(m.model for m in self.maps) or "no model"
        return (f"One probe face ({self.probe.name}) against {self.against}; {models}. "
                f"{self.embeddings} embeddings in {self.seconds:.1f} s.")


def _models(models: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """The models to explain (every explainable one by default), and the lines for those left out."""
    wanted = list(models) if models is not None else occlusion.explainable_models()
    return ([m for m in wanted if occlusion.explainable(m)],
            [occlusion.why_not(m) for m in wanted if not occlusion.explainable(m)])


def _neighbours(probe: Face, settings: Settings, matrix: GalleryMatrix | None, person: str | None,
                k: int) -> tuple[Neighbours | None, str]:
    if matrix is None:
        return None, "No gallery was given: no closest impostors."
    if probe.embedding is None:
        return None, "The probe face was not embedded: no closest impostors."
    return closest_impostors(probe.embedding.vector, matrix, model=settings.model, metric=settings.metric_,
                             threshold=settings.threshold_, similarity_base=settings.similarity_base,
                             person=person, k=k), ""


def _step(progress: Progress | None, done: int, total: int, name: str) -> None:
    if progress is not None:
        progress(done, total, name)


def explain_comparison(images: tuple[np.ndarray, np.ndarray], comparison: Comparison, settings: Settings, *,
                       matrix: GalleryMatrix | None = None, person: str | None = None,
                       models: Sequence[str] | None = None, patch_fraction: float = occlusion.PATCH_FRACTION,
                       steps: int = occlusion.STEPS, impostors: int = IMPOSTORS,
                       progress: Progress | None = None) -> Explanation:
    """Explain a 1:1 comparison: the first photo's compared face is the probe, covered patch by patch
    for every model in ``models`` (every explainable model by default), each against the second
    photo's face as that model embeds it.

    Args:
        images: the two RGB ``uint8`` photos the comparison analysed.
        comparison: :func:`workbench.pipeline.compare_analyses`'s answer (which face of each).
        settings: its settings (the gallery's model for the impostors).
        matrix: the gallery's vectors of ``settings.model`` for the closest impostors, or ``None``.
        person: who the probe is, when known (left out of the impostors).
        progress: called ``(done, total, model)`` before each model and at the end.
    """
    t0 = time.perf_counter()
    names, skipped = _models(models)
    a, b = comparison.a, comparison.b
    probe = occlusion.face_chips(images[0], a.face.detection, names, f"face {a.number} of {a.name}")
    ref = occlusion.face_chips(images[1], b.face.detection, names, f"face {b.number} of {b.name}")
    maps = []
    for i, m in enumerate(names):
        _step(progress, i, len(names), m)
        reference = embed.embed_chips([ref.chip(m)], m)[0]
        maps.append(occlusion.occlusion_map(probe.chip(m), reference, m, patch_fraction=patch_fraction, steps=steps))
    _step(progress, len(names), len(names), "done")
    neighbours, note = _neighbours(a.face, settings, matrix, person, impostors)
    return Explanation(probe, ref, ref.name, tuple(maps), tuple(skipped), neighbours, note, len(names),
                       time.perf_counter() - t0)


def explain_search_face(image: np.ndarray, face: Face, matrix: GalleryMatrix, settings: Settings, *,
                        number: int = 1, name: str = "probe", person: str | None = None,
                        models: Sequence[str] | None = None, patch_fraction: float = occlusion.PATCH_FRACTION,
                        steps: int = occlusion.STEPS, impostors: int = IMPOSTORS) -> Explanation:
    """Explain one searched face against its closest face in the gallery (``matrix``, the gallery's
    vectors of ``settings.model``). The map is the gallery's model's alone: the gallery stores no
    other model's vectors. Chips are shown for every model in ``models``.

    Raises:
        WorkbenchError: the face was not searched (the quality gate rejected it), or the gallery is empty.
    """
    t0 = time.perf_counter()
    if face.embedding is None:
        raise WorkbenchError(f"face {number} of {name} was not searched (the quality gate rejected it): "
                             "there is no distance to explain")
    if matrix.model and matrix.model != settings.model:
        raise ModelError(f"the gallery holds {matrix.model} vectors, not {settings.model}: they are never compared")
    shown, skipped = _models(models)
    if settings.model not in shown:
        skipped.append(occlusion.why_not(settings.model))
    neighbours = closest_impostors(face.embedding.vector, matrix, model=settings.model, metric=settings.metric_,
                                   threshold=settings.threshold_, similarity_base=settings.similarity_base,
                                   person=None, k=1)
    if not neighbours.impostors:
        raise WorkbenchError("the gallery is empty: there is no closest face to explain")
    best = neighbours.impostors[0]
    probe = occlusion.face_chips(image, face.detection, shown, f"face {number} of {name}")
    maps: tuple[OcclusionMap, ...] = ()
    if settings.model in shown:
        reference = matrix.vectors[int(np.flatnonzero(matrix.face_ids == best.face_id)[0])]
        maps = (occlusion.occlusion_map(probe.chip(settings.model), reference, settings.model,
                                        metric=settings.metric_, patch_fraction=patch_fraction, steps=steps),)
    others = [f"{m}: the gallery stores {settings.model} vectors only, so {m}'s distance to its faces is unknown "
              "(Compare shows every model side by side)" for m in shown if m != settings.model]
    near, note = _neighbours(face, settings, matrix, person, impostors)
    against = f"its closest gallery face: {best.person} (face {best.face_id}, distance {best.distance:.3f})"
    return Explanation(probe, None, against, maps, tuple(skipped + others), near, note, 0, time.perf_counter() - t0)


def explain_photos(source_a: ImageSource, source_b: ImageSource, settings: Settings = Settings(), *,
                   db: Store | None = None, gallery: str | None = None, person: str | None = None, face_a: int | None = None,
                   face_b: int | None = None, models: Sequence[str] | None = None,
                   patch_fraction: float = occlusion.PATCH_FRACTION, steps: int = occlusion.STEPS,
                   progress: Progress | None = None) -> Explanation:
    """:func:`explain_comparison` from two photos (paths, bytes or arrays), with the closest
    impostors from ``gallery`` of ``db`` when given (read with ``settings.model``)."""
    images = (load_image(source_a), load_image(source_b))
    names = tuple("image" if isinstance(s, (bytes, bytearray, np.ndarray)) else str(s) for s in (source_a, source_b))
    comparison = compare_analyses(analyze(images[0], settings), analyze(images[1], settings), settings,
                                  face_a=face_a, face_b=face_b, names=names)
    matrix = db.vectors.matrix(gallery, settings.model) if db is not None and gallery else None
    return explain_comparison(images, comparison, settings, matrix=matrix, person=person, models=models,
                              patch_fraction=patch_fraction, steps=steps, progress=progress)
