"""OpenCV's models: YuNet (2023) and SFace (2021) on OpenCV Zoo's int8 weights, vendored in
``workbench/weights`` (licences and sources in ``SOURCES.md``; sha256 checked at load), and the
classic Haar cascade that ships with OpenCV.

* ``yunet``: a small CNN that finds faces from about 10 px, with five points of its own (scheme
  ``yunet5``). It looks at the image at its own size: ``upsample`` does not apply to it.
* ``haar``: the Haar cascade (many false positives); dlib's predictor places its points.
* ``SFace``: each face aligned on YuNet's five points to 112 x 112 (OpenCV's own ``alignCrop``; a
  face with dlib's points gets YuNet's by template, :func:`workbench.pipeline.align.yunet5_of`), a
  128-d vector stored at unit length. Cosine distance, OpenCV's published threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from workbench.errors import WeightsMissingError
from workbench.pipeline import align, models
from workbench.pipeline.quality import QualityThresholds
from workbench.pipeline.zoo._base import Detector, Embedder, Found, Thresholds, register
from workbench.pipeline.zoo.dlib_models import SHAPE5
from workbench.types import DLIB5, YUNET5, Box, Detection

YUNET_FILE = models.vendor("face_detection_yunet_2023mar_int8bq.onnx",
                           "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10")
SFACE_FILE = models.vendor("face_recognition_sface_2021dec_int8bq.onnx",
                           "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee")

#: YuNet's score threshold, NMS overlap and face cap. 0.6 (OpenCV's demos use 0.9): on LFW's
#: pairs, 0.9 finds no face in 32 of 2,320 photos and 0.6 in none (research12, folds 1-3); the
#: cap is far above any crowd photo (img3.jpg: 159 faces at 0.6).
YUNET_SCORE, YUNET_NMS, YUNET_TOP_K = 0.6, 0.3, 5000


def _yunet() -> Any:
    import cv2

    return cv2.FaceDetectorYN.create(str(models.vendored_weights(YUNET_FILE)), "", (320, 320), YUNET_SCORE,
                                     YUNET_NMS, YUNET_TOP_K)


def _sface() -> Any:
    import cv2

    return cv2.FaceRecognizerSF.create(str(models.vendored_weights(SFACE_FILE)), "")


def _haar() -> Any:
    import cv2

    path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
    if not path.is_file():
        raise WeightsMissingError(f"missing Haar cascade {path.name}: install opencv-contrib-python-headless<5 "
                                  f"(expected at {path.parent})")
    return cv2.CascadeClassifier(str(path))


YUNET = models.register_loader("opencv.yunet", _yunet)
SFACE = models.register_loader("opencv.sface", _sface)
HAAR = models.register_loader("opencv.haar", _haar)


@dataclass(frozen=True)
class YuNet(Detector):
    def detect(self, image: np.ndarray, upsample: int) -> list[Found]:
        from workbench.pipeline.capture import rgb_to_bgr

        h, w = image.shape[:2]
        with models.use(YUNET) as net:
            net.setInputSize((w, h))
            _, rows = net.detect(rgb_to_bgr(image))
        out: list[Found] = []
        for r in ([] if rows is None else rows):
            if not np.all(np.isfinite(r[:15])):  # seen on a noisy night photo: a row of infinities is no face
                continue
            x, y, bw, bh = (float(v) for v in r[:4])
            box = Box(int(round(x)), int(round(y)), int(round(x + bw)), int(round(y + bh)))
            out.append((box, float(r[14]), tuple((float(r[4 + 2 * k]), float(r[5 + 2 * k])) for k in range(5))))
        return out


@dataclass(frozen=True)
class HaarCascade(Detector):
    def detect(self, image: np.ndarray, upsample: int) -> list[Found]:
        import cv2

        gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
        f = 2.0**upsample
        if upsample:
            gray = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_LINEAR)
        with models.use(HAAR) as haar:
            rects, _, weights = haar.detectMultiScale3(gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24),
                                                       outputRejectLevels=True)
        return [(Box(int(x), int(y), int(x + w), int(y + h)).scaled(1.0 / f), float(s), None)
                for (x, y, w, h), s in zip(np.asarray(rects).reshape(-1, 4), np.asarray(weights).reshape(-1))]


@dataclass(frozen=True)
class SFace(Embedder):
    def aligned_chips(self, image: np.ndarray, detections: Sequence[Detection]) -> list[np.ndarray]:
        if not detections:
            return []
        rows = [np.array([d.box.left, d.box.top, d.box.width, d.box.height, *align.yunet5_of(d).reshape(-1), d.score],
                         dtype=np.float32) for d in detections]  # the YuNet-style rows alignCrop takes
        # alignCrop warps each channel alike, so the RGB image gives the RGB chip: the same pixels as
        # warping a BGR copy and flipping the chip back, without copying the whole photo
        image = np.ascontiguousarray(image)
        with models.use(SFACE) as net:
            return [net.alignCrop(image, row) for row in rows]

    def embed_chips(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        with models.use(SFACE) as net:
            vecs = np.asarray([net.feature(np.ascontiguousarray(np.asarray(c)[:, :, ::-1])).reshape(-1) for c in chips],
                              np.float32).reshape(-1, self.dim)
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)


register(YuNet("yunet", YUNET5, shipped=True, loads=(YUNET,)))
register(HaarCascade("haar", DLIB5, upsample=True, shipped=True, loads=(HAAR, SHAPE5)))
#: SFace's thresholds are OpenCV's published ones (cosine similarity 0.363, i.e. distance 0.637; L2
#: 1.128 between unit vectors), checked on the shared data (LFW, deepface-unit: see the README).
#: Its vectors are stored at unit length: any other length was not made here.
#: SFace's gate, set from its curves by the robustness lab's rule (see DLIB_GATE in dlib_models) on all 6,000
#: LFW View 2 pairs, yunet + SFace (`workbench eval robustness --folds 1-10 --combo yunet:SFace`, README):
#: misses 44 of 3,000 as photographed (1.5 %), 64 with faces 32 px wide (2.1 %), 164 at 24 px (5.5 %, 95 %
#: interval 4.7-6.3 %: shown to be over twice 1.5 %): the limit is YuNet's box at 32 px, 10th percentile 31 px.
#: Blur: 70 misses at sigma 2 px (2.3 %), 580 at sigma 4: sharpness 0.006 lets 90 % of the sigma-2 faces through.
#: The first 200 pairs of fold 1 had given 23 px and 0.0056 (3 of 100 missed at 24 px could not show a doubling).
#: The lab's curves, the gate set aside, still show what SFace makes of smaller faces (94.5 % of true matches
#: recognised at 24 px): the gate is the workbench's own line for naming someone, not the algorithm's limit.
SFACE_GATE = QualityThresholds(min_size=31, min_sharpness=0.006, owner="SFace")

register(SFace(
    "SFace", 128, "cosine", Thresholds(cosine=0.637, euclidean=1.128), scheme=YUNET5, chip_side=112,
    unit_length=True, norm=(0.99, 1.01), gate=SFACE_GATE, shipped=True, detector="yunet", loads=(SFACE,),
    published="99.40 % fp32, 99.32 % int8 (OpenCV Zoo, with YuNet)"))
