"""Drawing on frames: each track's box, name, distance and similarity."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from workbench.live.processor import Track


def draw_tracks(image: np.ndarray, tracks: list[Track]) -> np.ndarray:
    """A copy of an RGB frame with each track's box, name and distance drawn on it."""
    import cv2

    out = image.copy()
    for t in tracks:
        known = t.label != "unknown"
        colour = (40, 200, 60) if known else (230, 60, 40)
        b = t.box
        cv2.rectangle(out, (b.left, b.top), (b.right - 1, b.bottom - 1), colour, 2)
        text = t.label if t.distance is None else f"{t.label} {t.distance:.2f} ({t.similarity:.0f}%)"
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
        y = max(b.top - 4, th + 4)
        cv2.rectangle(out, (b.left, y - th - 4), (b.left + tw + 4, y + 2), colour, -1)
        cv2.putText(out, text, (b.left + 2, y - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out
