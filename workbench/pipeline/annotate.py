"""Boxes, numbers and names drawn on an RGB image: the one drawer of the workbench.

The live overlay (each track's name, distance and similarity), the Search, Compare and Enrol
pages' numbered boxes and the Story's crowd all build a list of :class:`Label` and call
:func:`draw`. Colours are RGB and come from :data:`COLOURS`, keyed by verdict, so a match is the
same green on every screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from workbench.types import Box

Colour = tuple[int, int, int]

#: Box colours (RGB) by verdict, shared by every drawing and the pages' legends.
COLOURS: dict[str, Colour] = {
    "match": (40, 200, 60),          # green: a candidate at or over the threshold
    "would match": (245, 170, 20),   # amber: only at the what-if threshold
    "no match": (150, 150, 150),     # grey: searched, nobody close enough
    "not searched": (220, 50, 200),  # magenta: rejected by the quality gate
    "compared": (40, 140, 255),      # blue: the face a comparison used
    "other": (150, 150, 150),        # grey: another face of the photo
    "unknown": (230, 60, 40),        # red: a live face that matches nobody
}


@dataclass(frozen=True)
class Label:
    """One box to draw: where, the text on its tab (a number, a name ...), and its verdict
    (a key of :data:`COLOURS`; an unknown key is drawn as ``other``)."""

    box: Box
    text: str
    verdict: str = "other"

    @property
    def colour(self) -> Colour:
        return COLOURS.get(self.verdict, COLOURS["other"])


def numbered(boxes: Sequence[Box], verdicts: Sequence[str], numbers: Sequence[object] | None = None) -> list[Label]:
    """Labels numbered 1, 2, ... (the numbers ``--face`` takes), or by ``numbers``."""
    return [Label(b, str(numbers[i] if numbers is not None else i + 1), v)
            for i, (b, v) in enumerate(zip(boxes, verdicts))]


def draw(image: np.ndarray, labels: Sequence[Label]) -> np.ndarray:
    """A copy of an RGB ``uint8`` ``(H, W, 3)`` image with each label's box outlined in its
    colour and its text on a tab of that colour, above the box (below it at the top edge).

    Lines and text grow with the image, so a 37-pixel face in a 2,000-pixel photo is still
    outlined visibly and its number is readable; a 640-pixel video frame gets 2-pixel lines.
    """
    import cv2

    out = np.ascontiguousarray(image.copy())
    h, w = out.shape[:2]
    thick = max(2, round(max(h, w) / 500))
    scale = max(0.45, max(h, w) / 1600)
    weight = max(1, thick // 2)
    for lab in labels:
        b, colour = lab.box, lab.colour
        cv2.rectangle(out, (b.left, b.top), (b.right - 1, b.bottom - 1), colour, thick)
        if not lab.text:
            continue
        (tw, th), _ = cv2.getTextSize(lab.text, cv2.FONT_HERSHEY_SIMPLEX, scale, weight)
        y = b.top - 2 if b.top - th - 6 >= 0 else min(b.bottom + th + 4, h - 2)
        cv2.rectangle(out, (b.left, y - th - 4), (b.left + tw + 6, y + 2), colour, -1)
        cv2.putText(out, lab.text, (b.left + 3, y - 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), weight,
                    cv2.LINE_AA)
    return out
