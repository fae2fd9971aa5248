"""What a model compared, and which parts of one face moved the distance: aligned chips and
occlusion maps.

* **Chips.** A model never sees the photo: it sees the face cut out and aligned on five points to
  its own square chip (Dlib: 150 x 150 on dlib's points; SFace: 112 x 112 on YuNet's).
  :func:`face_chips` returns, for one detected face, a crop of the photo around its box and the
  chip each model receives, through each zoo entry's ``aligned_chips`` verb.
* **Occlusion.** :func:`occlusion_map` covers one square patch of a probe's chip at a time with the
  chip's mean colour, embeds every covered copy (one ``embed_chips`` call: the uncovered chip, one
  copy per patch, and one copy covered whole) and measures each copy's distance to a reference
  vector. A patch's value is ``distance with the patch covered - distance with nothing covered``:
  **positive** (covering it pushed the faces apart) means that patch made the two faces look
  alike to this model; **negative** means it made them look different.

What a map cannot tell: it is one probe face, against one reference, for one model; it says what
moved this distance, not what the model "looks at" in general. Covering is not removing (a grey
square is itself something the model sees), and patches interact (covering two eyes is not the
sum of covering each). Any registered model whose entry offers ``embed_chips`` (a ``chip_side``)
can be explained: Dlib and SFace today; DeepFace's models embed only whole photos.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from workbench.errors import ModelError
from workbench.pipeline import capture, compare, embed, zoo
from workbench.types import Box, Detection

#: The default grid: patches a fifth of the chip's side (30 px of Dlib's 150, 22 of SFace's 112:
#: about one eye), at 8 positions along each axis, overlapping by about half.
PATCH_FRACTION = 0.2
STEPS = 8

#: Side of the photo crop shown beside the chips, in pixels.
CROP_SIDE = 160


def explainable(model: str) -> bool:
    """Whether ``model``'s chips can be covered and re-embedded: its zoo entry offers
    ``embed_chips`` (it has a ``chip_side``)."""
    return embed.takes_chips(model)


def explainable_models() -> list[str]:
    """Every registered model that :func:`explainable` accepts, in the zoo's order."""
    return [name for name in zoo.embedder_names() if explainable(name)]


def why_not(model: str) -> str:
    """One line on why ``model`` has no occlusion map."""
    return (f"{model} embeds whole photos only (its zoo entry offers no embed_chips), so its chips cannot be "
            "covered and re-embedded: no occlusion map")


# -- chips -------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ModelChip:
    """The aligned chip one model receives: RGB ``uint8`` ``(side, side, 3)``."""

    model: str
    chip: np.ndarray

    @property
    def side(self) -> int:
        return int(self.chip.shape[0])


@dataclass(frozen=True, eq=False)
class FaceChips:
    """One face: a crop of the photo around its box (RGB ``uint8``, :data:`CROP_SIDE` square, a
    fifth of the box's side as margin) and each model's aligned chip."""

    name: str
    box: Box
    crop: np.ndarray
    chips: tuple[ModelChip, ...]

    def chip(self, model: str) -> np.ndarray:
        for c in self.chips:
            if c.model == model:
                return c.chip
        raise ModelError(f"no {model} chip was made for {self.name}")


def face_chips(image: np.ndarray, detection: Detection, models: Sequence[str], name: str = "face") -> FaceChips:
    """The crop of one detected face of an RGB ``uint8`` image and each model's aligned chip."""
    chips = tuple(ModelChip(m, np.asarray(zoo.embedder(m).aligned_chips(image, [detection])[0], np.uint8))
                  for m in models)
    return FaceChips(name, detection.box, capture.thumbnail(image, detection.box, CROP_SIDE), chips)


# -- the grid and the map ----------------------------------------------------------------------

@dataclass(frozen=True)
class Grid:
    """Square patches of ``patch`` chip pixels, their top-left corners at ``origins`` along each
    axis (the same on both), over a chip of ``side`` pixels."""

    side: int
    patch: int
    origins: tuple[int, ...]

    @classmethod
    def over(cls, side: int, patch_fraction: float = PATCH_FRACTION, steps: int = STEPS) -> Grid:
        """``steps`` evenly spaced positions per axis of a patch ``patch_fraction`` of ``side`` (or
        larger, ``side / steps``, so that the patches together cover the whole chip), from one edge
        to the other."""
        if not 0.0 < float(patch_fraction) <= 1.0:
            raise ModelError(f"patch fraction {patch_fraction!r}: give a share of the chip's side over 0, at most 1")
        if int(steps) < 1:
            raise ModelError(f"steps {steps!r}: give at least 1 patch position per axis")
        patch = max(1, int(round(side * float(patch_fraction))), math.ceil(side / int(steps)))
        origins = np.unique(np.linspace(0, side - patch, int(steps)).round().astype(int))
        return cls(int(side), patch, tuple(int(o) for o in origins))

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.origins), len(self.origins)

    @property
    def size(self) -> int:
        return len(self.origins) ** 2

    @property
    def stride(self) -> float:
        """The mean step between patch positions, in chip pixels."""
        return float(np.diff(self.origins).mean()) if len(self.origins) > 1 else float(self.side)

    def boxes(self) -> list[Box]:
        """Every patch, row by row (top to bottom), each row left to right."""
        return [Box(x, y, x + self.patch, y + self.patch) for y in self.origins for x in self.origins]

    def centres(self) -> np.ndarray:
        """Patch centres along each axis, in chip pixels ``(n,)``."""
        return np.asarray(self.origins, np.float64) + self.patch / 2.0


def covered(chip: np.ndarray, grid: Grid) -> tuple[np.ndarray, tuple[int, int, int]]:
    """The chips to embed, ``uint8 (grid.size + 2, side, side, 3)``: the chip as it is, one copy per
    patch (in :meth:`Grid.boxes` order) with that patch painted the chip's mean colour, and one
    copy painted that colour whole. Also returns the colour (RGB)."""
    chip = np.asarray(chip, np.uint8)
    fill = tuple(int(v) for v in chip.reshape(-1, 3).mean(axis=0).round())
    out = np.repeat(chip[None], grid.size + 2, axis=0)
    for k, b in enumerate(grid.boxes(), 1):
        out[k, b.top:b.bottom, b.left:b.right] = fill
    out[-1] = fill
    return out, fill


@dataclass(frozen=True, eq=False)
class OcclusionMap:
    """How much covering each patch of one probe chip moved its distance to one reference.

    ``change`` is ``float64 (rows, cols)``, row ``i`` and column ``j`` being the patch at
    ``(grid.origins[j], grid.origins[i])``: the distance with that patch covered minus
    ``baseline`` (the distance with nothing covered). ``whole`` is the distance with the whole
    chip covered. ``embeddings`` counts the chips embedded (the grid, the uncovered chip and the
    wholly covered one), ``seconds`` the wall time of making and embedding them.
    """

    model: str
    metric: str
    chip: np.ndarray
    grid: Grid
    baseline: float
    change: np.ndarray
    whole: float
    embeddings: int
    seconds: float
    fill: tuple[int, int, int]

    @property
    def whole_change(self) -> float:
        return self.whole - self.baseline

    def at(self, x: float, y: float) -> float:
        """The change of the patch whose centre is nearest chip pixel ``(x, y)``."""
        c = self.grid.centres()
        return float(self.change[int(np.abs(c - y).argmin()), int(np.abs(c - x).argmin())])

    def strongest(self) -> tuple[Box, float]:
        """The patch that moved the distance most (either way), and its change."""
        k = int(np.abs(self.change).argmax())
        return self.grid.boxes()[k], float(self.change.reshape(-1)[k])

    def describe(self) -> str:
        """What the map is, in words: one probe, one reference, one model; the patch; the cost."""
        g = self.grid
        return (f"{self.model}: the probe's {g.side} x {g.side} px chip, patches of {g.patch} x {g.patch} px "
                f"covered one at a time with its mean colour ({g.shape[0]} x {g.shape[1]} positions, every "
                f"{g.stride:.0f} px); {self.metric} distance {self.baseline:.3f} uncovered, "
                f"{self.whole:.3f} covered whole. {self.embeddings} embeddings in {self.seconds:.1f} s.")


def occlusion_map(chip: np.ndarray, reference: np.ndarray, model: str, *, metric: str | None = None,
                  patch_fraction: float = PATCH_FRACTION, steps: int = STEPS) -> OcclusionMap:
    """Cover each patch of a probe's aligned ``chip`` in turn, re-embed, and measure the distance to
    ``reference`` (a ``model`` vector ``(dim,)``).

    Args:
        chip: RGB ``uint8`` ``(side, side, 3)``, made by ``model``'s ``aligned_chips``.
        reference: the vector the probe is compared with (another photo's face, a gallery face).
        model: a model :func:`explainable` accepts.
        metric: the distance (the model's own by default).
        patch_fraction, steps: the grid (:meth:`Grid.over`).

    All covered chips go through one ``embed_chips`` call.
    """
    if not explainable(model):
        raise ModelError(why_not(model))
    metric = metric or compare.default_metric(model)
    t0 = time.perf_counter()
    grid = Grid.over(int(np.asarray(chip).shape[0]), patch_fraction, steps)
    chips, fill = covered(chip, grid)
    d = compare.distances(embed.embed_chips(chips, model), np.atleast_2d(np.asarray(reference, np.float32)),
                          metric)[:, 0].astype(np.float64)
    base = float(d[0])
    return OcclusionMap(model, metric, np.asarray(chip, np.uint8), grid, base,
                        (d[1:-1] - base).reshape(grid.shape), float(d[-1]), len(chips),
                        time.perf_counter() - t0, fill)
