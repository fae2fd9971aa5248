"""Synthetic galleries that look like dlib embeddings, for search benchmarks at scale.

Uniformly random vectors have no structure: every point is about as far from every other,
approximate indexes cannot exploit clusters, and benchmarks on them say little about face
search. Here each identity has a centre and several faces around it:

* centres ``c_p ~ N(0, s^2)`` per dimension, with per-dimension scales ``w_d`` (log-normal,
  ``alpha``) because real embedding dimensions do not carry equal variance: dlib's 128
  dimensions carry their variance like about 14 equal ones (see :data:`REAL_SPECTRUM`);
* faces ``c_p + N(0, (sigma_p w_d)^2)``, with a per-identity spread ``sigma_p`` (log-normal,
  ``tau``): some people photograph more consistently than others;
* faces per identity ``1 + Poisson(faces_per_person - 1)``.

:data:`REAL` holds the genuine / impostor euclidean distances measured with this workbench's
Dlib pipeline on the shared ``deepface-unit`` pairs (``master.csv``: 300 pairs, 2026-11-21);
:func:`params_for` turns them into ``s`` and ``sigma`` (for ``D`` = 128, a genuine pair is at
about ``sigma * sqrt(2 D)`` and an impostor pair at ``sqrt(2 D (s^2 + sigma^2))``), and
:func:`pair_stats` checks what a generated gallery really gives.

``alpha`` (how unequal the dimensions are) was fitted to :data:`REAL_SPECTRUM`, the principal
component spectrum of the 131 faces found in every shared photo (``../shared/data/faces``,
several dozen people): :func:`spectrum` of 131 synthetic faces of 131 identities gives a
participation ratio of 13.6 at ``alpha`` = 0.9 (real: 13.7; 0.5 gave 38, isotropic 64, so
earlier galleries were far more isotropic than real faces, which makes approximate search
look harder than it is). ``tau`` = 0.1 then brings the genuine spread back to the measured
one. Impostor distances spread more (sd 0.15) than on master.csv (0.081, a dozen people) and
a little more than across all shared photos (0.140).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from workbench.store import GalleryMatrix

#: Measured on the shared photos: (genuine mean, genuine sd, impostor mean, impostor sd).
REAL = {"genuine_mean": 0.361, "genuine_sd": 0.071, "impostor_mean": 0.888, "impostor_sd": 0.081}

#: :func:`spectrum` of the 131 faces the workbench finds in all shared photos (2026-11-22,
#: full resolution). Their pairwise distances spread wider (sd 0.140) than master.csv's
#: impostor pairs, which come from a dozen people only.
REAL_SPECTRUM = {"faces": 131, "participation_ratio": 13.7, "top1": 0.194, "top5": 0.502, "top10": 0.681,
                 "top20": 0.846, "top40": 0.962, "pairwise_sd": 0.140}


@dataclass(frozen=True)
class Params:
    dim: int = 128
    s: float = 0.0507
    sigma: float = 0.02256
    tau: float = 0.1
    alpha: float = 0.9
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


def scales(p: Params) -> np.ndarray:
    """Per-dimension scales ``w_d``: evenly spaced quantiles of a log-normal (``alpha``), largest
    first, with mean square 1. The same for every seed, so every gallery has the same spectrum."""
    from statistics import NormalDist

    z = np.array([NormalDist().inv_cdf((d + 0.5) / p.dim) for d in range(p.dim)])[::-1]
    w = np.exp(p.alpha * z)
    return w / np.sqrt((w**2).mean())


def clustered(n: int, *, seed: int = 0, params: Params | None = None, queries: int = 200,
              chunk: int = 500_000) -> Iterator[Chunk]:
    """``n`` faces (float32, ``params.dim``) in chunks of about ``chunk`` rows, reproducible by ``seed``."""
    p = params or params_for()
    rng = np.random.default_rng(seed)
    w = scales(p)
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


def strangers(n: int, *, seed: int = 0, params: Params | None = None) -> np.ndarray:
    """``n`` probe faces (float32) of ``n`` identities with no face in the gallery of ``seed``:
    drawn like :func:`clustered`'s identities from a random stream of their own (the gallery's
    stream, and so the gallery, stays the same)."""
    p = params or params_for()
    rng = np.random.default_rng([seed, 7919])
    w = scales(p)
    centres = rng.normal(0.0, p.s, (n, p.dim)) * w
    spread = p.sigma * np.exp(rng.normal(0.0, p.tau, n))
    return (centres + rng.standard_normal((n, p.dim)) * w * spread[:, None]).astype(np.float32)


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


def spectrum(vectors: np.ndarray) -> dict[str, float]:
    """How many dimensions a set of vectors really uses.

    ``participation_ratio`` is ``(sum l)^2 / sum l^2`` over the covariance eigenvalues ``l``
    (128 for isotropic vectors, 1 for a line); ``topK`` is the share of variance in the first
    ``K`` principal components. Both depend on the sample size: compare equal-sized samples.
    """
    x = np.asarray(vectors, np.float64)
    x = x - x.mean(axis=0)
    ev = np.maximum(np.linalg.eigvalsh(x.T @ x / max(len(x) - 1, 1))[::-1], 0.0)
    share = np.cumsum(ev) / ev.sum()
    out = {"faces": len(x), "participation_ratio": round(float(ev.sum() ** 2 / (ev**2).sum()), 1)}
    out.update({f"top{k}": round(float(share[k - 1]), 3) for k in (1, 5, 10, 20, 40) if k <= len(share)})
    y = x[:2000]
    sq = (y**2).sum(axis=1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (y @ y.T)
    d = np.sqrt(np.maximum(d2[np.triu_indices(len(y), 1)], 0.0))
    out["pairwise_sd"] = round(float(d.std()), 3)
    return out


def gallery_matrix(n: int, *, seed: int = 0) -> GalleryMatrix:
    """A small in-memory gallery of ``n`` synthetic faces (see :func:`clustered`)."""
    chunks = list(clustered(n, seed=seed, queries=0))
    offsets = np.cumsum([0] + [len(c.people) for c in chunks])
    who = np.concatenate([c.person_index + o for c, o in zip(chunks, offsets)]).astype(np.int64)
    names = [name for c in chunks for name in c.people]
    return GalleryMatrix(np.arange(n, dtype=np.int64), who, [names[i] for i in who], [""] * n,
                         np.ascontiguousarray(np.vstack([c.vectors for c in chunks])))
