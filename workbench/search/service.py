"""Searching a photo end to end: every face detected, embedded and ranked against a gallery
(exactly, or through a saved index for galleries of millions), and the search logged with
its per-stage latency and what an auditor needs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from workbench.errors import GalleryError, NoFaceError
from workbench.pipeline import Settings, analyze, capture
from workbench.pipeline.capture import ImageSource, load_image
from workbench.search.rank import rank
from workbench.store import GalleryDB, SearchAudit
from workbench.types import Face, Match, Timings


@dataclass(frozen=True, eq=False)
class FaceResult:
    """One probe face and its candidates, best first."""

    face: Face
    matches: tuple[Match, ...]

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.matches else None


@dataclass(frozen=True, eq=False)
class SearchResult:
    gallery: str
    metric: str
    threshold: float
    faces: tuple[FaceResult, ...]
    timings: Timings


#: Faces asked of an index per wanted person when results are one per person.
PER_PERSON_DEPTH = 10


def _check_index_metric(metric: str, model: str | None = None) -> None:
    """Indexes rank by euclidean distance; for vectors stored at unit length (SFace) euclidean and
    cosine rank alike (``|a - b|^2 = 2 - 2 cos``), so a cosine search may use one too."""
    from workbench.pipeline.embed import MODELS

    unit = model is not None and model in MODELS and MODELS[model].unit_length
    if metric != "euclidean" and not (metric == "cosine" and unit):
        raise GalleryError(f"search indexes rank by euclidean distance, not {metric}: search without an index")


def rank_with_index(queries: np.ndarray, db: GalleryDB, gallery: str, kind: str, *, metric: str,
                    threshold: float, top_k: int = 5, per_person: bool = True,
                    similarity_base: float | None = None, model: str | None = None) -> tuple[list[list[Match]], int]:
    """:func:`rank` through a search index of :mod:`workbench.index` instead of every vector:
    the index proposes candidates, whose stored vectors are then ranked exactly by :func:`rank`.
    With ``per_person``, ``top_k * PER_PERSON_DEPTH`` faces are asked for, so a person with
    many close faces cannot crowd the others out of the list. Returns the matches and the
    number of faces the index holds."""
    from workbench.search import index

    _check_index_metric(metric, model)
    gi = index.opened(db, gallery, kind)
    q = np.atleast_2d(np.asarray(queries, np.float32))
    _, ids = gi.search(q, top_k * (PER_PERSON_DEPTH if per_person else 1))
    out = []
    for row, found in zip(q, ids):
        out += rank(row, db.matrix_of(gallery, found, model), metric=metric, threshold=threshold, top_k=top_k,
                    per_person=per_person, similarity_base=similarity_base)
    return out, gi.index.size


def search_image(db: GalleryDB, gallery: str, source: ImageSource, settings: Settings = Settings(), *,
                 top_k: int = 5, per_person: bool = True, log: bool = True, name: str = "",
                 keep_probe: bool = False, client: str = "library", index_kind: str | None = None) -> SearchResult:
    """Every face of a probe image, with its ranked candidates from ``gallery``.

    The search log records the settings, the results and the probe's sha256, size and face
    boxes; the probe image itself (re-encoded as JPEG, without metadata) only with ``keep_probe``.
    ``index_kind`` (``exact``, ``ivf_pq``, ... see :mod:`workbench.index`) searches through a
    saved index kept in step with the gallery, for galleries of millions of faces; by default
    every vector is compared.

    Raises:
        GalleryError: unknown gallery, or one of another model (checked before any work), or an
            index with a cosine model.
        ImageError / NoFaceError: unreadable probe, or no face in it.
    """
    db.check_gallery_model(gallery, settings.model, must_exist=True)  # unknown, or another model's: before any work
    if index_kind is not None:
        _check_index_metric(settings.metric_, settings.model)
    t0 = time.perf_counter()
    # the audit hashes the bytes the user gave (a file's content), read once
    given = source if isinstance(source, (np.ndarray, bytes, bytearray, memoryview)) else capture.read_bytes(source)
    image = load_image(given, name or None)
    load_ms = (time.perf_counter() - t0) * 1000.0
    analysis = analyze(image, settings, load_ms=load_ms)
    faces = analysis.embedded
    if not faces:
        raise NoFaceError(f"{name or 'probe'}: no face found")
    t1 = time.perf_counter()
    queries = np.stack([f.embedding.vector for f in faces])
    if index_kind is None:
        matrix = db.matrix(gallery, settings.model)
        gallery_faces = int(matrix.vectors.shape[0])
        ranked = rank(queries, matrix, metric=settings.metric_, threshold=settings.threshold_, top_k=top_k,
                      per_person=per_person, similarity_base=settings.similarity_base)
    else:
        ranked, gallery_faces = rank_with_index(queries, db, gallery, index_kind, metric=settings.metric_,
                                                threshold=settings.threshold_, top_k=top_k,
                                                per_person=per_person, similarity_base=settings.similarity_base,
                                                model=settings.model)
    search_ms = (time.perf_counter() - t1) * 1000.0
    timings = replace(analysis.timings, search_ms=search_ms)
    if log:
        db.log_search(gallery=gallery, detector=settings.detector, metric=settings.metric_,
                      threshold=settings.threshold_, top_k=top_k,
                      result_face_ids=[[m.face_id for m in ms] for ms in ranked],
                      result_distances=[[m.distance for m in ms] for ms in ranked],
                      detect_ms=timings.detect_ms, embed_ms=timings.embed_ms, search_ms=search_ms,
                      source=name, model=settings.model, audit=SearchAudit(
                          client=client, probe_sha256=capture.sha256(given),
                          probe_width=int(image.shape[1]), probe_height=int(image.shape[0]),
                          probe_boxes=tuple(tuple(f.box.as_list()) for f in faces),
                          upsample=settings.upsample, max_side=settings.max_side, per_person=per_person,
                          similarity_base=settings.similarity_base, gallery_faces=gallery_faces,
                          result_people=tuple(tuple(m.person for m in ms) for ms in ranked),
                          result_match=tuple(tuple(m.match for m in ms) for ms in ranked),
                          probe_image=capture.encode_jpeg(image) if keep_probe else None))
    return SearchResult(gallery, settings.metric_, settings.threshold_,
                        tuple(FaceResult(f, tuple(ms)) for f, ms in zip(faces, ranked)), timings)
