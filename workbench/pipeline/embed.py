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
    """A recognition model: its vector size, the metric its threshold is quoted in, and the
    range of vector lengths (L2 norms) it really produces, where measured (``None``: not
    measured here, since only Dlib's weights ship offline; then only finite, non-zero vectors
    are required)."""

    name: str
    dim: int
    metric: str
    norm: tuple[float, float] | None = None


#: Lengths (L2 norms) a real dlib ResNet vector can have. Measured on every face dlib found in
#: the shared photos (all of deepface-unit, face-recognition-examples and retinaface, plus 500
#: random LFW and 500 random UTKFace photos: 1,134 vectors): 1.197 to 1.689, mean 1.422, sd
#: 0.074 (dlib's vectors are not unit length). The bounds sit over 5 sd beyond both extremes:
#: a vector outside them was not made by dlib (a crafted, scaled or corrupted file).
DLIB_NORM = (0.8, 2.0)

#: Every model the workbench can embed with. Dimensions are DeepFace's.
MODELS: dict[str, ModelInfo] = {
    m.name: m
    for m in (
        ModelInfo("Dlib", 128, "euclidean", norm=DLIB_NORM),
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


def implausible(vectors: np.ndarray, model: str) -> tuple[np.ndarray, str]:
    """Which rows of ``vectors`` ``(N, dim)`` cannot be ``model``'s face vectors, and why.

    A vector must be finite, and its length (L2 norm) inside the range the model really
    produces (:attr:`ModelInfo.norm`), or above zero where that range was not measured.
    Returns a boolean mask ``(N,)`` (True = refused) and the rule in words, for one line.
    """
    info = model_info(model)
    v = np.asarray(vectors, np.float64).reshape(len(vectors), -1)
    finite = np.isfinite(v).all(axis=1)
    norms = np.where(finite, np.linalg.norm(np.where(np.isfinite(v), v, 0.0), axis=1), np.nan)
    lo, hi = info.norm or (0.0, np.inf)
    with np.errstate(invalid="ignore"):
        bad = ~finite | (norms <= 0) | (norms < lo) | (norms > hi)
    rule = (f"finite values, of length {lo:g} to {hi:g} (the range of real {model} vectors)" if info.norm
            else "finite values, not all zero")
    return bad, rule


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
