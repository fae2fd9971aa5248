"""`workbench eval scale` (the one scale answer) and `workbench eval scale-reference` (its reference
set, built once by hand), beside the other eval commands."""

from __future__ import annotations

import os

import click

from workbench.cli.base import Ctx, _echo_json
from workbench.cli.evaluate import _eval_db, eval_group, scale_lines

#: Gallery sizes and similarities printed by default: a county's mugshots and Rekognition's limit.
SIZES = (300_000, 20_000_000)
SIMILARITIES = (80.0, 99.0)


@eval_group.command("scale")
@click.option("--gallery", "sizes", type=click.IntRange(1), multiple=True, default=SIZES, show_default=True,
              help="Gallery size (faces) to answer for; repeat for several.")
@click.option("--similarity", "similarities", type=click.FloatRange(0, 100, min_open=True, max_open=True),
              multiple=True, default=SIMILARITIES, show_default=True, help="Similarity threshold (%); repeat.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--cache/--no-cache", default=True, show_default=True,
              help="Read the packaged photos' vectors from the database (the fallback).")
@click.pass_obj
def eval_scale(obj: Ctx, sizes: tuple[int, ...], similarities: tuple[float, ...], as_json: bool, cache: bool) -> None:
    """How many false candidates one search of an innocent person returns in a gallery of N faces,
    on the largest impostor set on this machine (an LFW reference when built, else the packaged
    photos), with its range, its number of comparisons and per UTKFace group when built."""
    from workbench.evaluation.runners.scale_reference import answer_at_scale
    from workbench.evaluation.stats import scale

    with _eval_db(obj, cache) as db:
        answer = answer_at_scale(obj.settings, similarities, sorted(set(sizes)), db=db)
    if as_json:
        _echo_json(scale.as_dict(answer))
        return
    for line in scale_lines(answer, sizes, similarities):
        click.echo(line)


@eval_group.command("scale-reference")
@click.option("--data", "dataset", type=click.Choice(["lfw", "utkface"]), default="lfw", show_default=True,
              help="LFW (every pair of two people) or UTKFace (per group).")
@click.option("--limit", type=click.IntRange(2), default=None,
              help="Only the first N photos (LFW: drawn across its people); run again with a larger N to extend.")
@click.option("--per-group", type=click.IntRange(2), default=None, help="UTKFace: at most N photos per group.")
@click.option("--seed", default=0, show_default=True, help="Order LFW's photos are drawn in (UTKFace's draw).")
@click.option("--niceness", default=10, show_default=True, type=click.IntRange(0, 19),
              help="Lower this process's priority by this much (a long run on a shared machine).")
@click.option("--out", "folder", type=click.Path(file_okay=False), default=None,
              help="Folder of reference files (default: $WORKBENCH_REFERENCES or data/references).")
@click.option("--cache/--no-cache", default=True, show_default=True,
              help="Reuse and keep vectors in the database's embedding cache.")
@click.pass_obj
def eval_scale_reference(obj: Ctx, dataset: str, limit: int | None, per_group: int | None, seed: int,
                         niceness: int, folder: str | None, cache: bool) -> None:
    """Build (or go on building) the scale answer's reference set for the current model: every
    photo of DATA embedded once and kept in a file outside the repository. Resumable: stop it at
    any time and run it again. Minutes to an hour per model for all of LFW."""
    from workbench.cli.robustness import line_progress
    from workbench.evaluation.runners.scale_reference import build, dataset_photos

    dataset_photos(dataset, seed, per_group)  # a missing data set: one line before any model time
    if niceness:
        os.nice(niceness)
    with _eval_db(obj, cache) as db:
        path, ref = build(dataset, obj.settings, db=db, limit=limit, per_group=per_group, folder=folder, seed=seed,
                          progress=line_progress(f"{dataset} reference"))
    ok = int(ref.embedded.sum())
    click.echo(f"{path}: {len(ref.paths):,} of {ref.meta.get('total', 0):,} photos "
               f"({ok:,} embedded, {len(ref.paths) - ok:,} without a face), {ref.model}/{ref.detector}")
