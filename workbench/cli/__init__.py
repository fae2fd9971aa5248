"""`workbench`: the command line. Each command is a docstring and one library call.

One module per command group (``faces``: detect/verify/enrol/search, ``gallery``,
``evaluate``, ``bench``, ``app``, ``watch``: watch/sightings, ``identities``: identities/watchlist); ``base`` holds the group, its options and error display.
Add a command in the module of its group (or a new module imported here).
"""

from workbench.cli import (  # noqa: F401  (register the commands)
    app, bench, bench_faces, benchmarks, evaluate, faces, gallery, identities, robustness, scale, watch)
from workbench.cli.base import cli, main

__all__ = ["cli", "main"]
