"""The "Explain this match" panel of the Compare and Search pages: asked for with one click, never
computed before, drawn from a :class:`workbench.search.explain.Explanation`.

The page draws :func:`ask` (the choices and the button), makes the one library call when it
returns a request, hands the answer to :func:`keep`, and draws :func:`show`. An explanation is
kept for the inputs it was made for only: another photo, face or model clears it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Sequence

import polars as pl
import streamlit as st

from workbench.app import words
from workbench.app.ui import literal
from workbench.evaluation.reports import explain_plots
from workbench.pipeline import compare, occlusion
from workbench.search.explain import Explanation

NOT_KNOWN = "(not known)"

#: What the colours mean, and what a map cannot tell, said under every map.
COLOURS = ("Red: covering this patch pushed the distance up, so this patch made the two faces look alike to "
           "the model. Blue: covering it brought the faces closer, so it made them look different. White: no "
           "change. Each patch was covered with the chip's mean colour, one at a time.")
LIMITS = ("One probe face, against one reference, for one model: this is what moved this distance, not what "
          "the model looks at in general. A grey square is itself something the model sees, and patches "
          "interact (covering both eyes is not the sum of covering each).")


@dataclass(frozen=True)
class Request:
    """What the user asked for: who the probe is (``None``: not known), the grid's positions, and
    which face (1-based) of the probe photo (``None`` when the page offers no choice)."""

    person: str | None
    steps: int
    face: int | None = None


def ask(key: str, people: Sequence[str], models: int, what: str, faces: Sequence[int] = ()) -> Request | None:
    """The panel's header, choices and button (``faces``: the face numbers to choose among, when
    several); a :class:`Request` on the click, else ``None``."""
    st.subheader("Explain this match")
    st.caption(literal(f"What each model received, which parts of the probe's face moved the distance ({what}), "
                       "and who else in the gallery looks like the probe to the model. Nothing is computed "
                       "until you click."))
    face = st.selectbox("Face to explain (the numbers on the photo)", list(faces), key=f"{key}_face") \
        if len(faces) > 1 else (faces[0] if faces else None)
    c1, c2 = st.columns(2)
    who = c1.selectbox("Who is in the probe photo, if you know (left out of the closest impostors)",
                       [NOT_KNOWN] + sorted(set(people)), key=f"{key}_who", help=words.term("impostor"))
    steps = c2.number_input("Patch positions per side (more: a finer map, slower)", 2, 16, occlusion.STEPS,
                            key=f"{key}_steps")
    cost = int(steps) ** 2 + 2
    if not st.button(f"Explain this match ({cost} embeddings per model, {models} model"
                     f"{'s' if models != 1 else ''})", key=f"{key}_button", help=words.term("occlusion map")):
        return None
    return Request(None if who == NOT_KNOWN else who, int(steps), face)


def keep(key: str, inputs: Hashable, explanation: Explanation | None) -> None:
    """Remember an explanation for these inputs (``None``: it failed, and its message was shown)."""
    st.session_state[f"{key}_kept"] = (inputs, explanation) if explanation is not None else None


def face(key: str) -> int | None:
    """The face chosen in the panel (its widget's value), for the inputs an explanation is kept for."""
    return st.session_state.get(f"{key}_face")


def show(key: str, inputs: Hashable, threshold: float) -> None:
    """Draw the explanation kept for these inputs, if any."""
    kept = st.session_state.get(f"{key}_kept")
    if not kept or kept[0] != inputs:
        return
    e: Explanation = kept[1]
    st.caption(literal(e.describe()))
    _chips(e)
    _maps(e, key)
    _impostors(e, key, threshold)


def _chips(e: Explanation) -> None:
    st.markdown("**What each model received**: the face cut out of the photo, and the aligned chip each model "
                "embeds (shown at its real size).", help=words.term("aligned chip"))
    for role, face in (("the probe", e.probe), ("compared with", e.reference)):
        if face is None:
            continue
        cols = st.columns(1 + len(face.chips))
        cols[0].image(face.crop, caption=literal(f"{role}: {face.name}"), width=face.crop.shape[1])
        for col, c in zip(cols[1:], face.chips):
            col.image(c.chip, caption=literal(f"{c.model}: {c.side} x {c.side} px chip"), width=c.side)


def _maps(e: Explanation, key: str) -> None:
    st.markdown("**Which parts of the probe moved the distance**, against " + literal(e.against))
    if e.maps:
        for col, m in zip(st.columns(len(e.maps)), e.maps):
            col.plotly_chart(explain_plots.occlusion_figure(m), key=f"{key}_map_{m.model}")
            col.caption(literal(m.describe()))
        st.caption(COLOURS)
        st.caption(LIMITS)
    for line in e.without_map:
        st.caption(literal(line))


def _impostors(e: Explanation, key: str, threshold: float) -> None:
    st.markdown("**Who else looks like this probe to the model**")
    n = e.neighbours
    if n is None:
        st.caption(literal(e.neighbours_note))
        return
    st.caption(literal(n.describe()))
    if not n.impostors:
        st.caption("Nobody else is enrolled in this gallery.")
        return
    st.plotly_chart(explain_plots.impostors_figure(n, threshold), key=f"{key}_impostors")
    st.dataframe(pl.DataFrame([{
        "rank": m.rank, "person": m.person, "distance": round(m.distance, 4), "similarity %": round(m.similarity, 1),
        "at the sidebar's threshold": "would be called a MATCH" if compare.is_match(m.distance, threshold) else "no match",
    } for m in n.impostors]), hide_index=True, key=f"{key}_impostor_table")
