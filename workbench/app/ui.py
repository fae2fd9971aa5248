"""The one Streamlit glue module: cached resources, the shared sidebar, and error display.

Pages import this and the library; nothing else in ``workbench/`` imports Streamlit.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

import streamlit as st

from workbench import config
from workbench.errors import ModelMismatchError, WorkbenchError
from workbench.pipeline import Settings, capture, compare, detect, embed, models
from workbench.store import MEMORY, GalleryDB

T = TypeVar("T")

DEFAULT_GALLERY = "demo"


@st.cache_resource(show_spinner="Opening the gallery database ...")
def get_db(path: str, _model: str = embed.DEFAULT_MODEL) -> GalleryDB:
    """One connection per process and DB file, whatever the model (galleries of several models
    share a file; two connections to one file would fight over compaction); each thread gets its
    own cursor from it. ``_model`` (not part of the cache key) only decides the vector size of a
    file created here: pages pass the session's model to every call that reads or writes vectors."""
    return GalleryDB(path, _model)


@st.cache_resource(show_spinner="Loading face models (once per process) ...")
def load_models(detector: str, model: str) -> list[str]:
    """Warm the model registry so the first search does not pay for loading."""
    models.get("dlib.shape5")
    if detector in ("hog", "cnn"):
        models.get(f"dlib.{detector}")
    elif detector in ("haar", "yunet"):
        models.get(f"opencv.{detector}")
    else:
        models.deepface_model("face_detector", detector)
    if model == "Dlib":
        models.get("dlib.resnet")
    elif model == "SFace":
        models.get("opencv.sface")
    else:
        models.deepface_model("facial_recognition", model)
    return models.loaded()


@dataclass(frozen=True)
class Current:
    """What the sidebar decided for this rerun."""

    settings: Settings
    gallery: str
    db_path: str


def ice_servers() -> list[dict[str, Any]]:
    """ICE servers for WebRTC: none by default (localhost, offline); JSON in $WORKBENCH_ICE_SERVERS."""
    raw = os.environ.get("WORKBENCH_ICE_SERVERS", "")
    try:
        return json.loads(raw) if raw else []
    except json.JSONDecodeError:
        return []


def sidebar() -> Current | None:
    """Render the shared settings in the sidebar; ``None`` (with a message) if the DB cannot open."""
    sb = st.sidebar
    sb.header("Settings")
    classroom = sb.toggle(  # classroom mode keeps the gallery in memory only
        "Classroom mode (nothing saved)", value=str(config.db_path()) == MEMORY, key="classroom",
        help="Keep the gallery in memory: nothing is written to disk, and it is gone when the app stops.")
    db_path = MEMORY if classroom else sb.text_input("Database file", value=str(config.db_path()), key="db_path")
    if "_use_model" in st.session_state:  # a "Use <model>" button asked for the gallery's model
        st.session_state["model"] = st.session_state.pop("_use_model")
    model = sb.selectbox("Embedding model", list(embed.MODELS), key="model")
    detector = sb.selectbox("Face detector", list(detect.DETECTORS), key="detector")
    default_t = compare.default_threshold(model)
    threshold = sb.slider(
        f"Match threshold ({compare.default_metric(model)} distance)", 0.0, round(default_t * 2, 3),
        value=default_t, step=round(default_t / 100, 4), key=f"threshold_{model}",
        help="Distance at or under which two faces are called the same person. "
             "The model's default maps to 80 % similarity, half of it to 99 %.")
    sb.caption(f"= {compare.similarity(threshold, default_t):.1f} % similarity "
               f"(default {default_t} = 80 %)")
    st.session_state["_switch_buttons"] = 0
    try:
        db = get_db(db_path, model)
        galleries = db.galleries()
    except WorkbenchError as err:
        st.error(str(err))
        return None
    names = galleries["gallery"].to_list()
    options = names or [DEFAULT_GALLERY]
    gallery = sb.selectbox("Gallery", options, key="gallery", accept_new_options=True,
                           help="Type a new name to start a new gallery. A gallery keeps the model of its "
                                "first faces: galleries of several models can share the database file.")
    gallery = gallery or DEFAULT_GALLERY
    if gallery in names:
        row = galleries.row(names.index(gallery), named=True)
        note = f"{row['faces']} faces of {row['model']}"
        sb.caption(literal(f"{gallery}: {note}" + ("" if row["model"] == model else
                                                   f" (not {model}: searching it needs {row['model']})")))
    if embed.model_info(model).dim != db.dim:
        sb.warning(literal(f"{model} makes {embed.model_info(model).dim}-d vectors; this database file holds "
                           f"{db.dim}-d vectors ({db.file_model}, SFace, Dlib): use another database file for it."))
    return Current(Settings(detector=detector, model=model, threshold=threshold), gallery, db_path)


def current() -> Current:
    """The sidebar's choices, for pages (the entry script has stored them)."""
    cur = st.session_state.get("_current")
    if cur is None:
        st.stop()
    return cur


def db() -> GalleryDB:
    """The database of the sidebar's file (one object per file, whatever the model)."""
    cur = current()
    return get_db(cur.db_path, cur.settings.model)


def gallery_matrix(gallery: str, *, same_model: bool = True):
    """The gallery's vectors, or ``None`` with a note when the gallery does not exist yet, or
    (``same_model``) when it holds another model's vectors than the sidebar's: they are never
    compared, and the note offers to switch the model."""
    from workbench.errors import GalleryError

    try:
        return db().matrix(gallery, current().settings.model if same_model else None)
    except ModelMismatchError as err:
        model_mismatch(err)
        return None
    except GalleryError:
        st.info(f"Gallery {gallery!r} does not exist yet: enrol faces on the Enrol page, "
                "or load the demo gallery on Home.")
        return None


def _use_model(model: str) -> None:
    st.session_state["_use_model"] = model  # applied by sidebar() before its model widget is drawn


def model_mismatch(err: ModelMismatchError) -> None:
    """Say that a gallery holds another model's vectors, with a button that switches to that model."""
    st.warning(literal(str(err)))
    n = st.session_state.get("_switch_buttons", 0)
    st.session_state["_switch_buttons"] = n + 1
    st.button(literal(f"Use {err.gallery_model}, this gallery's model"), key=f"switch_model_{n}",
              on_click=_use_model, args=(err.gallery_model,))


#: Every ASCII punctuation character may be backslash-escaped in Markdown (CommonMark); escaping
#: all of them leaves no link, image, emphasis, HTML tag, icon (``:material/x:``), colour
#: directive (``:red[...]``) or formula (``$...$``) for Streamlit to interpret.
_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")


def literal(text: Any) -> str:
    """A name, label or file name made safe for any Streamlit text that renders Markdown
    (``st.markdown``, ``st.caption``, ``st.write`` of a string, widget labels, expander titles,
    ``st.success``/``st.error`` ...): shown exactly as typed, on one line, never interpreted.

    Data is never markup: every string that a user, a folder name or an imported file supplies
    goes through here (or into ``st.text``/``st.code``/``st.dataframe``, which show text as is).
    """
    one_line = " ".join(str(text).splitlines())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line)


def attempt(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """Run one library call; a :class:`WorkbenchError` becomes a visible message, not a traceback."""
    try:
        return fn(*args, **kwargs)
    except ModelMismatchError as err:
        model_mismatch(err)
        return None
    except WorkbenchError as err:
        st.error(str(err))
        return None


def progress_callback(label: str) -> Callable[[int, int, str], None]:
    """A Streamlit progress bar driven by the library's ``progress(done, total, name)``."""
    bar = st.progress(0.0, text=label)

    def update(done: int, total: int, name: str) -> None:
        bar.progress(done / max(total, 1), text=f"{label}: {done}/{total} {Path(name).name}")

    return update


def audit_json(report) -> bytes:
    """The audit's figures as strict JSON bytes (no NaN), for a download button."""
    from workbench.evaluation import audit_report

    return json.dumps(audit_report.as_dict(report), indent=2, allow_nan=False, default=str).encode()


def _samples(keep: Callable[[Path], bool]) -> dict[str, Path]:
    base = config.faces_dir()
    if base is None:
        return {}
    return {str(p.relative_to(base)): p for p in sorted(base.rglob("*")) if p.is_file() and keep(p)}


def sample_images() -> dict[str, Path]:
    """Demo photos from ../shared/data/faces by relative name (empty when absent)."""
    return _samples(capture.is_image)


def sample_videos() -> dict[str, Path]:
    """Demo clips from ../shared/data/faces by relative name (empty when absent)."""
    return _samples(capture.is_video)


def image_input(label: str, key: str) -> tuple[str, bytes] | None:
    """An uploader plus a picker of demo photos; returns ``(name, bytes)`` of the choice."""
    up = st.file_uploader(label, type=["jpg", "jpeg", "png", "webp", "bmp"], key=f"{key}_upload")
    if up is not None:
        return up.name, up.getvalue()
    samples = sample_images()
    if samples:
        pick = st.selectbox("... or a demo photo", ["(none)"] + list(samples), key=f"{key}_sample")
        if pick != "(none)":
            return pick, samples[pick].read_bytes()
    return None
