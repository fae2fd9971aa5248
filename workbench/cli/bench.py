"""`workbench bench ...`: benchmarks run by hand, reported as ratios to a baseline."""

from __future__ import annotations

from pathlib import Path

import click

from workbench.cli.base import Ctx, _check_file, _echo_json, _progress, cli
from workbench.errors import WorkbenchError


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
    from workbench.bench.common import as_dicts
    from workbench.bench.search import bench_search

    if size is not None:
        _bench_search_scale(size, ann, kinds, workdir, seed, queries, deepface_size, as_json)
        return
    try:
        ns = [int(x) for x in sizes.split(",") if x.strip()]
    except ValueError:
        raise WorkbenchError(f"--sizes wants integers, got {sizes!r}") from None
    rows = bench_search(ns, top_k=top_k, progress=_progress("benchmarking"))
    if as_json:
        _echo_json(as_dicts(rows))
        return
    click.echo(f"{'faces':>10} {'vectorised ms':>14} {'loop ms':>10} {'speed-up':>9}  same top-{top_k}")
    for r in rows:
        click.echo(f"{r.gallery_size:>10} {r.vectorised_ms:>14.3f} {r.loop_ms:>10.1f} {r.speedup:>8.0f}x  {r.same_answer}")


def _bench_search_scale(size: int, ann: bool, kinds: str, workdir: str | None, seed: int, queries: int,
                        deepface_size: int, as_json: bool) -> None:
    import tempfile
    from dataclasses import asdict

    from workbench.bench import search as bi
    from workbench.bench.common import as_dicts
    from workbench.search.index import ANN_KINDS, faiss_kinds

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
    out = {**asdict(head), "kinds": as_dicts(rows), "deepface_find": asdict(find) if find else None}
    if as_json:
        _echo_json(out)
        return
    click.echo(f"{size} synthetic faces (seed {seed}), top-10 over {rows[0].queries} unseen probes "
               f"({rows[0].strangers} of them strangers); cold start: file -> first answer")
    click.echo(f"{'kind':>10} {'p50 ms':>8} {'p95 ms':>8} {'recall@10':>9} {'RAM MB':>8} {'index MB':>9} "
               f"{'build s':>8} {'cold s':>7}  params")
    for r in rows:
        click.echo(f"{r.kind:>10} {r.p50_ms:>8.2f} {r.p95_ms:>8.2f} {r.recall_at_10:>9.3f} {r.ram_mb:>8.0f} "
                   f"{r.index_mb:>9.0f} {r.build_s:>8.1f} {r.cold_start_s:>7.2f}  {r.params}")
        if r.as_built:
            click.echo(f"{'':>10} as built: {r.as_built}: measured p50 {r.as_built_p50_ms:.2f} ms "
                       f"({r.as_built_speedup}x the exact search), recall@10 {r.as_built_recall_at_10:.3f} "
                       f"({r.as_built_recall_strangers:.3f} on strangers)")
            if r.as_built_one_thread_p50_ms is not None:
                click.echo(f"{'':>10} the same searches on one thread each: p50 {r.as_built_one_thread_p50_ms:.2f} ms "
                           f"(a probe's scan is shared among the cores from "
                           f"{faiss_kinds.PARALLEL_SCAN_CODES:,} codes on)")
    if find:
        click.echo(f"DeepFace.find on {find.gallery_size} faces: {find.deepface_find_ms:.0f} ms per probe, "
                   f"ours {find.ours_embed_ms + find.ours_search_ms:.0f} ms ({find.speedup_end_to_end}x); "
                   f"search alone {find.deepface_search_ms:.1f} vs {find.ours_search_ms:.3f} ms ({find.speedup_search}x)")


@bench.command("detect")
@click.argument("image", type=click.Path())
@click.option("--sides", default="1920,1280,960,640", show_default=True, help="Long-side caps to try.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def bench_detect(obj: Ctx, image: str, sides: str, as_json: bool) -> None:
    """Detection (--detector, the default pair's detector unless given) at full size vs the automatic downscaling, on IMAGE."""
    from workbench.bench.common import as_dicts
    from workbench.bench.detect import bench_detect
    from workbench.pipeline.capture import load_image

    rows = bench_detect(load_image(image), [int(x) for x in sides.split(",") if x.strip()],
                        detector=obj.settings.detector, upsample=obj.settings.upsample)
    if as_json:
        _echo_json(as_dicts(rows))
        return
    for r in rows:
        click.echo(f"{r.detector} max side {str(r.max_side or 'full'):>5}: {r.ms:8.1f} ms, {r.faces} face(s), "
                   f"{r.speedup_vs_full:.2f}x vs full size")


@bench.command("enrol")
@click.argument("folder", type=click.Path())
@click.option("--runs", default=3, show_default=True, type=click.IntRange(1))
@click.option("--workers", default=None, type=click.IntRange(1), help="Worker processes (default: one per core).")
@click.option("--deepface-runs", default=1, show_default=True, type=click.IntRange(1))
@click.option("--deepface-limit", default=None, type=click.IntRange(1),
              help="Time DeepFace on the first N images only (it is slow).")
@click.option("--stages/--no-stages", default=True, show_default=True,
              help="Also the CPU time of each stage per photo (decode, detection, gate, alignment, embedding).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def bench_enrol(obj: Ctx, folder: str, runs: int, workers: int | None, deepface_runs: int, deepface_limit: int | None,
                stages: bool, as_json: bool) -> None:
    """Enrol every image of FOLDER (median of runs) with --detector and --model, beside one worker, vs
    DeepFace.represent (its Dlib model: DeepFace's SFace needs a download) on the same files."""
    from dataclasses import asdict

    from workbench.bench.enrol import bench_enrol

    if not Path(folder).is_dir():
        raise WorkbenchError(f"{folder}: no such folder")
    r = bench_enrol(folder, runs=runs, workers=workers, deepface_runs=deepface_runs, deepface_limit=deepface_limit,
                    settings=obj.settings, stages=stages, progress=_progress("benchmarking"))
    if as_json:
        _echo_json(asdict(r))
        return
    click.echo(f"{r.detector} + {r.model}, {r.images} images, {r.workers} workers: {r.photos_per_second} photos/s, "
               f"{r.seconds_per_image * 1000:.0f} ms per image (one worker {r.photos_per_second_one_worker} photos/s, "
               f"{r.seconds_per_image_one_worker * 1000:.0f} ms; already enrolled {r.reenrol_seconds_per_image * 1000:.1f} ms)")
    click.echo(f"CPU per image: workers {r.workers_cpu_ms_per_image:.0f} ms, this process {r.parent_cpu_ms_per_image:.0f} ms "
               f"(hashing, database write); pool start and models {r.startup_s:.1f} s, not counted")
    click.echo(f"DeepFace.represent ({r.deepface_model} model, {r.deepface_detector} detector, {r.deepface_images} images): "
               f"{r.deepface_seconds_per_image * 1000:.0f} ms per image -> {r.speedup_vs_deepface}x faster")
    if r.deepface_note:
        click.echo(f"  ({r.deepface_note})")
    if r.stages:
        c = r.stages
        click.echo(f"CPU ms per photo, one at a time ({c.photos} photos, {c.faces} faces, detection {c.detect_side}): "
                   f"decode {c.decode_ms:.1f}, detect {c.detect_ms:.1f}, gate {c.gate_ms:.1f}, align {c.align_ms:.1f}, "
                   f"embed {c.embed_ms:.1f}, thumbnail {c.thumbnail_ms:.1f}")
    click.echo(f"load average {' '.join(str(x) for x in r.load_average)}")
    if r.pairs:
        theirs = (f"DeepFace {r.deepface_pair_accuracy:.4f} ({r.deepface_pair_accuracy_best:.4f} best)"
                  if r.deepface_pair_accuracy is not None else "DeepFace: no pair among the images it was timed on")
        click.echo(f"pair accuracy ({r.pairs} pairs): ours {r.pair_accuracy:.4f} at {r.pair_metric} "
                   f"{r.pair_threshold:g} "
                   f"({r.pair_accuracy_best:.4f} best), {theirs}")


@bench.command("video")
@click.argument("file", type=click.Path())
@click.option("--runs", default=3, show_default=True, type=click.IntRange(1))
@click.option("--detect-every", default=None, type=click.IntRange(1),
              help="Run the detector every N frames (default: the real-time preset's).")
@click.option("--frame-size", default=None, help="Resize frames first, e.g. 640x480.")
@click.option("--max-frames", default=None, type=click.IntRange(1))
@click.option("--naive-frames", default=20, show_default=True, type=click.IntRange(1))
@click.option("--gallery", default=None, help="Search this gallery of --db (default: the demo photos, if present).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def bench_video(obj: Ctx, file: str, runs: int, detect_every: int | None, frame_size: str | None, max_frames: int | None,
                naive_frames: int, gallery: str | None, as_json: bool) -> None:
    """Live pipeline on FILE (fps, stage latency, identity latency) vs DeepFace on every frame."""
    from dataclasses import asdict

    from workbench.bench.video import bench_video

    _check_file(file)
    size = None
    if frame_size:
        try:
            w, h = (int(v) for v in frame_size.lower().split("x"))
            size = (w, h)
        except ValueError:
            raise WorkbenchError(f"--frame-size wants WIDTHxHEIGHT, got {frame_size!r}") from None
    matrix, settings = _bench_matrix(obj, gallery)
    r = bench_video(file, matrix, runs=runs, detect_every=detect_every, size=size, max_frames=max_frames,
                    naive_frames=naive_frames, settings=settings, progress=_progress("benchmarking"))
    if as_json:
        _echo_json(asdict(r))
        return
    click.echo(f"{r.frames} frames {r.frame_size}, {r.detector} + {r.model}: {r.fps} fps, per frame p50 "
               f"{r.p50_ms:.1f} ms, p95 {r.p95_ms:.1f} ms; detection p50 {r.detect_p50_ms:.1f} ms every "
               f"{r.detect_every} frames, {r.faces_per_frame} faces per detection ({r.frames_without_face:.0%} "
               "found none)")
    if r.identity_latency_ms is None:
        click.echo("no face was named, so no identity latency")
    else:
        click.echo(f"new face named after {r.identity_latency_ms:.0f} ms (median of {r.new_tracks}, max "
                   f"{r.identity_latency_max_ms:.0f} ms) at the video's {r.video_fps} fps")
    from workbench.bench.enrol import DEEPFACE_DETECTOR, DEEPFACE_MODEL, DEEPFACE_SFACE_NOTE

    click.echo(f"naive loop (DeepFace.represent, its {DEEPFACE_MODEL} model and {DEEPFACE_DETECTOR} detector, + search "
               f"per frame): {r.naive_fps} fps -> {r.speedup_vs_naive}x"
               + (f" ({DEEPFACE_SFACE_NOTE})" if r.model != DEEPFACE_MODEL else ""))


@bench.command("watch")
@click.argument("file", type=click.Path(), required=False)
@click.option("--cameras", default="1,2,4,8", show_default=True, help="Numbers of cameras (copies of FILE) to run.")
@click.option("--ray/--no-ray", "with_ray", default=False, show_default=True,
              help="Also through a local Ray cluster (Ray's overhead as a ratio).")
@click.option("--sizes", default="640x360,1280x720", show_default=True,
              help="Frame sizes for the CPU cost of one camera ('none' to skip).")
@click.option("--max-frames", type=click.IntRange(1), default=None, help="Frames per camera (default: the whole clip).")
@click.option("--runners", type=click.Choice(["both", "threads", "processes"]), default="both", show_default=True,
              help="Cameras as threads, as processes, or both.")
@click.option("--one-thread", is_flag=True,
              help="Also the camera processes with one OpenCV thread each, just ahead of each run with OpenCV's "
                   "default threads, and both with every frame processed (CPU per frame).")
@click.option("--stages/--no-stages", default=True, show_default=True,
              help="Also the CPU time of each stage of one camera (decode, detection, gate, alignment, embedding, search).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def bench_watch_cmd(obj: Ctx, file: str | None, cameras: str, with_ray: bool, sizes: str, max_frames: int | None,
                    runners: str, one_thread: bool, stages: bool, as_json: bool) -> None:
    """N cameras at once at real-time rate: fps, drops, identity latency, sightings per second."""
    import os

    from workbench import config
    from workbench.bench.watch import bench_watch
    
    if file is None:  # the shared clip, or the same clip packaged with the demo photos
        file = str(config.photos_dir() / "face-recognition-examples" / "short_hamilton_clip.mp4")
    _check_file(file)
    try:
        ns = [int(x) for x in cameras.split(",") if x.strip()]
        dims = ([] if sizes.strip().lower() == "none"
                else [tuple(int(v) for v in x.lower().split("x")) for x in sizes.split(",") if x.strip()])
    except ValueError:
        raise WorkbenchError(f"--cameras wants integers and --sizes WIDTHxHEIGHT, got {cameras!r} / {sizes!r}") from None
    if not ns or min(ns) < 1:
        raise WorkbenchError("--cameras needs at least one number of cameras, each 1 or more")
    chosen = {"both": ("local", "processes"), "threads": ("local",), "processes": ("processes",)}[runners]
    r = bench_watch(file, cameras=ns, ray=with_ray, max_frames=max_frames, sizes=dims, settings=obj.settings,
                    runners=chosen, one_thread=one_thread, stages=stages, progress=_progress("benchmarking"))
    r["load_average"] = [round(x, 2) for x in os.getloadavg()]
    if as_json:
        _echo_json(r)
        return
    click.echo(f"bench video loop: {r['bench_video_fps']} fps; one watched camera (fast): {r['one_camera_fast_fps']} fps "
               f"({r['one_camera_vs_bench_video']}x)")
    every = r["every_frame_default_and_one_thread"]
    for label, rows in (("threads", r["local"]), ("1 thread", r["processes_one_thread"]), ("processes", r["processes"]),
                        ("Ray", r["ray"]), ("fast", every[:1]), ("fast, 1 thread", every[1:])):
        for x in rows:
            lat = ", ".join(f"{a}/{b}" for a, b in zip(x["latency_p50_ms"], x["latency_p95_ms"]))
            cpu = (f"; CPU: cameras {x['cameras_cpu_s']} s for {sum(x['frames_per_camera'])} frames, "
                   f"{x['cpu_ms_per_frame']} ms a frame; writer {x['writer_cpu_s']} s" if x["cameras_cpu_s"] is not None
                   else f"; CPU s of this process {x['writer_cpu_s']}")
            gate = ", ".join(f"{a}/{b}" for a, b in zip(x["after_gate_p50_ms"], x["after_gate_p95_ms"]))
            click.echo(f"{label:>9} {x['cameras']} camera(s): fps per camera {x['fps_per_camera']}, dropped "
                       f"{x['dropped_per_camera']}, named after p50/p95 ms {lat}; from the first face past the gate "
                       f"{gate} (tracks the gate held back first: {x['held_at_gate']}), {x['sightings_per_s']} "
                       f"sightings/s (load {x['load_before']} -> {x['load_after']}{cpu})")
    if r["stages"]:
        c = r["stages"]
        click.echo(f"CPU ms, one camera ({c['frames']} frames, {c['searched']} searched): decode {c['decode_ms']} a frame; "
                   f"a searched frame: detection {c['detect_ms']} at {c['detect_side']} px ({c['faces']} faces), "
                   f"gate {c['gate_ms']}; a face: "
                   f"alignment {c['align_ms']}, embedding {c['embed_ms']}; a search {c['rank_ms']}")
    for c in r["cpu_per_camera"]:
        click.echo(f"CPU at {c['frame_size']}: {c['cores_per_camera']} core(s) per real-time camera "
                   f"({c['cpu_s']} CPU s for {c['video_s']} s of video)")


@bench.command("clusters")
@click.option("--people", default=20, show_default=True, type=click.IntRange(2), help="LFW people in the footage.")
@click.option("--photos", default=4, show_default=True, type=click.IntRange(2), help="Photos per person.")
@click.option("--seed", default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def bench_clusters_cmd(people: int, photos: int, seed: int, as_json: bool) -> None:
    """Purity of anonymous identities on footage of known people (LFW, the shared clip)."""
    from workbench import config
    from workbench.bench.clusters import bench_clusters
    
    base = config.faces_dir()
    if base is None or not (base / "lfw").is_dir():
        raise WorkbenchError("the shared photos with LFW (../shared/data/faces/lfw) are not on this machine")
    r = bench_clusters(base, people=people, photos=photos, seed=seed, progress=_progress("benchmarking"))
    if as_json:
        _echo_json(r)
        return
    for key in ("lfw", "hamilton"):
        part = r[key]
        click.echo(f"{part['footage']}: {part['sightings']} anonymous sightings")
        for row in part["scores"]:
            t = "" if row["threshold"] is None else f" at {row['threshold']}"
            click.echo(f"  {row['method']}{t}: purity {row['purity']:.3f}, inverse purity {row['inverse_purity']:.3f}, "
                       f"{row['clusters']} identities for {row['people']} people ({row['items']} sightings)")


def _bench_matrix(obj: Ctx, gallery: str | None):
    """The gallery the video benchmark searches, and the settings to search it with: a named one
    (with its own model unless --model says otherwise), else the demo photos in a temp DB."""
    import tempfile

    from workbench.pipeline.embed import model_info
    from workbench.search.enrol import demo_folder, enrol_path
    from workbench.store import Store

    if gallery:
        with obj.open_db(create=False, read_only=True) as db:
            s = obj.settings_for(db, gallery)
            return db.vectors.matrix(gallery, s.model), s
    folder = demo_folder()
    if folder is None:
        return None, obj.settings
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "demo.duckdb",
                                                     dim=model_info(obj.settings.model).dim) as db:
        enrol_path(db, "demo", folder, obj.settings)
        return db.vectors.matrix("demo", obj.settings.model), obj.settings
