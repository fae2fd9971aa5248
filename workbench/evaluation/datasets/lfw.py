"""LFW, read: the View-2 pairs file and the people folders the 1:N split is drawn from.

``lfw-pairs.txt``: a first line ``10 300``, then 10 folds of 300 same-person lines
(``name i j``) followed by 300 different-person lines (``name1 i name2 j``); photo ``i`` of a
person is ``lfw/<Name>/<Name>_<iiii>.jpg``. The photos are public figures ("celebrities"),
250 x 250, the subject centred; the shared copy is the deep-funnelled version (each photo warped
by an unsupervised alignment), not the original one most papers used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.errors import WorkbenchError
from workbench.evaluation.datasets.pairs import Pair


def photo(lfw_dir: str | os.PathLike, name: str, number: int | str) -> Path:
    """Photo ``number`` of person ``name``: ``<lfw>/<Name>/<Name>_<0001>.jpg``."""
    return Path(lfw_dir) / name / f"{name}_{int(number):04d}.jpg"


@dataclass(frozen=True, eq=False)
class LfwPairs:
    """The View-2 pairs: ``pairs[k]`` is in fold ``folds[k]`` (0-based)."""

    pairs: list[Pair]
    folds: np.ndarray
    n_folds: int


def read_pairs(pairs_file: str | os.PathLike, lfw_dir: str | os.PathLike) -> LfwPairs:
    """Read ``lfw-pairs.txt`` (see the module docstring); paths are resolved under ``lfw_dir``.

    Raises:
        WorkbenchError: a missing file, a bad header, a line that is neither form, a fold whose
            same/different blocks are out of order, or photos that are not under ``lfw_dir``.
    """
    p = Path(pairs_file)
    if not p.is_file():
        raise WorkbenchError(f"{p}: no such pairs file")
    lines = [(n, ln.split()) for n, ln in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
             if ln.strip()]
    try:
        n_folds, per = (int(v) for v in lines[0][1])
    except (IndexError, ValueError):
        raise WorkbenchError(f"{p}: the first line must be '<folds> <pairs per half-fold>', like '10 300'") from None
    rows = lines[1:]
    if n_folds < 1 or per < 1 or len(rows) != n_folds * 2 * per:
        raise WorkbenchError(f"{p}: {len(rows)} pair lines, but '{n_folds} {per}' announces {n_folds * 2 * per}")
    pairs, folds = [], []
    for k, (n, f) in enumerate(rows):
        same_block = (k % (2 * per)) < per
        if same_block and len(f) == 3:
            pairs.append(Pair(str(photo(lfw_dir, f[0], f[1])), str(photo(lfw_dir, f[0], f[2])), True))
        elif not same_block and len(f) == 4:
            pairs.append(Pair(str(photo(lfw_dir, f[0], f[1])), str(photo(lfw_dir, f[2], f[3])), False))
        else:
            want = "name i j (same person)" if same_block else "name1 i name2 j (different people)"
            raise WorkbenchError(f"{p}: line {n} should be '{want}', got {' '.join(f)!r}")
        folds.append(k // (2 * per))
    missing = sorted({q for pr in pairs for q in (pr.a, pr.b) if not Path(q).is_file()})
    if missing:
        raise WorkbenchError(f"{p}: {len(missing)} photo(s) it names are not under {lfw_dir}, e.g. {missing[0]}")
    return LfwPairs(pairs, np.asarray(folds), n_folds)


def default_paths() -> tuple[Path, Path] | None:
    """``(lfw-pairs.txt, lfw/)`` in the shared data folder, or ``None`` when absent."""
    from workbench import config

    base = config.faces_dir()
    if base is None or not (base / "lfw-pairs.txt").is_file() or not (base / "lfw").is_dir():
        return None
    return base / "lfw-pairs.txt", base / "lfw"


def search_split(lfw_dir: str | os.PathLike, nonmated: int | None = None, seed: int = 0
                 ) -> tuple[dict[str, Path], dict[str, Path], list[Path]]:
    """``(gallery, mated probes, non-mated probes)``: per person with >= 2 photos, photo 1 in the
    gallery and photo 2 as a probe; every photo of a one-photo person as a non-mated probe
    (``nonmated`` of them drawn with ``seed`` when given)."""
    base = Path(lfw_dir)
    if not base.is_dir():
        raise WorkbenchError(f"{base}: no such folder")
    people = {d.name: sorted(d.glob("*.jpg")) for d in sorted(base.iterdir()) if d.is_dir()}
    gallery = {n: f[0] for n, f in people.items() if len(f) >= 2}
    mated = {n: f[1] for n, f in people.items() if len(f) >= 2}
    single = [f[0] for n, f in people.items() if len(f) == 1]
    if nonmated is not None and nonmated < len(single):
        pick = np.random.default_rng(seed).choice(len(single), nonmated, replace=False)
        single = [single[i] for i in sorted(pick)]
    if not gallery:
        raise WorkbenchError(f"{base}: no person with two photos (expected <Name>/<Name>_0001.jpg ...)")
    return gallery, mated, single
