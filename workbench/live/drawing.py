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


#: Box colours (RGB) by verdict, shared by the Search and Compare pages and their legends.
VERDICT_COLOURS: dict[str, tuple[int, int, int]] = {
    "match": (40, 200, 60),          # green: a candidate at or over the threshold
    "would match": (245, 170, 20),   # amber: only at the what-if threshold
    "no match": (150, 150, 150),     # grey: searched, nobody close enough
    "not searched": (220, 50, 200),  # magenta: rejected by the quality gate
    "compared": (40, 140, 255),      # blue: the face a comparison used
    "other": (150, 150, 150),        # grey: another face of the photo
}


def draw_numbered_boxes(image: np.ndarray, boxes, verdicts, *, numbers=None) -> np.ndarray:
    """A copy of an RGB image with each box outlined in its verdict's colour and numbered.

    Args:
        image: RGB ``uint8`` ``(H, W, 3)``.
        boxes: :class:`~workbench.types.Box` per face.
        verdicts: a key of :data:`VERDICT_COLOURS` per face.
        numbers: the label per face (default 1, 2, ...: the numbers ``--face`` takes).

    Lines and labels grow with the image, so a 37-pixel face in a 2,000-pixel photo is still
    outlined visibly and its number is readable.
    """
    import cv2

    out = np.ascontiguousarray(image.copy())
    h, w = out.shape[:2]
    thick = max(2, round(max(h, w) / 500))
    scale = max(0.45, max(h, w) / 1600)
    for i, (b, v) in enumerate(zip(boxes, verdicts)):
        colour = VERDICT_COLOURS.get(v, VERDICT_COLOURS["other"])
        cv2.rectangle(out, (b.left, b.top), (b.right - 1, b.bottom - 1), colour, thick)
        text = str(numbers[i] if numbers is not None else i + 1)
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, max(1, thick // 2))
        y = b.top - 2 if b.top - th - 6 >= 0 else min(b.bottom + th + 4, h - 2)
        cv2.rectangle(out, (b.left, y - th - 4), (b.left + tw + 6, y + 2), colour, -1)
        cv2.putText(out, text, (b.left + 3, y - 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255),
                    max(1, thick // 2), cv2.LINE_AA)
    return out
