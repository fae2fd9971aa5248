"""Kill a CLI enrolment with SIGKILL at random points, restart, check, and finish it.

Used small by tests/test_crash.py (CI) and at full size by hand::

    nice -n 10 python tests/crash.py --images 120 --kills 25 --batch 8

which prints: cases tried, crashes (a gallery that would not open, broke an invariant, or an
enrolment that would not finish), and rows lost (photos neither stored nor reported skipped).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def make_folder(dest: Path, n: int, people: int = 4) -> list[Path]:
    """``n`` distinct photos of one real face (scikit-image's astronaut), varied in light,
    scale, mirror and crop, filed under ``people`` sub-folders (one per person)."""
    import cv2
    from corpus import astronaut_one_face
    from PIL import Image

    base = astronaut_one_face()
    out = []
    for i in range(n):
        rng = np.random.default_rng(i)
        im = np.clip(base.astype(np.int16) + int(rng.integers(-40, 40)), 0, 255).astype(np.uint8)
        if i % 2:
            im = np.ascontiguousarray(im[:, ::-1])
        side = int(rng.integers(400, 640))
        im = cv2.resize(im, (side, side), interpolation=cv2.INTER_AREA)
        cut = int(rng.integers(0, side // 10))
        im = im[cut:, : side - cut // 2]
        folder = dest / f"person{i % people:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"photo{i:04d}.jpg"
        Image.fromarray(np.ascontiguousarray(im)).save(path, quality=85)
        out.append(path)
    return out


def _cli(db: Path, folder: Path, gallery: str, batch: int) -> list[str]:
    return [sys.executable, "-m", "workbench.cli", "--db", str(db), "enrol", str(folder), "--gallery", gallery,
            "--batch", str(batch), "--consent", "--json"]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


def check(db: Path, gallery: str, batch: int, total: int) -> list[str]:
    """Problems with the gallery after a crash (empty list: it opens and holds whole batches)."""
    from workbench.errors import WorkbenchError
    from workbench.store import Store

    if not db.exists():
        return []
    problems = []
    try:
        with Store(db) as g:
            cur = g.db.cursor()
            orphans = cur.execute("SELECT count(*) FROM faces f LEFT JOIN people p ON p.id = f.person_id "
                                  "WHERE p.id IS NULL").fetchone()[0]
            empty_people = cur.execute("SELECT count(*) FROM people p WHERE NOT EXISTS "
                                       "(SELECT 1 FROM faces f WHERE f.person_id = p.id)").fetchone()[0]
            dups = cur.execute("SELECT count(*) FROM (SELECT gallery_id, image_sha256 FROM faces "
                               "GROUP BY ALL HAVING count(*) > 1)").fetchone()[0]
            n = cur.execute("SELECT count(*) FROM faces f JOIN galleries g ON g.id = f.gallery_id "
                            "WHERE g.name = ?", [gallery]).fetchone()[0]
            bad_vectors = cur.execute("SELECT count(*) FROM faces WHERE embedding IS NULL").fetchone()[0]
    except WorkbenchError as err:
        return [f"gallery does not open: {err}"]
    if orphans:
        problems.append(f"{orphans} face(s) without their person")
    if empty_people:
        problems.append(f"{empty_people} person(s) without a face (half an enrolment)")
    if dups:
        problems.append(f"{dups} duplicate image(s)")
    if bad_vectors:
        problems.append(f"{bad_vectors} face(s) without a vector")
    if n % batch and n != total:
        problems.append(f"{gallery}: {n} faces is not a whole number of batches of {batch}")
    return problems


@dataclass
class Outcome:
    cases: int = 0
    kills: int = 0
    crashes: int = 0
    rows_lost: int = 0
    faces: int = 0
    enrolments: int = 0
    problems: list[str] = field(default_factory=list)

    def problem(self, *found: str) -> None:
        if found:
            self.crashes += 1
            self.problems += found


def _finish(out: Outcome, db: Path, folder: Path, photos: list[Path], gallery: str, batch: int) -> None:
    """Run the enrolment of ``gallery`` to the end, then once more (must add nothing), and count."""
    from workbench.pipeline.capture import sha256
    from workbench.store import Store

    skipped: set[str] = set()
    for attempt in ("finish", "again"):
        out.cases += 1
        r = subprocess.run(_cli(db, folder, gallery, batch), env=_env(), capture_output=True, text=True,
                           timeout=3600)
        if r.returncode != 0:
            out.problem(f"{gallery} {attempt}: exit {r.returncode}: {r.stderr.strip()[-300:]}")
            continue
        report = json.loads(r.stdout)
        skipped |= {s["source"] for s in report["skipped"]}
        if attempt == "again" and report["enrolled"]:
            out.problem(f"{gallery}: re-running enrolled {report['enrolled']} more: not idempotent")
    with Store(db) as g:
        stored = set(g.faces.list(gallery)["image_sha256"].to_list())
    out.faces += len(stored)
    out.enrolments += 1
    out.rows_lost += sum(1 for p in photos if sha256(p) not in stored and str(p) not in skipped)
    out.problem(*check(db, gallery, batch, len(photos)))


def run(db: Path, folder: Path, photos: list[Path], *, kills: int, batch: int, max_delay: float,
        seed: int = 0) -> Outcome:
    """Start the enrolment of a folder ``kills`` times, SIGKILL it after a random delay and check
    the gallery after each kill. An enrolment that ends before its kill is finished (run to
    the end, then once more, counting what is stored) and the next one starts in a new gallery
    of the same file, so kills keep landing in unfinished work; it also halves the latest kill
    time (down to 0.3 s, sooner than any enrolment can end), so a fast machine still gets its
    kills: the delays follow the runs that ended, not a guess at the machine's speed."""
    rng = random.Random(seed)
    out = Outcome()
    cycle = 0
    for _ in range(kills):
        gallery = f"crash{cycle}"
        out.cases += 1
        proc = subprocess.Popen(_cli(db, folder, gallery, batch), env=_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=rng.uniform(0.3, max_delay))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            out.kills += 1
            out.problem(*check(db, gallery, batch, len(photos)))
            continue
        _finish(out, db, folder, photos, gallery, batch)
        cycle += 1
        max_delay = max(0.3, max_delay / 2)
    _finish(out, db, folder, photos, f"crash{cycle}", batch)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=120)
    ap.add_argument("--kills", type=int, default=25)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--max-delay", type=float, default=None, help="Latest kill, seconds (default: scaled to --images)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=None, help="Folder for the photos and the database (default: a temp folder)")
    args = ap.parse_args()
    import tempfile

    work = args.work or Path(tempfile.mkdtemp(prefix="crash-"))
    folder = work / "photos"
    photos = make_folder(folder, args.images)
    db = work / "crash.duckdb"
    db.unlink(missing_ok=True)
    max_delay = args.max_delay or 3.0 + 0.4 * args.images
    t0 = time.time()
    o = run(db, folder, photos, kills=args.kills, batch=args.batch, max_delay=max_delay, seed=args.seed)
    print(f"photos: {len(photos)}, batch: {args.batch}, kill delays 0.3-{max_delay:.0f} s, {time.time() - t0:.0f} s")
    print(f"cases tried: {o.cases} ({o.kills} SIGKILLs, {o.enrolments} enrolments finished), "
          f"crashes: {o.crashes}, rows lost: {o.rows_lost}, faces stored: {o.faces}")
    for p in o.problems:
        print("  problem:", p)
    sys.exit(1 if o.crashes or o.rows_lost else 0)


if __name__ == "__main__":
    main()
