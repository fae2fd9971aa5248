"""Synthetic "footage" made of still photos: each photo shown for some frames, blank gaps
between (so tracks end), written with OpenCV into a folder the caller chooses (a temporary one:
never the repository). Used by ``workbench bench clusters`` and the tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SIZE = (400, 320)  # frame width, height
GAP = 14  # blank frames between photos: longer than a track survives unseen (5 detections x 2 frames)


@dataclass(frozen=True)
class Segment:
    person: str
    first: int
    last: int


def frame_of(photo: Path, size: tuple[int, int] = SIZE) -> np.ndarray:
    """An RGB frame with the photo scaled to the frame's height, centred on grey."""
    import cv2
    from PIL import Image

    w, h = size
    im = np.asarray(Image.open(photo).convert("RGB"))
    side = h
    im = cv2.resize(im, (side, side), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((h, w, 3), 110, np.uint8)
    x = (w - side) // 2
    canvas[:, x:x + side] = im
    return canvas


def write_footage(out: Path, shots: list[tuple[str, Path]], *, frames: int = 16, fps: float = 10.0,
                  size: tuple[int, int] = SIZE) -> list[Segment]:
    """An mp4 of ``shots`` (person, photo), each shown ``frames`` frames, blank gaps between;
    returns where each person is (frame ranges)."""
    import cv2

    blank = np.full((size[1], size[0], 3), 110, np.uint8)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    segments, index = [], 0
    for k, (person, photo) in enumerate(shots):
        img = cv2.cvtColor(frame_of(photo, size), cv2.COLOR_RGB2BGR)
        for _ in range(frames):
            writer.write(img)
        segments.append(Segment(person, index, index + frames - 1))
        index += frames
        for _ in range(GAP):
            writer.write(blank)
        index += GAP
    writer.release()
    return segments


def segment_of(segments: list[Segment], frame: int) -> Segment | None:
    return next((s for s in segments if s.first <= frame <= s.last + GAP), None)


def lfw_photo(lfw: Path, person: str, n: int) -> Path:
    return lfw / person / f"{person}_{n:04d}.jpg"
