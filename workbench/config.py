"""Where things live on disk, resolved once from the environment.

* ``WORKBENCH_DB``: the gallery database (default ``data/workbench.duckdb``).
* ``WORKBENCH_MODELS``: the folder used as ``DEEPFACE_HOME`` (default ``data/models``);
  DeepFace looks for weights in ``<it>/.deepface/weights``.
* ``WORKBENCH_ALLOW_DOWNLOADS=1``: let DeepFace fetch missing weights from the internet.
  Off by default: the workbench must run offline.
* ``WORKBENCH_FACES``: the folder of shared photos (default ``../shared/data/faces``), which also
  holds the research data sets (LFW, UTKFace) when the user has them.

The package ships a small set of demo photos (``workbench/demo``, see its ``SOURCES.md``), at the
same relative paths as in the shared folder: :func:`photos_dir` is the shared folder when present,
else the demo, so the app, the tour and most tests work from a bare clone.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB = Path("data") / "workbench.duckdb"
DEFAULT_MODELS = Path("data") / "models"


def db_path(override: str | os.PathLike[str] | None = None) -> Path:
    """The database file: ``override``, else ``$WORKBENCH_DB``, else ``data/workbench.duckdb``."""
    if override:
        return Path(override)
    env = os.environ.get("WORKBENCH_DB")
    return Path(env) if env else DEFAULT_DB


def models_home() -> Path:
    """The project-controlled ``DEEPFACE_HOME`` folder."""
    env = os.environ.get("WORKBENCH_MODELS")
    return Path(env) if env else DEFAULT_MODELS


def weights_dir() -> Path:
    """Where DeepFace expects weight files: ``<models_home>/.deepface/weights``."""
    return models_home().resolve() / ".deepface" / "weights"


def downloads_allowed() -> bool:
    return os.environ.get("WORKBENCH_ALLOW_DOWNLOADS", "") in {"1", "true", "yes"}


def project_root() -> Path:
    """The checkout (or installed tree) that holds the ``workbench`` package and ``app.py``."""
    return Path(__file__).resolve().parent.parent


def faces_dir() -> Path | None:
    """The shared photos (and research data sets), or ``None`` when that folder is absent."""
    env = os.environ.get("WORKBENCH_FACES")
    candidates = [Path(env)] if env else []
    candidates += [project_root().parent / "shared" / "data" / "faces", Path("../shared/data/faces")]
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return None


def demo_dir() -> Path:
    """The demo photos inside the package (always present; listed in its ``SOURCES.md``)."""
    return Path(__file__).resolve().parent / "demo"


def photos_dir() -> Path:
    """The photos to offer: the shared folder when present, else the packaged demo photos."""
    return faces_dir() or demo_dir()
