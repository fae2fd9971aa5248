"""Enrolment: images, folders of people and videos into a gallery, all or nothing.

Every source is analysed first (nothing is written while models run); the faces that pass
go to the database in one transaction. Each skipped source carries its reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from workbench.errors import GalleryError, WorkbenchError
from workbench.pipeline import Settings, capture, parallel, quality
from workbench.pipeline.capture import ImageSource
from workbench.store import FaceRecord, GalleryDB
from workbench.types import Box

#: ``progress(done, total, label)`` is called after each source.
Progress = Callable[[int, int, str], None]

NO_FACE = "no_face"
#: Sources read, hashed and analysed at a time (bounds the photo bytes held in memory).
CHUNK = 64


@dataclass(frozen=True)
class Skip:
    source: str
    reason: str
    #: the quality gate's rule in words, when the gate rejected the face
    detail: str = ""


@dataclass(frozen=True, eq=False)
class Source:
    """One thing to enrol: a label (path or upload name), its pixels or bytes, and who it is."""

    label: str
    person: str
    data: ImageSource


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


def enrol_sources(db: GalleryDB, gallery: str, sources: Iterable[Source], settings: Settings = Settings(), *,
                  consent: bool | None = None, notes: str | None = None,
                  progress: Progress | None = None, keep_faces: bool = False,
                  workers: int | None = None, batch_size: int | None = None) -> EnrolReport:
    """Analyse every source, keep the largest accepted face of each, and store them.

    A source is skipped (with a reason) when it cannot be read, has no face, its faces all
    fail the quality gate, or it is already enrolled (a duplicate: its sha256 is in the
    gallery, so it is not even decoded). New sources are analysed in parallel (one process
    per core, see :mod:`workbench.parallel`; ``workers=1`` keeps it in this process). With
    ``keep_faces``, the report lists every detected face with a thumbnail and its verdict.

    Faces are stored in one transaction at the end, or with ``batch_size`` (for large
    folders) every that many faces: a crash then loses only the batch in progress, never part
    of one, and running the same enrolment again skips what is stored and finishes the rest.
    """
    db.check_gallery_model(gallery, settings.model)  # another model's gallery: refused before any model time
    sources = list(sources)
    records: list[FaceRecord] = []
    skipped: list[Skip] = []
    duplicates = 0
    outcomes: list[FaceOutcome] = []
    ids: list[int] = []
    people: set[str] = set()

    def flush() -> None:
        nonlocal duplicates
        if records:
            new, dup_in_db = db.add_faces(gallery, records, consent=consent, notes=notes, model=settings.model)
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
            if sha is not None and (sha in pending or db.has_image(gallery, sha, settings.model)):
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
        for i, res in parallel.analyse_sources(todo, settings, workers=workers, all_thumbs=keep_faces,
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
    face = analysis.embedded[0] if analysis.embedded else None  # the largest accepted face
    if keep_faces:
        outcomes += [FaceOutcome(src.label, f.box, f is face,
                                 None if f is face else (quality.describe(f.quality) if f.quality.reason
                                                         else "not the largest face"),
                                 thumb) for f, thumb in zip(analysis.faces, res.thumbnails)]
    if face is None:
        q0 = analysis.faces[0].quality
        skipped.append(Skip(src.label, q0.reason or NO_FACE, quality.describe(q0) if q0.reason else ""))
        return None
    thumb = res.thumbnails[analysis.faces.index(face)] if keep_faces else res.thumbnails[0]
    d, q = face.detection, face.quality
    return FaceRecord(
        person=src.person, image_sha256=res.sha256, source_path=src.label, box=d.box.as_list(),
        landmarks=[v for pt in d.landmarks for v in pt],
        quality={"size": q.size, "sharpness": q.sharpness, "brightness": q.brightness, "yaw": q.yaw},
        det_score=d.score, detector=d.detector, embedding=face.embedding.vector,
        thumbnail=capture.encode_jpeg(thumb),
    )


def enrol_path(db: GalleryDB, gallery: str, path: str | os.PathLike, settings: Settings = Settings(), *,
               person: str | None = None, consent: bool | None = None, notes: str | None = None,
               every_s: float = 1.0, progress: Progress | None = None,
               batch_size: int | None = None, workers: int | None = None) -> EnrolReport:
    """Enrol an image, a folder of people, or a video (see :func:`plan`)."""
    return enrol_sources(db, gallery, plan(path, person, every_s=every_s), settings,
                         consent=consent, notes=notes, progress=progress, batch_size=batch_size,
                         workers=workers)


#: The demo gallery: the face_recognition project's k-NN example, one folder per person.
DEMO_SUBDIR = ("face-recognition-examples", "knn_examples", "train")


def demo_folder() -> Path | None:
    """The shared demo photos for the demo gallery, or ``None`` when they are absent."""
    from workbench import config

    base = config.faces_dir()
    folder = base.joinpath(*DEMO_SUBDIR) if base else None
    return folder if folder and folder.is_dir() else None


def load_demo_gallery(db: GalleryDB, settings: Settings = Settings(), gallery: str = "demo",
                      progress: Progress | None = None) -> EnrolReport:
    """Enrol the shared demo photos into ``gallery`` (idempotent)."""
    folder = demo_folder()
    if folder is None:
        raise GalleryError("the demo photos (../shared/data/faces) are not on this machine")
    return enrol_path(db, gallery, folder, settings, progress=progress)
