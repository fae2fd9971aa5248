"""Searching a photo end to end: every face detected, embedded and ranked against a gallery
(exactly, or through a saved index for galleries of millions), and the search logged with
its per-stage latency and what an auditor needs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from workbench.errors import GalleryError, NoFaceError
from workbench.pipeline import Analysis, Settings, analyze, capture, compare, quality
from workbench.pipeline.capture import ImageSource, load_image
from workbench.search.rank import rank, redecide
from workbench.store import SearchAudit, Store
from workbench.types import Face, Match, Timings

MATCH, NO_MATCH, NOT_SEARCHED = "match", "no match", "not searched"


@dataclass(frozen=True, eq=False)
class FaceResult:
    """One probe face and its candidates, best first.

    A face the quality gate rejected is **not searched** (``searched`` is False, no
    candidates): a too-small or blurred face, or a box on a jacket, gives distances that mean
    nothing, and a "MATCH" on it would be repeated as a finding. Its verdict says why.
    """

    face: Face
    matches: tuple[Match, ...]

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.matches else None

    @property
    def searched(self) -> bool:
        return self.face.quality.accepted

    def verdict(self, threshold: float | None = None) -> str:
        """``"match"``, ``"no match"`` or ``"not searched"`` (at ``threshold``, default: as searched)."""
        if not self.searched:
            return NOT_SEARCHED
        ms = self.matches if threshold is None else redecide(list(self.matches[:1]), threshold)
        return MATCH if ms and ms[0].match else NO_MATCH


@dataclass(frozen=True, eq=False)
class SearchResult:
    """Every face found in a probe photo (largest first), searched or not, with candidates."""

    gallery: str
    metric: str
    threshold: float
    faces: tuple[FaceResult, ...]
    timings: Timings
    similarity_base: float = 0.0
    recogniser: str = ""   # "yunet + SFace": whose gate decided which faces are large enough
    min_size: int = 0      # that gate's minimum face size (px)

    @property
    def searched(self) -> list[FaceResult]:
        return [f for f in self.faces if f.searched]

    def rejected(self) -> dict[str, int]:
        """Faces not searched, counted by the quality gate's reason."""
        out: dict[str, int] = {}
        for f in self.faces:
            if not f.searched:
                out[f.face.quality.reason] = out.get(f.face.quality.reason, 0) + 1
        return out

    def similarity_of(self, threshold: float) -> float:
        return float(compare.similarity(threshold, self.similarity_base or self.threshold))

    def verdicts(self, whatif: float | None = None) -> list[str]:
        """Each face's verdict at the search's threshold, ``"would match"`` for a face that
        matches only at the ``whatif`` threshold."""
        out = []
        for f in self.faces:
            v = f.verdict()
            out.append("would match" if v == NO_MATCH and whatif is not None and f.verdict(whatif) == MATCH else v)
        return out

    def matched(self, threshold: float | None = None) -> int:
        return sum(f.verdict(threshold) == MATCH for f in self.faces)

    def summary(self, whatif: float | None = None) -> str:
        """One line for a reader: ``"23 faces found, 21 large enough for hog + Dlib to recognise (at
        least 36 px), 20 searched (3 not searched: 2 too small, 1 blurred); 2 matched at 80 % (distance
        0.600), 11 would match at 70 % (distance 0.714)"``."""
        n, k = len(self.faces), len(self.searched)
        text = f"{n} face{'s' if n != 1 else ''} found"
        if self.recogniser:
            large = sum(f.face.quality.size >= self.min_size for f in self.faces)
            text = quality.large_enough(n, large, self.recogniser, self.min_size)
        if k < n:
            why = ", ".join(f"{c} {quality.WORDS.get(r, r)}" for r, c in self.rejected().items())
            text += f", {k} searched ({n - k} not searched: {why})"
        at = f"{self.similarity_of(self.threshold):.0f} % (distance {self.threshold:.3f})"
        text += f"; {self.matched()} matched at {at}"
        if whatif is not None and abs(whatif - self.threshold) > 1e-12:
            text += (f", {self.matched(whatif)} would match at {self.similarity_of(whatif):.0f} % "
                     f"(distance {whatif:.3f})")
        return text


#: Faces asked of an index per wanted person when results are one per person.
PER_PERSON_DEPTH = 10


def _check_index_metric(metric: str, model: str) -> None:
    """Indexes rank by euclidean distance; for vectors stored at unit length (SFace) euclidean and
    cosine rank alike (``|a - b|^2 = 2 - 2 cos``), so a cosine search may use one too."""
    from workbench.pipeline import zoo

    unit = zoo.has_embedder(model) and zoo.embedder(model).unit_length
    if metric != "euclidean" and not (metric == "cosine" and unit):
        raise GalleryError(f"search indexes rank by euclidean distance, not {metric}: search without an index")


def rank_with_index(queries: np.ndarray, db: Store, gallery: str, kind: str, *, model: str, metric: str,
                    threshold: float, top_k: int = 5, per_person: bool = True,
                    similarity_base: float | None = None) -> tuple[list[list[Match]], int]:
    """:func:`rank` through a search index of :mod:`workbench.search.index` instead of every vector:
    the index proposes candidates, whose stored vectors are then ranked exactly by :func:`rank`.
    With ``per_person``, ``top_k * PER_PERSON_DEPTH`` faces are asked for, so a person with
    many close faces cannot crowd the others out of the list. Returns the matches and the
    number of faces the index holds."""
    from workbench.search import index

    _check_index_metric(metric, model)
    gi = index.opened(db, gallery, kind, model)
    q = np.atleast_2d(np.asarray(queries, np.float32))
    _, ids = gi.search(q, top_k * (PER_PERSON_DEPTH if per_person else 1))
    out = []
    for row, found in zip(q, ids):
        out += rank(row, db.vectors.matrix_of(gallery, found, model), metric=metric, threshold=threshold, top_k=top_k,
                    per_person=per_person, similarity_base=similarity_base)
    return out, gi.index.size


def check_searchable(db: Store, gallery: str, model: str) -> int:
    """The number of faces of ``gallery``, once it is known to exist, to hold ``model``'s
    vectors and to hold at least one face: an empty gallery would answer "no match" for
    everyone, so it is refused in one line, like an unknown one or one of another model."""
    db.galleries.check(gallery, model)
    n = db.galleries.size(gallery)
    if n == 0:
        raise GalleryError(f"gallery {gallery!r} is empty: there is nobody to search for, so every face would "
                           "be 'no match'; enrol faces into it first")
    return n


def search_image(db: Store, gallery: str, source: ImageSource, settings: Settings = Settings(), *,
                 top_k: int = 5, per_person: bool = True, log: bool = True, name: str = "",
                 keep_probe: bool = False, client: str = "library", index_kind: str | None = None,
                 analyse: Callable[[bytes | np.ndarray, str, Settings], Analysis] | None = None) -> SearchResult:
    """Every face of a probe image, with its ranked candidates from ``gallery``.

    The search log records the settings, the results and the probe's sha256, size and face
    boxes; the probe image itself (re-encoded as JPEG, without metadata) only with ``keep_probe``.
    ``index_kind`` (``exact``, ``ivf_pq``, ... see :mod:`workbench.search.index`) searches through a
    saved index kept in step with the gallery, for galleries of millions of faces; by default
    every vector is compared.

    Faces the quality gate rejects are listed but not searched (see :class:`FaceResult`); the
    log records every face found with its quality verdict.

    ``analyse(given, name, settings)`` finds and embeds the faces elsewhere (the app's work pool:
    :func:`workbench.pipeline.workpool.analyse_photo` in a worker process, with ``embed_faces``
    "accepted"); ranking and the log stay in this process, the database's one writer.

    Raises:
        GalleryError: unknown or empty gallery, or one of another model (checked before any
            work), or an index with a cosine model.
        ImageError / NoFaceError: unreadable probe, or no face at all in it.
    """
    size = check_searchable(db, gallery, settings.model)  # unknown, empty or another model's: before any work
    if index_kind is not None:
        _check_index_metric(settings.metric_, settings.model)
    t0 = time.perf_counter()
    # the audit hashes the bytes the user gave (a file's content), read once
    given = source if isinstance(source, (np.ndarray, bytes, bytearray, memoryview)) else capture.read_bytes(source)
    if analyse is None:
        image = load_image(given, name or None)
        analysis = analyze(image, settings, embed_faces="accepted", load_ms=(time.perf_counter() - t0) * 1000.0)
    else:
        image, analysis = None, analyse(given, name, settings)
    if not analysis.faces:
        raise NoFaceError(f"{name or 'probe'}: no face found")
    faces = analysis.faces
    searched = [i for i, f in enumerate(faces) if f.quality.accepted]
    t1 = time.perf_counter()
    queries = (np.stack([faces[i].embedding.vector for i in searched]) if searched
               else np.zeros((0, 1), np.float32))
    if not searched:
        gallery_faces, found = size, []
    elif index_kind is None:
        matrix = db.vectors.matrix(gallery, settings.model)
        gallery_faces = int(matrix.vectors.shape[0])
        found = rank(queries, matrix, metric=settings.metric_, threshold=settings.threshold_, top_k=top_k,
                     per_person=per_person, similarity_base=settings.similarity_base)
    else:
        found, gallery_faces = rank_with_index(queries, db, gallery, index_kind, model=settings.model,
                                                metric=settings.metric_, threshold=settings.threshold_, top_k=top_k,
                                                per_person=per_person, similarity_base=settings.similarity_base)
    search_ms = (time.perf_counter() - t1) * 1000.0
    by_face = dict(zip(searched, found))
    ranked = [by_face.get(i, []) for i in range(len(faces))]  # every face, [] when not searched
    timings = replace(analysis.timings, search_ms=search_ms)
    if log:
        db.search_log.add(gallery=gallery, detector=settings.detector, metric=settings.metric_,
                        threshold=settings.threshold_, top_k=top_k,
                        result_face_ids=[[m.face_id for m in ms] for ms in ranked],
                        result_distances=[[m.distance for m in ms] for ms in ranked],
                        detect_ms=timings.detect_ms, embed_ms=timings.embed_ms, search_ms=search_ms,
                        source=name, model=settings.model, audit=SearchAudit(
                            client=client, probe_sha256=capture.sha256(given),
                            probe_width=int(analysis.shape[1]), probe_height=int(analysis.shape[0]),
                            probe_boxes=tuple(tuple(f.box.as_list()) for f in faces),
                            probe_quality=tuple(f.quality.reason or "ok" for f in faces),
                            upsample=settings.upsample, max_side=settings.max_side, per_person=per_person,
                            similarity_base=settings.similarity_base, gallery_faces=gallery_faces,
                            result_people=tuple(tuple(m.person for m in ms) for ms in ranked),
                            result_match=tuple(tuple(m.match for m in ms) for ms in ranked),
                            probe_image=capture.encode_jpeg(load_image(given) if image is None else image)
                            if keep_probe else None))
    return SearchResult(gallery, settings.metric_, settings.threshold_,
                        tuple(FaceResult(f, tuple(ms)) for f, ms in zip(faces, ranked)), timings,
                        settings.similarity_base, f"{settings.detector} + {settings.model}", settings.gate_.min_size)
