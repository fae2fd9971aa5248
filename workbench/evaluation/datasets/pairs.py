"""Labelled pairs: reading a pairs CSV, one sub-folder per person, and drawing pairs from it.

Files that are not images are listed (:func:`non_images`), never used as photos.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.errors import WorkbenchError


@dataclass(frozen=True)
class Pair:
    """Two photos (paths) and whether they show the same person."""

    a: str
    b: str
    same: bool



def resolve(images_dir: str | os.PathLike, name: str) -> Path:
    """Where a file named in a CSV is: ``images_dir/name``, else ``images_dir/<its file name>``.

    The second form lets a CSV written for another folder layout (such as deepface's
    ``deepface/tests/dataset/img1.jpg``) be used on the same photos.
    """
    base = Path(images_dir)
    direct = base / name
    if direct.exists():
        return direct
    by_name = base / Path(name.replace("\\", "/")).name
    return by_name if by_name.exists() else direct



def read_pairs(csv_path: str | os.PathLike, images_dir: str | os.PathLike | None = None) -> list[Pair]:
    """Rows ``file_x,file_y,Decision`` (Yes/No) of a pairs CSV, paths resolved against
    ``images_dir`` (default: the CSV's folder)."""
    p = Path(csv_path)
    if not p.is_file():
        raise WorkbenchError(f"{p}: no such file")
    base = Path(images_dir) if images_dir is not None else p.parent
    if not base.is_dir():
        raise WorkbenchError(f"{base}: no such folder")
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            cols = {c.strip().lower(): c for c in (reader.fieldnames or [])}
            if not {"file_x", "file_y", "decision"} <= set(cols):
                raise WorkbenchError(f"{p}: need columns file_x,file_y,Decision")
            rows = [(r[cols["file_x"]], r[cols["file_y"]], r[cols["decision"]]) for r in reader]
    except (UnicodeDecodeError, csv.Error) as err:
        raise WorkbenchError(f"{p}: not a readable CSV ({err})") from None
    if not rows:
        raise WorkbenchError(f"{p}: no pairs in it")
    pairs = [Pair(str(resolve(base, a)), str(resolve(base, b)), (d or "").strip().lower() in {"yes", "1", "true"})
             for a, b, d in rows]
    missing = sorted({Path(f).name for pr in pairs for f in (pr.a, pr.b) if not Path(f).is_file()})
    if missing:  # a wrong --images folder, not a face the model missed: say so instead of scoring it
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise WorkbenchError(f"{p}: {len(missing)} file(s) it names are not in {base}: "
                             f"{', '.join(missing[:3])}{more}")
    return pairs



def non_images(folder: str | os.PathLike) -> dict[str, str]:
    """Files in ``folder/<person>/`` that are not images (a readme, a CSV): skipped, with why."""
    from workbench.pipeline.capture import is_image

    base = Path(folder)
    return {str(f.relative_to(base)): "not an image file" for d in sorted(base.iterdir())
            if d.is_dir() and not d.name.startswith(".")
            for f in sorted(d.iterdir()) if f.is_file() and not f.name.startswith(".") and not is_image(f)}



def person_folders(folder: str | os.PathLike) -> dict[str, list[Path]]:
    """``folder/<person>/<photo>``: each person's photos (hidden files and folders skipped, and
    files that are not images: see :func:`non_images`)."""
    from workbench.pipeline.capture import is_image

    base = Path(folder)
    if not base.is_dir():
        raise WorkbenchError(f"{base}: no such folder")
    people = {d.name: sorted(f for f in d.iterdir() if f.is_file() and not f.name.startswith(".") and is_image(f))
              for d in sorted(base.iterdir()) if d.is_dir() and not d.name.startswith(".")}
    people = {k: v for k, v in people.items() if v}
    if not people:
        raise WorkbenchError(f"{base}: expected one sub-folder of photos per person, found none")
    return people



def folder_pairs(people: dict[str, list[Path]], max_impostors: int = 10_000, seed: int = 0) -> list[Pair]:
    """Every same-person pair, and different-person pairs: all of them when there are at most
    ``max_impostors``, else that many drawn at random (without repeats) with ``seed``."""
    import itertools

    genuine = [Pair(str(a), str(b), True) for files in people.values() for a, b in itertools.combinations(files, 2)]
    names = list(people)
    sizes = np.array([len(people[n]) for n in names])
    cross = [(i, j) for i, j in itertools.combinations(range(len(names)), 2)]
    total = int(sum(sizes[i] * sizes[j] for i, j in cross))
    if total <= max_impostors:
        impostors = [Pair(str(a), str(b), False) for i, j in cross
                     for a in people[names[i]] for b in people[names[j]]]
    else:
        rng = np.random.default_rng(seed)
        flat = [f for n in names for f in people[n]]
        owner = np.repeat(np.arange(len(names)), sizes)
        seen: set[tuple[int, int]] = set()
        while len(seen) < max_impostors:
            a, b = (int(x) for x in rng.integers(0, len(flat), 2))
            if owner[a] != owner[b]:
                seen.add((min(a, b), max(a, b)))
        impostors = [Pair(str(flat[a]), str(flat[b]), False) for a, b in sorted(seen)]
    return genuine + impostors



def sample_pair_csvs(base: str | os.PathLike | None) -> dict[str, Path]:
    """Pairs CSVs (with ``file_x,file_y``) under ``base``, by relative name (for pickers)."""
    if base is None:
        return {}
    out = {}
    for p in sorted(Path(base).rglob("*.csv")):
        with p.open(encoding="utf-8-sig", errors="replace") as fh:
            head = fh.readline().lower()
        if "file_x" in head and "file_y" in head:
            out[str(p.relative_to(base))] = p
    return out



def sample_folders(base: str | os.PathLike | None, *, people: bool = False) -> dict[str, Path]:
    """Folders under ``base`` holding photos (``people``: holding one sub-folder per person)."""
    from workbench.pipeline.capture import is_image

    if base is None:
        return {}
    out = {}
    for d in sorted(p for p in Path(base).rglob("*") if p.is_dir()):
        subs = [s for s in d.iterdir() if s.is_dir()]
        if people:
            ok = len(subs) >= 2 and all(any(is_image(f) for f in s.iterdir()) for s in subs)
        else:
            ok = sum(1 for f in d.iterdir() if is_image(f)) >= 2
        if ok:
            out[str(d.relative_to(base))] = d
    return out



def identities_from_pairs(pairs: list[Pair]) -> dict[str, int]:
    """Group photos into identities: photos linked by same-person pairs share a number.

    Useful when a data set only says which pairs match (deepface's CSVs) and not who is who.
    Photos never in a same-person pair get an identity of their own. Numbers follow the
    sorted file names, so they are stable.
    """
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        ra, rb = root(p.a), root(p.b)
        if p.same and ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = sorted({root(f) for f in list(parent)})
    number = {r: i for i, r in enumerate(roots)}
    return {f: number[root(f)] for f in sorted(parent)}
