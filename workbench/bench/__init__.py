"""Benchmarks, run by hand (`workbench bench ...`), reported as ratios to a baseline timed in
the same run: these machines are shared and noisy, so absolute times mean little.

One module per benchmark: ``detect`` (HOG at full size vs downscaled), ``enrol`` (against
``DeepFace.represent``), ``video`` (the live loop against DeepFace on every frame),
``search`` (vectorised vs a loop, exact and faiss indexes at scale, ``DeepFace.find``);
``synthetic`` draws the face-like galleries they search.
"""
