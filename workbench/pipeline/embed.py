"""Stage 4: align and embed. Faces in, one vector per face out, tagged with the model.

``Dlib`` (the default) runs dlib's ResNet directly: dlib aligns each face from its five
landmarks to a 150 x 150 chip and returns a 128-d vector; all faces of an image go through
in one batch call. Any other name is a DeepFace recognition model: the face is aligned by
the same 5-point chip, resized to the model's input and embedded through DeepFace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from workbench.errors import ModelError
from workbench.pipeline import models
from workbench.types import Detection, Embedding

DEFAULT_MODEL = "Dlib"


@dataclass(frozen=True)
class ModelInfo:
    """A recognition model: its vector size and the metric its threshold is quoted in."""

    name: str
    dim: int
    metric: str


#: Every model the workbench can embed with. Dimensions are DeepFace's.
MODELS: dict[str, ModelInfo] = {
    m.name: m
    for m in (
        ModelInfo("Dlib", 128, "euclidean"),
        ModelInfo("Facenet", 128, "cosine"),
        ModelInfo("Facenet512", 512, "cosine"),
        ModelInfo("ArcFace", 512, "cosine"),
        ModelInfo("SFace", 128, "cosine"),
        ModelInfo("VGG-Face", 4096, "cosine"),
        ModelInfo("OpenFace", 128, "cosine"),
        ModelInfo("GhostFaceNet", 512, "cosine"),
        ModelInfo("DeepID", 160, "cosine"),
    )
}


def model_info(name: str) -> ModelInfo:
    try:
        return MODELS[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}") from None


def _shapes(detections: Sequence[Detection]):
    import dlib

    shapes = dlib.full_object_detections()
    for d in detections:
        b = d.box
        rect = dlib.rectangle(b.left, b.top, b.right - 1, b.bottom - 1)
        pts = [dlib.point(int(round(x)), int(round(y))) for x, y in d.landmarks]
        shapes.append(dlib.full_object_detection(rect, pts))
    return shapes


def aligned_chips(image: np.ndarray, detections: Sequence[Detection], size: int = 150) -> list[np.ndarray]:
    """Face chips aligned on the 5 landmarks: RGB ``uint8`` ``(size, size, 3)`` each."""
    import dlib

    if not detections:
        return []
    return list(dlib.get_face_chips(image, _shapes(detections), size=size, padding=0.25))


def embed_faces(
    image: np.ndarray, detections: Sequence[Detection], model: str = DEFAULT_MODEL
) -> np.ndarray:
    """Embed every detected face of one image, in one batch.

    Args:
        image: RGB ``uint8`` ``(H, W, 3)``.
        detections: faces of this image (their landmarks drive alignment).
        model: a name from :data:`MODELS`.

    Returns:
        ``float32`` array ``(len(detections), dim)``; ``(0, dim)`` when there is no face.
    """
    info = model_info(model)
    if not detections:
        return np.zeros((0, info.dim), dtype=np.float32)
    if model == "Dlib":
        shapes = _shapes(detections)
        with models.use("dlib.resnet") as resnet:
            vecs = resnet.compute_face_descriptor(image, shapes)
        return np.asarray([np.asarray(v) for v in vecs], dtype=np.float32).reshape(-1, info.dim)
    return _embed_deepface(image, detections, info)


def embed_chips(chips: Sequence[np.ndarray], model: str = DEFAULT_MODEL) -> np.ndarray:
    """Embed faces already aligned by :func:`aligned_chips` (150 x 150 RGB ``uint8`` each).

    The same vectors :func:`embed_faces` gives for the detections the chips came from
    (dlib aligns to that chip itself); ``float32 (len(chips), dim)``.
    """
    info = model_info(model)
    if not len(chips):
        return np.zeros((0, info.dim), dtype=np.float32)
    if model != "Dlib":
        raise ModelError(f"embedding pre-aligned chips is implemented for Dlib only, not {model!r}")
    with models.use("dlib.resnet") as resnet:
        vecs = resnet.compute_face_descriptor([np.ascontiguousarray(c) for c in chips])
    return np.asarray([np.asarray(v) for v in vecs], dtype=np.float32).reshape(-1, info.dim)


def _embed_deepface(image: np.ndarray, detections: Sequence[Detection], info: ModelInfo) -> np.ndarray:
    import cv2
    from deepface.modules import preprocessing

    with models.use_deepface("facial_recognition", info.name) as client:
        target_h, target_w = client.input_shape[1], client.input_shape[0]
        batch = []
        for chip in aligned_chips(image, detections):
            bgr = cv2.resize(chip[:, :, ::-1], (target_w, target_h)).astype(np.float32) / 255.0
            batch.append(preprocessing.normalize_input(bgr[None, ...], normalization="base")[0])
        out = np.asarray(client.forward(np.stack(batch)), dtype=np.float32)
    return out.reshape(len(detections), -1)


def to_embeddings(vectors: np.ndarray, model: str) -> list[Embedding]:
    """Wrap rows of a ``(N, D)`` array as :class:`Embedding` records of ``model``."""
    return [Embedding(np.asarray(v, dtype=np.float32), model) for v in vectors]
