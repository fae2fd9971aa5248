"""The pipeline layer: pixels in, faces and vectors out. No storage, no search.

One module per stage (``capture`` -> ``detect`` -> ``quality`` -> ``embed`` -> ``compare``),
the registry of models and detectors (``zoo``: one entry each), loading weights (``models``), the
stages chained with per-stage timings (``analyze``) and worker processes for many images
(``parallel``). Add a detector or a model as one module in ``zoo/``.
"""

from workbench.pipeline.analyze import (
    Analysis,
    Comparison,
    FaceChoice,
    Settings,
    analyze,
    analyze_source,
    choose_face,
    compare_analyses,
    compare_photos,
    main_face,
    verify,
)

__all__ = ["Analysis", "Comparison", "FaceChoice", "Settings", "analyze", "analyze_source", "choose_face",
           "compare_analyses", "compare_photos", "main_face", "verify"]
