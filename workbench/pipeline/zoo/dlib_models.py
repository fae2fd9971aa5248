"""dlib's models (2017), on the weights of the ``face_recognition_models`` package.

* ``hog``: HOG + linear SVM (the default detector; fast on a CPU, frontal faces);
* ``cnn``: the MMOD CNN (slower, finds more angles);
* ``Dlib``: the ResNet embedding. dlib aligns each face from its five landmarks (dlib's scheme) to a
  150 x 150 chip and returns a 128-d vector; all faces of an image go through in one batch call.
  Euclidean distance, threshold 0.6 (dlib's and face_recognition's published tolerance).

A face found by a detector with other points (YuNet) gets dlib's from dlib's predictor, run in the
box HOG would have drawn (:func:`workbench.pipeline.align.dlib5_of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from workbench.pipeline import align, models
from workbench.pipeline.quality import QualityThresholds
from workbench.pipeline.zoo._base import Detector, Embedder, Found, Thresholds, register
from workbench.types import DLIB5, Box, Detection


def _dlib_model(factory: str, file_name: str | None = None):
    def load() -> Any:
        import dlib

        make = getattr(dlib, factory)
        return make(str(models.dlib_weights(file_name))) if file_name else make()

    return load


HOG = models.register_loader("dlib.hog", _dlib_model("get_frontal_face_detector"))
CNN = models.register_loader("dlib.cnn", _dlib_model("cnn_face_detection_model_v1", "mmod_human_face_detector.dat"))
SHAPE5 = models.register_loader("dlib.shape5", _dlib_model("shape_predictor", "shape_predictor_5_face_landmarks.dat"))
RESNET = models.register_loader("dlib.resnet", _dlib_model("face_recognition_model_v1",
                                                           "dlib_face_recognition_resnet_model_v1.dat"))


def _box(rect: Any) -> Box:
    return Box(int(rect.left()), int(rect.top()), int(rect.right()) + 1, int(rect.bottom()) + 1)


@dataclass(frozen=True)
class Hog(Detector):
    def detect(self, image: np.ndarray, upsample: int) -> list[Found]:
        with models.use(HOG) as hog:
            rects, scores, _ = hog.run(image, upsample, 0.0)
        return [(_box(r), float(s), None) for r, s in zip(rects, scores)]


@dataclass(frozen=True)
class MmodCnn(Detector):
    def detect(self, image: np.ndarray, upsample: int) -> list[Found]:
        with models.use(CNN) as cnn:
            found = cnn(image, upsample)
        return [(_box(d.rect), float(d.confidence), None) for d in found]


def shapes(image: np.ndarray, detections: Sequence[Detection]):
    """dlib shapes (box + dlib's five points) for the detections, converted when needed."""
    import dlib

    out = dlib.full_object_detections()
    for d in detections:
        points, b = align.dlib5_of(image, d)
        rect = dlib.rectangle(b.left, b.top, b.right - 1, b.bottom - 1)
        out.append(dlib.full_object_detection(rect, [dlib.point(int(round(x)), int(round(y))) for x, y in points]))
    return out


def dlib_chips(image: np.ndarray, detections: Sequence[Detection], side: int = 150) -> list[np.ndarray]:
    """Faces aligned on dlib's five points: RGB ``uint8`` chips ``(side, side, 3)`` (padding 0.25)."""
    import dlib

    if not detections:
        return []
    return list(dlib.get_face_chips(image, shapes(image, detections), size=side, padding=0.25))


def _vectors(descriptors: Any, dim: int) -> np.ndarray:
    return np.asarray([np.asarray(v) for v in descriptors], dtype=np.float32).reshape(-1, dim)


@dataclass(frozen=True)
class DlibResNet(Embedder):
    def aligned_chips(self, image: np.ndarray, detections: Sequence[Detection]) -> list[np.ndarray]:
        return dlib_chips(image, detections, self.chip_side or 150)

    def embed_chips(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        with models.use(RESNET) as resnet:
            return _vectors(resnet.compute_face_descriptor([np.ascontiguousarray(c) for c in chips]), self.dim)

    def embed(self, image: np.ndarray, detections: Sequence[Detection]) -> np.ndarray:
        found = shapes(image, detections)  # dlib cuts each chip itself: the same vectors as embed_chips
        with models.use(RESNET) as resnet:
            return _vectors(resnet.compute_face_descriptor(image, found), self.dim)


#: Lengths (L2 norms) a real dlib ResNet vector can have. Measured on every face dlib found in
#: the shared photos (all of deepface-unit, face-recognition-examples and retinaface, plus 500
#: random LFW and 500 random UTKFace photos: 1,134 vectors): 1.197 to 1.689, mean 1.422, sd
#: 0.074 (dlib's vectors are not unit length). The bounds sit over 5 sd beyond both extremes:
#: a vector outside them was not made by dlib (a crafted, scaled or corrupted file).
DLIB_NORM = (0.8, 2.0)

register(Hog("hog", DLIB5, upsample=True, shipped=True, loads=(HOG, SHAPE5)))
register(MmodCnn("cnn", DLIB5, upsample=True, shipped=True, loads=(CNN, SHAPE5)))
#: Dlib's gate, set from its curves by the robustness lab's rule (evaluation.stats.robustness.gate_from_curves:
#: the most degraded level whose misses (and false matches) are not shown, 95 % lower bound, to be over twice
#: those on the photos as they are; the limit lets 90 % of that level's faces through). LFW fold 1, the first
#: 100 same- and 100 different-person pairs, hog + Dlib (`workbench eval robustness --per-fold 100`): misses
#: 2 of 100 as photographed, 2 with faces 40 px wide, 6 at 32 px, 60 at 24 px (HOG finds no face in 104 of
#: 184 photos): the limit is HOG's box at 32 px, 37 px (HOG's boxes never go under 37 px; the old minimum was
#: 36). Blur: 4 misses at sigma 2 px (on a 100-px face), 27 at sigma 4: the sharpness 90 % of the faces at
#: sigma 2 reach, 0.0039 (the old 0.010 turned away 141 of 184 such faces that Dlib still recognised).
DLIB_GATE = QualityThresholds(min_size=37, min_sharpness=0.0039, owner="Dlib")

register(DlibResNet(
    "Dlib", 128, "euclidean", Thresholds(cosine=0.07, euclidean=0.6), scheme=DLIB5, chip_side=150, norm=DLIB_NORM,
    gate=DLIB_GATE, shipped=True, detector="hog", loads=(RESNET, SHAPE5),
    published="99.38 % with 100 jittered copies of each face, 99.13 % without (dlib's example; the workbench "
              "does not jitter)"))
