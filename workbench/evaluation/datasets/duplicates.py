"""The same photo filed twice: near-identical images in a data set that should hold one photo per
person. UTKFace does (the same picture under two file names, sometimes with two different age
labels): such a pair is not two different people, so an audit that counts every pair as an
impostor pair must leave it out, and say how many it left out.

Two photos are near-identical when their 32 x 32 grey thumbnails differ by at most
:data:`MAX_DIFF` grey levels on average (0-255). On UTKFace's balanced sample the pairs that both
models put closest split cleanly: 0-6 for the same picture re-saved, 20 and more for two pictures.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

#: Mean absolute grey difference of the 32 x 32 thumbnails at or under which two photos are one.
MAX_DIFF = 10.0
_SIDE = 32


def thumbnails(paths: Sequence[str | os.PathLike]) -> np.ndarray:
    """``(N, 32, 32)`` float32 grey thumbnails of the photos (area-averaged)."""
    import cv2

    from workbench.pipeline.capture import load_image

    out = np.zeros((len(paths), _SIDE, _SIDE), np.float32)
    for i, p in enumerate(paths):
        grey = cv2.cvtColor(load_image(p), cv2.COLOR_RGB2GRAY)
        out[i] = cv2.resize(grey, (_SIDE, _SIDE), interpolation=cv2.INTER_AREA)
    return out


def near_duplicates(paths: Sequence[str | os.PathLike], max_diff: float = MAX_DIFF) -> np.ndarray:
    """``(N, N)`` booleans, True where two (different) photos are near-identical (symmetric)."""
    t = thumbnails(paths)
    n = len(t)
    coarse = t.reshape(n, 8, 4, 8, 4).mean(axis=(2, 4)).reshape(n, 64)  # 8 x 8: a cheap first pass
    fine = t.reshape(n, -1)
    dup = np.zeros((n, n), bool)
    for s in range(0, n, 256):
        rough = np.abs(coarse[s:s + 256, None, :] - coarse[None, :, :]).mean(axis=2)
        for a, b in zip(*np.nonzero(rough <= max_diff * 1.5)):  # averaging can only shrink a difference
            i = s + a
            if i != b and np.abs(fine[i] - fine[b]).mean() <= max_diff:
                dup[i, b] = dup[b, i] = True
    return dup
