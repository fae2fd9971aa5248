"""Where things live on disk, resolved once from the environment.

* ``WORKBENCH_DB``: the gallery database (default ``data/workbench.duckdb``).
* ``WORKBENCH_MODELS``: the folder used as ``DEEPFACE_HOME``; DeepFace looks for weights in
  ``<it>/.deepface/weights``. Default: ``data/models`` of the checkout the package runs from,
  or, for an installed package, ``$XDG_DATA_HOME/face-workbench/models`` (``~/.local/share/...``).
  Never relative to the folder a command is run from.
* ``WORKBENCH_ALLOW_DOWNLOADS=1``: let DeepFace fetch missing weights from the internet.
  Off by default: the workbench must run offline.
* ``WORKBENCH_REFERENCES``: where the scale answer's reference impostor sets are kept (built by
  hand with ``workbench eval scale-reference``). Default: ``data/references`` of the checkout, or
  ``$XDG_DATA_HOME/face-workbench/references`` for an installed package.
* ``WORKBENCH_FACES``: the folder of shared photos (default ``../shared/data/faces``), which also
  holds the research data sets (LFW, UTKFace) when the user has them.

The package ships a small set of demo photos (``workbench/demo``, see its ``SOURCES.md``), at the
same relative paths as in the shared folder: :func:`photos_dir` is the shared folder when present,
else the demo, so the app, the tour and most tests work from a bare clone.
"""

from __future__ import annotations

import functools
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
    """The project-controlled ``DEEPFACE_HOME`` folder, as an absolute path (see the module doc):
    the same folder whichever directory a command runs from."""
    env = os.environ.get("WORKBENCH_MODELS")
    if env:
        return Path(env).expanduser().resolve()
    root = project_root()
    if (root / "pyproject.toml").is_file():  # a checkout (the editable install): its own data folder
        return root / DEFAULT_MODELS
    return user_data_dir() / "models"


def references_dir() -> Path:
    """The scale answer's reference sets (see the module doc), as an absolute path."""
    env = os.environ.get("WORKBENCH_REFERENCES")
    if env:
        return Path(env).expanduser().resolve()
    root = project_root()
    if (root / "pyproject.toml").is_file():
        return root / "data" / "references"
    return user_data_dir() / "references"


def user_data_dir() -> Path:
    """The user's data folder for the workbench: ``$XDG_DATA_HOME/face-workbench``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser().resolve() / "face-workbench"


def weights_dir() -> Path:
    """Where DeepFace expects weight files: ``<models_home>/.deepface/weights`` (absolute)."""
    return models_home() / ".deepface" / "weights"


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


#: Research data sets of the shared folder: read by the evaluations (LFW's pairs, the UTKFace
#: audit), never offered in the app's photo pickers. Listed there, their 15,332 file names went
#: into every rerun of the Search, Compare and Enrol pages (1.4 s of listing, about 600 kB sent).
RESEARCH_SETS = ("lfw", "utkface-balanced")


def demo_files(base: Path) -> tuple[str, ...]:
    """Relative names of the files under ``base`` (sorted), outside :data:`RESEARCH_SETS`.

    Listed once per process and folder state: the answer is kept until a file or folder is added
    to or removed from ``base`` itself or one of its sub-folders (their modification times and
    entry counts)."""
    stamps = tuple(sorted((p.name, p.stat().st_mtime_ns, len(os.listdir(p))) for p in _top_dirs(base)))
    return _demo_files(str(base), (base.stat().st_mtime_ns, len(os.listdir(base))), stamps)


def _top_dirs(base: Path) -> list[Path]:
    return [p for p in base.iterdir() if p.is_dir() and p.name not in RESEARCH_SETS]


@functools.lru_cache(maxsize=8)
def _demo_files(base: str, _stamp: tuple, _dirs: tuple) -> tuple[str, ...]:
    root = Path(base)
    found = [p for p in root.iterdir() if p.is_file()]
    for d in _top_dirs(root):
        found += [p for p in d.rglob("*") if p.is_file()]
    return tuple(sorted(str(p.relative_to(root)) for p in found))
