"""`workbench bench face-choice|face-size|explain`: benchmarks of single faces (LFW pairs, occlusion maps)."""

from __future__ import annotations

from pathlib import Path

import click

from workbench.cli.base import Ctx, _echo_json, _progress
from workbench.cli.bench import bench
from workbench.errors import WorkbenchError


def _lfw_options(fn):
    for opt in reversed([
        click.argument("pairs_txt", type=click.Path(exists=True, dir_okay=False)),
        click.option("--images", type=click.Path(exists=True, file_okay=False), default=None,
                     help="LFW's folder of <Name>/<Name>_0001.jpg photos (default: 'lfw' beside PAIRS_TXT)."),
        click.option("--folds", default="1", show_default=True, help="Folds to use, e.g. 1 or 1,2,3 or 1-10."),
        click.option("--json", "as_json", is_flag=True),
    ]):
        fn = opt(fn)
    return fn


def _folds(text: str) -> list[int]:
    try:
        out: list[int] = []
        for part in text.split(","):
            a, _, b = part.partition("-")
            out += list(range(int(a), int(b or a) + 1))
        return out
    except ValueError:
        raise WorkbenchError(f"--folds wants numbers like 1,2 or 1-10, got {text!r}") from None


@bench.command("face-choice")
@_lfw_options
@click.pass_obj
def bench_face_choice(obj: Ctx, pairs_txt: str, images: str | None, folds: str, as_json: bool) -> None:
    """LFW pairs: accuracy with each photo's largest face vs the face nearest the centre weighted by size."""
    from dataclasses import asdict

    from workbench.bench.faces import bench_face_choice as run

    r = run(pairs_txt, images or Path(pairs_txt).parent / "lfw", _folds(folds), obj.settings,
            progress=_progress("photos"))
    if as_json:
        _echo_json(asdict(r))
        return
    click.echo(f"{r.pairs} pairs, {r.photos} photos ({r.several_faces} with several faces, the rule picks another "
               f"face than the largest in {r.rule_differs}; {r.no_face} with no face)")
    click.echo(f"  largest face: accuracy {r.accuracy_largest:.4f}, {r.false_non_matches_largest} false non-matches, "
               f"{r.false_matches_largest} false matches")
    click.echo(f"  the rule:     accuracy {r.accuracy_rule:.4f}, {r.false_non_matches_rule} false non-matches, "
               f"{r.false_matches_rule} false matches; same-person pairs fixed {r.fixed}, broken {r.broken}")
    click.echo("  false candidates in a gallery of N faces: `workbench eval scale` (on the largest data at hand)")


@bench.command("face-size")
@_lfw_options
@click.option("--sizes", default="24,28,32,36,40,48,64,0", show_default=True,
              help="Face widths in pixels to shrink each photo to (0: as it is).")
@click.pass_obj
def bench_face_size(obj: Ctx, pairs_txt: str, images: str | None, folds: str, as_json: bool, sizes: str) -> None:
    """LFW pairs with every face shrunk to a given width: accuracy and detection against face size."""
    from workbench.bench.common import as_dicts
    from workbench.bench.faces import bench_face_size as run

    try:
        widths = [int(x) for x in sizes.split(",") if x.strip()]
    except ValueError:
        raise WorkbenchError(f"--sizes wants integers, got {sizes!r}") from None
    rows = run(pairs_txt, images or Path(pairs_txt).parent / "lfw", _folds(folds), widths, obj.settings,
               progress=_progress("photos"))
    if as_json:
        _echo_json(as_dicts(rows))
        return
    click.echo(f"{'face px':>8} {'pairs':>6} {'accuracy':>9} {'missed':>7} {'false':>6}  detector still finds it")
    for r in rows:
        click.echo(f"{r.size or 'as is':>8} {r.pairs:>6} {r.accuracy:>9.4f} {r.false_non_matches:>7} "
                   f"{r.false_matches:>6}  {r.detected}/{r.photos}")


@bench.command("explain")
@click.argument("photos", nargs=-1, type=click.Path())
@click.option("--steps", default=8, show_default=True, type=click.IntRange(1, 32), help="Patch positions per axis.")
@click.option("--repeat", default=3, show_default=True, type=click.IntRange(1), help="Plain embeddings timed per face.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def bench_explain(obj: Ctx, photos: tuple[str, ...], steps: int, repeat: int, as_json: bool) -> None:
    """An occlusion map per face, for each model with chips, vs one plain embedding of the same chip
    (default PHOTOS: the packaged k-NN training photos, 9 faces of 5 people)."""
    from workbench.bench.common import as_dicts
    from workbench.bench.explain import bench_explain
    from workbench.search.enrol import demo_folder

    paths = [Path(p) for p in photos] or sorted(p for p in (demo_folder() or Path(".")).rglob("*") if p.is_file())
    rows = bench_explain(paths, obj.settings, steps=steps, repeat=repeat, progress=_progress("benchmarking"))
    if as_json:
        _echo_json(as_dicts(rows))
        return
    for r in rows:
        click.echo(f"{r.model} ({r.chip_side} px chip, {r.patch} px patches, {r.positions} x {r.positions}): "
                   f"{r.map_s:.2f} s per face for {r.embeddings_per_map} embeddings ({r.faces} faces); one plain "
                   f"embedding {r.plain_embedding_ms:.1f} ms -> a map costs {r.ratio:.0f} of them "
                   f"({r.ms_per_embedding_in_map:.1f} ms each in the batch)")
