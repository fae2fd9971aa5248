"""Labels for per-group reports: a CSV whose first column is ``person`` or ``file`` and whose
other columns are anything to split results by (a group, a source, a camera ...).

The workbench ships no such labels for the shared photos and makes no claim about the people
in them; whoever runs an audit brings the labels and answers for them.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import WorkbenchError

UNLABELLED = "(unlabelled)"
MIXED = "(mixed)"


@dataclass(frozen=True)
class Labels:
    """``key`` is ``"person"`` or ``"file"``; ``values`` maps a person name or a file name
    (its base name, so folders do not matter) to that row's value of ``column``."""

    key: str
    column: str
    values: dict[str, str]
    columns: tuple[str, ...]

    def of(self, person: str | None = None, file: str | None = None) -> str:
        """The group of a photo, by person or by file name depending on the CSV."""
        name = person if self.key == "person" else (Path(file).name if file else None)
        return self.values.get(name or "", UNLABELLED)

    def groups(self) -> list[str]:
        return sorted(set(self.values.values()))


def read_labels(path: str | os.PathLike, column: str | None = None) -> Labels:
    """Read a labels CSV; ``column`` defaults to the first column after the key."""
    p = Path(path)
    if not p.is_file():
        raise WorkbenchError(f"{p}: no such labels file")
    return parse_labels(p.read_bytes(), str(p), column)


def parse_labels(data: bytes, name: str = "labels", column: str | None = None) -> Labels:
    """:func:`read_labels` on the bytes of an uploaded CSV."""
    p = name
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    except (UnicodeDecodeError, csv.Error) as err:
        raise WorkbenchError(f"{p}: not a readable CSV ({err})") from None
    if not rows or len(rows[0]) < 2:
        raise WorkbenchError(f"{p}: need a header 'person' or 'file', then at least one label column")
    header = [h.strip() for h in rows[0]]
    key = header[0].lower()
    if key not in {"person", "file"}:
        raise WorkbenchError(f"{p}: the first column must be 'person' or 'file', not {header[0]!r}")
    col = column or header[1]
    if col not in header[1:]:
        raise WorkbenchError(f"{p}: no column {col!r}; columns: {', '.join(header[1:])}")
    j = header.index(col)
    values = {}
    for r in rows[1:]:
        if len(r) > j and r[0].strip():
            name = r[0].strip() if key == "person" else Path(r[0].strip()).name
            values[name] = r[j].strip() or UNLABELLED
    return Labels(key, col, values, tuple(header[1:]))


def pair_group(a: str, b: str) -> str:
    """A pair belongs to a group when both photos do; otherwise it is a mixed pair."""
    return a if a == b else MIXED
