"""The "ACLU replay": search people who are *not* in a gallery and count who gets flagged.

In 2018 a civil-liberties group searched photos of all members of the US Congress against
25,000 arrest photos at the vendor's default 80 % similarity and got 28 false matches. This
module replays that experiment on any probes and gallery:

* measured: for each threshold, how many probes get at least one false match in the real
  gallery, and in random subsets of it (the exact average over every subset of that size);
* extrapolated, clearly marked as such: with the measured per-comparison false match rate
  ``p``, the chance of at least one false match among ``N`` faces is ``1 - (1 - p)^N`` if
  comparisons were independent (they are not quite: the same probe's face recurs), with an
  upper bound from the Wilson interval of ``p``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from workbench.errors import WorkbenchError
from workbench.evaluation.runners.identification import NONE_ENROLLED, ProbeIdentity, load_probes
from workbench.evaluation.stats import metrics
from workbench.evaluation.runners.scale_reference import answer_at_scale
from workbench.evaluation.stats import scale as scale_mod
from workbench.pipeline import Settings, compare
from workbench.pipeline.compare import is_match
from workbench.store import Store

#: Rekognition's default (80 %), stricter settings, and the 99 % police were told to use.
SIMILARITIES = (80.0, 90.0, 95.0, 99.0)
#: Gallery sizes to extrapolate to: the 2018 mugshot set, and a large state database.
EXTRAPOLATE_TO = (25_000, 300_000)


@dataclass(frozen=True)
class ReplayRow:
    """One threshold: measured on the real gallery, and extrapolated to bigger ones."""

    similarity: float
    threshold: float
    probes: int
    flagged: int                 # probes with at least one false match (measured)
    false_matches: int           # probe x gallery-face comparisons under the threshold
    comparisons: int
    growth: dict[int, float]     # gallery size -> expected probes flagged (measured, subsets)
    extrapolated: dict[int, float]        # gallery size -> expected probes flagged (model)
    extrapolated_upper: dict[int, float]  # same, with the 95 % upper bound of the FMR
    by_group: dict[str, tuple[int, int]] = field(default_factory=dict)  # group -> (flagged, probes)

    @property
    def fmr(self) -> float:
        return self.false_matches / self.comparisons if self.comparisons else float("nan")


def replay_rows(dist: np.ndarray, thresholds: dict[float, float], *, sizes=None,
                extrapolate_to=EXTRAPOLATE_TO, probe_groups=None) -> list[ReplayRow]:
    """The replay on a ``(M probes, N gallery faces)`` distance matrix, none of them mated.

    Args:
        dist: distances of every probe to every gallery face.
        thresholds: similarity percent -> distance threshold.
        sizes: gallery sizes for the measured growth (default: about 6 steps up to N).
        extrapolate_to: sizes beyond the gallery, extrapolated with the measured FMR.
        probe_groups: ``(M,)`` group of each probe, to split the flagged probes.
    """
    d = np.atleast_2d(np.asarray(dist, np.float64))
    m, n = d.shape
    if sizes is None:
        sizes = sorted({max(1, int(round(n * f))) for f in (0.05, 0.1, 0.25, 0.5, 0.75, 1.0)}) if n else []
    groups = np.asarray(probe_groups, dtype=object) if probe_groups is not None else None
    rows = []
    for s, t in thresholds.items():
        under = is_match(d, t)
        hits = under.sum(axis=1)
        fm, comps = int(hits.sum()), m * n
        grow = metrics.hit_probability_in_subsample(hits, n, sizes).sum(axis=1) if n and m else np.zeros(len(sizes))
        p = fm / comps if comps else 0.0
        up = metrics.wilson(fm, comps).high if comps else float("nan")
        big = list(extrapolate_to)
        ext = m * metrics.any_match_probability(p, big) if comps else np.full(len(big), np.nan)
        ext_up = m * metrics.any_match_probability(up, big) if comps else np.full(len(big), np.nan)
        split = {}
        if groups is not None:
            for g in sorted(set(groups)):
                sel = groups == g
                split[str(g)] = (int((hits[sel] > 0).sum()), int(sel.sum()))
        rows.append(ReplayRow(float(s), float(t), m, int((hits > 0).sum()), fm, comps,
                              {int(k): float(v) for k, v in zip(sizes, grow)},
                              {int(k): float(v) for k, v in zip(big, ext)},
                              {int(k): float(v) for k, v in zip(big, ext_up)}, split))
    return rows


@dataclass(frozen=True, eq=False)
class ReplayReport:
    gallery: str
    gallery_faces: int
    probes: list[str]            # the innocent probes: their stated person is not in the gallery
    excluded: list[str]          # probes whose stated person IS in the gallery (not innocent)
    failed: dict[str, str]
    rows: list[ReplayRow]
    metric: str
    dist: np.ndarray
    group_column: str = ""
    unknown: list[str] = field(default_factory=list)   # probes whose person is not stated: left out
    fta: list[str] = field(default_factory=list)       # innocent probes with no face: not searched
    skipped: dict[str, str] = field(default_factory=dict)
    identity: str = ""
    scale: scale_mod.ScaleAnswer | None = None   # the answer for galleries of 1,000 to 20 million

    def as_dict(self) -> dict:
        return {"gallery": self.gallery, "gallery_faces": self.gallery_faces, "probes": len(self.probes),
                "identity_source": self.identity, "excluded_probes": self.excluded,
                "unknown_identity": self.unknown, "failures_to_acquire": self.fta,
                "skipped_files": self.skipped, "failed_images": self.failed, "metric": self.metric,
                "group_column": self.group_column,
                "scale": scale_mod.as_dict(self.scale) if self.scale is not None else None,
                "thresholds": [{"similarity": r.similarity, "threshold": round(r.threshold, 4),
                                "probes_flagged": r.flagged, "false_matches": r.false_matches,
                                "comparisons": r.comparisons, "fmr": round(r.fmr, 6),
                                "growth_measured": {str(k): round(v, 3) for k, v in r.growth.items()},
                                "extrapolated": {str(k): round(v, 2) for k, v in r.extrapolated.items()},
                                "extrapolated_upper_95": {str(k): round(v, 2)
                                                          for k, v in r.extrapolated_upper.items()},
                                "by_group": {g: {"flagged": f, "probes": n} for g, (f, n) in r.by_group.items()}}
                               for r in self.rows]}


def thresholds_for(settings: Settings, similarities=SIMILARITIES, extra: float | None = None) -> dict[float, float]:
    """Similarity percent -> distance threshold on the model's scale (80 % = its default)."""
    sims = sorted(set(similarities) | ({float(extra)} if extra is not None else set()))
    return {s: compare.distance_for_similarity(s, settings.similarity_base) for s in sims}


def run_replay(db: Store, gallery: str, probes_dir: str | os.PathLike, settings: Settings = Settings(), *,
               labels=None, similarities=SIMILARITIES, extra_similarity: float | None = None,
               use_cache: bool = True, identity: ProbeIdentity = ProbeIdentity(),
               progress: Callable[[int, int, str], None] | None = None) -> ReplayReport:
    """Search every innocent probe photo in ``gallery`` and count who gets flagged.

    A probe is innocent only when it is *known* not to be in the gallery: its stated person
    (``identity``: sub-folder, identities CSV) is not a gallery person, or the user states
    that none of the probes is. A probe whose person is a gallery person is left out (a
    match on it may be right); one whose person is not stated is left out too (listed), and
    when no probe is known to be innocent the replay refuses to run.
    """
    matrix = db.vectors.matrix(gallery, settings.model)
    if matrix.vectors.shape[0] == 0:
        raise WorkbenchError(f"gallery {gallery!r} is empty: enrol faces first")
    probes = load_probes(probes_dir, settings, db if use_cache else None, progress, identity)
    people = set(matrix.people)
    absent = identity.source == NONE_ENROLLED
    keep = [k for k, p in enumerate(probes.persons) if absent or (p is not None and p not in people)]
    excluded = [probes.paths[k] for k, p in enumerate(probes.persons) if not absent and p is not None and p in people]
    unknown = [] if absent else probes.unknown
    if not keep:
        if unknown:
            raise WorkbenchError(f"{probes_dir}: the replay counts innocent people, and who these probes show is "
                                 f"not stated ({len(unknown)} photos): put each person's photos in a sub-folder "
                                 "named after them, give an identities CSV (file,person), or state that none of "
                                 "them is in the gallery (--none-enrolled)")
        raise WorkbenchError(f"{probes_dir}: every probe is a person of gallery {gallery!r}; "
                             "the replay needs people who are not in it")
    d = compare.distances(probes.vectors[keep], matrix.vectors, settings.metric_)
    groups = ([labels.of(person=probes.persons[k], file=probes.paths[k]) for k in keep]
              if labels is not None else None)
    rows = replay_rows(d, thresholds_for(settings, similarities, extra_similarity), probe_groups=groups)
    fta = [f for f, who in probes.fta.items() if absent or (who is not None and who not in people)]
    # at scale: the library's one answer (the largest impostor set on the machine), as everywhere else;
    # this gallery's own counts are the rows above
    answer = answer_at_scale(settings, (80.0, 99.0), extra=extra_similarity, db=db if use_cache else None)
    return ReplayReport(gallery, int(matrix.vectors.shape[0]), [probes.paths[k] for k in keep], excluded,
                        probes.failed, rows, settings.metric_, d, labels.column if labels is not None else "",
                        unknown, fta, probes.skipped, identity.describe(), answer)
