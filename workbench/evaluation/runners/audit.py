"""The demographic audit, in NIST's way: several algorithms, one global threshold each, false
match rates per group with the counts behind them, and failures to acquire per group.

Data: labelled face photos, one per person (UTKFace's balanced set: 200 aligned crops per
gender x race cell, labels from the file names, which the data set estimated), so every pair of
two photos is an impostor pair: two different people. For each model:

* every photo is embedded once (through the cache; the central face; with ``whole_image``, a
  crop in which no face is found is embedded whole, and counted per group);
* every pair is scored; at each global threshold (the model's default, which is 80 %
  similarity by construction; 99 %; and the threshold giving a target FMR over all pairs),
  per group: the FMR among pairs of two photos of that group (within) and of one photo of it
  and one of another group (across), with counts and a 95 % Wilson interval; the ratio of each
  group's FMR to the lowest group's; and the threshold that group would need for the overall FMR;
* the closest impostor pairs per group (the worst false matches) for thumbnails.

FNMR needs genuine pairs, which one photo per person cannot give: :func:`lfw_fnmr` (below) takes
them from LFW's same-person pairs, split by a labels CSV the user supplies.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from workbench.errors import WorkbenchError
from workbench.evaluation.datasets import embedding as cache
from workbench.evaluation.runners.acquisition import AcquisitionRow
from workbench.evaluation.stats.metrics import rule_of_three, threshold_for_fmr, wilson
from workbench.pipeline import Settings, compare, zoo
from workbench.pipeline.compare import is_match

Progress = Callable[[int, int, str], None]
#: Similarity levels audited besides the target-FMR threshold: Rekognition's default and police setting.
SIMILARITIES = (80.0, 99.0)
#: How many closest impostor pairs per group are kept for thumbnails.
WORST = 3
#: Impostor distances kept per group for the distribution chart.
SAMPLE = 4000


@dataclass(frozen=True)
class Threshold:
    """One global threshold: its name, its distance and the similarity it stands for."""

    name: str
    distance: float
    similarity: float


@dataclass(frozen=True)
class GroupRate:
    """False matches of one group at one threshold, within the group and across to the others."""

    group: str
    faces: int
    pairs: int
    false_matches: int
    cross_pairs: int
    cross_false_matches: int
    ratio: float | None  # FMR / the lowest group's FMR; None when the lowest is 0
    ratio_at_least: float | None  # when the lowest is 0: FMR / that group's rule-of-three bound
    threshold_needed: float  # the distance at which this group's FMR would be the overall FMR

    @property
    def fmr(self) -> float:
        return self.false_matches / self.pairs if self.pairs else float("nan")

    @property
    def cross_fmr(self) -> float:
        return self.cross_false_matches / self.cross_pairs if self.cross_pairs else float("nan")

    @property
    def ci(self) -> tuple[float, float]:
        return wilson(self.false_matches, self.pairs)


@dataclass(frozen=True, eq=False)
class ModelAudit:
    """One model/detector over the audit's photos."""

    label: str
    settings: Settings
    groups: list[str]
    faces: dict[str, int]
    no_face: dict[str, int]
    whole_image: dict[str, int]
    thresholds: list[Threshold]
    overall_fmr: dict[str, tuple[int, int]]  # threshold name -> (false matches, pairs)
    rates: dict[str, list[GroupRate]]  # threshold name -> one row per group
    cross: dict[str, tuple[np.ndarray, np.ndarray]]  # threshold name -> (pairs G x G, false matches G x G)
    impostors: dict[str, np.ndarray]  # group -> a sample of within-group impostor distances
    worst: dict[str, list[tuple[str, str, float]]]  # group -> closest pairs (path a, path b, distance)
    duplicates: dict[str, int] = field(default_factory=dict)  # group -> same-photo pairs left out

    def rows(self, threshold: str) -> list[GroupRate]:
        return self.rates[threshold]

    def threshold(self, name: str) -> Threshold:
        return next(t for t in self.thresholds if t.name == name)


@dataclass(frozen=True, eq=False)
class AuditReport:
    dataset: str
    group_column: str
    target_fmr: float
    models: list[ModelAudit]
    acquisition: list[AcquisitionRow] = field(default_factory=list)
    fnmr: list[dict] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)
    #: per group, the ages the data set gives (UTKFace): ``(median, share under 18)``
    ages: dict[str, tuple[float, float]] = field(default_factory=dict)
    min_age: int | None = None


def threshold_names(target_fmr: float) -> list[str]:
    return ["80 % (default)", "99 %", f"FMR {target_fmr:g} overall"]


def _thresholds(settings: Settings, impostor: np.ndarray, target_fmr: float) -> list[Threshold]:
    base = settings.similarity_base
    t80, t99 = compare.distance_for_similarity(80.0, base), compare.distance_for_similarity(99.0, base)
    tt = threshold_for_fmr(impostor, target_fmr)
    names = threshold_names(target_fmr)
    return [Threshold(names[0], t80, 80.0), Threshold(names[1], t99, 99.0),
            Threshold(names[2], tt, round(float(compare.similarity(tt, base)), 2))]


def audit_model(paths: Sequence[str], groups: Sequence[str], settings: Settings, *, db=None,
                target_fmr: float = 1e-3, whole_image: bool = True, rule: str = "central", label: str = "",
                duplicates: np.ndarray | None = None, progress: Progress | None = None) -> ModelAudit:
    """Embed every photo once and measure every group at every threshold (see the module docstring).
    ``duplicates`` (``(N, N)`` booleans over ``paths``, :func:`~workbench.evaluation.datasets.duplicates.
    near_duplicates`) marks pairs that are the same photo twice: they are left out and counted."""
    done, _ = cache.embed_files(list(paths), settings, db, progress, rule=rule, whole_image=whole_image)
    names = sorted(set(groups))
    gidx = {g: k for k, g in enumerate(names)}
    keep = [i for i, e in enumerate(done) if e.vector is not None]
    faces = {g: sum(1 for x in groups if x == g) for g in names}
    no_face = {g: sum(1 for e, x in zip(done, groups) if x == g and e.vector is None) for g in names}
    whole = {g: sum(1 for e, x in zip(done, groups) if x == g and e.whole_image) for g in names}
    if len(keep) < 2:
        raise WorkbenchError("fewer than two photos gave a vector: nothing to compare")
    vecs = np.stack([done[i].vector for i in keep]).astype(np.float32)
    gi = np.array([gidx[groups[i]] for i in keep])
    files = [str(paths[i]) for i in keep]
    d = compare.distances(vecs, vecs, settings.metric_)
    iu, ju = np.triu_indices(len(keep), k=1)
    dup = np.zeros(iu.size, bool) if duplicates is None else np.asarray(duplicates)[np.ix_(keep, keep)][iu, ju]
    dup_counts = {g: int(((gi[iu] == k) & (gi[ju] == k) & dup).sum()) for k, g in enumerate(names)}
    iu, ju = iu[~dup], ju[~dup]
    dist = d[iu, ju].astype(np.float64)
    ga, gb = gi[iu], gi[ju]
    lo, hi = np.minimum(ga, gb), np.maximum(ga, gb)
    cell = lo * len(names) + hi
    pairs_cells = np.bincount(cell, minlength=len(names) ** 2).reshape(len(names), len(names))
    pairs_sym = pairs_cells + pairs_cells.T - np.diag(np.diag(pairs_cells))
    within = [dist[(ga == k) & (gb == k)] for k in range(len(names))]
    thresholds = _thresholds(settings, dist, target_fmr)
    rates, cross, overall = {}, {}, {}
    for t in thresholds:
        fm = is_match(dist, t.distance)
        fm_cells = np.bincount(cell, weights=fm, minlength=len(names) ** 2).reshape(len(names), len(names))
        fm_sym = (fm_cells + fm_cells.T - np.diag(np.diag(fm_cells))).astype(int)
        cross[t.name] = (pairs_sym, fm_sym)
        overall[t.name] = (int(fm.sum()), int(dist.size))
        overall_fmr = fm.mean()
        rates[t.name] = _group_rates(names, faces, pairs_sym, fm_sym, within, overall_fmr)
    rng = np.random.default_rng(0)
    sample = {g: (w if w.size <= SAMPLE else rng.choice(w, SAMPLE, replace=False)) for g, w in zip(names, within)}
    worst = {}
    for k, g in enumerate(names):
        sel = np.flatnonzero((ga == k) & (gb == k))
        top = sel[np.argsort(dist[sel], kind="stable")[:WORST]]
        worst[g] = [(files[iu[j]], files[ju[j]], float(dist[j])) for j in top]
    return ModelAudit(label or f"{settings.detector} + {settings.model}", settings, names, faces, no_face, whole,
                      thresholds, overall, rates, cross, sample, worst, dup_counts)


def _group_rates(names: list[str], faces: dict[str, int], pairs: np.ndarray, fm: np.ndarray,
                 within: list[np.ndarray], overall_fmr: float) -> list[GroupRate]:
    fmr = np.array([fm[k, k] / pairs[k, k] if pairs[k, k] else np.nan for k in range(len(names))])
    valid = np.flatnonzero(~np.isnan(fmr))
    low = int(valid[np.argmin(fmr[valid])]) if valid.size else -1
    out = []
    for k, g in enumerate(names):
        ratio = at_least = None
        if low >= 0 and fmr[k] == fmr[k]:
            if fmr[low] > 0:
                ratio = float(fmr[k] / fmr[low])
            elif fmr[k] > rule_of_three(int(pairs[low, low])):  # only a bound above 1 says something
                at_least = float(fmr[k] / rule_of_three(int(pairs[low, low])))
        cross_pairs = int(pairs[k].sum() - pairs[k, k])
        cross_fm = int(fm[k].sum() - fm[k, k])
        needed = threshold_for_fmr(within[k], overall_fmr) if within[k].size else float("nan")
        out.append(GroupRate(g, faces[g], int(pairs[k, k]), int(fm[k, k]), cross_pairs, cross_fm, ratio, at_least,
                             needed))
    return out


def pick_faces(paths: Sequence[str], groups: Sequence[str], per_group: int | None = None, seed: int = 0
               ) -> tuple[list[str], list[str]]:
    """At most ``per_group`` photos of each group (all when ``None``), drawn with ``seed``, in a stable order."""
    if per_group is None:
        return list(map(str, paths)), list(groups)
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for g in sorted(set(groups)):
        idx = [i for i, x in enumerate(groups) if x == g]
        chosen += idx if len(idx) <= per_group else sorted(rng.choice(idx, per_group, replace=False).tolist())
    chosen.sort()
    return [str(paths[i]) for i in chosen], [groups[i] for i in chosen]


# -- the whole audit -----------------------------------------------------------------------------

def labelled_folder(folder: str | os.PathLike, labels=None, column: str | None = None, min_age: int | None = None
                    ) -> tuple[list[str], list[str], str, list[str]]:
    """``(paths, groups, group column, files left out)`` of a folder: UTKFace's own labels when
    the file names carry them (``min_age``: only faces the data set labels that old or older),
    else a labels CSV keyed by ``file``. A photo without a label is left out and listed, never
    given one."""
    from pathlib import Path

    from workbench.evaluation.datasets.labels import UNLABELLED, read_utkface, utkface_labels
    from workbench.pipeline.capture import is_image

    if labels is None:
        faces, other = read_utkface(folder)
        if not faces:
            raise WorkbenchError(f"{folder}: no UTKFace-named photos (age_gender_race_date.jpg...); "
                                 "give a labels CSV (file, then group columns)")
        if min_age is not None:
            faces = [f for f in faces if f.age >= min_age]
        lab = utkface_labels(faces, column or "race and gender")
        return [str(f.path) for f in faces], [lab.of(file=str(f.path)) for f in faces], lab.column, list(map(str, other))
    if labels.key != "file":
        raise WorkbenchError("the audit labels photos, not people: the labels CSV needs a 'file' column")
    if min_age is not None:
        raise WorkbenchError("an age limit needs ages: only UTKFace's file names carry them here")
    files = sorted((p for p in Path(folder).rglob("*") if p.is_file() and is_image(p)), key=lambda p: p.name)
    kept = [p for p in files if labels.of(file=str(p)) != UNLABELLED]
    return ([str(p) for p in kept], [labels.of(file=str(p)) for p in kept], labels.column,
            [str(p) for p in files if labels.of(file=str(p)) == UNLABELLED])


def run_audit(folder: str | os.PathLike, combos: Sequence[Settings], *, db=None, labels=None,
              column: str | None = None, per_group: int | None = None, target_fmr: float = 1e-3,
              exposures: Sequence[float] = (), whole_image: bool = True, seed: int = 0,
              min_age: int | None = None, progress: Progress | None = None, dataset: str = "") -> AuditReport:
    """The audit of every model in ``combos`` over a labelled folder (``per_group`` photos of each
    group at most), with failures to acquire per detector at each of ``exposures``."""
    from workbench.evaluation.runners.acquisition import measure_acquisition

    paths, groups, col, skipped = labelled_folder(folder, labels, column, min_age)
    paths, groups = pick_faces(paths, groups, per_group, seed)
    if len(set(groups)) < 2:
        raise WorkbenchError(f"{folder}: the audit compares groups, and these photos are all in one")
    from workbench.evaluation.datasets.duplicates import near_duplicates

    dup = near_duplicates(paths)  # the same photo filed twice is not two people
    models = [audit_model(paths, groups, s, db=db, target_fmr=target_fmr, whole_image=whole_image,
                          duplicates=dup, progress=progress) for s in combos]
    acq = []
    if exposures:
        detectors = list(dict.fromkeys(s.detector for s in combos))
        acq = measure_acquisition(paths, groups, detectors, exposures, settings=combos[0], progress=progress)
    return AuditReport(dataset or str(folder), col, target_fmr, models, acq, [], skipped, _ages(paths, groups),
                       min_age)


def _ages(paths: Sequence[str], groups: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Per group, the median age and the share under 18 that UTKFace's file names give (empty
    for other data): the age mix differs a lot between UTKFace's cells, and faces of children
    are falsely matched far more often, by every algorithm measured here."""
    from workbench.evaluation.datasets.labels import parse_utkface_name

    out: dict[str, list[int]] = {}
    for p, g in zip(paths, groups):
        f = parse_utkface_name(str(p))
        if f is None:
            return {}
        out.setdefault(g, []).append(f.age)
    return {g: (float(np.median(a)), float(np.mean(np.array(a) < 18))) for g, a in out.items()}


def lfw_fnmr(report: AuditReport, pairs_file: str | os.PathLike, lfw_dir: str | os.PathLike, *, db=None,
             labels=None, progress: Progress | None = None) -> list[dict]:
    """FNMR per group on LFW's same-person pairs, at each model's audit thresholds. LFW carries no
    group labels: without ``labels`` (a CSV keyed by ``person``: LFW's folder names) there is one
    row for all of LFW; with them, one per group, and the audit's groups that have no or too few
    genuine pairs are said so."""
    from pathlib import Path

    from workbench.evaluation.datasets.lfw import read_pairs
    from workbench.evaluation.runners.lfw import enrol_photos
    from workbench.evaluation.stats.metrics import small_sample_warning

    if labels is not None and labels.key != "person":
        raise WorkbenchError("LFW's genuine pairs are labelled by person: the labels CSV needs a 'person' column")
    genuine = [p for p in read_pairs(pairs_file, lfw_dir).pairs if p.same]
    who = [Path(p.a).parent.name for p in genuine]
    pair_group = np.array([labels.of(person=n) if labels is not None else "all LFW (no group labels)" for n in who],
                          dtype=object)
    names = sorted(set(pair_group) | (set(report.models[0].groups) if labels is not None else set()))
    rows = []
    for m in report.models:
        enr = enrol_photos([q for p in genuine for q in (p.a, p.b)], m.settings, db, rule="central",
                           progress=progress)
        dist = np.array([float(compare.distances(enr.vectors[p.a], enr.vectors[p.b][None, :], m.settings.metric_)[0])
                         if enr.vectors.get(p.a) is not None and enr.vectors.get(p.b) is not None else np.inf
                         for p in genuine])
        for t in m.thresholds:
            for g in names:
                sel = pair_group == g
                n, k = int(sel.sum()), int((~is_match(dist[sel], t.distance)).sum())
                low, high = wilson(k, n)
                rows.append({"model": m.label, "threshold": t.name, "distance": round(t.distance, 4), "group": g,
                             "genuine_pairs": n, "false_non_matches": k, "fnmr": None if not n else round(k / n, 4),
                             "ci_low": None if not n else round(low, 4), "ci_high": None if not n else round(high, 4),
                             "unscored_pairs": int((~np.isfinite(dist[sel])).sum()),
                             "warning": small_sample_warning(n, "genuine pairs")})
    return rows


#: The model/detector pairs offered side by side: each shipped model with its own detector, then crossed
#: (the zoo's :func:`~workbench.pipeline.zoo.combos`).
COMBOS = zoo.combos()


def combo_settings(names: Sequence[str], upsample: int = 1) -> list[Settings]:
    """Settings for combinations named as in :data:`COMBOS`."""
    unknown = [n for n in names if n not in COMBOS]
    if unknown:
        raise WorkbenchError(f"unknown combination {unknown[0]!r}; choose from {', '.join(COMBOS)}")
    return [Settings(detector=COMBOS[n][0], model=COMBOS[n][1], upsample=upsample) for n in names]


def default_folder():
    """The shared UTKFace sample (``<faces>/utkface-balanced``), or ``None`` when absent."""
    from workbench import config

    base = config.faces_dir()
    return base / "utkface-balanced" if base is not None and (base / "utkface-balanced").is_dir() else None
