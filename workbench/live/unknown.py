"""Why a track stays unknown, in words: no face of it passed the quality gate (which rule, the
measured value and the limit), or its best candidate was not similar enough (the candidate, its
similarity and distance, and the threshold). The words are stored with the sighting, so the
Cameras page, ``workbench sightings`` and the report all say the same; the part before the first
colon is the kind of reason (:func:`kind`), for counting."""

from __future__ import annotations

from typing import Any

from workbench.pipeline import compare, quality
from workbench.types import Quality

UNDER_THRESHOLD = "under the threshold"
NOBODY = "nobody to compare with"


def gated(q: Quality) -> str:
    """A track none of whose faces passed the gate, told by the verdict on its largest face:
    ``"too small: the face is 14 px, SFace's gate needs at least 31 px (...)"``."""
    return f"{quality.describe(q)} (the largest face of the track; none passed the gate)"


def under_threshold(match: Any, threshold: float, similarity_base: float) -> str:
    """A searched face whose best candidate ``match`` (a :class:`~workbench.types.Match`, or
    ``None`` for an empty gallery) was further than ``threshold``."""
    if match is None:
        return f"{NOBODY}: the gallery holds no faces"
    at = float(compare.similarity(threshold, similarity_base))
    return (f"{UNDER_THRESHOLD}: the best candidate, {match.person}, is {match.similarity:.1f} % similar "
            f"(distance {match.distance:.3f}), {at - match.similarity:.1f} points under the threshold of "
            f"{at:.1f} % (distance {threshold:.3f})")


def kind(reason: str | None) -> str:
    """The kind of a reason (``"too small"``, ``"under the threshold"`` ...); ``""`` for none."""
    return "" if not reason else reason.partition(":")[0]
