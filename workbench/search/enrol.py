"""Enrolment: images, folders of people and videos into a gallery, all or nothing.

Every source is analysed first (nothing is written while models run); the faces that pass
go to the database in one transaction. Each skipped source carries its reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from workbench.errors import GalleryError, WorkbenchError
from workbench.pipeline import Settings, capture, parallel, quality
from workbench.pipeline.capture import ImageSource
from workbench.store import FaceRecord, Store
from workbench.store.faces import as_consent
from workbench.types import Box, Consent

#: ``progress(done, total, label)`` is called after each source.
Progress = Callable[[int, int, str], None]

NO_FACE = "no_face"
#: Why a photo with several faces that pass the quality gate is not enrolled under one name.
SEVERAL_FACES = "several faces pass the quality gate: choose one (workbench enrol PHOTO --face N)"
#: Sources read, hashed and analysed at a time (bounds the photo bytes held in memory).
CHUNK = 64


@dataclass(frozen=True)
class Skip:
    """A source not enrolled and why; ``boxes`` are its faces (numbered 1.., as
    ``workbench detect`` lists them) when a choice between them is needed."""

    source: str
    reason: str
    boxes: tuple[Box, ...] = ()


@dataclass(frozen=True, eq=False)
class Source:
    """One thing to enrol: a label (path or upload name), its pixels or bytes, and who it is."""

    label: str
    person: str
    data: ImageSource
    face: int | None = None  # which face (1-based, as `workbench detect` numbers them); None: the only one


@dataclass(frozen=True, eq=False)
class FaceOutcome:
    """One detected face of one source: was it enrolled, and if not, why."""

    source: str
    box: Box
    enrolled: bool
    reason: str | None
    thumbnail: np.ndarray


@dataclass(frozen=True, eq=False)
class EnrolReport:
    gallery: str
    face_ids: list[int] = field(default_factory=list)
    duplicates: int = 0
    skipped: list[Skip] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    faces: list[FaceOutcome] = field(default_factory=list)

    @property
    def enrolled(self) -> int:
        return len(self.face_ids)

    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.skipped:
            counts[s.reason] = counts.get(s.reason, 0) + 1
        return counts


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def plan(path: str | os.PathLike, person: str | None = None, *, every_s: float = 1.0,
         max_frames: int = 60) -> list[Source]:
    """What enrolling ``path`` means.

    * an image file: one source, for ``person`` (default: the file's stem);
    * a video file: one frame per ``every_s`` seconds, for ``person`` (default: the stem);
    * a folder whose sub-folders are people (``train/<person>/*.jpg``): every file of each;
    * a folder of files: every file, for ``person`` (default: each file's stem).

    Files that are not images are still listed; they are skipped later with a reason.
    """
    p = Path(path)
    if not p.exists():
        raise GalleryError(f"{p}: no such file or folder")
    if p.is_file():
        if capture.is_video(p):
            who = person or p.stem
            return [Source(f"{p}#frame{f.index}", who, f.image)
                    for f in capture.iter_frames(p, every_s=every_s, max_frames=max_frames)]
        return [Source(str(p), person or p.stem, p)]
    subdirs = sorted(d for d in p.iterdir() if d.is_dir() and not d.name.startswith("."))
    sources = [Source(str(f), person or f.stem, f) for f in _images_in(p)]
    for d in subdirs:
        sources += [Source(str(f), person or d.name, f) for f in _images_in(d)]
    if not sources:
        raise GalleryError(f"{p}: nothing to enrol (no files)")
    return sources


def enrol_sources(db: Store, gallery: str, sources: Iterable[Source], settings: Settings = Settings(), *,
                  consent: bool | Consent | None = None, notes: str | None = None,
                  progress: Progress | None = None, keep_faces: bool = False,
                  workers: int | None = None, batch_size: int | None = None,
                  analyser: Callable | None = None) -> EnrolReport:
    """Analyse every source, keep its one accepted face (or the face it names), and store them.

    A source is skipped (with a reason) when it cannot be read, has no face, its faces all
    fail the quality gate, several of its faces pass the gate and it does not say which one
    is the person (:data:`SEVERAL_FACES`, with the boxes: the workbench never guesses whose
    face a name belongs to), or it is already enrolled (a duplicate: its sha256 is in the
    gallery, so it is not even decoded). ``consent`` is recorded on every person of the call
    (see :meth:`~workbench.store.faces.Faces.add`); a refusal without a reason is refused
    before any work. New sources are analysed in parallel (one process
    per core, see :mod:`workbench.pipeline.parallel`; ``workers=1`` keeps it in this process). With
    ``keep_faces``, the report lists every detected face with a thumbnail and its verdict.

    Faces are stored in one transaction at the end, or with ``batch_size`` (for large
    folders) every that many faces: a crash then loses only the batch in progress, never part
    of one, and running the same enrolment again skips what is stored and finishes the rest.
    ``analyser`` replaces :func:`workbench.pipeline.parallel.analyse_sources` (same arguments and
    yields), e.g. :func:`workbench.pipeline.raycluster.analyse_sources_ray` for a Ray cluster.
    """
    db.galleries.check_writable(gallery, settings.model)  # another model's gallery: refused before any model time
    sources = list(sources)
    as_consent(consent)  # a refusal without a stated reason fails before any model time
    records: list[FaceRecord] = []
    skipped: list[Skip] = []
    duplicates = 0
    outcomes: list[FaceOutcome] = []
    ids: list[int] = []
    people: set[str] = set()

    def flush() -> None:
        nonlocal duplicates
        if records:
            new, dup_in_db = db.faces.add(gallery, records, model=settings.model, consent=consent, notes=notes)
            ids.extend(new)
            duplicates += dup_in_db
            people.update(r.person for r in records)
            records.clear()

    pending: set[str] = set()
    done = 0
    for first in range(0, len(sources), CHUNK):  # a chunk at a time: a huge folder is never all in memory
        todo: list[tuple[str, bytes | np.ndarray, str]] = []
        todo_src: list[Source] = []
        for src in sources[first:first + CHUNK]:
            try:
                data = parallel.source_bytes(src.data)
                sha = capture.sha256(data)  # the same hash a path gives, from bytes read once
            except WorkbenchError as err:
                skipped.append(Skip(src.label, f"unreadable: {getattr(err, 'reason', err)}"))
                data = sha = None
            if sha is not None and (sha in pending or db.faces.has_image(gallery, sha, settings.model)):
                duplicates += 1
            elif sha is not None:
                pending.add(sha)
                todo.append((src.label, data, sha))
                todo_src.append(src)
                continue
            done += 1
            if progress:
                progress(done, len(sources), src.label)
        base = done
        step = (lambda i, _n, label, base=base: progress(base + i, len(sources), label)) if progress else None
        for i, res in (analyser or parallel.analyse_sources)(todo, settings, workers=workers, all_thumbs=keep_faces,
                                                             full=[s.face is not None for s in todo_src],
                                                             progress=step):
            record = _record(todo_src[i], res, keep_faces, skipped, outcomes)
            if record is not None:
                records.append(record)
            if batch_size and len(records) >= batch_size:
                flush()
        done += len(todo)
    flush()
    return EnrolReport(gallery, ids, duplicates, skipped, sorted(people), outcomes)


def _record(src: Source, res: parallel.Analysed, keep_faces: bool, skipped: list[Skip],
            outcomes: list[FaceOutcome]) -> FaceRecord | None:
    """The face to store for one analysed source, or ``None`` (the reason goes to ``skipped``)."""
    analysis = res.analysis
    if analysis is None:
        skipped.append(Skip(src.label, f"unreadable: {res.error}"))
        return None
    if not analysis.faces:
        skipped.append(Skip(src.label, NO_FACE))
        return None
    faces = analysis.faces
    boxes = tuple(f.box for f in faces)
    face, why = None, None
    if src.face is not None:
        if not 1 <= src.face <= len(faces):
            why = f"there is no face {src.face}: {len(faces)} found"
        elif faces[src.face - 1].embedding is None:
            why = f"face {src.face} fails the quality gate ({quality.describe(faces[src.face - 1].quality)})"
        else:
            face = faces[src.face - 1]
    elif len(analysis.embedded) > 1:
        why = SEVERAL_FACES
    elif analysis.embedded:
        face = analysis.embedded[0]
    else:
        why = quality.describe(faces[0].quality)
    thumbs = res.thumbnails if len(res.thumbnails) == len(faces) else None  # one per face, in order
    if keep_faces and thumbs is not None:
        outcomes += [FaceOutcome(src.label, f.box, f is face,
                                 None if f is face else (quality.describe(f.quality) if f.embedding is None
                                                         else "another face of the photo was chosen"
                                                         if face is not None else "not chosen"),
                                 thumb) for f, thumb in zip(faces, thumbs)]
    if face is None:
        skipped.append(Skip(src.label, why or NO_FACE, boxes if why == SEVERAL_FACES else ()))
        return None
    thumb = thumbs[faces.index(face)] if thumbs is not None else res.thumbnails[0]
    d, q = face.detection, face.quality
    return FaceRecord(
        person=src.person, image_sha256=res.sha256, source_path=src.label, box=d.box.as_list(),
        landmarks=[v for pt in d.landmarks for v in pt],
        quality={"size": q.size, "sharpness": q.sharpness, "brightness": q.brightness, "yaw": q.yaw},
        det_score=d.score, detector=d.detector, embedding=face.embedding.vector,
        thumbnail=capture.encode_jpeg(thumb),
    )


def enrol_path(db: Store, gallery: str, path: str | os.PathLike, settings: Settings = Settings(), *,
               person: str | None = None, consent: bool | Consent | None = None, notes: str | None = None,
               every_s: float = 1.0, progress: Progress | None = None, face: int | None = None,
               batch_size: int | None = None, workers: int | None = None,
               analyser: Callable | None = None) -> EnrolReport:
    """Enrol an image, a folder of people, or a video (see :func:`plan`); ``face`` (1-based)
    names the face to enrol in a photo that shows several (one image only)."""
    sources = plan(path, person, every_s=every_s)
    if face is not None:
        if len(sources) != 1 or capture.is_video(path):
            raise GalleryError(f"{path}: --face picks a face in one photo, not in a folder or a video")
        sources = [replace(sources[0], face=int(face))]
    return enrol_sources(db, gallery, sources, settings,
                         consent=consent, notes=notes, progress=progress, batch_size=batch_size,
                         workers=workers, analyser=analyser)


#: The demo gallery: the face_recognition project's k-NN example, one folder per person
#: (shipped inside the package, see ``workbench/demo/SOURCES.md``).
DEMO_SUBDIR = ("face-recognition-examples", "knn_examples", "train")


def demo_folder() -> Path | None:
    """The demo gallery's photos (packaged with the workbench), or ``None`` if they were removed."""
    from workbench import config

    folder = config.demo_dir().joinpath(*DEMO_SUBDIR)
    return folder if folder.is_dir() else None


def load_demo_gallery(db: Store, settings: Settings = Settings(), gallery: str = "demo",
                      progress: Progress | None = None) -> EnrolReport:
    """Enrol the demo photos into ``gallery`` (idempotent): 9 photos of 5 people, recorded as a
    public-figure exception to consent (see :data:`DEMO_CONSENT`)."""
    folder = demo_folder()
    if folder is None:
        raise GalleryError("the demo photos (workbench/demo) are missing from this installation")
    return enrol_path(db, gallery, folder, settings, progress=progress, consent=DEMO_CONSENT)


#: The demo people are public figures whose photos the face_recognition project publishes.
DEMO_CONSENT = Consent(False, "public figures: example photos published by the face_recognition project (demo)")
