"""`workbench watch` (many cameras at once into the sightings log), `workbench sightings`
(query, export, who was there, where one face was seen) and `workbench bench sightings`."""

from __future__ import annotations

import datetime as dt
import sys

import click

from workbench.cli.base import Ctx, _echo_json, _progress, cli
from workbench.cli.bench import bench
from workbench.errors import WorkbenchError


def _ray_choice(value: str | None, sources: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
    """``--ray`` takes an optional address; a camera argument right after it is a camera."""
    if value is None or value in ("local", "auto") or value.startswith("ray://") or (
            ":" in value and "=" not in value and "/" not in value):
        return value, sources
    return "local", sources + (value,)


def _bars(specs):
    from tqdm import tqdm

    from workbench.pipeline.capture import video_info

    bars = {}
    for i, c in enumerate(specs):
        total = None
        if c.kind == "file":
            try:
                total = video_info(c.source)[0] or None
            except WorkbenchError:
                total = None
        bars[c.name] = tqdm(total=total, desc=c.name[:16], unit="frame", position=i, file=sys.stderr,
                            dynamic_ncols=True, leave=True, disable=None)
    return bars


def _threshold_of(settings, similarity: float | None, distance: float | None, what: str) -> float | None:
    from workbench.pipeline import compare

    if similarity is not None and distance is not None:
        raise WorkbenchError(f"give the {what} threshold as a similarity or as a distance, not both")
    if similarity is not None:
        return round(compare.distance_for_similarity(similarity, settings.similarity_base), 6)
    return distance


@cli.command()
@click.argument("cameras", nargs=-1)
@click.option("--gallery", required=True, help="Gallery searched (people) and where sightings are logged.")
@click.option("--fast", is_flag=True, help="Files as fast as possible (batch analysis), not at their frame rate.")
@click.option("--keep-chips", is_flag=True, help="Store each sighting's face chip (off: vectors and boxes only).")
@click.option("--batch", "batch_size", default=32, show_default=True, type=click.IntRange(1),
              help="Commit every this many sightings (a crash loses at most one batch; run again to continue).")
@click.option("--alert-similarity", type=click.FloatRange(1, 99.999), default=None,
              help="Alert on watchlisted people only at this similarity (percent) or more, e.g. 99; default: the "
                   "labelling threshold.")
@click.option("--alert-threshold", type=float, default=None,
              help="The same as a distance the model's metric can reach.")
@click.option("--identity-threshold", type=float, default=None,
              help="Largest distance that joins an unknown face to an anonymous identity (default 0.85 x the "
                   "model's threshold); a distance the model's metric can reach.")
@click.option("--restart", is_flag=True, help="Play files from the start, not from where the last run stopped.")
@click.option("--max-frames", type=click.IntRange(1), default=None, help="Stop each camera after N frames.")
@click.option("--retries", default=5, show_default=True, type=click.IntRange(0),
              help="Network sources: reconnection attempts in a row before the camera is reported failed.")
@click.option("--runner", type=click.Choice(["auto", "threads", "processes"]), default="auto", show_default=True,
              help="Without Ray: a thread per camera, or a process per camera (uses every core); auto: threads "
                   "for one camera, processes for more.")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None,
              help="Run each camera as a Ray actor: --ray (a local cluster), --ray auto, --ray ray://HOST:10001.")
@click.option("--quality", "qualities", multiple=True, metavar="[CAMERA:]KEY=VALUE,...",
              help="What a worse camera would make of the frames, e.g. far:distance=25 (faces as seen from 25 m by "
                   "a 1080p camera with a 90° lens), resolution=720p, fov=60, scale=0.3, jpeg=20, fps=10, "
                   "night=3%. Without CAMERA: every camera. Repeat for each camera.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), default=None,
              help="Write the who-was-there HTML report of this run into this folder.")
@click.option("-v", "--verbose", is_flag=True, help="A line on stderr for every committed batch.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@click.pass_obj
def watch(obj: Ctx, cameras: tuple[str, ...], gallery: str, fast: bool, keep_chips: bool, batch_size: int,
          alert_similarity: float | None, alert_threshold: float | None, identity_threshold: float | None,
          restart: bool, max_frames: int | None, retries: int, runner: str, ray_address: str | None,
          qualities: tuple[str, ...], report_dir: str | None, verbose: bool, as_json: bool) -> None:
    """Watch CAMERAS (NAME=SOURCE: a video file, a folder of videos, a device index such as 0,
    rtsp:// or http:// streams) at once, searching GALLERY, and log every sighting. The gallery
    must exist; it is searched with its own model (a --model that contradicts it is refused before
    any model loads)."""
    from tqdm import tqdm

    from workbench.live.cameras import parse_sources
    from workbench.live.sources import with_qualities
    from workbench.live.watch import Watch, WatchOptions

    ray_address, cameras = _ray_choice(ray_address, cameras)
    if not gallery.strip():
        raise WorkbenchError("--gallery needs a name")
    specs = with_qualities(parse_sources(list(cameras)), qualities)
    if alert_similarity is not None and alert_threshold is not None:  # refused before the file is opened
        _threshold_of(None, alert_similarity, alert_threshold, "alert")
    with obj.open_db(create=False) as db:
        s = obj.settings_for(db, gallery)  # the gallery's own model unless --model says otherwise
        options = WatchOptions(gallery, s, fast=fast, keep_chips=keep_chips, batch_size=batch_size,
                               alert_threshold=_threshold_of(s, alert_similarity, alert_threshold, "alert"),
                               identity_threshold=identity_threshold, restart=restart, max_frames=max_frames,
                               retries=retries)
        if ray_address:
            mode = "ray"
        elif runner == "auto":
            mode = "processes" if len(specs) > 1 else "local"
        else:
            mode = "local" if runner == "threads" else "processes"
        w = Watch(db, specs, options, runner=mode, ray_address=None if ray_address == "local" else ray_address)
        db.galleries.check(gallery, s.model)  # unknown, or another model's: one line, before any model loads
        if db.galleries.size(gallery) == 0:
            click.echo(f"workbench: gallery {gallery!r} is empty: nobody can be named, so every face becomes an "
                       "anonymous identity ('unknown 0007')", err=True)
        bars = _bars(specs)

        def say(line: str) -> None:
            tqdm.write(line, file=sys.stderr)

        def on_alert(a) -> None:
            say(f"ALERT {a.camera}: {a.person} (watchlist {', '.join(a.watchlists)}) at {a.video_s:.1f} s, "
                f"distance {a.distance:.3f}" + (f", similarity {a.similarity:.1f} %" if a.similarity else ""))

        for c in specs:
            if not c.quality.as_recorded:
                say(f"{c.name}: {c.quality.words}")

        def on_status(st) -> None:
            if st.state in ("failed", "reconnecting") or (st.state == "ended" and st.message):
                say(f"{st.camera}: {st.state}: {st.message}")

        def progress(summaries) -> None:
            for c in summaries:
                bar = bars[c.name]
                bar.update(max(c.frames + c.dropped - bar.n, 0))
                bar.set_postfix_str(f"{c.fps:.1f} fps, {c.faces} faces, {len(c.people)} people, "
                                    f"{len(c.identities)} unknown, {c.dropped} dropped, {c.state}", refresh=False)

        def on_batch(n: int, new: int, updated: int) -> None:
            if verbose:
                say(f"batch {n} committed: {new} new, {updated} updated sighting(s)")

        w.on_alert, w.on_status, w.on_batch = on_alert, on_status, on_batch
        if ray_address:
            from workbench.pipeline import raycluster

            raycluster.connect(ray_address)
        try:
            summary = w.run(progress)
        finally:
            for bar in bars.values():
                bar.close()
        if report_dir:
            from workbench.live.sightings_report import write_sightings_report

            page = write_sightings_report(db, gallery, report_dir, alert_threshold=w.alert_threshold,
                                          run_id=summary.run_id)
    out = summary.as_dict()
    if report_dir:
        out["report"] = str(page)
    if as_json:
        _echo_json(out)
    else:
        click.echo(f"watch run {summary.run_id} ({summary.mode}): {summary.sightings} sightings, {summary.alerts} "
                   f"alerts, {summary.new_identities} new anonymous identities in {summary.seconds:.1f} s")
        for c in out["cameras"]:
            lat = "" if c["identity_latency_p50_ms"] is None else (
                f", named after {c['identity_latency_p50_ms']:.0f} ms (p95 {c['identity_latency_p95_ms']:.0f}"
                + (f"; {c['named_tracks_held_at_the_gate']} of {c['named_tracks']} held back by the quality gate "
                   f"first, from their first face past it p95 {c['latency_after_gate_p95_ms']:.0f} ms"
                   if c["named_tracks_held_at_the_gate"] else "") + ")")
            click.echo(f"  {c['camera']}: {c['state']}, {c['frames']} frames ({c['dropped']} dropped) at "
                       f"{c['fps']:.1f} fps, {c['faces']} faces, {c['sightings']} sightings, people: "
                       f"{', '.join(c['people']) or 'none'}, {c['anonymous_identities']} unknown{lat}"
                       + (f", {c['tracks_failing_the_gate']} track(s) with no face past the gate"
                          if c["tracks_failing_the_gate"] else "")
                       + (f" - {c['message']}" if c["message"] else ""))
            if c["conditions"] != "as recorded":
                click.echo(f"    camera quality: {c['conditions']}")
        if report_dir:
            click.echo(f"report: {page}")
    if any(c.state == "failed" for c in summary.cameras) and all(c.state == "failed" for c in summary.cameras):
        raise WorkbenchError("every camera failed; nothing was watched")


def _since(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    v = value.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if v[:-1].replace(".", "", 1).isdigit() and v[-1] in units:
        return dt.datetime.now() - dt.timedelta(seconds=float(v[:-1]) * units[v[-1]])
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise WorkbenchError(f"--since wants a time (2026-11-30 14:00) or an age (30m, 2h, 1d), got {value!r}") from None


@cli.command()
@click.option("--gallery", required=True, help="Gallery whose sightings to show.")
@click.option("--person", default=None, help="Only this enrolled person.")
@click.option("--identity", default=None, help="Only this anonymous identity (7, or 'unknown 0007' as lists show it).")
@click.option("--camera", default=None, help="Only this camera.")
@click.option("--since", default=None, help="Only sightings since a time (ISO) or an age (30m, 2h, 1d).")
@click.option("--run", "run_id", type=int, default=None, help="Only this watch run.")
@click.option("--alerts", "alerts_only", is_flag=True, help="Only alerts.")
@click.option("--who", is_flag=True, help="Who was there: one line per identity, first/last time, cameras.")
@click.option("--export", "export_path", type=click.Path(dir_okay=False), default=None,
              help="Write the sightings to a .csv or .parquet file (Parquet includes kept chips).")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), default=None,
              help="Write the who-was-there HTML report (timeline, alerts per threshold) into this folder.")
@click.option("--photo", type=click.Path(dir_okay=False), default=None,
              help="Where was this face seen? Search every sighting of the gallery (known and anonymous, every "
                   "camera and run) with one face of this photo, at the --threshold (default: the model's).")
@click.option("--face", type=click.IntRange(1), default=None,
              help="With --photo: which face (1 = largest, as `workbench detect` numbers them); default: the face "
                   "nearest the centre, weighted by its size.")
@click.option("--positions", "positions_csv", type=click.Path(dir_okay=False), default=None,
              help="With --photo: a CSV of camera positions (camera,x,y on a site plan, or camera,lon,lat): the "
                   "route in time order, printed and drawn in --report (plain axes, no map tiles).")
@click.option("--keep-probe", is_flag=True, help="With --photo: store the probe photo in the search log.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def sightings(obj: Ctx, gallery: str, person: str | None, identity: str | None, camera: str | None,
              since: str | None, run_id: int | None, alerts_only: bool, who: bool, export_path: str | None,
              report_dir: str | None, photo: str | None, face: int | None, positions_csv: str | None,
              keep_probe: bool, as_json: bool) -> None:
    """Where and when people (or anonymous identities) were seen, from the sightings log; with
    --photo, where one face was seen."""
    if person and identity:
        raise WorkbenchError("give --person or --identity, not both")
    filters = dict(person=person, identity=identity, camera=camera, since=_since(since), run_id=run_id,
                   alerts_only=alerts_only)
    if photo is not None or face is not None or positions_csv is not None or keep_probe:
        flags = {"person": "--person", "identity": "--identity", "camera": "--camera", "since": "--since",
                 "run_id": "--run", "alerts_only": "--alerts"}
        given = [flags[k] for k, v in filters.items() if v] + (["--who"] if who else []) + \
            (["--export"] if export_path else [])
        if photo is None:
            raise WorkbenchError("--face, --positions and --keep-probe go with --photo PROBE")
        if given:
            raise WorkbenchError(f"--photo searches every sighting of the gallery: {', '.join(given)} do not apply")
        _follow(obj, gallery, photo, face, positions_csv, report_dir, keep_probe, as_json)
        return
    with obj.open_db(create=False, read_only=True) as db:
        if export_path:
            n = db.sightings.export(export_path, gallery, **filters)
            click.echo(f"exported {n} sighting(s) to {export_path}", err=as_json)
        if report_dir:
            from workbench.live.sightings_report import write_sightings_report

            page = write_sightings_report(db, gallery, report_dir, **filters)
            click.echo(f"report: {page}", err=as_json)
        if who:
            from workbench.live.sightings_report import who_was_there_json

            data = who_was_there_json(db, gallery, **filters)
            if as_json:
                _echo_json(data)
                return
            for r in data["identities"]:
                click.echo(f"{r['who']:<24} {r['kind']:<9} {r['sightings']:>4} sighting(s) on "
                           f"{', '.join(r['cameras'])}: {r['first_seen']} to {r['last_seen']}"
                           + (f", {r['alerts']} alert(s)" if r["alerts"] else ""))
            return
        df = db.sightings.query(gallery, **filters)
    if as_json:
        _echo_json(df.drop("has_chip").to_dicts())
        return
    if df.height == 0:
        click.echo(f"{gallery}: no sightings match")
        return
    said = set()
    for r in df.iter_rows(named=True):
        if r["conditions"] != "as recorded" and (r["run_id"], r["camera"]) not in said:
            said.add((r["run_id"], r["camera"]))
            click.echo(f"{r['camera']} (run {r['run_id']}), camera quality: {r['conditions']}")
        d = "" if r["distance"] is None else f" distance {r['distance']:.3f}"
        click.echo(f"#{r['id']} {r['first_seen']:%Y-%m-%d %H:%M:%S} {r['camera']}: {r['who']} "
                   f"(frames {r['first_frame']}-{r['last_frame']}, {r['first_video_s']:.1f}-{r['last_video_s']:.1f} s)"
                   f"{d}" + (" ALERT" if r["alert"] else "")
                   + (f"\n    why unknown: {r['why_unknown']}" if r["why_unknown"] else ""))


def _follow(obj: Ctx, gallery: str, photo: str, face: int | None, positions_csv: str | None,
            report_dir: str | None, keep_probe: bool, as_json: bool) -> None:
    """``sightings --photo``: one library call (:func:`workbench.live.follow.follow_face`), printed."""
    from workbench.cli.base import _check_file
    from workbench.live import route
    from workbench.live.follow import CAUTION, follow_face

    _check_file(photo)
    positions = route.read_positions(positions_csv) if positions_csv else None  # a bad file: before any work
    with obj.open_db(create=False) as db:
        r = follow_face(db, gallery, photo, obj.settings_for(db, gallery), face=face, name=photo, client="cli", keep_probe=keep_probe)
        page = None
        if report_dir:
            from workbench.live.sightings_report import write_follow_report

            page = write_follow_report(db, r, report_dir, positions)
    stops = route.route(r, positions)
    if as_json:
        out = r.as_dict()
        out["route"] = [{"order": s.order, "camera": s.camera, "when": s.when(), "sightings": len(s.hits),
                         "position": list(s.position) if s.position else None} for s in stops]
        out["route_order"] = route.ORDER
        if page:
            out["report"] = str(page)
        _echo_json(out)
        return
    click.echo(r.summary())
    for c in r.cameras():
        click.echo(f"  {c.line()}")
    for h in r.hits:
        click.echo(f"  {h.rank}. #{h.sighting_id} {h.camera}: {h.when()}, distance {h.distance:.4f} "
                   f"({h.similarity:.1f} %), logged as {h.who}" + (", chip kept" if h.has_chip else ""))
    if positions is not None and stops:
        click.echo("route: " + " -> ".join(f"{s.label()}" + ("" if s.position else " (not on the plan)")
                                           for s in stops))
        click.echo(f"  ({route.ORDER})")
    click.echo(CAUTION)
    if r.risk is not None:
        click.echo(r.risk.sentence())
    if page:
        click.echo(f"report: {page}")


@bench.command("sightings")
@click.option("--size", type=click.IntRange(1), default=1_000_000, show_default=True, help="Sightings in the log.")
@click.option("--probes", type=click.IntRange(1), default=200, show_default=True)
@click.option("--cameras", type=click.IntRange(1), default=20, show_default=True)
@click.option("--workdir", type=click.Path(file_okay=False), default=None,
              help="Keep the synthetic DuckDB log here and reuse it (default: a temp folder).")
@click.option("--seed", default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def bench_sightings_cmd(size: int, probes: int, cameras: int, workdir: str | None, seed: int, as_json: bool) -> None:
    """Sightings searched per second by photo (`sightings --photo`), on a synthetic log of SIZE
    sightings in DuckDB, against a plain numpy scan of the same vectors in the same run."""
    from dataclasses import asdict

    from workbench.bench.sightings import bench_sightings

    r = bench_sightings(size, workdir=workdir, seed=seed, probes=probes, cameras=cameras,
                        progress=_progress("benchmarking"))
    if as_json:
        _echo_json(asdict(r))
        return
    click.echo(f"{r.sightings:,} sightings, {r.probes} probes at {r.threshold}: ours p50 {r.ours_p50_ms} ms (p95 "
               f"{r.ours_p95_ms}), {r.sightings_per_s:,.0f} sightings/s; plain scan p50 {r.scan_p50_ms} ms, "
               f"{r.scan_sightings_per_s:,.0f}/s: {r.speedup}x, same answers: {r.same_answers}; "
               f"{r.found_per_probe} found per probe, {r.own_found_per_probe} of them its own of "
               f"{r.own_logged_per_probe} logged")
    click.echo(f"cold start {r.cold_start_s} s (read {r.matrix_read_s} s, index {r.index_build_s} s), {r.memory_mb} MB; "
               f"file {r.file_mb} MB, {r.bytes_per_sighting} bytes a sighting, of which its vector "
               f"{r.vector_bytes_per_sighting}")
