"""The Streamlit glue: cached resources, the shared sidebar, and error display (the models'
warm-up is :mod:`workbench.app.warm`).

Pages import this and the library; nothing else in ``workbench/`` imports Streamlit.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

import streamlit as st

from workbench import config
from workbench.app import privacy
from workbench.errors import ModelMismatchError, WorkbenchError
from workbench.pipeline import Settings, capture, compare, detect, zoo
from workbench.store import MEMORY, Store

T = TypeVar("T")

DEFAULT_GALLERY = "demo"


@st.cache_resource(show_spinner="Opening the gallery database ...")
def get_db(path: str) -> Store:
    """One store per process and DB file (two connections to one file would fight over compaction);
    it carries no model: pages pass the sidebar's model to every read and write of vectors."""
    return Store(path)


@dataclass(frozen=True)
class Current:
    """What the sidebar decided for this rerun."""

    settings: Settings
    gallery: str
    db_path: str


def ice_servers() -> list[dict[str, Any]]:
    """ICE servers for WebRTC: none by default (localhost, offline); JSON in $WORKBENCH_ICE_SERVERS
    (:func:`workbench.app.privacy.ice_servers`). A value it cannot use is said beside the webcam."""
    ice = privacy.ice_servers(os.environ.get(privacy.ICE_ENV, ""))
    if ice.problem:
        st.warning(ice.problem)
    return list(ice.servers)


def sidebar() -> Current | None:
    """Render the shared settings in the sidebar; ``None`` (with a message) if the DB cannot open."""
    sb = st.sidebar
    sb.header("Settings")
    classroom = sb.toggle(  # classroom mode keeps the gallery in memory only
        "Classroom mode (nothing saved)", value=str(config.db_path()) == MEMORY, key="classroom",
        help="Keep the gallery in memory: nothing is written to disk, and it is gone when the app stops.")
    db_path = MEMORY if classroom else sb.text_input("Database file", value=str(config.db_path()), key="db_path")
    try:
        db = get_db(db_path)
        galleries = db.galleries.list()
    except WorkbenchError as err:
        st.error(literal(err))
        return None
    names = galleries["gallery"].to_list()
    options = names or [DEFAULT_GALLERY]
    if st.session_state.get("_pending_gallery") in options:  # a gallery just created on the Enrol page
        st.session_state["gallery"] = st.session_state.pop("_pending_gallery")
    gallery = sb.selectbox("Gallery", options, key="gallery", accept_new_options=True,
                           help="Type a new name to start a new gallery (made when faces are enrolled, for the "
                                "model chosen below, which it keeps); galleries of several models share the file.")
    gallery = gallery or DEFAULT_GALLERY
    row = galleries.row(names.index(gallery), named=True) if gallery in names else None
    model = gallery_model_choice(sb, gallery, row)
    own = zoo.own_detector(model)
    names_d = zoo.detector_names()
    detector = sb.selectbox("Face detector", names_d, index=names_d.index(own) if own in names_d else 0,
                            key=f"detector_{model}", help=f"{own} is the detector {model} ships with.")
    default_t = compare.default_threshold(model)
    percent = sb.slider(
        "Match threshold (similarity %)", 1.0, 99.9, value=80.0, step=0.5, key=f"similarity_{model}",
        help="Two faces are called the same person at or above this similarity. Every page uses it.")
    threshold = compare.distance_for_similarity(percent, default_t,
                                                compare.max_distance(model, compare.default_metric(model)))
    sb.caption(threshold_words(percent, threshold, default_t, compare.default_metric(model)))
    if percent < 50:
        sb.warning(f"At {percent:g} % a 'match' can be a face less than half similar: most strangers "
                   "would be called the same person.")
    max_side = sb.number_input(
        "Shrink photos larger than (px, 0 = full size)", 0, 20_000, detect.DEFAULT_MAX_SIDE, step=160,
        key="max_side", help="Photos are shrunk to this long side before faces are searched: faster, "
                             "but the small faces of a crowd are lost. 0 searches at full size.")
    if zoo.embedder(model).dim != db.db.dim:
        fits = ", ".join(name for name in zoo.embedder_names() if zoo.embedder(name).dim == db.db.dim)
        sb.warning(literal(f"{model} makes {zoo.embedder(model).dim}-d vectors; this database file holds "
                           f"{db.db.dim}-d vectors (models: {fits}): use another database file for it."))
    return Current(Settings(detector=detector, model=model, threshold=threshold, max_side=int(max_side) or None),
                   gallery, db_path)


def gallery_model_choice(sb: Any, gallery: str, row: dict | None) -> str:
    """The model of this rerun: an existing gallery's own (shown, not offered: a gallery keeps its
    model, so a Dlib gallery is searched with Dlib, and the sidebar says so), else the user's choice
    for a new gallery, the zoo's default first."""
    if row is not None and not zoo.has_embedder(str(row["model"])):  # a file from elsewhere: said, not raised
        sb.warning(literal(f"{gallery} holds {row['model']} vectors, a model this workbench does not know: "
                           "choose another gallery."))
        row = None
    if row is None:
        model = sb.selectbox("Embedding model", zoo.embedder_names(), key="model",  # the default first
                             help=f"The model a new gallery is made for ({zoo.DEFAULT_MODEL} unless you choose "
                                  "another); an existing gallery keeps its own.")
        sb.caption(literal(f"{gallery} is a new gallery: it will hold {model} vectors once faces are enrolled."))
        return model
    model = str(row["model"])
    sb.selectbox("Embedding model", [model], key="model_of_gallery", disabled=True,
                 help="A gallery keeps the model it was made for; type a new gallery name to use another model.")
    sb.caption(literal(f"{gallery}: {row['faces']} faces of {model}. This gallery holds {model} vectors, "
                       f"so {model} is used (a gallery keeps its model; type a new gallery name for another)."))
    return model


def threshold_words(percent: float, distance: float, default: float, metric: str) -> str:
    """The threshold in both units and the mapping between them, in one line."""
    return (f"{percent:g} % similarity = {metric} distance {distance:.3f}. The model's default "
            f"distance ({default:g}) is shown as 80 %, half of it as 99 %; a smaller distance is a higher "
            "similarity.")


def current() -> Current:
    """The sidebar's choices, for pages (the entry script has stored them)."""
    cur = st.session_state.get("_current")
    if cur is None:
        _through_the_entry_script()
        st.stop()
    return cur


def _through_the_entry_script() -> None:
    """A page URL opened first after a (re)start runs here, not through ``app.py``.

    Until some session has run ``st.navigation``, Streamlit treats the ``pages/`` folder next
    to ``app.py`` as an old-style multipage app and runs ``pages/<name>.py`` alone (its sidebar
    list is hidden by ``client.showSidebarNavigation = false``); several sessions may have
    started that way at once. A page without the sidebar's choices is such a run (through
    ``app.py`` a page runs only once they are set): switch the old mode off for the process, as
    ``st.navigation`` itself does, and rerun the same URL, now through ``app.py`` (its sidebar,
    its navigation, then this page). Once per session, so nothing can loop.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if not st.session_state.get("_rerouted"):
        st.session_state["_rerouted"] = True
        PagesManager.uses_pages_directory = False
        st.rerun()


def navigation(where: Any, pages: list[Any]) -> None:
    """The navigation, drawn in ``where`` (the sidebar) first thing in every run, so it never
    blinks: one link per page. Streamlit's own sidebar list is off
    (``client.showSidebarNavigation``) so that the raw ``pages/`` file list never shows; these
    are the same ``st.Page`` objects ``st.navigation`` routes."""
    for page in pages:
        where.page_link(page)


#: Motion off on every page (the common "reduced motion" reset: animations end at once, transitions
#: are instant, and the events pages wait on still fire). Streamlit animates a page while its script
#: runs (the running indicator, elements fading while stale, spinners); a browser without a graphics
#: card (a headless Chromium, many classroom laptops) paints every frame of that on its CPU, and a
#: page that waits longer paints more. A class of 30 searching at once in Chromium on the server's
#: own 2 cores (`workbench bench classroom --sessions 30`, 2026-12-07): the browsers' CPU 30.7 and
#: 37.1 s with the motion (p95 14.1 and 20.3 s), 22.7 to 26.2 s without (p95 11.1 to 14.8 s).
#: Waiting pages still move: their line says the place in the queue, then the seconds run.
STILL_CSS = ("*, *::before, *::after { animation-duration: 0.01ms !important; "
             "animation-iteration-count: 1 !important; animation-delay: 0s !important; "
             "transition-duration: 0.01ms !important; transition-delay: 0s !important; "
             "scroll-behavior: auto !important; }")


def still() -> None:
    """Turn the page's motion off (:data:`STILL_CSS`); a style element alone takes no room on the page."""
    st.html(f"<style>{STILL_CSS}</style>")


def stay_local() -> None:
    """Keep Streamlit from asking an outside service for this machine's public IP, and warn
    on every page when the server can be reached from the network.

    Bound to one address (``.streamlit/config.toml``), Streamlit skips the lookup at start;
    it would still look the address up (internal: a route towards 8.8.8.8; external: a request
    to checkip.amazonaws.com) when a page from another origin tries to open the app's
    websocket. Its cache is filled with loopback here, so that never goes out.
    """
    from streamlit import net_util

    from workbench.app.privacy import is_loopback

    for cached in ("_internal_ip", "_external_ip"):
        if hasattr(net_util, cached) and getattr(net_util, cached) is None:
            setattr(net_util, cached, "127.0.0.1")
    address = st.get_option("server.address")
    if not is_loopback(address):
        where = f"on {address}" if address and address not in ("0.0.0.0", "::") else "on every network interface"
        st.error(f"This app is open to the network ({where}): anyone who can reach this machine can open the "
                 "gallery, search it and purge it. Restart it with `workbench app` (without --expose) to keep "
                 "it on this machine.", icon="⚠️")


def db() -> Store:
    """The database of the sidebar's file (one object per file, whatever the model)."""
    return get_db(current().db_path)


def known_gallery(gallery: str) -> bool:
    """Whether the gallery exists; if not, a note in the main area says how to make one."""
    if db().galleries.exists(gallery):
        return True
    from workbench.search.enrol import demo_folder

    st.info(f"Gallery {literal(gallery)} does not exist yet: enrol faces on the Enrol page"
            + (", or load the demo gallery on Home." if demo_folder() is not None else "."))
    return False


def gallery_matrix(gallery: str):
    """The gallery's vectors for the sidebar's model (the gallery's own: the sidebar follows it), or
    ``None`` with a note when it does not exist; an empty one is said so, before any result."""
    if not known_gallery(gallery):
        return None
    try:
        matrix = db().vectors.matrix(gallery, current().settings.model)
    except ModelMismatchError as err:
        model_mismatch(err)
        return None
    if not len(matrix.vectors):
        st.info(f"Gallery {literal(gallery)} is empty: nobody in it can be named or matched. Enrol faces first.")
    return matrix


def model_mismatch(err: ModelMismatchError) -> None:
    """Say that a gallery holds another model's vectors (the sidebar follows the selected gallery's
    model, so this is another gallery: an import into it, a file's own model ...); nothing to switch."""
    st.warning(literal(str(err)))


#: Every ASCII punctuation character may be backslash-escaped in Markdown (CommonMark); escaping
#: all of them leaves no link, image, emphasis, HTML tag, icon (``:material/x:``), colour
#: directive (``:red[...]``) or formula (``$...$``) for Streamlit to interpret.
_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")

#: GFM also links bare ``http://``, ``www.`` and e-mail addresses after parsing, in the text
#: escapes leave behind; it does not when the character before is a letter-like one. An
#: invisible WORD JOINER (U+2060) goes there: the text reads the same and stays text.
_AUTOLINK = re.compile(r"(?i)(?=https?://|www\.|@)")
WORD_JOINER = "\u2060"


def literal(text: Any) -> str:
    """A name, label or file name made safe for any Streamlit text that renders Markdown
    (``st.markdown``, ``st.caption``, ``st.write`` of a string, widget labels, expander titles,
    ``st.success``/``st.error`` ...): shown exactly as typed, on one line, never interpreted
    (no link, no image, no HTML, no formula; a bare URL or e-mail address is not linked either:
    an invisible word joiner sits before it).

    Data is never markup: every string that a user, a folder name or an imported file supplies
    goes through here (or into ``st.text``/``st.code``/``st.dataframe``, which show text as is).
    """
    one_line = " ".join(str(text).splitlines())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _AUTOLINK.sub(WORD_JOINER, one_line))


def attempt(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """Run one library call; a :class:`WorkbenchError` becomes a visible message, not a traceback."""
    from workbench.app import words

    try:
        return fn(*args, **kwargs)
    except ModelMismatchError as err:
        model_mismatch(err)
        return None
    except WorkbenchError as err:
        st.error(literal(words.message(err)))  # what happened and what to try, not a code
        return None


def preview(data: bytes, side: int = 160):
    """A small RGB copy of an uploaded photo (to show beside its rejection), or ``None`` if it
    cannot be decoded at all."""
    from workbench.errors import WorkbenchError as _Err

    try:
        image = capture.load_image(data)
    except _Err:
        return None
    h, w = image.shape[:2]
    step = max(1, max(h, w) // side)
    return image[::step, ::step]


def confirm_button(label: str, removes: Callable[[], str], key: str) -> bool:
    """A destructive button in two steps: the first click says what will be removed
    (``removes()``, e.g. "1 person, 3 faces and 2 search-log rows", counted only then), the
    second confirms. ``label`` is shown as Markdown: pass names through :func:`literal`.
    True once confirmed."""
    armed = f"{key}__armed"
    if not st.session_state.get(armed):
        if st.button(label, key=key):
            st.session_state[armed] = True
            st.rerun()
        return False
    st.warning(f"{label}: this removes {removes()}, and rewrites the file so none of it can be recovered.")
    yes, no = st.columns(2)
    if yes.button("Yes, remove", key=f"{key}__yes", type="primary"):
        st.session_state[armed] = False
        return True
    if no.button("Cancel", key=f"{key}__no"):
        st.session_state[armed] = False
        st.rerun()
    return False


def progress_callback(label: str) -> Callable[[int, int, str], None]:
    """A Streamlit progress bar driven by the library's ``progress(done, total, name)``."""
    bar = st.progress(0.0, text=label)

    def update(done: int, total: int, name: str) -> None:
        bar.progress(done / max(total, 1), text=f"{label}: {done}/{total} {literal(Path(name).name)}")

    return update


def _samples(keep: Callable[[Path], bool]) -> dict[str, Path]:
    base = config.photos_dir()
    return {name: base / name for name in config.demo_files(base) if keep(base / name)}


def sample_images() -> dict[str, Path]:
    """Demo photos by relative name: ../shared/data/faces when present (without its research data
    sets), else the packaged ones. Listed once per process (:func:`workbench.config.demo_files`)."""
    return _samples(capture.is_image)


def sample_videos() -> dict[str, Path]:
    """Demo clips by relative name: ../shared/data/faces when present, else the packaged ones."""
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
