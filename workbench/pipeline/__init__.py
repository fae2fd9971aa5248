"""The pipeline layer: pixels in, faces and vectors out. No storage, no search.

One module per stage (``capture`` -> ``detect`` -> ``quality`` -> ``embed`` -> ``compare``),
the model registry (``models``), the stages chained with per-stage timings (``analyze``) and
worker processes for many images (``parallel``). Add a detector or a model in ``models``
(the loader) and ``detect``/``embed`` (the adapter).
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
