"""Synthetic galleries that look like dlib embeddings, for search benchmarks at scale.

Uniformly random vectors have no structure: every point is about as far from every other,
approximate indexes cannot exploit clusters, and benchmarks on them say little about face
search. Here each identity has a centre and several faces around it:

* centres ``c_p ~ N(0, s^2)`` per dimension, with per-dimension scales ``w_d`` (log-normal,
  ``alpha``) because real embedding dimensions do not carry equal variance;
* faces ``c_p + N(0, (sigma_p w_d)^2)``, with a per-identity spread ``sigma_p`` (log-normal,
  ``tau``): some people photograph more consistently than others;
* faces per identity ``1 + Poisson(faces_per_person - 1)``.

:data:`REAL` holds the genuine / impostor euclidean distances measured with this workbench's
Dlib pipeline on the shared ``deepface-unit`` pairs (``master.csv``: 300 pairs, 2026-11-21);
:func:`params_for` turns them into ``s`` and ``sigma`` (for ``D`` = 128, a genuine pair is at
about ``sigma * sqrt(2 D)`` and an impostor pair at ``sqrt(2 D (s^2 + sigma^2))``), and
:func:`pair_stats` checks what a generated gallery really gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

#: Measured on the shared photos: (genuine mean, genuine sd, impostor mean, impostor sd).
REAL = {"genuine_mean": 0.361, "genuine_sd": 0.071, "impostor_mean": 0.888, "impostor_sd": 0.081}


@dataclass(frozen=True)
class Params:
    dim: int = 128
    s: float = 0.0507
    sigma: float = 0.02256
    tau: float = 0.17
    alpha: float = 0.5
    faces_per_person: float = 5.0


def params_for(genuine_mean: float = REAL["genuine_mean"], impostor_mean: float = REAL["impostor_mean"],
               dim: int = 128, **kw: float) -> Params:
    """Spreads that reproduce the mean genuine and impostor distances in ``dim`` dimensions."""
    sigma = genuine_mean / np.sqrt(2 * dim)
    s = float(np.sqrt(max(impostor_mean**2 / (2 * dim) - sigma**2, 1e-12)))
    return Params(dim=dim, s=s, sigma=float(sigma), **kw)


@dataclass(frozen=True, eq=False)
class Chunk:
    """Consecutive identities: ``people`` names, ``person_index`` into them per row, vectors,
    and some fresh probe faces of these identities (``queries``, ``query_people``)."""

    people: list[str]
    person_index: np.ndarray
    vectors: np.ndarray
    queries: np.ndarray
    query_people: list[str]


def clustered(n: int, *, seed: int = 0, params: Params | None = None, queries: int = 200,
              chunk: int = 500_000) -> Iterator[Chunk]:
    """``n`` faces (float32, ``params.dim``) in chunks of about ``chunk`` rows, reproducible by ``seed``."""
    p = params or params_for()
    rng = np.random.default_rng(seed)
    w = np.exp(rng.normal(0.0, p.alpha, p.dim))
    w /= np.sqrt((w**2).mean())
    made = 0
    pid = 0
    while made < n:
        rows = min(chunk, n - made)
        counts = 1 + rng.poisson(max(p.faces_per_person - 1, 0), size=rows)
        cut = int(np.searchsorted(np.cumsum(counts), rows))
        counts = counts[: cut + 1]
        counts[-1] -= int(counts.sum()) - rows
        counts = counts[counts > 0]
        k = len(counts)
        centres = rng.normal(0.0, p.s, (k, p.dim)) * w
        spread = p.sigma * np.exp(rng.normal(0.0, p.tau, k))
        idx = np.repeat(np.arange(k), counts)
        vecs = (centres[idx] + rng.standard_normal((rows, p.dim)) * w * spread[idx, None]).astype(np.float32)
        nq = int(round(queries * rows / n))
        qi = rng.integers(0, k, size=nq)
        qv = (centres[qi] + rng.standard_normal((nq, p.dim)) * w * spread[qi, None]).astype(np.float32)
        names = [f"id{pid + i}" for i in range(k)]
        yield Chunk(names, idx, vecs, qv, [names[i] for i in qi])
        made += rows
        pid += k


def pair_stats(vectors: np.ndarray, person_index: np.ndarray, pairs: int = 20_000, seed: int = 1) -> dict[str, float]:
    """Mean and sd of genuine and impostor distances over random pairs of a gallery."""
    rng = np.random.default_rng(seed)
    n = len(vectors)
    order = np.argsort(person_index, kind="stable")
    pi = person_index[order]
    same = np.flatnonzero(pi[1:] == pi[:-1])
    g_idx = rng.choice(same, min(pairs, len(same)), replace=False) if len(same) else np.zeros(0, int)
    g = np.linalg.norm(vectors[order[g_idx]] - vectors[order[g_idx + 1]], axis=1)
    a, b = rng.integers(0, n, pairs), rng.integers(0, n, pairs)
    keep = person_index[a] != person_index[b]
    i = np.linalg.norm(vectors[a[keep]] - vectors[b[keep]], axis=1)
    return {"genuine_mean": round(float(g.mean()), 3) if g.size else float("nan"),
            "genuine_sd": round(float(g.std()), 3) if g.size else float("nan"),
            "impostor_mean": round(float(i.mean()), 3), "impostor_sd": round(float(i.std()), 3)}
