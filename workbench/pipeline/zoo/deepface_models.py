"""DeepFace's recognition models and detectors, through one generic adapter each.

They run when their weights are on disk (``config.weights_dir()``; nothing is downloaded unless
``WORKBENCH_ALLOW_DOWNLOADS=1``, see :func:`workbench.pipeline.models.deepface_model`). A face is
aligned by dlib's 5-point chip, resized to the model's input and embedded through DeepFace.
Dimensions and thresholds are DeepFace's (its tuned values). DeepFace's own ``SFace`` (the fp32
file) and ``yunet`` are not offered: those names mean OpenCV's, offline (``opencv_models``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from workbench.pipeline import models
from workbench.pipeline.zoo._base import Detector, Embedder, Found, Thresholds, register
from workbench.pipeline.zoo.dlib_models import SHAPE5, dlib_chips
from workbench.types import Box, Detection

RECOGNITION, DETECTION = "facial_recognition", "face_detector"


@dataclass(frozen=True)
class DeepFaceDetector(Detector):
    def load(self) -> None:
        models.deepface_model(DETECTION, self.name)
        super().load()

    def detect(self, image: np.ndarray, upsample: int) -> list[Found]:
        from workbench.pipeline.capture import rgb_to_bgr

        with models.use_deepface(DETECTION, self.name) as detector:
            regions = detector.detect_faces(rgb_to_bgr(image))
        return [(Box(int(r.x), int(r.y), int(r.x + r.w), int(r.y + r.h)), float(r.confidence or 0.0), None)
                for r in regions]


@dataclass(frozen=True)
class DeepFaceEmbedder(Embedder):
    def load(self) -> None:
        models.deepface_model(RECOGNITION, self.name)
        super().load()

    def aligned_chips(self, image: np.ndarray, detections: Sequence[Detection]) -> list[np.ndarray]:
        return dlib_chips(image, detections)

    def embed(self, image: np.ndarray, detections: Sequence[Detection]) -> np.ndarray:
        import cv2
        from deepface.modules import preprocessing

        with models.use_deepface(RECOGNITION, self.name) as client:
            target_h, target_w = client.input_shape[1], client.input_shape[0]
            batch = []
            for chip in self.aligned_chips(image, detections):
                bgr = cv2.resize(chip[:, :, ::-1], (target_w, target_h)).astype(np.float32) / 255.0
                batch.append(preprocessing.normalize_input(bgr[None, ...], normalization="base")[0])
            out = np.asarray(client.forward(np.stack(batch)), dtype=np.float32)
        return out.reshape(len(detections), -1)


for _name, _dim, _cosine, _euclidean in (
    ("Facenet", 128, 0.40, 10.0),
    ("Facenet512", 512, 0.30, 23.56),
    ("ArcFace", 512, 0.68, 4.15),
    ("VGG-Face", 4096, 0.68, 1.17),
    ("OpenFace", 128, 0.10, 0.55),
    ("GhostFaceNet", 512, 0.65, 35.71),
    ("DeepID", 160, 0.015, 45.0),
):
    register(DeepFaceEmbedder(_name, _dim, "cosine", Thresholds(_cosine, _euclidean), loads=(SHAPE5,)))

for _name in ("retinaface", "mtcnn", "fastmtcnn", "ssd", "centerface", "opencv", "mediapipe", "yolov8n", "yolov11n",
              "yolov11s", "yolov11m"):
    register(DeepFaceDetector(_name, upsample=False, loads=(SHAPE5,)))
