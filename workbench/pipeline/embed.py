"""Stage 4: align and embed. Faces in, one vector per face out, tagged with the model.

What a model is and how it aligns and embeds is its entry in the zoo
(:mod:`workbench.pipeline.zoo`): ``Dlib`` (dlib's ResNet, the default), ``SFace`` (OpenCV's, on
vendored int8 weights) and DeepFace's models. These functions are the stage's verbs; each asks the
model's entry, and none knows a model by name.

Every detector works with every model: a face found with one landmark scheme is converted to the
scheme the model aligns on (:mod:`workbench.pipeline.align` says how close each conversion comes).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from workbench.pipeline import zoo
from workbench.types import Detection, Embedding

#: The zoo's default model (declared in :mod:`workbench.pipeline.zoo`), for the callers that import it here.
DEFAULT_MODEL = zoo.DEFAULT_MODEL


def model_info(name: str) -> zoo.Embedder:
    """The zoo's entry of model ``name`` (its size, metric, thresholds ...); one line when unknown."""
    return zoo.embedder(name)


def implausible(vectors: np.ndarray, model: str) -> tuple[np.ndarray, str]:
    """Which rows of ``vectors`` ``(N, dim)`` cannot be ``model``'s face vectors, and why
    (:meth:`workbench.pipeline.zoo.Embedder.implausible`)."""
    return zoo.embedder(model).implausible(vectors)


def aligned_chips(image: np.ndarray, detections: Sequence[Detection], *, model: str = DEFAULT_MODEL
                  ) -> list[np.ndarray]:
    """Faces aligned as ``model`` wants them: RGB ``uint8`` chips (``Dlib``: 150 x 150 on dlib's five
    points; ``SFace``: 112 x 112 on YuNet's)."""
    return zoo.embedder(model).aligned_chips(image, detections) if detections else []


def embed_faces(image: np.ndarray, detections: Sequence[Detection], model: str = DEFAULT_MODEL) -> np.ndarray:
    """Embed every detected face of one image, in one batch.

    Args:
        image: RGB ``uint8`` ``(H, W, 3)``.
        detections: faces of this image (their landmarks drive alignment).
        model: a name from :func:`workbench.pipeline.zoo.embedder_names`.

    Returns:
        ``float32`` array ``(len(detections), dim)``; ``(0, dim)`` when there is no face.
    """
    entry = zoo.embedder(model)
    if not detections:
        return np.zeros((0, entry.dim), dtype=np.float32)
    return np.asarray(entry.embed(image, detections), np.float32).reshape(len(detections), entry.dim)


def takes_chips(model: str) -> bool:
    """Whether :func:`embed_chips` is offered for ``model`` (the live pipeline's worker path)."""
    return zoo.embedder(model).chip_side is not None


def embed_chips(chips: Sequence[np.ndarray], model: str = DEFAULT_MODEL) -> np.ndarray:
    """Embed faces already aligned by :func:`aligned_chips` for the same ``model`` (RGB ``uint8``).

    The same vectors :func:`embed_faces` gives for the detections the chips came from;
    ``float32 (len(chips), dim)``.
    """
    entry = zoo.embedder(model)
    if not len(chips):
        return np.zeros((0, entry.dim), dtype=np.float32)
    return np.asarray(entry.embed_chips(chips), np.float32).reshape(len(chips), entry.dim)


def to_embeddings(vectors: np.ndarray, model: str) -> list[Embedding]:
    """Wrap rows of a ``(N, D)`` array as :class:`Embedding` records of ``model``."""
    return [Embedding(np.asarray(v, dtype=np.float32), model) for v in vectors]
