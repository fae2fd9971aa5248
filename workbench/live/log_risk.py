"""How the false-match risk of a search by photo grows with the sightings log: the library's scale
answer (:mod:`workbench.evaluation.stats.scale`) applied to the number of sightings searched.

Each sighting searched is one comparison of the probe with a face of someone who may be a
stranger, so a log of ``N`` sightings is read like a gallery of ``N`` faces: expected false
sightings per search ``N * p`` and the chance of at least one ``1 - (1 - p) ** N``, where ``p`` is
the per-comparison false match rate at the threshold, measured on impostor pairs.

:func:`scale_row` is the one place that asks for that rate, from the library's one scale answer
(:mod:`workbench.evaluation.runners.scale_reference`): the LFW reference when built, else the
packaged photos' impostor pairs, as on every other page and command.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.evaluation.stats import scale
from workbench.pipeline import Settings, compare
from workbench.store import Store

#: Log sizes the answer is always given for, besides the log's own.
SIZES = (10_000, 100_000, 1_000_000)


@dataclass(frozen=True)
class LogRisk:
    """The scale answer for a search of ``sightings`` sightings at one threshold."""

    sightings: int
    row: scale.ScaleRow
    basis: str  # which impostor pairs, in words

    @property
    def similarity(self) -> float:
        return self.row.similarity

    def at(self, size: int) -> tuple[scale.Range, scale.Range]:
        """``(expected false sightings per search, chance of at least one)`` in a log of ``size``."""
        return self.row.at(size)

    def sizes(self) -> list[int]:
        return sorted({self.sightings, *SIZES} - {0})

    def sentence(self) -> str:
        """The answer in words, for the log's size, with its range, its basis and that it is extrapolated."""
        r = self.row
        n = self.sightings
        where = (f"Searching {n:,} sighting{'s' if n != 1 else ''} at {r.similarity:.0f} % similarity "
                 f"(distance {r.threshold:.3f})")
        if r.comparisons == 0:
            return f"{where}: no impostor comparisons were measured, so the false-match risk is unknown."
        e, f = r.at(n)
        measured = (f"{r.false_matches:,} false match{'es' if r.false_matches != 1 else ''} in "
                    f"{r.comparisons:,} comparisons of {self.basis}")
        if r.source == "measured" and r.comparisons >= scale.MIN_TAIL_COMPARISONS:
            text = (f"{where}, a photo of someone never filmed would return {scale.per_search(e.value)} "
                    f"(95 % range {scale.count(e.low)} to {scale.count(e.high)}); the chance of at least one "
                    f"false sighting is {scale.chance(f.value)}. Measured: {measured}.")
        elif r.source in ("range", "measured"):  # a small basis (or no tail it supports): range and count lead
            bound = scale.expected_candidates(r.measured, n)
            text = (f"{where}: measured on {r.comparisons:,} comparisons of {self.basis}, {r.false_matches:,} false "
                    f"match{'es' if r.false_matches != 1 else ''}: between {scale.count(bound.low)} and "
                    f"{scale.count(bound.high)} false sightings per search (95 % range).")
        else:
            bound = scale.expected_candidates(r.measured, n)
            text = (f"{where}: we saw {measured}; the data alone say fewer than {scale.count(bound.high)} false "
                    f"sightings per search (95 %).")
            if r.fitted.value == r.fitted.value:
                text += (f" A normal curve fitted to the closest impostors suggests {scale.per_search(e.value)} "
                         f"(range {scale.count(e.low)} to {scale.count(e.high)}) and a chance of {scale.chance(f.value)} "
                         "of at least one: a model of the tail, not a measurement.")
        return text.replace("candidate", "sighting") + " EXTRAPOLATED: " + scale.ASSUMES

    def table(self) -> list[dict]:
        """One row per log size: expected false sightings per search and the chance of one or more."""
        out = []
        for size in self.sizes():
            e, f = self.at(size)
            out.append({"sightings searched": size, "false sightings per search": _num(e.value),
                        "low": _num(e.low), "high": _num(e.high), "chance of one or more": _num(f.value),
                        "estimate from": self.row.source})
        return out

    def as_dict(self) -> dict:
        return {"sightings": self.sightings, "similarity": self.row.similarity,
                "threshold": round(self.row.threshold, 6), "impostor_comparisons": self.row.comparisons,
                "false_matches": self.row.false_matches, "estimate_from": self.row.source, "basis": self.basis,
                "sentence": self.sentence(), "assumes": scale.ASSUMES, "by_log_size": self.table()}


def _num(x: float) -> float | None:
    return None if not np.isfinite(x) else float(f"{x:.4g}")


def scale_row(comparisons: int, settings: Settings, db: Store | None = None) -> tuple[scale.ScaleRow, str]:
    """The library's scale answer (:func:`~workbench.evaluation.runners.scale_reference.answer_at_scale`:
    the largest impostor set on the machine) for ``comparisons`` comparisons at ``settings``' model,
    metric and threshold: ``(row, what it rests on in words)``."""
    from workbench.evaluation.runners.scale_reference import answer_at_scale

    sim = float(compare.similarity(settings.threshold_, settings.similarity_base))
    answer = answer_at_scale(settings, (80.0, 99.0), sorted({max(int(comparisons), 1), *SIZES}), extra=sim, db=db)
    return answer.row(sim), answer.basis.words() if answer.basis else "the impostors measured"


def log_risk(sightings: int, settings: Settings, db: Store | None = None) -> LogRisk:
    """The false-match risk of one search of ``sightings`` sightings at ``settings``' threshold."""
    row, basis = scale_row(sightings, settings, db)
    return LogRisk(int(sightings), row, basis)
