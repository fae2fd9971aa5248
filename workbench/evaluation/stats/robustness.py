"""Error rates against degradation, as pure functions over arrays: what one model/detector does at
one level (:class:`LevelRates`), where it loses half of its true matches (:func:`half_loss`), and
the quality gate its curves call for (:func:`gate_from_curves`).

Conventions (ISO/IEC 19795-1 and NIST's, as everywhere in the workbench):

* each pair is one photo as photographed (the enrolment photo) and one degraded photo (the probe);
* a degraded photo in which no face is found is a **failure to acquire**: its genuine pairs count
  as misses (false non-matches), its impostor pairs as non-matches;
* the quality gate's rejections are counted by reason, and the error rates are given twice: *the
  gate set aside* (what the model makes of the face the detector found, the measure a gate is set
  from) and *through the gate* (a rejected face is not compared: a miss on a genuine pair);
* every rate comes with its count and a 95 % Wilson interval (:func:`~workbench.evaluation.stats.
  metrics.wilson`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from workbench.evaluation.stats.metrics import Interval, wilson
from workbench.pipeline import quality
from workbench.pipeline.compare import is_match

#: The rule that sets a model's gate from its curves: a level is *handled* unless the data show
#: (the 95 % Wilson lower bound of its rate) that its FNMR (the gate set aside, at the model's
#: default threshold) or its FMR is more than this many times the rate on the photos as they are.
#: The lower bound keeps a few misses in a small sample from moving a limit; more pairs tighten it.
WORSE_BY = 2.0
#: The limit lets this share of the faces at the most degraded handled level through (the 10th
#: percentile of their measurements).
LET_THROUGH = 0.9


@dataclass(frozen=True)
class LevelRates:
    """One model/detector at one level: failures to acquire and errors, with their counts."""

    combo: str
    kind: str
    value: float
    level: str        # the level's id (``width-24``)
    words: str        # the level in words
    photos: int       # degraded photos
    no_face: int
    rejected: tuple[tuple[str, int], ...]  # (gate reason, photos) in the order of quality.REASONS
    genuine: int
    impostor: int
    false_non_matches: int     # at the default threshold, the gate set aside
    false_matches: int
    false_non_matches_99: int  # at 99 % similarity
    false_matches_99: int
    false_non_matches_gated: int  # at the default threshold, a face the gate rejects not compared
    false_matches_gated: int
    size_p10: float            # the gate's size (short side of the detector's box) of the faces found
    size_median: float
    sharpness_p10: float
    sharpness_median: float

    @property
    def rejected_total(self) -> int:
        return sum(n for _, n in self.rejected)

    @property
    def fta(self) -> int:
        """Failures to acquire: no face, or a face the gate rejects."""
        return self.no_face + self.rejected_total

    @property
    def fnmr(self) -> float:
        return _rate(self.false_non_matches, self.genuine)

    @property
    def fmr(self) -> float:
        return _rate(self.false_matches, self.impostor)

    @property
    def true_matches(self) -> int:
        return self.genuine - self.false_non_matches

    def ci(self, k: int, n: int) -> Interval:
        return wilson(k, n)

    def as_dict(self) -> dict:
        out = {"combo": self.combo, "kind": self.kind, "value": self.value, "level": self.level, "words": self.words,
               "photos": self.photos, "no_face": self.no_face, **{f"rejected_{r}": n for r, n in self.rejected},
               "failures_to_acquire": self.fta, "fta_rate": _r(_rate(self.fta, self.photos)),
               "genuine_pairs": self.genuine, "impostor_pairs": self.impostor}
        for name, k, n in (("fnmr", self.false_non_matches, self.genuine), ("fmr", self.false_matches, self.impostor),
                           ("fnmr_99", self.false_non_matches_99, self.genuine),
                           ("fmr_99", self.false_matches_99, self.impostor),
                           ("fnmr_gated", self.false_non_matches_gated, self.genuine),
                           ("fmr_gated", self.false_matches_gated, self.impostor)):
            lo, hi = wilson(k, n)
            out.update({f"{name}_count": k, name: _r(_rate(k, n)), f"{name}_ci_low": _r(lo), f"{name}_ci_high": _r(hi)})
        out.update({"size_p10": _r(self.size_p10), "size_median": _r(self.size_median),
                    "sharpness_p10": _r(self.sharpness_p10), "sharpness_median": _r(self.sharpness_median)})
        return out


def _rate(k: int, n: int) -> float:
    return k / n if n else float("nan")


def _r(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 5)


def _pct(values: np.ndarray, q: float) -> float:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return float(np.percentile(v, q)) if v.size else float("nan")


def level_rates(combo: str, kind: str, value: float, level: str, words: str, *, same: np.ndarray,
                distances: np.ndarray, probe: np.ndarray, found: np.ndarray, reasons: Sequence[str | None],
                sizes: np.ndarray, sharpness: np.ndarray, thresholds: tuple[float, float]) -> LevelRates:
    """The rates of one level from its pairs and its degraded photos.

    Args:
        same: ``(P,)`` True for a genuine pair.
        distances: ``(P,)`` distance of each pair (``inf`` when either photo gave no face).
        probe: ``(P,)`` index of each pair's degraded photo in the photo arrays.
        found: ``(M,)`` a face was found in the degraded photo.
        reasons: ``(M,)`` the gate's reason for that face (``None``: accepted; ignored when not found).
        sizes, sharpness: ``(M,)`` the gate's measurements of the faces found.
        thresholds: the model's default threshold and the one of 99 % similarity.
    """
    same = np.asarray(same, bool)
    d = np.asarray(distances, float)
    probe = np.asarray(probe, int)
    found = np.asarray(found, bool)
    accepted = np.array([f and r is None for f, r in zip(found, reasons)], bool)
    counts = {r: 0 for r in quality.REASONS}
    for f, r in zip(found, reasons):
        if f and r is not None:
            counts[r] += 1
    t, t99 = thresholds
    m, m99 = is_match(d, t), is_match(d, t99)
    gated = m & accepted[probe] if probe.size else m
    g, i = same, ~same
    return LevelRates(combo, kind, float(value), level, words, int(found.size), int((~found).sum()),
                      tuple(counts.items()), int(g.sum()), int(i.sum()),
                      int((~m & g).sum()), int((m & i).sum()), int((~m99 & g).sum()), int((m99 & i).sum()),
                      int((~gated & g).sum()), int((gated & i).sum()),
                      _pct(np.asarray(sizes)[found], 10), _pct(np.asarray(sizes)[found], 50),
                      _pct(np.asarray(sharpness)[found], 10), _pct(np.asarray(sharpness)[found], 50))


@dataclass(frozen=True)
class HalfLoss:
    """Where a model keeps half of the true matches it makes on the photos as they are."""

    value: float | None    # the level, interpolated between the two measured ones around it
    between: tuple[float, float] | None
    words: str


def half_loss(clean: LevelRates, levels: Sequence[LevelRates], unit: str = "") -> HalfLoss:
    """The level (levels in order of severity) at which the true matches fall to half of
    ``clean``'s, linearly interpolated between the last level above half and the first at or
    under it (the clean photo counts as the level before the first); ``None`` when no level
    measured gets there."""
    half = clean.true_matches / 2.0
    prev_v, prev_t = None, clean.true_matches
    for r in levels:
        if r.true_matches <= half:
            if prev_v is None:
                return HalfLoss(r.value, None, f"already at the mildest level measured ({r.words})")
            a = (prev_t - half) / (prev_t - r.true_matches) if prev_t != r.true_matches else 1.0
            v = prev_v + a * (r.value - prev_v)
            return HalfLoss(v, (prev_v, r.value), f"about {v:.3g}{unit} (between {prev_v:g} and {r.value:g}{unit})")
        prev_v, prev_t = r.value, r.true_matches
    last = levels[-1].words if levels else "none measured"
    return HalfLoss(None, None, f"not within the levels measured (down to {last})")


def handled(clean: LevelRates, r: LevelRates, worse_by: float = WORSE_BY) -> bool:
    """Does the model handle level ``r``? Neither its FNMR nor its FMR is shown (95 % Wilson lower
    bound) to be over ``worse_by`` x the rate on the photos as they are (never taken under one error
    in the pairs measured, so a clean rate of zero still leaves room)."""
    fnmr_limit = worse_by * max(clean.fnmr, 1.0 / max(clean.genuine, 1))
    fmr_limit = worse_by * max(clean.fmr, 1.0 / max(clean.impostor, 1))
    return (wilson(r.false_non_matches, r.genuine).low <= fnmr_limit
            and wilson(r.false_matches, r.impostor).low <= fmr_limit)


@dataclass(frozen=True)
class GateFromCurves:
    """A model's gate limits set from its curves, with the levels they come from, in words."""

    combo: str
    min_size: int | None           # None: no width level was handled (keep the gate's present value)
    min_sharpness: float | None
    size_level: float | None       # the smallest face width (px) the model handles
    blur_level: float | None       # the strongest blur (sigma) it handles
    words: str


def gate_from_curves(clean: LevelRates, widths: Sequence[LevelRates], blurs: Sequence[LevelRates],
                     worse_by: float = WORSE_BY) -> GateFromCurves:
    """The rule (README, "A quality gate per model"): walk each curve from the mildest level; the
    last level :func:`handled` before the first that is not is the model's limit, and the gate's
    limit is what :data:`LET_THROUGH` of the faces found at that level still measure (their
    10th percentile): the detector's box size for ``min_size``, the sharpness for
    ``min_sharpness``. Sharpness is measured on the face resized to 112 px, so a small sharp face
    also reads low: the blur limit is the lower of the two levels' values, so the faces the size
    limit lets through are not turned away as blurred."""
    def last_handled(rows: Sequence[LevelRates]) -> LevelRates | None:
        best = None
        for r in rows:
            if not handled(clean, r, worse_by):
                break
            best = r
        return best

    w, b = last_handled(widths), last_handled(blurs)
    q = int(round(100 * (1 - LET_THROUGH)))
    min_size = None if w is None or not math.isfinite(w.size_p10) else int(math.floor(w.size_p10))
    sharp = [x.sharpness_p10 for x in (w, b) if x is not None and math.isfinite(x.sharpness_p10)]
    min_sharpness = round(min(sharp), 4) if b is not None and sharp else None
    parts = []
    parts.append(f"faces down to {w.value:g} px wide (FNMR {w.fnmr:.1%} against {clean.fnmr:.1%} as photographed): "
                 f"minimum {min_size} px, the {q}th percentile of the detector's box there"
                 if w is not None and min_size is not None else "no width level within the rule")
    parts.append(f"blur up to σ {b.value:g} px on a 100-px face (FNMR {b.fnmr:.1%}): minimum sharpness "
                 f"{min_sharpness}" if b is not None and min_sharpness is not None else "no blur level within the rule")
    return GateFromCurves(clean.combo, min_size, min_sharpness, None if w is None else w.value,
                          None if b is None else b.value, f"{clean.combo}: " + "; ".join(parts))
