import subprocess
import sys
import time

import numpy as np
import pytest

from workbench import config
from workbench.errors import ModelError, WeightsMissingError
from workbench.pipeline import models
from workbench.pipeline.detect import detect_faces
from workbench.pipeline.embed import aligned_chips, embed_faces


def test_importing_the_package_loads_no_model():
    code = ("import workbench, workbench.cli, workbench.pipeline, workbench.search, workbench.pipeline.models as m;"
            "import sys; assert m.loaded() == [], m.loaded(); assert 'deepface' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr


def test_registry_loads_once_and_rejects_unknown_names(astronaut):
    detect_faces(astronaut)
    first = models.get("dlib.hog")
    assert models.get("dlib.hog") is first and "dlib.hog" in models.loaded()
    with pytest.raises(ModelError, match="unknown model"):
        models.get("nope")


def test_deepface_dlib_runs_offline_on_packaged_weights(astronaut):
    weights = models.prepare_deepface()
    assert (weights / "dlib_face_recognition_resnet_model_v1.dat").is_file()
    client = models.deepface_model("facial_recognition", "Dlib")
    dets = detect_faces(astronaut, "hog")[:1]
    chip_bgr = aligned_chips(astronaut, dets, model="Dlib")[0][:, :, ::-1]
    theirs = np.asarray(client.forward(chip_bgr[None]), np.float32)
    ours = embed_faces(astronaut, dets, "Dlib")[0]
    assert theirs.shape == (128,)
    assert np.linalg.norm(theirs - ours) < 1e-4  # the same network, reached two ways


@pytest.mark.parametrize("task,name,file_name", [
    ("facial_recognition", "Facenet512", "facenet512_weights.onnx"),
    ("face_detector", "retinaface", "retinaface.onnx"),
    ("face_detector", "yunet", "face_detection_yunet_2023mar.onnx"),
])
def test_missing_weights_are_one_clear_line_without_network(task, name, file_name):
    t0 = time.perf_counter()
    with pytest.raises(WeightsMissingError) as exc:
        models.deepface_model(task, name)
    msg = str(exc.value)
    assert file_name in msg and str(config.weights_dir()) in msg and "\n" not in msg
    assert time.perf_counter() - t0 < 20  # refused up front: no download attempt, no hang


def test_deepface_adapter_path_embeds_like_dlib_directly(astronaut):
    """The generic DeepFace route (aligned chip -> model.forward) run with DeepFace's Dlib."""
    from workbench.pipeline.zoo import Thresholds
    from workbench.pipeline.zoo.deepface_models import DeepFaceEmbedder

    dets = detect_faces(astronaut, "hog")[:1]
    deepface_dlib = DeepFaceEmbedder("Dlib", 128, "euclidean", Thresholds(0.07, 0.6))  # DeepFace's, not registered
    via_deepface = deepface_dlib.embed(astronaut, dets)
    direct = embed_faces(astronaut, dets, "Dlib")
    assert via_deepface.shape == (1, 128)
    assert np.linalg.norm(via_deepface[0] - direct[0]) < 0.02
