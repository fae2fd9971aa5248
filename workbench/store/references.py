"""Reference impostor sets of the scale answer: one ``.npz`` file per data set and model, outside
the repository (:func:`workbench.config.references_dir`), built by hand with
``workbench eval scale-reference`` and read at answer time.

A file holds, for every photo of the data set already embedded (the build is resumable: it
writes the file again after each chunk), its relative path, its person (LFW's folder) or its
group (UTKFace's labels), and its vector (or none, with the reason); and, as JSON, what made the
vectors (model, detector, upsampling, face rule) and how many photos the data set has. Vectors
are public-figure or research photos, never gallery faces: purging a database leaves them.
Every read names the model and checks it against the file's own.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workbench.errors import WorkbenchError

#: Data sets a reference can be built from.
DATASETS = ("lfw", "utkface")
FORMAT = 1


@dataclass(frozen=True, eq=False)
class Reference:
    """One reference set: per photo ``paths[i]``, ``labels[i]`` (person or group) and, when a face
    was embedded, ``vectors[i]`` (rows of failed photos are NaN; ``failed[i]`` says why)."""

    dataset: str
    model: str
    detector: str
    paths: np.ndarray          # str, relative to the data set's folder
    labels: np.ndarray         # str: LFW person / UTKFace group
    vectors: np.ndarray        # float32 (photos, dim); NaN rows where no face
    failed: np.ndarray         # str: "" or the reason
    meta: dict = field(default_factory=dict)  # upsample, max_side, face_rule, total photos, built

    @property
    def embedded(self) -> np.ndarray:
        return self.failed == ""

    @property
    def complete(self) -> bool:
        return len(self.paths) >= int(self.meta.get("total", 0))


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def path_for(folder: str | os.PathLike, dataset: str, model: str, detector: str) -> Path:
    """``<folder>/<dataset>-<model>-<detector>.npz`` (names made safe for a file name)."""
    return Path(folder) / f"{_safe(dataset)}-{_safe(model)}-{_safe(detector)}.npz"


def save(path: str | os.PathLike, ref: Reference) -> Path:
    """Write ``ref`` to ``path`` atomically (a stopped build leaves the previous file whole)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    meta = dict(ref.meta, dataset=ref.dataset, model=ref.model, detector=ref.detector, format=FORMAT)
    with open(tmp, "wb") as fh:
        np.savez(fh, paths=np.asarray(ref.paths, str), labels=np.asarray(ref.labels, str),
                 vectors=np.asarray(ref.vectors, np.float32), failed=np.asarray(ref.failed, str),
                 meta=np.array(json.dumps(meta)))
    os.replace(tmp, path)
    return path


def load(path: str | os.PathLike, model: str) -> Reference:
    """Read a reference file made with ``model`` (a file of another model is refused)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            ref = Reference(meta["dataset"], meta["model"], meta["detector"], z["paths"], z["labels"],
                            z["vectors"], z["failed"], meta)
    except (OSError, ValueError, KeyError) as err:
        raise WorkbenchError(f"{path}: not a readable reference file ({err}); build it again") from None
    if ref.model != model:
        raise WorkbenchError(f"{path}: vectors of model {ref.model}, asked for {model}")
    return ref


def find(folder: str | os.PathLike, dataset: str, model: str, detector: str) -> Path | None:
    """The reference of ``dataset`` for ``model``: the file of ``detector`` when built, else one of
    another detector with the same model (the answer says which), else ``None``."""
    exact = path_for(folder, dataset, model, detector)
    if exact.is_file():
        return exact
    for p in sorted(Path(folder).glob(f"{_safe(dataset)}-{_safe(model)}-*.npz")):
        try:
            with np.load(p, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
        except (OSError, ValueError, KeyError):
            continue
        if meta.get("model") == model and meta.get("dataset") == dataset:
            return p
    return None
