"""Measurements behind two rules, run by hand on LFW's "View 2" pairs (``lfw-pairs.txt``):

* :func:`bench_face_choice`: verification accuracy when each photo gives its *largest* face
  (the old rule) and when it gives the face :func:`~workbench.pipeline.choose_face` picks
  (nearest the centre, weighted by size), with the same-person pairs one rule fixes or breaks;
* :func:`bench_face_size`: what the embedding is worth on small faces: each photo is shrunk so
  its face is S pixels wide, the full-size detection (landmarks scaled) is embedded on the
  shrunk photo, and the pairs are decided at the model's threshold; also how often the detector
  still finds a face that small. This is the evidence for the quality gate's minimum size.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from workbench.errors import WorkbenchError
from workbench.pipeline import Settings, analyze, capture, choose_face, compare

Photo = tuple[str, int]


def lfw_pairs(path: str | os.PathLike, folds: list[int]) -> list[tuple[Photo, Photo, bool]]:
    """The pairs of the given folds (1-based) of an LFW ``pairs.txt``: a first line ``10 300``,
    then per fold 300 lines ``name i j`` (same person) and 300 ``name1 i name2 j``."""
    lines = Path(path).read_text().split("\n")
    try:
        n_folds, per = (int(x) for x in lines[0].split())
    except ValueError:
        raise WorkbenchError(f"{path}: not an LFW pairs file (first line: folds and pairs per fold)") from None
    out = []
    for f in folds:
        if not 1 <= f <= n_folds:
            raise WorkbenchError(f"{path}: there is no fold {f} (1 to {n_folds})")
        for line in lines[1 + (f - 1) * 2 * per: 1 + f * 2 * per]:
            p = line.split()
            out.append(((p[0], int(p[1])), (p[0], int(p[2])), True) if len(p) == 3
                       else ((p[0], int(p[1])), (p[2], int(p[3])), False))
    return out


def photo_path(root: Path, photo: Photo) -> Path:
    name, i = photo
    return root / name / f"{name}_{i:04d}.jpg"


@dataclass(frozen=True)
class ChoiceResult:
    pairs: int
    photos: int
    several_faces: int        # photos with more than one embedded face
    rule_differs: int         # photos where the rule picks another face than the largest
    no_face: int              # photos with no face (their pairs count as not the same)
    accuracy_largest: float
    accuracy_rule: float
    false_non_matches_largest: int
    false_non_matches_rule: int
    false_matches_largest: int
    false_matches_rule: int
    fixed: int                # same-person pairs missed with the largest face, found with the rule
    broken: int               # the other way round


def bench_face_choice(pairs_txt, images, folds: list[int], settings: Settings = Settings(),
                      progress: Callable[[int, int, str], None] | None = None) -> ChoiceResult:
    """Largest face vs :func:`~workbench.pipeline.choose_face` on LFW pairs (see the module doc)."""
    pairs = lfw_pairs(pairs_txt, folds)
    root = Path(images)
    photos = sorted({p for a, b, _ in pairs for p in (a, b)})
    largest, chosen, several, differs = {}, {}, 0, 0
    for k, photo in enumerate(photos, 1):
        a = analyze(capture.load_image(photo_path(root, photo)), settings)
        if a.embedded:
            largest[photo] = a.embedded[0].embedding.vector
            c = choose_face(a)
            chosen[photo] = c.face.embedding.vector
            several += len(a.embedded) > 1
            differs += c.face is not a.embedded[0]
        if progress:
            progress(k, len(photos), photo[0])
    def match(vecs: dict, a: Photo, b: Photo) -> bool:  # a photo with no face: "not the same"
        if a not in vecs or b not in vecs:
            return False
        d = float(compare.distances(vecs[a], vecs[b][None], settings.metric_)[0])
        return bool(compare.is_match(d, settings.threshold_))

    decided = {name: [match(vecs, a, b) for a, b, _ in pairs] for name, vecs in (("largest", largest),
                                                                                  ("rule", chosen))}
    same = [p[2] for p in pairs]

    def count(name: str, what: str) -> int:
        return sum((s and not m) if what == "fnm" else ((not s) and m) for s, m in zip(same, decided[name]))

    acc = {n: sum(s == m for s, m in zip(same, decided[n])) / len(pairs) for n in decided}
    # no figure at scale here: that question has one answer, on the largest data at hand (``eval scale``)
    return ChoiceResult(len(pairs), len(photos), several, differs, len(photos) - len(largest), acc["largest"],
                        acc["rule"], count("largest", "fnm"), count("rule", "fnm"), count("largest", "fm"),
                        count("rule", "fm"),
                        sum(s and not a and b for s, a, b in zip(same, decided["largest"], decided["rule"])),
                        sum(s and a and not b for s, a, b in zip(same, decided["largest"], decided["rule"])))


@dataclass(frozen=True)
class SizeRow:
    size: int                 # face width in pixels (0: the photo as it is)
    pairs: int
    accuracy: float
    false_non_matches: int
    false_matches: int
    detected: int             # photos where the detector still finds the face at this size
    photos: int


def bench_face_size(pairs_txt, images, folds: list[int], sizes: list[int], settings: Settings = Settings(),
                    progress: Callable[[int, int, str], None] | None = None) -> list[SizeRow]:
    """Accuracy and detection against face size (see the module doc)."""
    import cv2

    from workbench.pipeline import detect, embed
    from workbench.types import Detection

    pairs = lfw_pairs(pairs_txt, folds)
    root = Path(images)
    photos = sorted({p for a, b, _ in pairs for p in (a, b)})
    vecs: dict[int, dict[Photo, np.ndarray]] = {s: {} for s in sizes}
    found = {s: 0 for s in sizes}
    used = 0
    for k, photo in enumerate(photos, 1):
        image = capture.load_image(photo_path(root, photo))
        a = analyze(image, settings, embed_faces="none")
        if a.faces:
            used += 1
            det = choose_face_detection(a)
            side = min(det.box.width, det.box.height)
            h, w = image.shape[:2]
            for s in sizes:
                f = 1.0 if s == 0 else s / side
                small = image if s == 0 else cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))),
                                                        interpolation=cv2.INTER_AREA)
                d = Detection(det.box.scaled(f), tuple((x * f, y * f) for x, y in det.landmarks), det.score,
                              det.detector)
                vecs[s][photo] = embed.embed_faces(small, [d], settings.model)[0]
                again = detect.detect_faces(small, settings.detector, upsample=settings.upsample, max_side=None)
                found[s] += any(r.box.iou(d.box) > 0.3 for r in again)
        if progress:
            progress(k, len(photos), photo[0])
    rows = []
    for s in sizes:
        ok = [(a, b, same) for a, b, same in pairs if a in vecs[s] and b in vecs[s]]
        m = [bool(compare.is_match(float(compare.distances(vecs[s][a], vecs[s][b][None], settings.metric_)[0]),
                                   settings.threshold_)) for a, b, _ in ok]
        rows.append(SizeRow(s, len(ok), sum(x == p[2] for x, p in zip(m, ok)) / max(len(ok), 1),
                            sum(p[2] and not x for x, p in zip(m, ok)), sum((not p[2]) and x for x, p in zip(m, ok)),
                            found[s], used))
    return rows


def choose_face_detection(analysis):
    """The detection :func:`~workbench.pipeline.choose_face`'s rule picks, among all faces."""
    from workbench.pipeline.analyze import face_score

    h, w = analysis.shape[:2]
    return max((f.detection for f in analysis.faces), key=lambda d: face_score(d.box, w, h))
