"""Identification (1:N) evaluation: probe photos searched against a gallery, with FPIR, FNIR
and CMC from :mod:`workbench.evaluation.stats.metrics`. Probe vectors come through the embedding cache.

Who a probe is comes from a stated source (:class:`ProbeIdentity`), never from a guess: the
name of its sub-folder (``probes/<person>/photo.jpg``), an identities CSV (``file,person``),
or the user's statement that none of the people photographed is in the gallery. A probe is
*mated* when its person is a person of the gallery; a photo whose person is not stated is
left out and listed (a file name such as ``obama1.jpg`` says nothing reliable).

Photos in which no face is found are *failures to acquire*: counted and reported, and by
default counted as misses in FNIR (a mated search that returns nobody), as NIST does; they
cannot be false positives. Files that are not images are skipped and listed, never counted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from workbench.errors import WorkbenchError
from workbench.evaluation.datasets import embedding as cache
from workbench.evaluation.stats import metrics
from workbench.pipeline import Settings, capture, compare
from workbench.store import Store


#: Sources of who a probe is (see :class:`ProbeIdentity`).
FOLDERS, CSV, NONE_ENROLLED = "folders", "csv", "none-enrolled"


@dataclass(frozen=True)
class ProbeIdentity:
    """How the workbench knows who each probe photo shows.

    * ``folders``: the photo's sub-folder names the person (``probes/<person>/x.jpg``); a photo
      directly in the probes folder has no stated person;
    * ``csv``: ``names`` maps a file name (its base name) to a person, from a CSV with ``file``
      and ``person`` columns; a photo in a sub-folder not named there takes the sub-folder's name;
    * ``none-enrolled``: the user states that none of the people photographed is in the gallery.
    """

    source: str = FOLDERS
    names: dict[str, str] = field(default_factory=dict)

    def person(self, path: Path, root: Path) -> str | None:
        if self.source == CSV and path.name in self.names:
            return self.names[path.name]
        rel = path.relative_to(root)
        if len(rel.parts) > 1:
            return rel.parts[0]
        return None

    def describe(self) -> str:
        return {FOLDERS: "each probe's sub-folder names its person",
                CSV: f"an identities CSV names the person of {len(self.names)} files (sub-folders the rest)",
                NONE_ENROLLED: "stated by the user: none of these people is in the gallery"}[self.source]


def read_identities(path: str | os.PathLike) -> ProbeIdentity:
    """An identities CSV: columns ``file`` and ``person`` (others ignored), one row per photo."""
    p = Path(path)
    if not p.is_file():
        raise WorkbenchError(f"{p}: no such identities file")
    return parse_identities(p.read_bytes(), str(p))


def parse_identities(data: bytes, name: str = "identities") -> ProbeIdentity:
    """:func:`read_identities` on the bytes of a CSV (an upload)."""
    import csv as csvlib
    import io

    try:
        rows = list(csvlib.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    except (UnicodeDecodeError, csvlib.Error) as err:
        raise WorkbenchError(f"{name}: not a readable CSV ({err})") from None
    cols = {c.strip().lower(): c for c in (rows[0].keys() if rows else [])}
    if not {"file", "person"} <= set(cols):
        raise WorkbenchError(f"{name}: an identities CSV needs the columns file and person")
    names = {Path(r[cols["file"]].strip()).name: r[cols["person"]].strip()
             for r in rows if (r[cols["file"]] or "").strip() and (r[cols["person"]] or "").strip()}
    if not names:
        raise WorkbenchError(f"{name}: no file has a person in it")
    return ProbeIdentity(CSV, names)


@dataclass(frozen=True, eq=False)
class Probes:
    """Probe photos with a vector (the face :func:`~workbench.pipeline.choose_face` picks) and
    their stated person (``None``: not stated); the photos with no face (``fta``: path ->
    person), and the files skipped (not images, unreadable: path -> reason)."""

    paths: list[str]
    persons: list[str | None]
    vectors: np.ndarray
    failed: dict[str, str]
    stats: cache.CacheStats
    fta: dict[str, str | None] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    identity: ProbeIdentity = ProbeIdentity()
    photos: int = 0

    @property
    def unknown(self) -> list[str]:
        """Probes (with a face) whose person is not stated."""
        return [p for p, who in zip(self.paths, self.persons) if who is None]


def load_probes(folder: str | os.PathLike, settings: Settings, db: Store | None = None,
                progress: Callable[[int, int, str], None] | None = None,
                identity: ProbeIdentity = ProbeIdentity()) -> Probes:
    """Embed every photo under ``folder`` (one level of person sub-folders); files that are
    not images are listed in ``skipped``, photos without a face in ``fta``."""
    root = Path(folder)
    if not root.is_dir():
        raise WorkbenchError(f"{root}: no such folder")
    skipped: dict[str, str] = {}

    def photos(d: Path) -> list[Path]:  # CSVs, licences and videos beside the photos are not probes
        files = sorted(p for p in d.iterdir() if p.is_file() and not p.name.startswith("."))
        skipped.update({str(p.relative_to(root)): "not an image file" for p in files if not capture.is_image(p)})
        return [p for p in files if capture.is_image(p)]

    files = photos(root)
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files += photos(d)
    if not files:
        raise WorkbenchError(f"{root}: no probe photos in it")
    done, stats = cache.embed_files(files, settings, db, progress)
    ok = [(e, f) for e, f in zip(done, files) if e.vector is not None]
    dim = ok[0][0].vector.shape[0] if ok else 0
    skipped.update({str(f.relative_to(root)): e.failure for e, f in zip(done, files)
                    if e.vector is None and not e.no_face})
    return Probes(
        paths=[str(f) for _, f in ok], persons=[identity.person(f, root) for _, f in ok],
        vectors=np.stack([e.vector for e, _ in ok]).astype(np.float32) if ok else np.zeros((0, dim), np.float32),
        failed={str(f.relative_to(root)): e.failure for e, f in zip(done, files) if e.vector is None},
        stats=stats, fta={str(f): identity.person(f, root) for e, f in zip(done, files) if e.no_face},
        skipped=skipped, identity=identity, photos=sum(1 for e in done if e.vector is not None or e.no_face))


@dataclass(frozen=True, eq=False)
class SearchReport:
    """1:N errors of probes against one gallery, at the decision threshold and over all."""

    gallery: str
    probes: list[str]
    persons: list[str]
    gallery_people: list[str]
    gallery_faces: int
    dist: np.ndarray          # (M, P) probe to closest face of each gallery person
    mate: np.ndarray          # (M,) column of the true person, -1 when not in the gallery
    threshold: float
    curve: metrics.IdentificationCurve
    cmc: np.ndarray
    fpir: float
    fnir: float
    failed: dict[str, str] = field(default_factory=dict)
    groups: list[dict] = field(default_factory=list)
    group_column: str = ""
    fta: dict[str, str | None] = field(default_factory=dict)   # photo with no face -> its person
    fta_included: bool = True
    skipped: dict[str, str] = field(default_factory=dict)      # not an image / unreadable
    unknown: list[str] = field(default_factory=list)           # probes whose person is not stated
    identity: str = ""
    photos: int = 0

    @property
    def fta_rate(self) -> float:
        return len(self.fta) / self.photos if self.photos else float("nan")

    def fta_words(self) -> str:
        """What the failures to acquire are and how they are counted, in one sentence."""
        if not self.fta:
            return f"every one of the {self.photos} probe photos had a face"
        how = ("counted in FNIR as misses when the person is in the gallery (as NIST does; "
               "--exclude-fta leaves them out)" if self.fta_included else "left out of FPIR and FNIR (--exclude-fta)")
        return f"no face found in {len(self.fta)} of {self.photos} probe photos ({self.fta_rate:.1%}): {how}"

    def as_dict(self) -> dict:
        def r(x: float):
            return None if x != x else round(float(x), 4)

        return {"gallery": self.gallery, "probes": len(self.probes), "mated": self.curve.mated,
                "nonmated": self.curve.nonmated, "gallery_people": len(self.gallery_people),
                "gallery_faces": self.gallery_faces, "threshold": round(self.threshold, 4),
                "fpir": r(self.fpir), "fnir": r(self.fnir),
                "cmc": [r(x) for x in self.cmc], "failed_images": self.failed,
                "failures_to_acquire": {"count": len(self.fta), "photos": self.photos,
                                        "rate": r(self.fta_rate), "included_in_fnir": self.fta_included,
                                        "files": sorted(self.fta)},
                "skipped_files": self.skipped, "unknown_identity": self.unknown, "identity_source": self.identity,
                "group_column": self.group_column, "groups": self.groups}


def eval_search(db: Store, gallery: str, probes_dir: str | os.PathLike, settings: Settings = Settings(), *,
                labels=None, max_rank: int = 10, use_cache: bool = True, identity: ProbeIdentity = ProbeIdentity(),
                include_fta: bool = True, progress: Callable[[int, int, str], None] | None = None) -> SearchReport:
    """Search every probe photo (the face :func:`~workbench.pipeline.choose_face` picks) in
    ``gallery`` and measure FPIR/FNIR/CMC.

    Probes whose person is not stated by ``identity`` are left out (listed in ``unknown``).
    Photos without a face are failures to acquire: with ``include_fta`` (the default, as
    NIST counts them) each is a search that returned nobody (a miss when mated).
    """
    matrix = db.vectors.matrix(gallery, settings.model)  # unknown gallery or another model's: fails before model time
    if matrix.vectors.shape[0] == 0:
        raise WorkbenchError(f"gallery {gallery!r} is empty: enrol faces first")
    probes = load_probes(probes_dir, settings, db if use_cache else None, progress, identity)
    absent = identity.source == NONE_ENROLLED
    known = [k for k, who in enumerate(probes.persons) if who is not None or absent]
    fta = {p: who for p, who in probes.fta.items() if who is not None or absent}
    if not known and not (include_fta and fta):
        raise WorkbenchError(_no_known_probes(probes_dir, probes))
    face_d = compare.distances(probes.vectors[known], matrix.vectors, settings.metric_)
    pids, dist = metrics.person_distances(face_d, matrix.person_ids)
    name_of = {int(i): n for i, n in zip(matrix.person_ids, matrix.people)}
    people = [name_of[int(i)] for i in pids]
    col = {n: j for j, n in enumerate(people)}
    paths = [probes.paths[k] for k in known]
    persons = [probes.persons[k] for k in known]
    if include_fta and fta:  # a photo with no face: a search that returned nobody
        dist = np.vstack([dist, np.full((len(fta), len(people)), np.inf)])
        paths += list(fta)
        persons += list(fta.values())
    mate = np.array([-1 if absent else col.get(p, -1) for p in persons], int)
    t = settings.threshold_
    steps = np.unique(np.concatenate([[0.0, t], dist.ravel()[np.isfinite(dist.ravel())]]))
    curve = metrics.identification_rates(dist, mate, steps)
    at = metrics.identification_rates(dist, mate, [t])
    groups, column = [], ""
    if labels is not None:
        column = labels.column
        g = np.array([labels.of(person=p, file=f) for p, f in zip(persons, paths)], dtype=object)
        fta_groups = [labels.of(person=who, file=f) for f, who in fta.items()]
        for name in sorted(set(g) | set(labels.groups()) | set(fta_groups)):
            sel = g == name
            r = metrics.identification_rates(dist[sel], mate[sel], [t]) if sel.any() else None
            mated, non = (r.mated, r.nonmated) if r else (0, 0)
            groups.append({"group": name, "probes": int(sel.sum()), "mated": mated, "nonmated": non,
                           "failures_to_acquire": fta_groups.count(name),
                           "fpir": None if not non else round(float(r.fpir[0]), 4),
                           "fnir": None if not mated else round(float(r.fnir[0]), 4),
                           "warning": metrics.small_sample_warning(non, "non-mated searches")
                           or metrics.small_sample_warning(mated, "mated searches")})
    return SearchReport(gallery, paths, persons, people, int(matrix.vectors.shape[0]), dist, mate, t,
                        curve, metrics.cmc(dist, mate, max_rank), float(at.fpir[0]), float(at.fnir[0]),
                        probes.failed, groups, column, fta, include_fta, probes.skipped,
                        [] if absent else probes.unknown, identity.describe(), probes.photos)


def _no_known_probes(probes_dir, probes: Probes) -> str:
    return (f"{probes_dir}: who the probe photos show is not stated for any of them ({len(probes.unknown)} with a "
            "face); put each person's photos in a sub-folder named after them, give an identities CSV "
            "(file,person), or state that none of them is in the gallery")
