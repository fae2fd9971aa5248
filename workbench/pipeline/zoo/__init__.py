"""The model zoo: one registry entry per embedding model and per face detector.

Every other module asks here instead of branching on a model's name: :func:`embedder` and
:func:`detector` return the entry (what the model is, and its verbs), :func:`embedder_names` and
:func:`detector_names` list them (the default first, then those whose weights ship, then the rest),
:func:`combos` pairs each shipped model with its own detector and the others. The defaults are
:data:`DEFAULT_MODEL` and :data:`DEFAULT_DETECTOR` (yunet + SFace, for a new gallery), declared once in
``_base`` beside the 2017 comparison pair (:data:`COMPARISON_DETECTOR` + :data:`COMPARISON_MODEL`, hog +
Dlib); :func:`own_detector` is the detector a model ships with.

Each module of this folder is one family and registers its entries when imported; every module
here is imported with the package (so worker processes know the same models):

* ``dlib_models``: the ``hog`` and ``cnn`` detectors and the ``Dlib`` ResNet embedding;
* ``opencv_models``: the ``yunet`` and ``haar`` detectors and the ``SFace`` embedding (int8 weights
  vendored in ``workbench/weights``, sha256-checked);
* ``deepface_models``: DeepFace's other recognition models and detectors, one generic adapter.

To add a model, add one module here that subclasses :class:`Embedder` (or :class:`Detector`) and
calls :func:`register`. Nothing is loaded at import: the verbs load through
:mod:`workbench.pipeline.models`, lazily.
"""

from __future__ import annotations

import importlib
import pkgutil

from workbench.pipeline.zoo._base import (COMPARISON_DETECTOR, COMPARISON_MODEL, DEFAULT_DETECTOR, DEFAULT_MODEL,
                                          METRICS, Detector, Embedder, Found, Thresholds, combos, detector,
                                          detector_names, embedder, embedder_names, has_embedder, own_detector,
                                          register, registered, unregister)

for _module in pkgutil.iter_modules(__path__):  # sorted by name; the lists' order comes from _base._ordered
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["COMPARISON_DETECTOR", "COMPARISON_MODEL", "DEFAULT_DETECTOR", "DEFAULT_MODEL", "METRICS", "Detector",
           "Embedder", "Found", "Thresholds", "combos", "detector", "detector_names", "embedder", "embedder_names",
           "has_embedder", "own_detector", "register", "registered", "unregister"]
