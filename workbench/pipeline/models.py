"""Loading weights: lazily, once per process, by name, and one caller at a time.

Which models exist, and what they are, is the zoo's business (:mod:`workbench.pipeline.zoo`, one
entry per model); its families declare here how each set of weights loads (:func:`register_loader`)
and which shipped files carry which sha256 (:func:`vendor`). Nothing is loaded at import time.
``get(name)`` runs the loader the first time and caches the result; loads are serialised by a lock
so two threads never build the same model twice.

DeepFace models go through :func:`deepface_model`, which first points ``DEEPFACE_HOME`` at a
folder the project controls, links dlib's weights from the ``face_recognition_models``
package into it, and refuses run-time downloads (unless ``WORKBENCH_ALLOW_DOWNLOADS=1``):
a missing weight file becomes one :class:`~workbench.errors.WeightsMissingError` line naming
the file and the folder to place it in.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from workbench import config
from workbench.errors import ModelError, WeightsCorruptError, WeightsMissingError

_lock = threading.RLock()
_cache: dict[str, Any] = {}
_use_locks: dict[str, threading.Lock] = {}
_loads: dict[str, int] = {}


def dlib_weights(file_name: str) -> Path:
    """Path of a weight file shipped inside the ``face_recognition_models`` package."""
    import face_recognition_models

    path = Path(face_recognition_models.__file__).parent / "models" / file_name
    if not path.is_file():
        raise WeightsMissingError(
            f"missing model weights {file_name}: reinstall face_recognition_models "
            f"(expected at {path})"
        )
    return path


#: Weights shipped inside the package (``workbench/weights/``, with their licences and sources in
#: ``SOURCES.md``), file name -> sha256, filled by the zoo's families (:func:`vendor`). Checked at load.
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
VENDORED_SHA256: dict[str, str] = {}


def vendor(file_name: str, sha256: str) -> str:
    """Declare a weight file shipped in ``workbench/weights`` and its digest; returns the name."""
    VENDORED_SHA256[file_name] = sha256
    return file_name


def vendored_weights(file_name: str, folder: Path | None = None) -> Path:
    """Path of a weight file shipped in ``workbench/weights``, after checking its sha256.

    Raises:
        WeightsMissingError: the file is not there (a broken install).
        WeightsCorruptError: its content is not the file that was shipped (one line, both digests).
    """
    import hashlib

    path = (folder or WEIGHTS_DIR) / file_name
    if not path.is_file():
        raise WeightsMissingError(f"missing model weights {file_name}: reinstall face-workbench "
                                  f"(expected at {path})")
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    want = VENDORED_SHA256[file_name]
    if h.hexdigest() != want:
        raise WeightsCorruptError(f"model weights {path} are damaged or were replaced: sha256 {h.hexdigest()[:16]}... "
                                  f"is not the shipped {want[:16]}...; reinstall face-workbench")
    return path


#: Name -> loader of everything :func:`get` can load, filled by the zoo's families
#: (:func:`register_loader`; names like ``dlib.resnet`` or ``opencv.yunet``).
LOADERS: dict[str, Callable[[], Any]] = {}


def register_loader(name: str, loader: Callable[[], Any]) -> str:
    """Declare how to load the model ``name`` (called once per process, on first use); returns the name."""
    LOADERS[name] = loader
    return name


def _zoo() -> None:
    import workbench.pipeline.zoo  # noqa: F401 - importing the zoo registers every family's loaders


def limit_threads(n: int | None) -> None:
    """At most ``n`` OpenCV threads in this process (``None``: leave OpenCV's default, one per core).

    For processes that each run one job of many (camera processes), where OpenCV's own threads
    per process queue for the same cores (8 camera processes with 2 threads each on 2 cores). The
    vectors are the same either way; whether it pays depends on the machine (see
    :class:`~workbench.live.camera_worker.WorkerConfig`).
    """
    if n:
        import cv2

        cv2.setNumThreads(int(n))


def get(name: str) -> Any:
    """The model registered as ``name``, loaded on first use and cached for the process."""
    _zoo()
    if name not in LOADERS:
        raise ModelError(f"unknown model {name!r}; known: {', '.join(sorted(LOADERS))}")
    with _lock:
        if name not in _cache:
            _cache[name] = LOADERS[name]()
            _loads[name] = _loads.get(name, 0) + 1
        return _cache[name]


def load_counts() -> dict[str, int]:
    """How many times this process has built each model (the app's workers: once each)."""
    with _lock:
        return dict(_loads)


def _use_lock(key: str) -> threading.Lock:
    with _lock:
        return _use_locks.setdefault(key, threading.Lock())


@contextmanager
def use(name: str) -> Iterator[Any]:
    """The model ``name``, held exclusively while the block runs.

    dlib's detectors and networks keep scratch buffers inside the object and crash when two
    threads (two app sessions, or a session and the WebRTC thread) call one at once, so
    every call goes through here: one instance per process, one caller at a time.
    """
    model = get(name)
    with _use_lock(name):
        yield model


def loaded() -> list[str]:
    """Names of the models loaded so far in this process."""
    with _lock:
        return sorted(_cache)


# --- DeepFace ------------------------------------------------------------------------------

# dlib files DeepFace's `Dlib` model and `dlib` detector look for, all shipped by the
# face_recognition_models package.
_DEEPFACE_DLIB_FILES = (
    "dlib_face_recognition_resnet_model_v1.dat",
    "shape_predictor_5_face_landmarks.dat",
)


def prepare_deepface() -> Path:
    """Point DeepFace at the project's weights folder and guard its downloader.

    Returns the weights folder. Safe to call many times.
    """
    weights = config.weights_dir()
    os.environ["DEEPFACE_HOME"] = str(weights.parent.parent)
    os.environ.setdefault("DEEPFACE_BACKEND_ENGINE", "onnx")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    weights.mkdir(parents=True, exist_ok=True)
    for name in _DEEPFACE_DLIB_FILES:
        target = weights / name
        if not target.exists():
            try:
                target.symlink_to(dlib_weights(name))
            except OSError:
                import shutil

                shutil.copyfile(dlib_weights(name), target)
    _guard_downloads()
    return weights


def _guard_downloads() -> None:
    """Wrap every weight downloader DeepFace reaches (its own and the retinaface package's)."""
    import importlib

    for module_name in ("deepface.commons.weight_utils", "retinaface.commons.weight_utils"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        original = module.download_weights_if_necessary
        if getattr(original, "_workbench_guard", False):
            continue
        module.download_weights_if_necessary = _guarded(original)


def _guarded(original: Callable[..., str]) -> Callable[..., str]:
    def guarded(file_name: str, *args: Any, **kwargs: Any) -> str:
        target = config.weights_dir() / file_name
        if target.is_file() or config.downloads_allowed():
            return original(file_name, *args, **kwargs)
        raise WeightsMissingError(
            f"missing model weights {file_name}: place it in {target.parent} "
            "(the workbench does not download at run time; set WORKBENCH_ALLOW_DOWNLOADS=1 to let it)"
        )

    guarded._workbench_guard = True  # type: ignore[attr-defined]
    return guarded


@contextmanager
def use_deepface(task: str, name: str) -> Iterator[Any]:
    """A DeepFace model held exclusively while the block runs (see :func:`use`)."""
    model = deepface_model(task, name)
    with _use_lock(f"deepface.{task}.{name}"):
        yield model


def deepface_model(task: str, name: str) -> Any:
    """A DeepFace model (``task`` is ``facial_recognition`` or ``face_detector``), cached here."""
    key = f"deepface.{task}.{name}"
    with _lock:
        if key in _cache:
            return _cache[key]
        prepare_deepface()
        from deepface.modules import modeling

        try:
            model = modeling.get_model_class(task=task, model_name=name)()
        except WeightsMissingError:
            raise
        except ValueError as err:
            cause = err.__cause__ or err.__context__
            if isinstance(cause, WeightsMissingError):  # wrapped by the model's own loader
                raise cause from None
            raise ModelError(f"DeepFace cannot build {task} {name!r}: {err}") from None
        except KeyError as err:
            raise ModelError(f"DeepFace cannot build {task} {name!r}: {err}") from None
        except ImportError as err:
            raise ModelError(f"DeepFace {name!r} needs a package that is not installed: {err}") from None
        _cache[key] = model
        return model
