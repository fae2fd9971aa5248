"""`workbench detect|verify|enrol|search`: the five-line tour."""

from __future__ import annotations

from pathlib import Path

import click

from workbench.cli.base import EXIT_ERROR, Ctx, _check_file, _echo_json, _progress, cli, consent_choice
from workbench.errors import WorkbenchError


@cli.command()
@click.argument("image", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def detect(ctx: click.Context, image: str, as_json: bool) -> None:
    """Find every face in IMAGE: box, landmarks, score, and the quality gate's verdict with its rule.

    Faces are numbered 1.. largest first (the numbers --face takes). Exit status: 0 when a face
    is found, 1 when none is (with --json the answer, {"faces": [], "reason": ...}, is printed
    either way) or on an error.
    """
    from workbench.errors import NoFaceError
    from workbench.pipeline import analyze_source, quality

    obj: Ctx = ctx.obj
    analysis = analyze_source(image, obj.settings, embed_faces="none")
    faces = [{
        "number": i, "box": f.box.as_list(), "landmarks": [list(p) for p in f.detection.landmarks],
        "score": round(f.detection.score, 4), "detector": f.detection.detector,
        "quality": {"size": f.quality.size, "sharpness": f.quality.sharpness,
                    "brightness": f.quality.brightness, "exposure": f.quality.exposure, "yaw": f.quality.yaw},
        "accepted": f.quality.accepted, "reason": f.quality.reason, "rule": f.quality.rule or None,
    } for i, f in enumerate(analysis.faces, 1)]
    counts = face_counts(analysis.faces)
    counts["large_enough"] = sum(f.quality.size >= obj.settings.gate_.min_size for f in analysis.faces)
    counts["min_size"] = obj.settings.gate_.min_size
    h, w = analysis.shape[:2]
    if as_json:
        out = {"image": image, "width": w, "height": h, "max_side": obj.settings.max_side, **counts,
               "faces": faces, "detect_ms": round(analysis.timings.detect_ms, 1)}
        if not faces:
            out["reason"] = "no face found"
        _echo_json(out)
        if not faces:
            ctx.exit(EXIT_ERROR)
        return
    if not faces:
        raise NoFaceError(f"{image}: no face found")
    s = obj.settings
    crowd = quality.large_enough(counts["found"], counts["large_enough"], f"{s.detector} + {s.model}", s.gate_.min_size)
    click.echo(f"{image}: {crowd}; {counts_line(counts).split(', ', 1)[1]} in {analysis.timings.detect_ms:.0f} ms "
               f"({w}x{h}, {_side_words(obj.settings.max_side, w, h)})")
    for f, face in zip(faces, analysis.faces):
        verdict = "accepted" if f["accepted"] else f"rejected: {quality.describe(face.quality)}"
        click.echo(f"  {f['number']:3d}. box={f['box']} score={f['score']:.2f} size={f['quality']['size']}px {verdict}")


def face_counts(faces) -> dict:
    """Faces found, accepted, and rejected by the quality gate's reason."""
    rejected: dict[str, int] = {}
    for f in faces:
        if not f.quality.accepted:
            rejected[f.quality.reason] = rejected.get(f.quality.reason, 0) + 1
    return {"found": len(faces), "accepted": len(faces) - sum(rejected.values()), "rejected": rejected}


def counts_line(counts: dict) -> str:
    from workbench.pipeline import quality

    n = counts["found"]
    text = f"{n} face{'s' if n != 1 else ''} found, {counts['accepted']} accepted"
    if counts["rejected"]:
        text += ", rejected: " + ", ".join(f"{k} {quality.WORDS.get(r, r)}" for r, k in counts["rejected"].items())
    return text


def _side_words(max_side: int | None, w: int, h: int) -> str:
    if not max_side or max(w, h) <= max_side:
        return "searched at full size"
    return f"searched at {max_side} px on the long side (--max-side 0 for full size)"


@cli.command()
@click.argument("image1", type=click.Path())
@click.argument("image2", type=click.Path())
@click.option("--face1", type=click.IntRange(1), default=None,
              help="Which face of IMAGE1 to compare (1-based, as `workbench detect` lists them).")
@click.option("--face2", type=click.IntRange(1), default=None, help="Which face of IMAGE2 to compare.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def verify(obj: Ctx, image1: str, image2: str, face1: int | None, face2: int | None, as_json: bool) -> None:
    """Do IMAGE1 and IMAGE2 show the same person?

    With several faces in a photo, the one compared is the face nearest the image centre,
    weighted by its size (or the one --face1/--face2 names); the answer says which.
    """
    from workbench.pipeline import compare_photos

    c = compare_photos(image1, image2, obj.settings, face_a=face1, face_b=face2)
    v = c.verdict
    chosen = {name: {"found": ch.found, "compared": ch.number, "box": ch.face.box.as_list(),
                     "chosen_by": "you" if ch.by_user else "rule", "accepted": ch.face.quality.accepted,
                     "boxes": [f.box.as_list() for f in ch.analysis.faces]}
              for name, ch in (("image1", c.a), ("image2", c.b))}
    out = {"verified": v.verified, "distance": v.distance, "threshold": v.threshold,
           "similarity": v.similarity, "metric": v.metric, "model": v.model, "detector": obj.settings.detector,
           "faces": chosen}
    if as_json:
        _echo_json(out)
        return
    word = "SAME person" if v.verified else "DIFFERENT people"
    click.echo(f"{word}: distance {v.distance:.4f} vs threshold {v.threshold} "
               f"({v.metric}), similarity {v.similarity:.1f}% [{v.model}/{obj.settings.detector}]")
    for label, ch in ((image1, c.a), (image2, c.b)):
        click.echo(f"  {label}: {ch.describe()}")
        if ch.found > 1:
            for i, f in enumerate(ch.analysis.faces, 1):
                mark = "<- compared" if i == ch.number else ""
                click.echo(f"    {i}. box={f.box.as_list()} size={f.quality.size}px {mark}".rstrip())


@cli.command()
@click.argument("path", type=click.Path())
@click.option("--gallery", required=True, help="Gallery (collection) name; created if new.")
@click.option("--person", default=None, help="Whose face(s) these are (default: folder or file name).")
@click.option("--consent/--no-consent", default=None,
              help="Required: the person consented (--consent), or did not (--no-consent, with --reason).")
@click.option("--reason", default=None,
              help="With --no-consent: why they may be enrolled anyway (a public figure, a research exception ...).")
@click.option("--face", "face", type=click.IntRange(1), default=None,
              help="In a photo with several faces: which one is the person (1-based, as `workbench detect` lists them).")
@click.option("--notes", default=None, help="Notes stored on the person.")
@click.option("--every", "every_s", default=1.0, show_default=True, help="Video: seconds between sampled frames.")
@click.option("--batch", "batch_size", default=32, show_default=True, type=click.IntRange(1),
              help="Commit every this many faces (a crash loses at most one batch; run again to finish).")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None,
              help="Spread the photos over a Ray cluster: --ray (a local one), --ray auto, --ray ray://HOST:10001.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def enrol(obj: Ctx, path: str, gallery: str, person: str | None, consent: bool | None, reason: str | None,
          face: int | None, notes: str | None, every_s: float, batch_size: int, ray_address: str | None,
          as_json: bool) -> None:
    """Enrol PATH: an image, a folder of <person>/ sub-folders, or a video (sampled frames).

    Say whether the people consented: --consent, or --no-consent --reason "..." (recorded with
    them). A photo in which several faces pass the quality gate is not enrolled under one name
    until --face N says which face it is; in a folder, such photos are listed as skipped.
    """
    from workbench.search.enrol import SEVERAL_FACES, enrol_path

    choice = consent_choice(consent, reason)
    if not Path(path).exists():
        raise WorkbenchError(f"{path}: no such file or folder")
    analyser = None
    if ray_address:
        from workbench.pipeline import raycluster

        raycluster.connect(ray_address)
        analyser = raycluster.analyse_sources_ray
    with obj.open_db() as db:
        r = enrol_path(db, gallery, path, obj.settings_for(db, gallery), person=person, consent=choice, notes=notes,
                       every_s=every_s, progress=_progress("enrolling"), batch_size=batch_size, face=face,
                       analyser=analyser)
    if as_json:
        _echo_json({"gallery": gallery, "enrolled": r.enrolled, "duplicates": r.duplicates,
                    "skipped": [{"source": s.source, "reason": s.reason, "boxes": [b.as_list() for b in s.boxes]}
                                for s in r.skipped], "people": r.people, "consent": choice.words})
    else:
        click.echo(f"{gallery}: enrolled {r.enrolled} face(s) of {len(r.people)} person(s) ({choice.words}); "
                   f"{r.duplicates} already enrolled; {len(r.skipped)} skipped")
        for s in r.skipped:
            click.echo(f"  skipped {s.source}: {s.reason}")
            for i, b in enumerate(s.boxes, 1):
                click.echo(f"    face {i}: box={b.as_list()} ({min(b.width, b.height)} px)")
    if r.enrolled == 0 and r.duplicates == 0:
        several = [s for s in r.skipped if s.reason == SEVERAL_FACES]
        if len(several) == 1 and len(r.skipped) == 1:
            raise WorkbenchError(f"{path}: {len(several[0].boxes)} faces pass the quality gate; nothing was "
                                 f"enrolled: say which face is {person or 'the person'} with --face N "
                                 "(numbers as listed above, or by `workbench detect`)")
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
    """Search GALLERY for every face in IMAGE; best match first.

    Faces the quality gate rejects are listed as "not searched" with the rule they failed;
    every searched face says MATCH or "no match" at the threshold.
    """
    from workbench.pipeline import quality
    from workbench.search import search_image

    _check_file(image)
    with obj.open_db(create=False) as db:
        r = search_image(db, gallery, image, obj.settings_for(db, gallery), top_k=top_k, per_person=not per_face, name=image,
                         keep_probe=keep_probe, client="cli", index_kind=index_kind)
    faces = [{"number": i, "box": fr.face.box.as_list(), "size": fr.face.quality.size,
              "quality": fr.face.quality.reason or "ok", "quality_rule": fr.face.quality.rule or None,
              "searched": fr.searched, "verdict": fr.verdict(),
              "matches": [{"person": m.person, "distance": m.distance, "similarity": m.similarity,
                           "match": m.match, "rank": m.rank, "face_id": m.face_id} for m in fr.matches]}
             for i, fr in enumerate(r.faces, 1)]
    if as_json:
        _echo_json({"gallery": gallery, "metric": r.metric, "threshold": r.threshold,
                    "threshold_similarity": round(r.similarity_of(r.threshold), 2), "summary": r.summary(),
                    "found": len(r.faces), "searched": len(r.searched), "matched": r.matched(),
                    "rejected": r.rejected(), "faces": faces,
                    "timings_ms": {k: round(v, 2) for k, v in r.timings.__dict__.items()}})
        return
    click.echo(f"{image} in {gallery!r}: {r.summary()}")
    at = f"{r.similarity_of(r.threshold):.0f} % (distance {r.threshold:.3f}, {r.metric})"
    for f, fr in zip(faces, r.faces):
        head = f"  face {f['number']} box={f['box']} {f['size']}px:"
        if not fr.searched:
            click.echo(f"{head} not searched: {quality.describe(fr.face.quality)}")
            continue
        best = fr.best
        if best is None:
            click.echo(f"{head} no match (the gallery is empty)")
            continue
        if best.match:
            click.echo(f"{head} MATCH {best.person} at {best.similarity:.1f}% (distance {best.distance:.4f})"
                       + weak_warning(best.similarity))
        else:
            click.echo(f"{head} no match: the closest, {best.person}, is at {best.similarity:.1f}% "
                       f"(distance {best.distance:.4f}), under the threshold of {at}")
        for m in f["matches"]:
            mark = "MATCH" if m["match"] else "  -  "
            click.echo(f"    {m['rank']}. {mark} {m['person']:<20} distance {m['distance']:.4f} "
                       f"similarity {m['similarity']:.1f}%")


def weak_warning(similarity: float) -> str:
    """A warning for a "match" under 50 % similarity (a threshold set far looser than the model's)."""
    return "  ! under 50 % similarity: a weak match, set by a very loose threshold" if similarity < 50 else ""
