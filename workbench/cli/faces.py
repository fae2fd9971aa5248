"""`workbench detect|verify|enrol|search`: the five-line tour."""

from __future__ import annotations

from pathlib import Path

import click

from workbench.cli.base import Ctx, _check_file, _echo_json, _progress, cli
from workbench.errors import WorkbenchError


@cli.command()
@click.argument("image", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def detect(obj: Ctx, image: str, as_json: bool) -> None:
    """Find every face in IMAGE: box, landmarks, score, quality and rejection reason."""
    from workbench.errors import NoFaceError
    from workbench.pipeline import analyze_source

    analysis = analyze_source(image, obj.settings, embed_faces="none")
    if not analysis.faces:
        raise NoFaceError(f"{image}: no face found")
    faces = [{
        "box": f.box.as_list(), "landmarks": [list(p) for p in f.detection.landmarks],
        "score": round(f.detection.score, 4), "detector": f.detection.detector,
        "quality": {"size": f.quality.size, "sharpness": f.quality.sharpness,
                    "brightness": f.quality.brightness, "exposure": f.quality.exposure, "yaw": f.quality.yaw},
        "accepted": f.quality.accepted, "reason": f.quality.reason, "rule": f.quality.rule,
    } for f in analysis.faces]
    if as_json:
        _echo_json({"image": image, "faces": faces, "detect_ms": round(analysis.timings.detect_ms, 1)})
        return
    click.echo(f"{image}: {len(faces)} face(s) in {analysis.timings.detect_ms:.0f} ms")
    for i, f in enumerate(faces, 1):
        verdict = "accepted" if f["accepted"] else f"rejected, {f['reason'].replace('_', ' ')}: {f['rule']}"
        click.echo(f"  {i:3d}. box={f['box']} score={f['score']:.2f} size={f['quality']['size']}px {verdict}")


@cli.command()
@click.argument("image1", type=click.Path())
@click.argument("image2", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def verify(obj: Ctx, image1: str, image2: str, as_json: bool) -> None:
    """Do IMAGE1 and IMAGE2 show the same person? (largest face of each)"""
    from workbench.pipeline import verify as run

    v = run(image1, image2, obj.settings)
    out = {"verified": v.verified, "distance": v.distance, "threshold": v.threshold,
           "similarity": v.similarity, "metric": v.metric, "model": v.model, "detector": obj.settings.detector}
    if as_json:
        _echo_json(out)
    else:
        word = "SAME person" if v.verified else "DIFFERENT people"
        click.echo(f"{word}: distance {v.distance:.4f} vs threshold {v.threshold} "
                   f"({v.metric}), similarity {v.similarity:.1f}% [{v.model}/{obj.settings.detector}]")


@cli.command()
@click.argument("path", type=click.Path())
@click.option("--gallery", required=True, help="Gallery (collection) name; created if new.")
@click.option("--person", default=None, help="Whose face(s) these are (default: folder or file name).")
@click.option("--consent/--no-consent", default=None, help="Record whether the person consented.")
@click.option("--notes", default=None, help="Notes stored on the person.")
@click.option("--every", "every_s", default=1.0, show_default=True, help="Video: seconds between sampled frames.")
@click.option("--batch", "batch_size", default=32, show_default=True, type=click.IntRange(1),
              help="Commit every this many faces (a crash loses at most one batch; run again to finish).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def enrol(obj: Ctx, path: str, gallery: str, person: str | None, consent: bool | None, notes: str | None,
          every_s: float, batch_size: int, as_json: bool) -> None:
    """Enrol PATH: an image, a folder of <person>/ sub-folders, or a video (sampled frames)."""
    from workbench.search.enrol import enrol_path

    if not Path(path).exists():
        raise WorkbenchError(f"{path}: no such file or folder")
    with obj.open_db() as db:
        r = enrol_path(db, gallery, path, obj.settings, person=person, consent=consent, notes=notes,
                       every_s=every_s, progress=_progress("enrolling"), batch_size=batch_size)
    if as_json:
        _echo_json({"gallery": gallery, "enrolled": r.enrolled, "duplicates": r.duplicates,
                    "skipped": [s.__dict__ for s in r.skipped], "people": r.people})
    else:
        click.echo(f"{gallery}: enrolled {r.enrolled} face(s) of {len(r.people)} person(s); "
                   f"{r.duplicates} already enrolled; {len(r.skipped)} skipped")
        for s in r.skipped:
            click.echo(f"  skipped {s.source}: {s.detail or s.reason}")
    if r.enrolled == 0 and r.duplicates == 0:
        reasons = ", ".join(f"{n} {why}" for why, n in r.reasons().items())
        raise WorkbenchError(f"{path}: nothing enrolled ({reasons})")


@cli.command()
@click.argument("image", type=click.Path())
@click.option("--gallery", required=True, help="Gallery to search.")
@click.option("--top-k", default=5, show_default=True, type=click.IntRange(1, 1000))
@click.option("--per-face", is_flag=True, help="Rank faces, not people (a person may appear several times).")
@click.option("--keep-probe", is_flag=True, help="Store the probe photo in the search log (off: only its hash).")
@click.option("--index", "index_kind", type=click.Choice(["exact", "ivf_pq", "ivf_sq8", "ivf", "sq8", "hnsw"]),
              default=None, help="Search through a saved index beside the database (built on first use, kept "
              "in step with adds and deletes): for galleries of millions of faces. ivf_pq is approximate, "
              "tuned when built to find 99 % of the true 10 nearest faces.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def search(obj: Ctx, image: str, gallery: str, top_k: int, per_face: bool, keep_probe: bool, index_kind: str | None,
           as_json: bool) -> None:
    """Search GALLERY for every face in IMAGE; best match first."""
    from workbench.search import search_image

    _check_file(image)
    with obj.open_db(create=False) as db:
        r = search_image(db, gallery, image, obj.settings, top_k=top_k, per_person=not per_face, name=image,
                         keep_probe=keep_probe, client="cli", index_kind=index_kind)
    faces = [{"box": fr.face.box.as_list(), "quality": fr.face.quality.reason or "ok",
              "matches": [{"person": m.person, "distance": m.distance, "similarity": m.similarity,
                           "match": m.match, "rank": m.rank, "face_id": m.face_id} for m in fr.matches]}
             for fr in r.faces]
    if as_json:
        _echo_json({"gallery": gallery, "metric": r.metric, "threshold": r.threshold, "faces": faces,
                    "timings_ms": {k: round(v, 2) for k, v in r.timings.__dict__.items()}})
        return
    click.echo(f"{image}: {len(faces)} face(s) searched in {gallery!r} "
               f"(threshold {r.threshold} {r.metric})")
    for i, f in enumerate(faces, 1):
        click.echo(f"  face {i} box={f['box']}")
        for m in f["matches"]:
            mark = "MATCH" if m["match"] else "  -  "
            click.echo(f"    {m['rank']}. {mark} {m['person']:<20} distance {m['distance']:.4f} "
                       f"similarity {m['similarity']:.1f}%")
