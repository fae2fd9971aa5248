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


# -- UTKFace: labels in the file names ---------------------------------------------------------

#: UTKFace's own codes (``age_gender_race_date.jpg.chip.jpg``), as the data set defines them.
UTK_GENDER = {"0": "male", "1": "female"}
UTK_RACE = {"0": "White", "1": "Black", "2": "Asian", "3": "Indian", "4": "Others"}
#: Label columns a UTKFace folder gives: each face's race and gender, and the two together.
UTK_COLUMNS = ("race and gender", "race", "gender", "age band")
#: Age bands (the data set's age labels), as NIST splits ages: children, adults, older adults.
AGE_BANDS = ((0, 9, "0-9"), (10, 17, "10-17"), (18, 39, "18-39"), (40, 59, "40-59"), (60, 200, "60+"))


@dataclass(frozen=True)
class UtkFace:
    """One UTKFace photo and the labels its file name carries (the data set's, not ours)."""

    path: Path
    age: int
    gender: str
    race: str

    def label(self, column: str = "race and gender") -> str:
        if column == "race":
            return self.race
        if column == "gender":
            return self.gender
        if column == "age band":
            return next(name for lo, hi, name in AGE_BANDS if lo <= self.age <= hi)
        return f"{self.race}, {self.gender}"


def parse_utkface_name(name: str) -> UtkFace | None:
    """The labels in a UTKFace file name, or ``None`` when the name does not follow the scheme."""
    parts = Path(name).name.split("_")
    if len(parts) < 4 or not parts[0].isdigit() or parts[1] not in UTK_GENDER or parts[2] not in UTK_RACE:
        return None
    return UtkFace(Path(name), int(parts[0]), UTK_GENDER[parts[1]], UTK_RACE[parts[2]])


def read_utkface(folder: str | os.PathLike) -> tuple[list[UtkFace], list[Path]]:
    """Every photo under ``folder`` whose file name carries UTKFace labels, sorted by name, and
    the image files whose names do not (listed, never given a label)."""
    from workbench.pipeline.capture import is_image

    base = Path(folder)
    if not base.is_dir():
        raise WorkbenchError(f"{base}: no such folder")
    faces, other = [], []
    for p in sorted(base.rglob("*"), key=lambda q: q.name):
        if p.is_file() and is_image(p):
            f = parse_utkface_name(str(p))
            (faces.append(f) if f else other.append(p))
    return faces, other


def utkface_labels(faces: list[UtkFace], column: str = "race and gender") -> Labels:
    """UTKFace's labels as :class:`Labels` keyed by file name (for the per-group code paths)."""
    if column not in UTK_COLUMNS:
        raise WorkbenchError(f"UTKFace labels have no column {column!r}; columns: {', '.join(UTK_COLUMNS)}")
    return Labels("file", column, {f.path.name: f.label(column) for f in faces}, UTK_COLUMNS)
