"""``workbench bench clusters``: how pure are the anonymous identities? Footage of known people
watched with an empty gallery (everyone is a stranger), and the identities compared with who
was really there.

* **LFW footage**: ``people`` LFW people, ``photos`` different photos each, shown in a
  shuffled order on two cameras (two clips): one person's photos land on both cameras.
* **the shared clip** (``short_hamilton_clip.mp4``): the truth of each anonymous sighting is
  the nearest of the face_recognition project's reference photos of the two people in it
  (Lin-Manuel Miranda, Alex Lacamoire) within the match threshold, else "someone else".

For the online assignment the watch made, and for re-clustering with each method at each
threshold: purity (no identity mixes people), inverse purity (no person split over
identities), and the counts.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from workbench.bench.footage import lfw_photo, segment_of, write_footage
from workbench.live.cameras import parse_sources
from workbench.live.watch import Watch, WatchOptions
from workbench.pipeline import Settings, compare
from workbench.search.clusters import METHODS, cluster_labels, default_identity_threshold, purity
from workbench.store import Store

THRESHOLDS = (0.40, 0.45, 0.51, 0.55, 0.60)
HAMILTON_REFERENCES = {"lin-manuel-miranda": "lin-manuel-miranda.png", "alex-lacamoire": "alex-lacamoire.png"}


def _scores(truth: list[str], vecs: np.ndarray, online: list[int], metric: str) -> list[dict]:
    rows = [{"method": "online (during the watch)", "threshold": None, **purity(truth, online)}]
    for method in METHODS:
        for t in THRESHOLDS:
            rows.append({"method": method, "threshold": t,
                         **purity(truth, cluster_labels(vecs, metric=metric, threshold=t, method=method).tolist())})
    return rows


def _watch(db: Store, cams: list[str], settings: Settings) -> list[dict]:
    summary = Watch(db, parse_sources(cams), WatchOptions("strangers", settings, fast=True, restart=True,
                                                          embed_async=False)).run()
    sids, ids, vecs = db.identities.anonymous_vectors("strangers", settings.model)
    rows = db.sightings.query("strangers", run_id=summary.run_id)
    by_id = {r["id"]: r for r in rows.iter_rows(named=True)}
    return [{**by_id[int(s)], "vector": v} for s, v in zip(sids, vecs) if int(s) in by_id]


def lfw_footage(db: Store, lfw: Path, workdir: Path, settings: Settings, *, people: int, photos: int,
                seed: int) -> dict:
    names = sorted(d.name for d in lfw.iterdir() if d.is_dir() and len(list(d.glob("*.jpg"))) >= photos)
    rng = random.Random(seed)
    chosen = rng.sample(names, min(people, len(names)))
    shots = [(p, lfw_photo(lfw, p, n)) for p in chosen for n in range(1, photos + 1)]
    rng.shuffle(shots)
    half = len(shots) // 2
    segs = {"east": write_footage(workdir / "east.mp4", shots[:half], frames=8),
            "west": write_footage(workdir / "west.mp4", shots[half:], frames=8)}
    found = _watch(db, [f"east={workdir / 'east.mp4'}", f"west={workdir / 'west.mp4'}"], settings)
    truth, kept = [], []
    for r in found:
        seg = segment_of(segs[r["camera"]], r["first_frame"])
        if seg is not None:
            truth.append(seg.person)
            kept.append(r)
    vecs = np.stack([r["vector"] for r in kept]) if kept else np.zeros((0, 128), np.float32)
    return {"footage": f"LFW, {len(chosen)} people x {photos} photos on 2 cameras", "shots": len(shots),
            "sightings": len(kept), "missed_shots": len(shots) - len({(r['camera'], segment_of(segs[r['camera']],
                                                                       r['first_frame']).first) for r in kept}),
            "scores": _scores(truth, vecs, [r["identity_id"] for r in kept], settings.metric_)}


def hamilton(db: Store, examples: Path, settings: Settings) -> dict:
    from workbench.pipeline import analyze_source, main_face

    refs = {name: main_face(analyze_source(examples / f, settings)).embedding.vector
            for name, f in HAMILTON_REFERENCES.items()}
    clip = examples / "short_hamilton_clip.mp4"
    found = _watch(db, [f"a={clip}", f"b={clip}"], settings)
    truth = []
    for r in found:
        d = {n: float(compare.distances(r["vector"], v[None], settings.metric_)[0]) for n, v in refs.items()}
        best = min(d, key=d.get)
        truth.append(best if compare.is_match(d[best], settings.threshold_) else "someone else")
    vecs = np.stack([r["vector"] for r in found]) if found else np.zeros((0, 128), np.float32)
    return {"footage": "short_hamilton_clip.mp4 twice (two cameras); truth from reference photos",
            "sightings": len(found), "truth_counts": {t: truth.count(t) for t in sorted(set(truth))},
            "scores": _scores(truth, vecs, [r["identity_id"] for r in found], settings.metric_)}


def bench_clusters(faces: Path, *, people: int = 20, photos: int = 4, seed: int = 0,
                   progress: Callable[[int, int, str], None] | None = None) -> dict:
    settings = Settings()
    out = {"identity_threshold_default": default_identity_threshold(settings.model, settings.metric_),
           "match_threshold": settings.threshold_, "thresholds": list(THRESHOLDS)}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with Store(work / "lfw.duckdb") as db:
            db.galleries.create("strangers", settings.model)
            out["lfw"] = lfw_footage(db, faces / "lfw", work, settings, people=people, photos=photos, seed=seed)
        if progress:
            progress(1, 2, "LFW footage")
        with Store(work / "hamilton.duckdb") as db:
            db.galleries.create("strangers", settings.model)
            out["hamilton"] = hamilton(db, faces / "face-recognition-examples", settings)
        if progress:
            progress(2, 2, "the shared clip")
    return out
