"""The ``workbench`` command group, its shared options, and how errors are shown.

Bad input of any kind ends in one line on stderr and a non-zero exit, and writes nothing.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from workbench import config
from workbench.errors import WorkbenchError

EXIT_ERROR = 1


class Ctx:
    """What the group options decided, shared by the subcommands."""

    def __init__(self, db: str | None, model: str, detector: str, upsample: int, threshold: float | None,
                 max_side: int | None = None):
        from workbench.pipeline import Settings, detect

        self.db_path = config.db_path(db)
        side = detect.DEFAULT_MAX_SIDE if max_side is None else (max_side or None)  # 0: full size
        self.settings = Settings(detector=detector, model=model, upsample=upsample, threshold=threshold,
                                 max_side=side)

    def open_db(self, create: bool = True, read_only: bool = False):
        from workbench.store import GalleryDB

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
@click.option("--max-side", "max_side", type=click.IntRange(0), default=None,
              help="Shrink photos whose long side is larger than this many pixels before detection "
                   "(default 1280; 0 = full size: slower, finds the small faces of a crowd).")
@click.version_option(package_name="face-workbench")
@click.pass_context
def cli(ctx: click.Context, db: str | None, model: str, detector: str, upsample: int, threshold: float | None,
        max_side: int | None) -> None:
    """Face-recognition research workbench: detect, enrol, search and measure, offline."""
    ctx.obj = Ctx(db, model, detector, upsample, threshold, max_side)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    cli.main(args=argv, prog_name="workbench")
