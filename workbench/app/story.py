"""The guided story (the app's Story page): five steps on the demo photos that ship with the
workbench, each one library call that returns what happened in one paragraph and the figure
behind it.

1. enrol a small watch list (the face_recognition project's 5 people, 9 photos);
2. search a crowd photo (``retinaface/img3.jpg``: hog finds 23 strangers in it, yunet 159, most too small
   to search) against it;
3. loosen the threshold and count the strangers who become "matches";
4. the same false-match rate at scale: a 300,000-face gallery (Washington County's mugshots), the
   library's one scale answer (LFW when its reference is built, else the packaged photos);
5. the per-group audit on a sample of UTKFace's adults (a message when the data set is absent);
6. the same person further from the camera: a packaged photo of Obama shrunk face width by face
   width and compared with his enrolled photo (the robustness lab's degradation, on one photo).

Every photo comes from :func:`workbench.config.demo_dir`, so the story runs from a bare clone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from workbench import config
from workbench.errors import WorkbenchError
from workbench.evaluation.datasets.embedding import embed_files
from workbench.pipeline import Settings, annotate, capture, compare, quality
from workbench.pipeline.compare import is_match
from workbench.search import search_image
from workbench.search.enrol import DEMO_SUBDIR, enrol_path
from workbench.search.service import SearchResult
from workbench.store import Store
from workbench.types import Consent

#: The gallery the story enrols into (kept apart from the user's galleries), one per model: a
#: gallery holds one model's vectors, and the story can be told with each (see :func:`watchlist`).
WATCHLIST = "story watch list"
#: The crowd: a group photo of people none of whom is on the watch list.
CROWD = ("retinaface", "img3.jpg")
#: Washington County (Oregon) searched about 300,000 mugshots with Rekognition (2017-2019).
SCALE_GALLERY = 300_000
#: The consent record of the watch list: the demo's people did not consent; they are public figures
#: in published example photos (the exception the README's tour records too).
CONSENT = Consent(False, "public figures in the face_recognition project's published example photos")
#: Similarity thresholds of step 3 (loosened from Rekognition's 80 % default).
LOOSER = (99.0, 95.0, 90.0, 80.0, 70.0, 60.0, 50.0, 40.0, 30.0)

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True, eq=False)
class Step:
    """What one step did: a title, one paragraph in plain words, and the figure behind it."""

    title: str
    text: str
    figure: str
    images: tuple[tuple[np.ndarray | bytes, str], ...] = ()  # (RGB array or JPEG bytes, caption)
    chart: Any = None                               # a plotly figure, or None
    available: bool = True


def demo_path(*parts: str) -> Path:
    return config.demo_dir().joinpath(*parts)


def _percent(settings: Settings) -> float:
    return float(compare.similarity(settings.threshold_, settings.similarity_base))


def _same_model(crowd: SearchResult, settings: Settings) -> None:
    """Refuse a crowd searched with another model than ``settings``': its distances are on
    another scale than the settings' thresholds."""
    other = {fr.face.embedding.model for fr in crowd.faces if fr.face.embedding is not None} - {settings.model}
    if other:
        from workbench.errors import ModelMismatchError

        raise ModelMismatchError(watchlist(settings), settings.model, other.pop())


def watchlist(settings: Settings) -> str:
    """The story's watch-list gallery for the settings' model: ``story watch list (Dlib)``."""
    return f"{WATCHLIST} ({settings.model})"


# -- 1. the watch list ---------------------------------------------------------------------

def enrol_watchlist(db: Store, settings: Settings = Settings(), progress: Progress | None = None) -> Step:
    """Enrol the demo's five people (idempotent: a second run finds every photo enrolled)."""
    report = enrol_path(db, watchlist(settings), demo_path(*DEMO_SUBDIR), settings, consent=CONSENT,
                        progress=progress)
    people = db.faces.people(watchlist(settings))
    faces = db.faces.list(watchlist(settings))
    thumbs = tuple((th, str(f["person"])) for f in faces.iter_rows(named=True)
                   if (th := db.faces.thumbnail(f["id"])))
    names = ", ".join(sorted(people["name"].to_list()))
    text = (f"A watch list is a gallery of people the police are looking for. We enrolled {faces.height} photos of "
            f"{people.height} people ({names}) from the face_recognition project's examples. Each photo's face "
            f"became a list of 128 numbers; searching compares those numbers, never the pictures. None of them "
            f"consented: the gallery records why they are in it anyway ({CONSENT.reason}).")
    if report.duplicates:
        text += f" ({report.duplicates} photos were already enrolled from an earlier run.)"
    return Step("1. Enrol a small watch list", text, f"{faces.height} faces of {people.height} people", thumbs)


# -- 2. the crowd ----------------------------------------------------------------------------

def search_crowd(db: Store, settings: Settings = Settings()) -> SearchResult:
    """Every face of the crowd photo against every watch-list face (face by face, all of them)."""
    size = int(db.vectors.matrix(watchlist(settings), settings.model).vectors.shape[0])
    return search_image(db, watchlist(settings), demo_path(*CROWD), settings, top_k=max(size, 1), per_person=False,
                        name="/".join(CROWD), client="story")


def crowd_step(db: Store, crowd: SearchResult, settings: Settings = Settings()) -> Step:
    image = capture.load_image(demo_path(*CROWD))
    labels = []
    for i, fr in enumerate(crowd.faces, 1):
        best = fr.best
        hit = best is not None and bool(is_match(best.distance, settings.threshold_))
        verdict = "match" if hit else ("no match" if fr.searched else "not searched")
        labels.append(annotate.Label(fr.face.box, f"{i} {best.person} {best.similarity:.0f} %" if hit else str(i),
                                     verdict))
    matched = sum(lab.verdict == "match" for lab in labels)
    drawn = annotate.draw(image, labels)
    pct = _percent(settings)
    n, searched = len(crowd.faces), len(crowd.searched)
    why = ", ".join(f"{c} {quality.WORDS.get(r, r)}" for r, c in crowd.rejected().items())
    found = (f"found {n} faces" if searched == n else
             f"found {n} faces, {searched} of them good enough for {settings.model} to search (the quality gate "
             f"kept out the others: {why})")
    text = (f"We searched a crowd photo in which the face detector ({settings.detector}) {found}. None of these "
            f"people is on the watch list. At the threshold the sidebar sets ({pct:.0f} % similarity, distance "
            f"{settings.threshold_:.2f}), {matched} of the {searched} searched faces came back as a match"
            + (": every one of them a false match, an innocent stranger named as a wanted person."
               if matched else ": no stranger was named, this time.")
            + " Grey boxes: no match; green: called a match, with the name and the similarity"
            + ("; magenta: not searched" if searched < n else "") + " (the Search page's colours).")
    return Step("2. Search a crowd photo", text, f"{matched} of {searched} strangers matched at {pct:.0f} %",
                ((drawn, f"{'/'.join(CROWD)}: {n} faces"),))


# -- 3. a looser threshold ---------------------------------------------------------------------

def loosen_threshold(crowd: SearchResult, settings: Settings = Settings()) -> Step:
    """How many crowd faces a looser threshold turns into "matches" (no recomputation; the crowd
    must have been searched with the settings' model)."""
    import plotly.graph_objects as go

    _same_model(crowd, settings)

    best = np.array([fr.best.distance for fr in crowd.faces if fr.best is not None])
    rows = [(s, compare.distance_for_similarity(s, settings.similarity_base)) for s in LOOSER]
    counts = [int(is_match(best, t).sum()) for _, t in rows]
    fig = go.Figure(go.Bar(x=[f"{s:.0f} %" for s, _ in rows], y=counts, text=counts, textposition="outside",
                           marker_color=["#e76f51" if c else "#2a9d8f" for c in counts]))
    fig.update_layout(title="Strangers in the crowd called a match, by similarity threshold", height=320,
                      xaxis=dict(title="similarity threshold (lower = looser)"),
                      yaxis=dict(title=f"faces matched (of {len(best)})"), margin=dict(l=40, r=20, t=40, b=40))
    by = dict(zip((s for s, _ in rows), counts))
    loosest = rows[-1]
    text = (f"Vendors let the customer choose the threshold. At 99 % similarity {by[99.0]} of the {len(best)} "
            f"strangers matched someone on the watch list; at Rekognition's default of 80 %, {by[80.0]}; at 70 %, "
            f"{by[70.0]}; at {loosest[0]:.0f} % (distance {loosest[1]:.2f}), {by[loosest[0]]}. Nothing about the "
            "faces changed: only where the line is drawn. Every extra match here is an innocent person.")
    return Step("3. Lower the bar, watch strangers become matches", text,
                f"{by[80.0]} matches at 80 %, {by[loosest[0]]} at {loosest[0]:.0f} %", chart=fig)


# -- 4. at scale -----------------------------------------------------------------------------

def scale_step(settings: Settings = Settings(), gallery_size: int = SCALE_GALLERY, db: Store | None = None,
               answer=None) -> Step:
    """Step 4: the library's one scale answer
    (:func:`workbench.evaluation.runners.scale_reference.answer_at_scale`: the largest impostor set
    on the machine) for a gallery of ``gallery_size`` faces; ``answer`` when already computed."""
    from workbench.evaluation.reports import plots
    from workbench.evaluation.runners.scale_reference import answer_at_scale
    from workbench.evaluation.stats import scale

    if answer is None:
        answer = answer_at_scale(settings, sizes=(1_000, 10_000, gallery_size, 1_000_000, 20_000_000), db=db)
    r80, r99 = answer.row(80.0), answer.row(99.0)
    basis = answer.basis.words() if answer.basis else "faces of different people"
    text = (f"Washington County, Oregon, searched about {gallery_size:,} mugshots. How many innocent look-alikes "
            f"would one search return there? We counted false matches among {answer.comparisons:,} comparisons of "
            f"faces of different people: {basis}. {answer.sentence(gallery_size, 80.0)} "
            f"{answer.sentence(gallery_size, 99.0)} These figures are EXTRAPOLATED. {scale.ASSUMES}")
    if answer.groups:
        text += " Per group (UTKFace's labels): " + "; ".join(
            f"{g}: {_figure(a.row(80.0), gallery_size)}" for g, a in answer.groups) + "."
    text += "".join(f" {n}" for n in answer.notes)
    return Step(f"4. The same error rate in a {gallery_size:,}-face gallery", text,
                f"{_figure(r80, gallery_size)}; {_figure(r99, gallery_size)}", chart=plots.scale_figure(answer))


def _figure(r, size: int) -> str:
    """One threshold's figure for a step's headline: the estimate and where it comes from, or the
    measured range with its number of comparisons when that is all the data support."""
    from workbench.evaluation.stats import scale

    e, _ = r.at(size)
    bound = scale.expected_candidates(r.measured, size)
    if r.source == "range":
        return (f"at {r.similarity:g} %: between {scale.count(bound.low)} and {scale.count(bound.high)} false "
                f"candidates per search ({r.false_matches:,} false matches in {r.comparisons:,} comparisons)")
    how = ("measured" if r.source == "measured" else
           f"fitted tail; the data alone: fewer than {scale.count(bound.high)}")
    return f"at {r.similarity:g} %: {scale.per_search(e.value)} ({how}, {r.comparisons:,} comparisons)"


# -- 5. per group ----------------------------------------------------------------------------

#: Step 5's sample: photos per group (adults only), enough for a first look in about a minute.
AUDIT_PER_GROUP = 40


def audit_step(db: Store, settings: Settings = Settings(), progress: Progress | None = None,
               per_group: int = AUDIT_PER_GROUP) -> Step:
    """Step 5: the demographic audit (:mod:`workbench.evaluation.runners.audit`) on a small sample of
    UTKFace's labelled adults, with the current model and detector; a message when the data set
    is not on this machine."""
    from workbench.evaluation.reports import audit_report
    from workbench.evaluation.runners import audit

    folder = audit.default_folder()
    title = "5. Who bears the errors? False matches per group"
    if folder is None:
        text = ("Do false matches fall evenly on everyone? NIST found that many algorithms give more false matches "
                "for some demographic groups than others. Measuring that needs many faces labelled by group, which "
                "the demo photos are not. This step needs the UTKFace data set (research use only: the workbench "
                "never ships it; put it in ../shared/data/faces/utkface-balanced).")
        return Step(title, text, "needs the UTKFace data", available=False)
    report = audit.run_audit(folder, [Settings(detector=settings.detector, model=settings.model,
                                               upsample=settings.upsample)],
                             db=db, per_group=per_group, min_age=18, progress=progress,
                             dataset=f"UTKFace, {per_group} adults per group")
    m = report.models[0]
    t = m.thresholds[0]
    rows = sorted((r for r in m.rows(t.name) if r.pairs), key=lambda r: -r.fmr)
    pairs = sum(r.pairs for r in rows)
    text = (f"{m.label} compared every two of {sum(m.faces.values()):,} photos of different adults "
            f"({per_group} per group, labelled by the data set; {pairs:,} pairs within the groups) at one "
            f"threshold for everyone, as police use it. " + " ".join(audit_report.headline(report)[:1])
            + " A small sample: the ranges are wide. The Audit page runs the whole set, both models and "
              "the darker-photo test.")
    figure = "; ".join(f"{r.group}: {r.false_matches} of {r.pairs} pairs ({r.fmr:.1%})" for r in rows)
    chart = audit_report.figures(report)[0][1]
    return Step(title, text, f"false matches at {t.name}: {figure}", chart=chart)


# -- 6. further from the camera --------------------------------------------------------------

#: Step 6's photos: the enrolled photo of the person, and another photo of them that is shrunk.
FAR_ENROLLED = ("face-recognition-examples", "knn_examples", "train", "obama", "obama.jpg")
FAR_PROBE = ("face-recognition-examples", "knn_examples", "test", "obama1.jpg")
#: Face widths (px) of step 6, nearest first.
FAR_WIDTHS = (64, 48, 40, 32, 24, 16, 12)


@dataclass(frozen=True)
class FarLevel:
    """One width of step 6: the face's width, the camera distance it stands for, and the verdict."""

    width: float
    metres: float
    similarity: float | None     # None: no face found
    matched: bool
    gate: str                    # the quality gate's verdict in words


def further_away(db: Store, settings: Settings = Settings(), widths=FAR_WIDTHS) -> Step:
    """Step 6: one photo of the same person shrunk so the face is each of ``widths`` px wide (as a
    1080p camera with a 90-degree lens sees a person further away) and compared with the enrolled
    photo at the sidebar's threshold; the gate's verdict beside each."""
    import plotly.graph_objects as go

    from workbench.evaluation.datasets.degraded import reference_face
    from workbench.pipeline import analyze, choose_face, degrade

    enrolled = embed_files([demo_path(*FAR_ENROLLED)], settings, db)[0][0]
    probe = capture.load_image(demo_path(*FAR_PROBE))
    ref = reference_face(probe)
    if enrolled.vector is None or ref is None:
        return Step("6. The same person, further from the camera", "No face was found in the packaged photos "
                    "with this detector.", "no face", available=False)
    base = settings.similarity_base
    rows, images = [], []
    for w in (float(ref.width), *(float(x) for x in widths if x < ref.width)):
        small = degrade.to_width(probe, ref.width, w)
        a = analyze(small, settings)
        try:
            face = choose_face(a).face
        except WorkbenchError:
            rows.append(FarLevel(w, degrade.camera_distance(w), None, False, "no face found"))
            images.append((small, f"{w:.0f} px: no face found"))
            continue
        d = float(compare.distances(face.embedding.vector, enrolled.vector[None, :], settings.metric_)[0])
        sim = float(compare.similarity(d, base))
        hit = bool(is_match(d, settings.threshold_))
        rows.append(FarLevel(w, degrade.camera_distance(w), sim, hit, quality.describe(face.quality)))
        images.append((small, f"{w:.0f} px, {degrade.camera_distance(w):.1f} m: {sim:.0f} %"
                              + (" match" if hit else " no match")))
    pct = _percent(settings)
    fig = go.Figure(go.Scatter(x=[r.width for r in rows], y=[r.similarity for r in rows], mode="lines+markers",
                               text=[f"{r.metres:.1f} m; gate: {r.gate}" for r in rows], name="similarity"))
    fig.add_hline(y=pct, line=dict(dash="dash"), annotation_text=f"threshold {pct:.0f} %")
    fig.update_layout(title="The same person, further from the camera", height=320,
                      xaxis=dict(title="face width (px)", autorange="reversed", type="log"),
                      yaxis=dict(title="similarity to the enrolled photo (%)", range=[0, 101]),
                      margin=dict(l=40, r=20, t=40, b=40))
    named = [r for r in rows if r.matched]
    lost = next((r for r in rows if not r.matched), None)
    turned = next((r for r in rows if r.similarity is not None and r.gate != "accepted"), None)
    text = (f"A camera further away records the same face with fewer pixels. We shrank a second photo of Barack "
            f"Obama (face {ref.width} px wide) to faces {', '.join(f'{r.width:.0f}' for r in rows[1:])} px wide: at a "
            f"1080p camera with a 90° lens, a 16 cm face from {rows[0].metres:.1f} m to {rows[-1].metres:.1f} m away. "
            f"Each was compared with his enrolled photo at {pct:.0f} % ({settings.detector} + {settings.model}). "
            + (f"He was still named down to {min(r.width for r in named):.0f} px (about "
               f"{max(r.metres for r in named):.1f} m). " if named else "He was never named. ")
            + (f"At {lost.width:.0f} px ({lost.metres:.1f} m) " + ("no face was found at all." if lost.similarity is None
               else f"he was a stranger to the system ({lost.similarity:.0f} %).") if lost else
               "He was named at every width tried.")
            + (f" The quality gate would refuse to search faces from {turned.width:.0f} px on ({turned.gate})."
               if turned else "")
            + " The Robustness page measures this on 600 to 6,000 pairs per model, with blur, compression, night "
              "and masks too.")
    figure = "; ".join(f"{r.width:.0f} px ({r.metres:.1f} m): " + ("no face" if r.similarity is None else
                       f"{r.similarity:.0f} %{' match' if r.matched else ''}") for r in rows)
    return Step("6. The same person, further from the camera", text, figure, tuple(images), chart=fig)
