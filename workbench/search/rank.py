"""Ranking probe vectors against a gallery: exact top-k over every vector at once (one matrix
product), optionally one candidate per person (like Rekognition's user vectors). The match
decision is :func:`workbench.pipeline.compare.is_match`, the one rule every layer uses."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from workbench.pipeline import compare
from workbench.pipeline.compare import is_match
from workbench.store import GalleryMatrix
from workbench.types import Match


def rank(queries: np.ndarray, matrix: GalleryMatrix, *, metric: str, threshold: float,
         top_k: int = 5, per_person: bool = True, similarity_base: float | None = None) -> list[list[Match]]:
    """Top-k candidates for each query vector.

    Args:
        queries: ``(M, D)`` float32 probe vectors.
        matrix: the gallery's vectors and ids.
        metric: ``cosine`` or ``euclidean``.
        threshold: distance at or under which a candidate is a match.
        top_k: candidates per query.
        per_person: keep only each person's closest face.
        similarity_base: the model's default threshold, which anchors the similarity
            percentage (see :mod:`workbench.pipeline.compare`); defaults to ``threshold``.

    Returns:
        ``M`` lists of :class:`Match`, nearest first.
    """
    compare.check_threshold(threshold, metric=metric)
    q = np.atleast_2d(np.asarray(queries, np.float32))
    n = matrix.vectors.shape[0]
    if n == 0 or q.shape[0] == 0:
        return [[] for _ in range(q.shape[0])]
    d = compare.distances(q, matrix.vectors, metric)
    out: list[list[Match]] = []
    for row in d:
        if per_person:
            order = np.argsort(row, kind="stable")
            _, first = np.unique(matrix.person_ids[order], return_index=True)
            idx = order[np.sort(first)][:top_k]
        else:
            k = min(top_k, n)
            part = np.argpartition(row, k - 1)[:k] if k < n else np.arange(n)
            idx = part[np.argsort(row[part], kind="stable")]
        sims = compare.similarity(row[idx], similarity_base or threshold)
        out.append([
            Match(face_id=int(matrix.face_ids[i]), person_id=int(matrix.person_ids[i]), person=matrix.people[i],
                  distance=round(float(row[i]), 6), similarity=round(float(np.atleast_1d(sims)[r]), 3),
                  rank=r + 1, match=bool(is_match(row[i], threshold)), source_path=matrix.sources[i])
            for r, i in enumerate(idx)
        ])
    return out


def redecide(matches: list[Match], threshold: float) -> list[Match]:
    """The same candidates judged at another threshold, without recomputing anything.

    Only the match flag changes: similarity stays anchored on the model's default threshold.
    """
    compare.check_threshold(threshold)
    return [replace(m, match=bool(is_match(m.distance, threshold))) for m in matches]
