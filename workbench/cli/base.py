"""The ``workbench`` command group, its shared options, and how errors are shown.

Bad input of any kind ends in one line on stderr and a non-zero exit, and writes nothing.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import sys
from pathlib import Path
from typing import Any

import click

from workbench import config
from workbench.errors import WorkbenchError
from workbench.pipeline import zoo

EXIT_ERROR = 1
#: A closed output pipe: 128 + SIGPIPE, the status a shell reports for `yes` in `yes | head -1`.
EXIT_PIPE = 141


class Ctx:
    """What the group options decided, shared by the subcommands.

    ``settings`` is for work that touches no gallery, and for a new gallery: ``--model``, else the
    zoo's default (yunet + SFace); ``--detector``, else the model's own. A command on an existing
    gallery asks :meth:`settings_for`: without ``--model`` that is the gallery's model (a gallery
    keeps its model: a Dlib gallery is searched with hog + Dlib)."""

    def __init__(self, db: str | None, model: str | None, detector: str | None, upsample: int,
                 threshold: float | None, max_side: int | None = None):
        from workbench.pipeline import detect

        self.db_path = config.db_path(db)
        self.model_given = model is not None
        self._model = model or zoo.DEFAULT_MODEL
        self._detector, self._upsample, self._threshold = detector, upsample, threshold
        self._max_side = detect.DEFAULT_MAX_SIDE if max_side is None else (max_side or None)  # 0: full size
        #: the options' settings, made at once: a --threshold outside the range of --model's metric (else
        #: the default's) is refused on every command, before any file is opened
        self.settings = self._settings(self._model)

    def _settings(self, model: str):
        from workbench.pipeline import Settings

        return Settings(detector=self._detector, model=model, upsample=self._upsample, threshold=self._threshold,
                        max_side=self._max_side)

    def settings_for(self, db: Any, gallery: str | None):
        """The settings for work on ``gallery`` of ``db``: without ``--model``, an existing gallery's
        own model (with its own detector unless ``--detector`` says otherwise); with ``--model``, or
        for a gallery not made yet, :attr:`settings` (a ``--model`` that contradicts the gallery is
        refused where the gallery is used, in one line)."""
        if self.model_given or not gallery or not db.galleries.exists(gallery):
            return self.settings
        model = db.galleries.model(gallery)
        return self.settings if model == self._model else self._settings(model)

    def open_db(self, create: bool = True, read_only: bool = False):
        """The database file (a new one sized for the model's vectors; with ``--model``, an existing
        one of another size is refused in one line; without, an existing one is opened at its size,
        so that each of its galleries can be used with its own model)."""
        from workbench.pipeline.embed import model_info
        from workbench.store import Store

        sized = self.model_given or not self.db_path.exists()
        return Store(self.db_path, dim=model_info(self._model).dim if sized else None, create=create,
                     read_only=read_only)


def strict(obj: Any) -> Any:
    """``obj`` made fit for strict JSON: a float that is not finite (NaN, infinity) becomes
    ``null``, and inside an object a ``<key>_note`` beside it says what it was, in words."""
    if isinstance(obj, dict):
        out: dict[Any, Any] = {}
        for k, v in obj.items():
            out[k] = strict(v)
            if _non_finite(v) and f"{k}_note" not in obj:
                out[f"{k}_note"] = _words(float(v))
        return out
    if isinstance(obj, (list, tuple)):
        return [strict(v) for v in obj]
    if _non_finite(obj):
        return None
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", None) == 0:  # numpy scalars
        return strict(obj.item())
    return obj


def _non_finite(v: Any) -> bool:
    """A float (Python or numpy) that is NaN or infinite."""
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, int)) and not math.isfinite(float(v))


def _words(v: float) -> str:
    if math.isnan(v):
        return "not a number: nothing to compute it from"
    return "infinite" if v > 0 else "minus infinite"


def to_json(obj: Any) -> str:
    """Strict JSON text (RFC 8259: no NaN, no Infinity) of a command's answer; every ``--json``
    output goes through here."""
    return json.dumps(strict(obj), indent=2, default=str, allow_nan=False)


def _echo_json(obj: Any) -> None:
    click.echo(to_json(obj))


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


class BlankValue(click.ClickException):
    """An empty or blank value given to an option or argument: one line, exit status 1."""

    exit_code = EXIT_ERROR

    def show(self, file: Any = None) -> None:
        click.echo(f"workbench: {self.format_message()}", err=True)


def consent_choice(consent: bool | None, reason: str | None, done: str = "nothing was enrolled"):
    """The consent a command records, from ``--consent`` / ``--no-consent --reason``: one of the two
    is required, and an exception to consent states why (:class:`~workbench.types.Consent`)."""
    from workbench.types import Consent

    if consent is None:
        raise WorkbenchError("say whether the people enrolled consented: --consent, or --no-consent "
                             f"--reason \"public figure\" (or another exception); {done}")
    if consent and reason is not None:
        raise WorkbenchError(f"--reason goes with --no-consent (the exception to consent); {done}")
    if not consent and not (reason or "").strip():
        raise WorkbenchError("--no-consent needs --reason \"...\": why this person may be enrolled without "
                             f"consent (a public figure, a research exception ...); {done}")
    return Consent(True) if consent else Consent(False, reason.strip())


def refuse_blank(cmd: click.Command, ctx: click.Context, args: list[str]) -> None:
    """An empty or blank value of any option or argument is an error, for every command: a
    script's unset ``"$NAME"`` must never widen what a command does (``--person ""`` once
    deleted a whole gallery). Checked on the raw command line, before any value is converted,
    opened or changed."""
    try:
        opts, _, _ = cmd.make_parser(ctx).parse_args(args=list(args))
    except click.ClickException:
        return  # click reports its own parse errors
    for param in cmd.get_params(ctx):
        raw = opts.get(param.name)  # type: ignore[arg-type]
        values = raw if isinstance(raw, (tuple, list)) else (raw,)
        if any(isinstance(v, str) and not v.strip() for v in values):
            name = param.opts[0] if isinstance(param, click.Option) else param.human_readable_name
            raise BlankValue(f"{name} is empty: give a value (an empty value never means 'all' or "
                             "'the default'); nothing was changed")


class _Command(click.Command):
    """Every workbench command: blank values refused (:func:`refuse_blank`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        refuse_blank(self, ctx, args)
        return super().parse_args(ctx, args)


class _Group(click.Group):
    """Turns library errors into one line on stderr and exit status 1, for every subcommand.

    Sub-groups and commands declared on it get the same classes, so every command refuses blank
    values in one place.
    """

    command_class = _Command
    group_class = type

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        refuse_blank(self, ctx, args)
        return super().parse_args(ctx, args)

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
        except BrokenPipeError:  # the reader left (`| head -1`): stop quietly, as Unix tools do
            ctx.exit(EXIT_PIPE)
        except Exception as err:  # a bug: still one line, with the way to the traceback
            if os.environ.get("WORKBENCH_DEBUG"):
                raise
            click.echo(f"workbench: internal error: {type(err).__name__}: {err} "
                       "(set WORKBENCH_DEBUG=1 for the traceback)", err=True)
            ctx.exit(EXIT_ERROR)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db", type=click.Path(dir_okay=False), default=None,
              help="Gallery database file (default: $WORKBENCH_DB or data/workbench.duckdb).")
@click.option("--model", default=None,
              help=f"Embedding model ({', '.join(zoo.embedder_names())}). Default: an existing gallery's own "
                   f"model (a gallery keeps its model); for a new gallery and for work without one, "
                   f"{zoo.DEFAULT_MODEL}.")
@click.option("--detector", default=None,
              help=f"Face detector ({', '.join(zoo.detector_names())}). Default: the model's own "
                   f"({zoo.DEFAULT_DETECTOR} for {zoo.DEFAULT_MODEL}, {zoo.own_detector(zoo.COMPARISON_MODEL)} for "
                   f"{zoo.COMPARISON_MODEL}).")
@click.option("--upsample", default=1, show_default=True, type=click.IntRange(0, 3),
              help="Times the detector doubles the image to find small faces.")
@click.option("--threshold", type=float, default=None,
              help="Match distance threshold (default: the model's); a finite distance the metric can reach.")
@click.option("--max-side", "max_side", type=click.IntRange(0), default=None,
              help="Shrink photos whose long side is larger than this many pixels before detection "
                   "(default 1280; 0 = full size: slower, finds the small faces of a crowd).")
@click.version_option(package_name="face-workbench")
@click.pass_context
def cli(ctx: click.Context, db: str | None, model: str | None, detector: str | None, upsample: int,
        threshold: float | None, max_side: int | None) -> None:
    """Face-recognition research workbench: detect, enrol, search and measure, offline."""
    ctx.obj = Ctx(db, model, detector, upsample, threshold, max_side)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    cli.main(args=argv, prog_name="workbench")
