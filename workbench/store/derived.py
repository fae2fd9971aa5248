"""Files derived from a database: saved search indexes beside the DuckDB file.

They copy face vectors, so storage owns their names: every compaction (after any deletion,
and by purge) removes all of them through :func:`remove_all`, whether or not the module that
wrote them was ever imported in this process. A derived file is rebuilt on demand.
"""

from __future__ import annotations

import glob
from pathlib import Path

#: Suffixes (after ``<db file name>``, glob wildcards allowed) of every derived file.
SUFFIXES: tuple[str, ...] = (".*.index", ".*.index.json", ".*.index.part", ".*.index.json.part")


def index_path(db_path: str | Path, gallery: str, kind: str) -> Path:
    """Where the ``kind`` search index of ``gallery`` lives: beside the DuckDB file."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in gallery)
    db_path = Path(db_path)
    return db_path.with_name(f"{db_path.name}.{safe}.{kind}.index")


def existing(db_path: str | Path) -> list[Path]:
    """The derived files of a database that are on disk now."""
    db_path = Path(db_path)
    found: list[Path] = []
    for suffix in SUFFIXES:
        found.extend(db_path.parent.glob(glob.escape(db_path.name) + suffix))
    return sorted(set(found))


def remove_all(db_path: str | Path) -> int:
    """Delete every derived file of a database; returns how many were removed."""
    files = existing(db_path)
    for f in files:
        f.unlink(missing_ok=True)
    return len(files)
