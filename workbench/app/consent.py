"""The consent choice every form that enrols asks for (the Enrol page, naming an anonymous
identity on the Cameras page), as ``enrol --consent`` / ``--no-consent --reason`` ask on the
command line: consent given, or an exception with its reason. Nothing else is recorded."""

from __future__ import annotations

from typing import Any

import streamlit as st

from workbench.types import Consent

CONSENTED = "They consented to being enrolled"
EXCEPTION = "No consent: a public figure or a research exception"


def consent_choice(prefix: str, where: Any = st) -> Consent | None:
    """A radio (key ``{prefix}_consent``) and, for an exception, its reason (``{prefix}_reason``)
    in ``where`` (a column, a container; default the page). ``None`` until the choice is
    complete: no choice, or an exception without a reason."""
    basis = where.radio("Consent (required)", [CONSENTED, EXCEPTION], index=None, key=f"{prefix}_consent",
                        help="Recorded with the person. Enrolling someone without consent needs a stated reason.")
    reason = where.text_input("Reason for enrolling without consent", key=f"{prefix}_reason",
                              placeholder="e.g. public figure: a head of state's official portraits") \
        if basis == EXCEPTION else ""
    if basis == CONSENTED:
        return Consent(True)
    return Consent(False, reason.strip()) if basis and reason.strip() else None


#: What a form says when the choice is missing.
MISSING = "Say whether this person consented; without consent, give the reason they may be enrolled."
