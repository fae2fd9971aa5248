"""Stage 4: align and embed. Faces in, one vector per face out, tagged with the model.

* ``Dlib`` (the default, 2017) runs dlib's ResNet directly: dlib aligns each face from its five
  landmarks to a 150 x 150 chip and returns a 128-d vector; all faces of an image go through
  in one batch call. Euclidean distance, threshold 0.6.
* ``SFace`` (2021) is OpenCV's ``FaceRecognizerSF`` on OpenCV Zoo's int8 weights, shipped in
  the package: each face is aligned on YuNet's five points to 112 x 112 (OpenCV's own
  ``alignCrop``) and gives a 128-d vector, stored at unit length. Cosine distance.
* Any other name is a DeepFace recognition model: the face is aligned by dlib's 5-point chip,
  resized to the model's input and embedded through DeepFace (weights must be on disk).

Every detector works with both shipped models: a face found by YuNet gets dlib's points from
dlib's predictor in a HOG-shaped box for ``Dlib``, and a face found by HOG (or any detector
with dlib's points) gets YuNet-style points by template for ``SFace``
(:mod:`workbench.pipeline.align` says how close each conversion comes to the native pair).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from workbench.errors import ModelError
from workbench.pipeline import align, models
from workbench.types import Detection, Embedding

DEFAULT_MODEL = "Dlib"


@dataclass(frozen=True)
class ModelInfo:
    """A recognition model: its vector size, the metric its threshold is quoted in, what runs it
    (``dlib``, ``opencv`` or ``deepface``), whether its vectors are stored at unit length, and the
    range of vector lengths (L2 norms) it really produces, where measured (``None``: not
    measured; then only finite, non-zero vectors are required)."""

    name: str
    dim: int
    metric: str
    backend: str = "deepface"
    unit_length: bool = False
    norm: tuple[float, float] | None = None


#: Lengths (L2 norms) a real dlib ResNet vector can have. Measured on every face dlib found in
#: the shared photos (all of deepface-unit, face-recognition-examples and retinaface, plus 500
#: random LFW and 500 random UTKFace photos: 1,134 vectors): 1.197 to 1.689, mean 1.422, sd
#: 0.074 (dlib's vectors are not unit length). The bounds sit over 5 sd beyond both extremes:
#: a vector outside them was not made by dlib (a crafted, scaled or corrupted file).
DLIB_NORM = (0.8, 2.0)
#: SFace's vectors are stored at unit length (``unit_length``): anything else was not made here.
SFACE_NORM = (0.99, 1.01)

#: Every model the workbench can embed with. ``Dlib`` and ``SFace`` run offline on weights that
#: ship with the package; the DeepFace models need their weights on disk (dimensions are DeepFace's).
#: DeepFace's own ``SFace`` (the fp32 file) is not offered: the name means OpenCV's, offline.
MODELS: dict[str, ModelInfo] = {
    m.name: m
    for m in (
        ModelInfo("Dlib", 128, "euclidean", "dlib", norm=DLIB_NORM),
        ModelInfo("SFace", 128, "cosine", "opencv", unit_length=True, norm=SFACE_NORM),
        ModelInfo("Facenet", 128, "cosine"),
        ModelInfo("Facenet512", 512, "cosine"),
        ModelInfo("ArcFace", 512, "cosine"),
        ModelInfo("VGG-Face", 4096, "cosine"),
        ModelInfo("OpenFace", 128, "cosine"),
        ModelInfo("GhostFaceNet", 512, "cosine"),
        ModelInfo("DeepID", 160, "cosine"),
    )
}
#: Models whose weights ship with the package (no download, ever).
SHIPPED = ("Dlib", "SFace")
#: Side of SFace's aligned input.
SFACE_SIDE = 112


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


def _shapes(image: np.ndarray, detections: Sequence[Detection]):
    """dlib shapes (box + dlib's five points) for the detections, converted when needed."""
    import dlib

    shapes = dlib.full_object_detections()
    for d in detections:
        points, b = align.dlib5_of(image, d)
        rect = dlib.rectangle(b.left, b.top, b.right - 1, b.bottom - 1)
        pts = [dlib.point(int(round(x)), int(round(y))) for x, y in points]
        shapes.append(dlib.full_object_detection(rect, pts))
    return shapes


def _sface_rows(detections: Sequence[Detection]) -> list[np.ndarray]:
    """YuNet-style rows (box, five points, score) that ``FaceRecognizerSF.alignCrop`` takes."""
    rows = []
    for d in detections:
        b = d.box
        rows.append(np.array([b.left, b.top, b.width, b.height, *align.yunet5_of(d).reshape(-1), d.score],
                             dtype=np.float32))
    return rows


def aligned_chips(image: np.ndarray, detections: Sequence[Detection], size: int = 150, *,
                  model: str = DEFAULT_MODEL) -> list[np.ndarray]:
    """Faces aligned as ``model`` wants them: RGB ``uint8`` chips, ``(size, size, 3)`` on dlib's
    five points (``Dlib`` and the DeepFace models), or ``(112, 112, 3)`` on YuNet's (``SFace``)."""
    import dlib

    if not detections:
        return []
    if model_info(model).name == "SFace":
        from workbench.pipeline.capture import bgr_to_rgb, rgb_to_bgr

        bgr = rgb_to_bgr(image)
        with models.use("opencv.sface") as net:
            return [bgr_to_rgb(net.alignCrop(bgr, row)) for row in _sface_rows(detections)]
    return list(dlib.get_face_chips(image, _shapes(image, detections), size=size, padding=0.25))


def _sface_features(bgr_chips: Sequence[np.ndarray]) -> np.ndarray:
    """SFace vectors of 112 x 112 BGR chips, at unit length: ``float32 (N, 128)``."""
    with models.use("opencv.sface") as net:
        vecs = np.asarray([net.feature(np.ascontiguousarray(c)).reshape(-1) for c in bgr_chips], np.float32)
    vecs = vecs.reshape(-1, 128)
    return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)


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
    if info.name == "Dlib":
        shapes = _shapes(image, detections)
        with models.use("dlib.resnet") as resnet:
            vecs = resnet.compute_face_descriptor(image, shapes)
        return np.asarray([np.asarray(v) for v in vecs], dtype=np.float32).reshape(-1, info.dim)
    if info.name == "SFace":
        return _sface_features([c[:, :, ::-1] for c in aligned_chips(image, detections, model="SFace")])
    return _embed_deepface(image, detections, info)


#: Models whose aligned chips :func:`embed_chips` takes (the live pipeline's worker path).
CHIP_MODELS = ("Dlib", "SFace")


def embed_chips(chips: Sequence[np.ndarray], model: str = DEFAULT_MODEL) -> np.ndarray:
    """Embed faces already aligned by :func:`aligned_chips` for the same ``model`` (RGB ``uint8``).

    The same vectors :func:`embed_faces` gives for the detections the chips came from (both
    models align to that chip themselves); ``float32 (len(chips), dim)``.
    """
    info = model_info(model)
    if not len(chips):
        return np.zeros((0, info.dim), dtype=np.float32)
    if info.name not in CHIP_MODELS:
        raise ModelError(f"embedding pre-aligned chips is implemented for {', '.join(CHIP_MODELS)}, not {model!r}")
    if info.name == "SFace":
        return _sface_features([np.asarray(c)[:, :, ::-1] for c in chips])
    with models.use("dlib.resnet") as resnet:
        vecs = resnet.compute_face_descriptor([np.ascontiguousarray(c) for c in chips])
    return np.asarray([np.asarray(v) for v in vecs], dtype=np.float32).reshape(-1, info.dim)


def _embed_deepface(image: np.ndarray, detections: Sequence[Detection], info: ModelInfo) -> np.ndarray:
    import cv2
    from deepface.modules import preprocessing

    with models.use_deepface("facial_recognition", info.name) as client:
        target_h, target_w = client.input_shape[1], client.input_shape[0]
        batch = []
        for chip in aligned_chips(image, detections, model="Dlib"):
            bgr = cv2.resize(chip[:, :, ::-1], (target_w, target_h)).astype(np.float32) / 255.0
            batch.append(preprocessing.normalize_input(bgr[None, ...], normalization="base")[0])
        out = np.asarray(client.forward(np.stack(batch)), dtype=np.float32)
    return out.reshape(len(detections), -1)


def to_embeddings(vectors: np.ndarray, model: str) -> list[Embedding]:
    """Wrap rows of a ``(N, D)`` array as :class:`Embedding` records of ``model``."""
    return [Embedding(np.asarray(v, dtype=np.float32), model) for v in vectors]
