"""`workbench`: the command line. Each command is a docstring and one library call.

Bad input of any kind ends in one line on stderr and a non-zero exit, and writes nothing.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

import click

from workbench import config
from workbench.errors import WorkbenchError

EXIT_ERROR = 1


class Ctx:
    """What the group options decided, shared by the subcommands."""

    def __init__(self, db: str | None, model: str, detector: str, upsample: int, threshold: float | None):
        from workbench.pipeline import Settings

        self.db_path = config.db_path(db)
        self.settings = Settings(detector=detector, model=model, upsample=upsample, threshold=threshold)

    def open_db(self, create: bool = True, read_only: bool = False):
        from workbench.gallery import GalleryDB

        return GalleryDB(self.db_path, self.settings.model, create=create, read_only=read_only)


def _echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, default=str))


def _progress(label: str):
    """A tqdm bar on stderr driven by the library's ``progress(done, total, name)`` callback."""
    from tqdm import tqdm

    state: dict[str, Any] = {}

    def update(done: int, total: int, name: str) -> None:
        if "bar" not in state:
            state["bar"] = tqdm(total=total, desc=label, unit="img", file=sys.stderr, leave=False,
                                disable=None)
        bar = state["bar"]
        bar.set_postfix_str(Path(name).name[:30])
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def _check_file(path: str) -> None:
    if not Path(path).exists():
        raise WorkbenchError(f"{path}: no such file")


class _Group(click.Group):
    """Turns library errors into one line on stderr and exit status 1, for every subcommand."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except WorkbenchError as err:
            click.echo(f"workbench: {err}", err=True)
            ctx.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            click.echo("workbench: interrupted", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as err:  # a bug: still one line, with the way to the traceback
            if os.environ.get("WORKBENCH_DEBUG"):
                raise
            click.echo(f"workbench: internal error: {type(err).__name__}: {err} "
                       "(set WORKBENCH_DEBUG=1 for the traceback)", err=True)
            ctx.exit(EXIT_ERROR)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db", type=click.Path(dir_okay=False), default=None,
              help="Gallery database file (default: $WORKBENCH_DB or data/workbench.duckdb).")
@click.option("--model", default="Dlib", show_default=True, help="Embedding model.")
@click.option("--detector", default="hog", show_default=True, help="Face detector (hog, cnn, haar, retinaface, ...).")
@click.option("--upsample", default=1, show_default=True, type=click.IntRange(0, 3),
              help="Times the detector doubles the image to find small faces.")
@click.option("--threshold", type=float, default=None, help="Match distance threshold (default: the model's).")
@click.version_option(package_name="face-workbench")
@click.pass_context
def cli(ctx: click.Context, db: str | None, model: str, detector: str, upsample: int, threshold: float | None) -> None:
    """Face-recognition research workbench: detect, enrol, search and measure, offline."""
    ctx.obj = Ctx(db, model, detector, upsample, threshold)


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
                    "brightness": f.quality.brightness, "yaw": f.quality.yaw},
        "accepted": f.quality.accepted, "reason": f.quality.reason,
    } for f in analysis.faces]
    if as_json:
        _echo_json({"image": image, "faces": faces, "detect_ms": round(analysis.timings.detect_ms, 1)})
        return
    click.echo(f"{image}: {len(faces)} face(s) in {analysis.timings.detect_ms:.0f} ms")
    for i, f in enumerate(faces, 1):
        verdict = "accepted" if f["accepted"] else f"rejected: {f['reason']}"
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
    from workbench.enrol import enrol_path

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
            click.echo(f"  skipped {s.source}: {s.reason}")
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


@cli.group()
def gallery() -> None:
    """List, inspect, delete, purge, export and import galleries."""


@gallery.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def gallery_list(obj: Ctx, as_json: bool) -> None:
    """Every gallery with its number of people and faces."""
    with obj.open_db(create=False, read_only=True) as db:
        df = db.galleries()
    if as_json:
        _echo_json(df.to_dicts())
    elif df.height == 0:
        click.echo(f"{obj.db_path}: no galleries")
    else:
        for r in df.iter_rows(named=True):
            click.echo(f"{r['gallery']}: {r['people']} people, {r['faces']} faces")


@gallery.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def gallery_show(obj: Ctx, name: str, as_json: bool) -> None:
    """People and faces of gallery NAME."""
    with obj.open_db(create=False, read_only=True) as db:
        people = db.people(name)
        faces = db.faces(name)
    if as_json:
        _echo_json({"gallery": name, "people": people.to_dicts(), "faces": faces.to_dicts()})
        return
    click.echo(f"{name}: {people.height} people, {faces.height} faces")
    for p in people.iter_rows(named=True):
        consent = "consent" if p["consent"] else "no consent recorded"
        click.echo(f"  {p['name']}: {p['faces']} face(s), {consent}")
        for f in faces.filter(faces["person"] == p["name"]).iter_rows(named=True):
            click.echo(f"    #{f['id']} {f['source_path']} box={f['box']}")


@gallery.command("delete")
@click.argument("name")
@click.option("--person", default=None, help="Delete only this person (and their faces).")
@click.option("--face", "face_id", type=int, default=None, help="Delete only this face id.")
@click.pass_obj
def gallery_delete(obj: Ctx, name: str, person: str | None, face_id: int | None) -> None:
    """Delete gallery NAME, or one --person or one --face of it."""
    with obj.open_db(create=False) as db:
        if face_id is not None:
            db.gallery_id(name)
            db.delete_face(face_id)
            click.echo(f"{name}: deleted face #{face_id}")
        elif person:
            n = db.delete_person(name, person)
            click.echo(f"{name}: deleted {person} and {n} face(s)")
        else:
            n = db.delete_gallery(name)
            click.echo(f"deleted gallery {name} and its {n} face(s)")


@gallery.command("purge")
@click.argument("name")
@click.pass_obj
def gallery_purge(obj: Ctx, name: str) -> None:
    """Remove every person and face of gallery NAME (the gallery stays, empty)."""
    with obj.open_db(create=False) as db:
        n = db.purge_gallery(name)
    click.echo(f"{name}: purged {n} face(s)")


@gallery.command("export")
@click.argument("name")
@click.argument("parquet", type=click.Path(dir_okay=False))
@click.pass_obj
def gallery_export(obj: Ctx, name: str, parquet: str) -> None:
    """Write gallery NAME (people, faces, vectors) to a Parquet file."""
    with obj.open_db(create=False, read_only=True) as db:
        n = db.export_parquet(name, parquet)
    click.echo(f"{name}: exported {n} face(s) to {parquet}")


@gallery.command("import")
@click.argument("parquet", type=click.Path())
@click.option("--gallery", "name", default=None, help="Target gallery (default: the exported one).")
@click.pass_obj
def gallery_import(obj: Ctx, parquet: str, name: str | None) -> None:
    """Load a Parquet export into a gallery (duplicates skipped)."""
    _check_file(parquet)
    with obj.open_db() as db:
        added, skipped = db.import_parquet(parquet, name)
    click.echo(f"imported {added} face(s), {skipped} already present")


@cli.group("eval")
def eval_group() -> None:
    """Measure accuracy and error rates."""


def _eval_options(fn):
    """--labels, --group-by, --json, --report and --no-cache, shared by every eval command."""
    for opt in reversed([
        click.option("--labels", type=click.Path(), default=None,
                     help="CSV: 'person' or 'file', then label columns; splits every figure per group."),
        click.option("--group-by", default=None, help="Label column to split by (default: the first)."),
        click.option("--json", "as_json", is_flag=True, help="Print JSON."),
        click.option("--report", "report_dir", type=click.Path(file_okay=False), default=None,
                     help="Write report.html (self-contained) plus CSV and Parquet tables into this folder."),
        click.option("--cache/--no-cache", default=True, show_default=True,
                     help="Keep embeddings in the database so re-runs cost no model time."),
    ]):
        fn = opt(fn)
    return fn


def _labels(path: str | None, column: str | None):
    from workbench.labels import read_labels

    return read_labels(path, column) if path else None


def _eval_db(obj: Ctx, use_cache: bool):
    from contextlib import nullcontext

    return obj.open_db() if use_cache else nullcontext(None)


@eval_group.command("pairs")
@click.argument("csv_path", type=click.Path())
@click.option("--images", "images", default=None, type=click.Path(),
              help="Folder the CSV's file names are in (default: the CSV's folder; matched by file name too).")
@_eval_options
@click.pass_obj
def eval_pairs(obj: Ctx, csv_path: str, images: str | None, labels: str | None, group_by: str | None,
               as_json: bool, report_dir: str | None, cache: bool) -> None:
    """Verify labelled pairs (file_x,file_y,Decision): accuracy, FMR, FNMR, EER, thresholds."""
    from workbench.evaluate import eval_pairs as run
    from workbench.evaluate import read_pairs

    read_pairs(csv_path, images)  # a bad CSV fails before the database is opened
    lab = _labels(labels, group_by)
    with _eval_db(obj, cache) as db:
        r = run(csv_path, images, obj.settings, db=db, labels=lab, progress=_progress("embedding"))
    _pairs_out(r, as_json, report_dir)


@eval_group.command("folder")
@click.argument("folder", type=click.Path())
@click.option("--max-impostors", default=10_000, show_default=True, type=click.IntRange(1),
              help="Different-person pairs to draw when there are more.")
@click.option("--seed", default=0, show_default=True, help="Seed for drawing impostor pairs.")
@_eval_options
@click.pass_obj
def eval_folder(obj: Ctx, folder: str, max_impostors: int, seed: int, labels: str | None, group_by: str | None,
                as_json: bool, report_dir: str | None, cache: bool) -> None:
    """Verification on FOLDER/<person>/<photos>: all same-person pairs, sampled others."""
    from workbench.evaluate import eval_folder as run
    from workbench.evaluate import person_folders

    person_folders(folder)
    lab = _labels(labels, group_by)
    with _eval_db(obj, cache) as db:
        r = run(folder, obj.settings, db=db, labels=lab, max_impostors=max_impostors, seed=seed,
                progress=_progress("embedding"))
    _pairs_out(r, as_json, report_dir)


def _pairs_out(r, as_json: bool, report_dir: str | None) -> None:
    page = None
    if report_dir:
        from workbench.report import write_pairs_report

        page = write_pairs_report(r, report_dir)
    if as_json:
        _echo_json(dict(r.as_dict(), report=str(page) if page else None))
        return
    x = r.rates
    click.echo(f"{len(r.pairs)} pairs ({x.genuine} same, {x.impostor} different) over {r.images} photos, "
               f"{r.model}/{r.detector}, {r.metric}")
    click.echo(f"  at threshold {r.threshold:.4f}: accuracy {x.accuracy:.4f}, FMR {x.fmr:.4f} "
               f"({x.false_matches}), FNMR {x.fnmr:.4f} ({x.false_non_matches})")
    click.echo(f"  EER {r.eer.eer:.4f} at {r.eer.threshold:.4f}; best accuracy {r.best_accuracy:.4f} at "
               f"{r.best_threshold:.4f} (tuned on these pairs)")
    for g in r.groups:
        click.echo(f"  {g.group}: FMR {g.rates.fmr:.4f} ({g.rates.impostor} pairs), FNMR {g.rates.fnmr:.4f} "
                   f"({g.rates.genuine} pairs){'  ! ' + g.warning if g.warning else ''}")
    if r.failed_images:
        click.echo(f"  photos with no usable face: {', '.join(f'{k} ({v})' for k, v in r.failed_images.items())}")
    if page:
        click.echo(f"  report: {page}")


def _probe_eval(obj: Ctx, probes: str, labels: str | None, group_by: str | None, report_dir: str | None,
                write_report: Callable, compute: Callable) -> tuple[Any, Path | None]:
    """Run a probes-vs-gallery evaluation (``compute(db, labels)``) and write its report if asked."""
    if not Path(probes).is_dir():
        raise WorkbenchError(f"{probes}: no such folder")
    lab = _labels(labels, group_by)
    with obj.open_db(create=False) as db:
        r = compute(db, lab)
    return r, (write_report(r, report_dir, obj.settings) if report_dir else None)


@eval_group.command("search")
@click.option("--probes", required=True, type=click.Path(), help="Probe photos (sub-folders name people).")
@click.option("--gallery", required=True, help="Gallery to search.")
@_eval_options
@click.pass_obj
def eval_search(obj: Ctx, probes: str, gallery: str, labels: str | None, group_by: str | None, as_json: bool,
                report_dir: str | None, cache: bool) -> None:
    """1:N: search each probe in GALLERY; FPIR, FNIR and CMC."""
    from workbench.report import write_search_report
    from workbench.search_eval import eval_search as run

    r, page = _probe_eval(obj, probes, labels, group_by, report_dir, write_search_report,
                          lambda db, lab: run(db, gallery, probes, obj.settings, labels=lab, use_cache=cache,
                                              progress=_progress("embedding")))
    if as_json:
        _echo_json(dict(r.as_dict(), report=str(page) if page else None))
        return
    click.echo(f"{len(r.probes)} probes ({r.curve.mated} mated, {r.curve.nonmated} not in the gallery) "
               f"vs {r.gallery} ({r.gallery_faces} faces)")
    click.echo(f"  at threshold {r.threshold:.4f}: FPIR {r.fpir:.4f}, FNIR {r.fnir:.4f}; rank-1 {r.cmc[0]:.4f}")
    for g in r.groups:
        click.echo(f"  {g['group']}: FPIR {g['fpir']}, FNIR {g['fnir']} ({g['probes']} probes)"
                   f"{'  ! ' + g['warning'] if g['warning'] else ''}")
    if page:
        click.echo(f"  report: {page}")


@eval_group.command("replay")
@click.option("--probes", required=True, type=click.Path(), help="Photos of people who are NOT in the gallery.")
@click.option("--gallery", required=True, help="Gallery to search.")
@click.option("--similarity", type=click.FloatRange(1, 99.99), default=None,
              help="One more similarity threshold (%) besides 80, 90, 95 and 99.")
@_eval_options
@click.pass_obj
def eval_replay(obj: Ctx, probes: str, gallery: str, similarity: float | None, labels: str | None,
                group_by: str | None, as_json: bool, report_dir: str | None, cache: bool) -> None:
    """The "ACLU replay": how many innocent probes get a false match, per threshold."""
    from workbench.replay import run_replay
    from workbench.report import write_replay_report

    r, page = _probe_eval(obj, probes, labels, group_by, report_dir, write_replay_report,
                          lambda db, lab: run_replay(db, gallery, probes, obj.settings, labels=lab,
                                                     extra_similarity=similarity, use_cache=cache,
                                                     progress=_progress("embedding")))
    if as_json:
        _echo_json(dict(r.as_dict(), report=str(page) if page else None))
        return
    click.echo(f"{len(r.probes)} probes not in {r.gallery} ({r.gallery_faces} faces); "
               f"{len(r.excluded)} left out (named like a gallery person)")
    for x in r.rows:
        ext = ", ".join(f"{k:,}: {v:.1f} (<= {x.extrapolated_upper[k]:.1f})" for k, v in x.extrapolated.items())
        groups = "; ".join(f"{g} {f}/{n}" for g, (f, n) in x.by_group.items())
        click.echo(f"  {x.similarity:g} % (distance {x.threshold:.4f}): {x.flagged} flagged, "
                   f"{x.false_matches} false matches in {x.comparisons} comparisons; "
                   f"EXTRAPOLATED {ext}{'; ' + groups if groups else ''}")
    if page:
        click.echo(f"  report: {page}")


@cli.group()
def bench() -> None:
    """Benchmarks, as ratios to a baseline timed in the same run (run by hand)."""


@bench.command("search")
@click.option("--sizes", default="1000,10000,100000", show_default=True, help="Gallery sizes, comma-separated.")
@click.option("--top-k", default=5, show_default=True)
@click.option("--size", type=click.IntRange(1), default=None,
              help="One synthetic clustered gallery of N faces in DuckDB: exact top-10 (and --ann indexes).")
@click.option("--ann", is_flag=True, help="With --size: also approximate indexes (faiss).")
@click.option("--kinds", default="ivf_pq,ivf_sq8,ivf,hnsw,sq8", show_default=True, help="With --ann: index kinds.")
@click.option("--workdir", type=click.Path(file_okay=False), default=None,
              help="With --size: keep the synthetic DuckDB file here and reuse it (default: a temp folder).")
@click.option("--seed", default=0, show_default=True)
@click.option("--queries", default=1000, show_default=True,
              help="With --size: probes; half tune the approximate indexes, the other half measure them.")
@click.option("--deepface-size", default=10_000, show_default=True,
              help="With --size: gallery size for the DeepFace.find comparison (0 skips it).")
@click.option("--json", "as_json", is_flag=True)
def bench_search(sizes: str, top_k: int, size: int | None, ann: bool, kinds: str, workdir: str | None, seed: int,
                 queries: int, deepface_size: int, as_json: bool) -> None:
    """Exact top-k search: vectorised vs a Python loop, on synthetic 128-d galleries.

    With --size N: a clustered synthetic gallery written to DuckDB, then p50/p95 latency,
    recall@10, memory, build and cold-start time per index kind, and DeepFace.find on the
    same kind of vectors in the same run.
    """
    from workbench import bench as b

    if size is not None:
        _bench_search_scale(size, ann, kinds, workdir, seed, queries, deepface_size, as_json)
        return
    try:
        ns = [int(x) for x in sizes.split(",") if x.strip()]
    except ValueError:
        raise WorkbenchError(f"--sizes wants integers, got {sizes!r}") from None
    rows = b.bench_search(ns, top_k=top_k, progress=_progress("benchmarking"))
    if as_json:
        _echo_json(b.as_dicts(rows))
        return
    click.echo(f"{'faces':>10} {'vectorised ms':>14} {'loop ms':>10} {'speed-up':>9}  same top-{top_k}")
    for r in rows:
        click.echo(f"{r.gallery_size:>10} {r.vectorised_ms:>14.3f} {r.loop_ms:>10.1f} {r.speedup:>8.0f}x  {r.same_answer}")


def _bench_search_scale(size: int, ann: bool, kinds: str, workdir: str | None, seed: int, queries: int,
                        deepface_size: int, as_json: bool) -> None:
    import tempfile
    from dataclasses import asdict

    from workbench import bench as b
    from workbench import bench_index as bi
    from workbench.index import ANN_KINDS

    wanted = ("exact",) + (tuple(k.strip() for k in kinds.split(",") if k.strip()) if ann else ())
    bad = [k for k in wanted[1:] if k not in ANN_KINDS]
    if bad:
        raise WorkbenchError(f"unknown index kind(s) {', '.join(bad)}; choose from {', '.join(ANN_KINDS)}")
    with tempfile.TemporaryDirectory() as tmp:
        rows = bi.bench_search_scale(size, kinds=wanted, workdir=workdir or tmp, seed=seed, queries=queries,
                                    progress=_progress("benchmarking"))
    find = bi.bench_deepface_find(min(deepface_size, size), seed=seed) if deepface_size else None
    approx = [r for r in rows if not r.kind.startswith("exact")]
    good = [r for r in approx if r.recall_at_10 >= 0.98] or approx
    head = min(good, key=lambda r: r.p50_ms) if ann and approx else rows[0]
    out = {**asdict(head), "kinds": b.as_dicts(rows), "deepface_find": asdict(find) if find else None}
    if as_json:
        _echo_json(out)
        return
    click.echo(f"{size} synthetic faces (seed {seed}), top-10 over {rows[0].queries} probes")
    click.echo(f"{'kind':>10} {'p50 ms':>8} {'p95 ms':>8} {'recall@10':>9} {'RAM MB':>8} {'index MB':>9} "
               f"{'build s':>8} {'cold s':>7}  params")
    for r in rows:
        click.echo(f"{r.kind:>10} {r.p50_ms:>8.2f} {r.p95_ms:>8.2f} {r.recall_at_10:>9.3f} {r.ram_mb:>8.0f} "
                   f"{r.index_mb:>9.0f} {r.build_s:>8.1f} {r.cold_start_s:>7.2f}  {r.params}")
        if r.self_tuned:
            click.echo(f"{'':>10} as built: {r.self_tuned}: p50 {r.self_tuned_p50_ms:.2f} ms, "
                       f"recall@10 {r.self_tuned_recall_at_10:.3f}")
    if find:
        click.echo(f"DeepFace.find on {find.gallery_size} faces: {find.deepface_find_ms:.0f} ms per probe, "
                   f"ours {find.ours_embed_ms + find.ours_search_ms:.0f} ms ({find.speedup_end_to_end}x); "
                   f"search alone {find.deepface_search_ms:.1f} vs {find.ours_search_ms:.3f} ms ({find.speedup_search}x)")


@bench.command("detect")
@click.argument("image", type=click.Path())
@click.option("--sides", default="1920,1280,960,640", show_default=True, help="Long-side caps to try.")
@click.option("--json", "as_json", is_flag=True)
def bench_detect(image: str, sides: str, as_json: bool) -> None:
    """HOG detection at full size vs the automatic downscaling, on IMAGE."""
    from workbench import bench as b
    from workbench.capture import load_image

    rows = b.bench_detect(load_image(image), [int(x) for x in sides.split(",") if x.strip()])
    if as_json:
        _echo_json(b.as_dicts(rows))
        return
    for r in rows:
        click.echo(f"max side {str(r.max_side or 'full'):>5}: {r.ms:8.1f} ms, {r.faces} face(s), "
                   f"{r.speedup_vs_full:.2f}x vs full size")


@bench.command("enrol")
@click.argument("folder", type=click.Path())
@click.option("--runs", default=3, show_default=True, type=click.IntRange(1))
@click.option("--workers", default=None, type=click.IntRange(1), help="Worker processes (default: one per core).")
@click.option("--deepface-runs", default=1, show_default=True, type=click.IntRange(1))
@click.option("--deepface-limit", default=None, type=click.IntRange(1),
              help="Time DeepFace on the first N images only (it is slow).")
@click.option("--json", "as_json", is_flag=True)
def bench_enrol(folder: str, runs: int, workers: int | None, deepface_runs: int, deepface_limit: int | None,
                as_json: bool) -> None:
    """Enrol every image of FOLDER (median of runs) vs DeepFace.represent (Dlib) on the same files."""
    from dataclasses import asdict

    from workbench import bench as b

    if not Path(folder).is_dir():
        raise WorkbenchError(f"{folder}: no such folder")
    r = b.bench_enrol(folder, runs=runs, workers=workers, deepface_runs=deepface_runs,
                      deepface_limit=deepface_limit, progress=_progress("benchmarking"))
    if as_json:
        _echo_json(asdict(r))
        return
    click.echo(f"{r.images} images, {r.workers} workers: {r.seconds_per_image * 1000:.0f} ms per image "
               f"(one worker {r.seconds_per_image_one_worker * 1000:.0f} ms, already enrolled "
               f"{r.reenrol_seconds_per_image * 1000:.1f} ms)")
    click.echo(f"DeepFace.represent: {r.deepface_seconds_per_image * 1000:.0f} ms per image -> "
               f"{r.speedup_vs_deepface}x faster")
    if r.pairs:
        theirs = (f"DeepFace {r.deepface_pair_accuracy:.4f} ({r.deepface_pair_accuracy_best:.4f} best)"
                  if r.deepface_pair_accuracy is not None else "DeepFace: no pair among the images it was timed on")
        click.echo(f"pair accuracy ({r.pairs} pairs): ours {r.pair_accuracy:.4f} at 0.6 "
                   f"({r.pair_accuracy_best:.4f} best), {theirs}")


@bench.command("video")
@click.argument("file", type=click.Path())
@click.option("--runs", default=3, show_default=True, type=click.IntRange(1))
@click.option("--detect-every", default=2, show_default=True, type=click.IntRange(1))
@click.option("--frame-size", default=None, help="Resize frames first, e.g. 640x480.")
@click.option("--max-frames", default=None, type=click.IntRange(1))
@click.option("--naive-frames", default=20, show_default=True, type=click.IntRange(1))
@click.option("--gallery", default=None, help="Search this gallery of --db (default: the demo photos, if present).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def bench_video(obj: Ctx, file: str, runs: int, detect_every: int, frame_size: str | None, max_frames: int | None,
                naive_frames: int, gallery: str | None, as_json: bool) -> None:
    """Live pipeline on FILE (fps, stage latency, identity latency) vs DeepFace on every frame."""
    from dataclasses import asdict

    from workbench import bench as b

    _check_file(file)
    size = None
    if frame_size:
        try:
            w, h = (int(v) for v in frame_size.lower().split("x"))
            size = (w, h)
        except ValueError:
            raise WorkbenchError(f"--frame-size wants WIDTHxHEIGHT, got {frame_size!r}") from None
    matrix = _bench_matrix(obj, gallery)
    r = b.bench_video(file, matrix, runs=runs, detect_every=detect_every, size=size, max_frames=max_frames,
                      naive_frames=naive_frames, progress=_progress("benchmarking"))
    if as_json:
        _echo_json(asdict(r))
        return
    click.echo(f"{r.frames} frames {r.frame_size}: {r.fps} fps, per frame p50 {r.p50_ms:.1f} ms, p95 {r.p95_ms:.1f} ms; "
               f"detection p50 {r.detect_p50_ms:.1f} ms every {r.detect_every} frames")
    if r.identity_latency_ms is None:
        click.echo("no face was named, so no identity latency")
    else:
        click.echo(f"new face named after {r.identity_latency_ms:.0f} ms (median of {r.new_tracks}, max "
                   f"{r.identity_latency_max_ms:.0f} ms) at the video's {r.video_fps} fps")
    click.echo(f"naive loop (DeepFace.represent + search per frame): {r.naive_fps} fps -> {r.speedup_vs_naive}x")


def _bench_matrix(obj: Ctx, gallery: str | None):
    """The gallery the video benchmark searches: a named one, else the demo photos in a temp DB."""
    import tempfile

    from workbench.enrol import demo_folder, enrol_path
    from workbench.gallery import GalleryDB

    if gallery:
        with obj.open_db(create=False, read_only=True) as db:
            return db.matrix(gallery)
    folder = demo_folder()
    if folder is None:
        return None
    with tempfile.TemporaryDirectory() as tmp, GalleryDB(Path(tmp) / "demo.duckdb") as db:
        enrol_path(db, "demo", folder, obj.settings)
        return db.matrix("demo")


@cli.command()
@click.option("--port", default=8501, show_default=True)
@click.option("--address", default="localhost", show_default=True, help="Interface to serve on.")
@click.option("--headless/--browser", default=True, show_default=True)
@click.option("--classroom", is_flag=True, help="Keep the gallery in memory only: nothing is written to disk.")
@click.pass_obj
def app(obj: Ctx, port: int, address: str, headless: bool, classroom: bool) -> None:
    """Start the Streamlit workbench."""
    import subprocess

    from workbench.privacy import streamlit_options

    entry = Path(__file__).resolve().parent.parent / "app.py"
    if not entry.is_file():
        raise WorkbenchError(f"{entry}: the app entry point is missing (install from a source checkout)")
    db = ":memory:" if classroom or str(obj.db_path) == ":memory:" else str(obj.db_path.resolve())
    env = dict(os.environ, WORKBENCH_DB=db)
    cmd = [sys.executable, "-m", "streamlit", "run", str(entry), "--server.port", str(port),
           "--server.address", address, "--server.headless", "true" if headless else "false",
           *streamlit_options()]
    # run from the checkout so its .streamlit/config.toml applies too (the options above win anyway)
    if hasattr(os, "execve"):  # become the server: signals reach it, no orphan keeps the database locked
        os.chdir(entry.parent)
        os.execve(sys.executable, cmd, env)
    sys.exit(subprocess.call(cmd, env=env, cwd=entry.parent))


# -- privacy: purge everything, compaction, search-log export (issue 6) -----------------------


@gallery.command("purge-all")
@click.option("--yes", is_flag=True, help="Confirm: remove every gallery, person, face and search.")
@click.pass_obj
def gallery_purge_all(obj: Ctx, yes: bool) -> None:
    """Purge everything: every table but the schema info, then compact the file."""
    if not yes:
        raise WorkbenchError("purge-all removes every face, person, gallery and search; add --yes to confirm")
    with obj.open_db(create=False) as db:
        removed = db.purge_all()
        size = db.path.stat().st_size if not db.in_memory else 0
    rows = ", ".join(f"{n} {t}" for t, n in removed.items())
    click.echo(f"{obj.db_path}: purged {rows}; file compacted to {size} bytes")


@gallery.command("compact")
@click.pass_obj
def gallery_compact(obj: Ctx) -> None:
    """Rewrite the database file so no deleted row's bytes remain in it."""
    with obj.open_db(create=False) as db:
        before = db.path.stat().st_size
        after = db.compact()
    click.echo(f"{obj.db_path}: {before} -> {after} bytes")


@cli.group("log")
def log_group() -> None:
    """The search log: what every search used and returned, for audit."""


@log_group.command("export")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--with-probes", is_flag=True, help="Include stored probe photos (Parquet only).")
@click.pass_obj
def log_export(obj: Ctx, out: str, with_probes: bool) -> None:
    """Write the search log to OUT (.csv, .json or .parquet)."""
    with obj.open_db(create=False, read_only=True) as db:
        n = db.export_search_log(out, with_probes=with_probes)
    click.echo(f"exported {n} search(es) to {out}")

def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    cli.main(args=argv, prog_name="workbench")


if __name__ == "__main__":
    main()
