"""Hostile and careless input, tried against a temporary database: what broke once (issue 17,
points 1-5) and what held and must keep holding (its "Keep" list).

Used small by tests/test_hostile.py (CI) and in full by hand::

    nice -n 10 python tests/hostile.py --kills 8 [--browser]

which prints every case with its verdict, then: cases tried, failures, rows lost (faces that a
case which must change nothing, or must lose nothing, no longer finds), and skipped cases with
the reason. ``--browser`` also runs tests/test_browser_hostile.py (names in Chromium, every page
URL first after a start, loopback-only sockets; about a minute). Points 6-9 of the issue
(evaluation counting, setup errors, group photos, the quality gate) belong to other branches and
are tried by their own tests.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

#: Names a careless user or a hostile colleague gives: quotes, SQL, paths, markup, control
#: characters, right-to-left text, 5,000 characters.
NAMES = [
    "O'Brien \"the quote\"", "Robert'); DROP TABLE faces;--", "../../etc/passwd", "..\\..\\win.ini",
    "![p](http://127.0.0.2:9/p.png) [click](http://127.0.0.2:9/x)", "<img src=x onerror=alert(1)>",
    ":red[alarm] $x$ :material/warning: **b** `c`", "line one\nline two\r\nthree\ttab",
    "Zoë Ñúñez 山田 太郎 😀", "مرحبا \u202eevil\u202c שלום", "x" * 5000, "www.example.org a@b.org",
]


class Failure(Exception):
    """A case that did not hold."""


class Skip(Exception):
    """A case this machine cannot try (the reason says why)."""


@dataclass
class Outcome:
    cases: int = 0
    failures: list[str] = field(default_factory=list)
    rows_lost: int = 0
    skipped: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


@dataclass
class Ctx:
    """What every case gets: a work folder, a real photo, the astronaut's real vector."""

    work: Path
    photo: Path
    vector: np.ndarray
    kills: int = 2
    n: int = 0
    note: str = ""  # what a case wants said beside its verdict

    def fresh(self, name: str = "g") -> Path:
        """A new database holding gallery 'g': ann (2 faces) and bob (1), and one search."""
        from workbench.store import Store

        self.n += 1
        path = self.work / f"db{self.n}" / f"{name}.duckdb"
        with Store(path) as db:
            ids, _ = db.faces.add("g", [face("ann", self.vector, 1), face("ann", self.vector, 2),
                                        face("bob", self.vector, 3)], model="Dlib")
            db.search_log.add(gallery="g", detector="hog", metric="euclidean", threshold=0.6, top_k=1,
                          result_face_ids=[[ids[0]]], result_distances=[[0.1]], detect_ms=1, embed_ms=1,
                          search_ms=1, model="Dlib")
        return path


def face(person: str, vector: np.ndarray, k: int):
    """A record of ``person`` whose vector is a real one, nudged (stays a plausible dlib vector)."""
    from workbench.store import FaceRecord

    v = vector + np.random.default_rng([k, len(person)]).normal(0, 0.01, vector.shape).astype(np.float32)
    return FaceRecord(person, f"sha-{k}-{len(person)}-{hash(person) & 0xffff}", f"{person[:40]}/{k}.jpg",
                      [0, 0, 50, 50], [0.0] * 10, {"size": 50}, 1.0, "hog", v)


# -- helpers ------------------------------------------------------------------------------------

def env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


def cli(*args, input: str | None = None) -> tuple[int, str, str]:
    """One CLI call in this process (click's runner): exit code, stdout, stderr."""
    from click.testing import CliRunner

    from workbench.cli import cli as group

    r = CliRunner().invoke(group, [str(a) for a in args], input=input)
    return r.exit_code, r.stdout, r.stderr


def one_line_error(code: int, err: str, what: str, contains: str = "") -> None:
    lines = err.strip().splitlines()
    if code != 1 or len(lines) != 1 or not lines[0].startswith("workbench: ") or "Traceback" in err:
        raise Failure(f"{what}: wanted one line and exit 1, got exit {code}: {err.strip()[-300:]!r}")
    if contains.lower() not in lines[0].lower():
        raise Failure(f"{what}: {contains!r} not in {lines[0]!r}")


def state(db: Path) -> tuple:
    """Bytes on disk and rows per table: what 'nothing changed' compares."""
    import hashlib

    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        rows = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        con.close()
    return hashlib.sha256(db.read_bytes()).hexdigest(), rows


def unchanged(db: Path, before: tuple, what: str) -> int:
    """Rows lost since ``before`` (faces); a failure if anything at all changed."""
    after = state(db)
    lost = max(0, before[1].get("faces", 0) - after[1].get("faces", 0))
    if after != before:
        raise Failure(f"{what}: the database changed ({before[1]} -> {after[1]})")
    return lost


# -- what broke ---------------------------------------------------------------------------------

def blank_values(c: Ctx) -> int:
    """An empty or blank value of any option: one line, exit 1, nothing changed (point 1)."""
    db = c.fresh()
    before = state(db)
    for args in (["gallery", "delete", "g", "--person", ""], ["gallery", "delete", "g", "--person= "],
                 ["gallery", "delete", ""], ["gallery", "purge", " "], ["enrol", c.photo, "--gallery", ""],
                 ["enrol", c.photo, "--gallery", "g", "--person", ""], ["search", c.photo, "--gallery", ""],
                 ["gallery", "export", "g", ""], ["log", "export", ""], ["gallery", "import", ""],
                 ["eval", "search", "--probes", c.work, "--gallery", ""]):
        code, _, err = cli("--db", db, *args)
        one_line_error(code, err, " ".join(map(str, args)), "is empty")
    for top in (["--db", ""], ["--db", db, "--model", ""], ["--db", db, "--threshold", " "]):
        code, _, err = cli(*top, "gallery", "list")
        one_line_error(code, err, " ".join(map(str, top)), "is empty")
    return unchanged(db, before, "blank values")


def whole_gallery_needs_yes(c: Ctx) -> int:
    """Deleting or purging a whole gallery needs --yes and names what would go (point 1)."""
    db = c.fresh()
    before = state(db)
    for args, wanted in ((["gallery", "delete", "g"], "2 people, 3 faces and 1 search-log row"),
                         (["gallery", "purge", "g"], "2 people, 3 faces"), (["gallery", "purge-all"], "3 faces")):
        code, _, err = cli("--db", db, *args)
        one_line_error(code, err, " ".join(args), "--yes")
        if wanted not in err:
            raise Failure(f"{' '.join(args)}: does not say what it would remove: {err.strip()!r}")
    lost = unchanged(db, before, "deletes without --yes")
    code, _, err = cli("--db", db, "gallery", "delete", "g", "--person", "bob")
    if code != 0 or "removing 1 person, 1 face" not in err:
        raise Failure(f"delete --person does not say first what it removes: {err.strip()!r}")
    return lost


def markup_names(c: Ctx) -> int:
    """Every name made literal for Streamlit Markdown (point 2; Chromium: --browser)."""
    from workbench.app.ui import WORD_JOINER, literal

    for name in NAMES:
        shown = literal(name)
        bare = re.sub(r"\\[!-/:-@\[-`{-~]", "", shown)  # what is left once every escape is taken out
        if re.search(r"[!-/:-@\[-`{-~]", bare):
            raise Failure(f"{name[:40]!r}: unescaped Markdown in {shown[:80]!r}")
        if "\n" in shown or "\r" in shown:
            raise Failure(f"{name[:40]!r}: a line break reaches Markdown")
        if re.search(r"(?i)(?<!" + WORD_JOINER + r")(https?\\:|www\\\.)|[^" + WORD_JOINER + r"]\\@", shown):
            raise Failure(f"{name[:40]!r}: a bare URL or address GFM would link: {shown[:80]!r}")
        if shown.replace(WORD_JOINER, "").replace("\\", "") != " ".join(name.replace("\\", "").splitlines()):
            raise Failure(f"{name[:40]!r}: the text itself changed")
    return 0


def loopback_only(c: Ctx) -> int:
    """`streamlit run app.py` and `workbench app` bind loopback; exposing is explicit (point 3)."""
    import tomllib

    from workbench.app.privacy import is_loopback

    conf = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    if not is_loopback(conf.get("server", {}).get("address")):
        raise Failure(f".streamlit/config.toml binds {conf.get('server', {}).get('address')!r}")
    calls: list = []
    real = os.execve
    os.execve = lambda path, argv, e: (calls.append(argv), (_ for _ in ()).throw(SystemExit(0)))  # type: ignore
    try:
        code, _, err = cli("--db", c.work / "app.duckdb", "app")
        bound = calls[-1][calls[-1].index("--server.address") + 1] if calls else None
        if code != 0 or not is_loopback(bound):
            raise Failure(f"workbench app binds {bound!r}: {err!r}")
        code, _, err = cli("--db", c.work / "app.duckdb", "app", "--address", "0.0.0.0")
        one_line_error(code, err, "app --address 0.0.0.0 without --expose", "--expose")
    finally:
        os.execve = real
    return 0


def thresholds(c: Ctx) -> int:
    """A threshold outside the metric's range is refused; every --json is strict JSON (point 4)."""
    def refuse(name):
        raise Failure(f"not strict JSON: {name}")

    for value in ("-1", "5", "nan", "inf", "-inf", "1e400"):
        code, out, err = cli("--threshold", value, "verify", c.photo, c.photo, "--json")
        one_line_error(code, err, f"--threshold {value}", "threshold")
    code, out, err = cli("verify", c.photo, c.photo, "--json")
    if code != 0:
        raise Failure(f"verify --json: {err!r}")
    json.loads(out, parse_constant=refuse)
    return 0


def implausible_vectors(c: Ctx) -> int:
    """A Parquet file whose vectors are NaN, infinite, zero or not dlib's length is refused
    whole, in one line, and nothing changes (point 5)."""
    import polars as pl

    db = c.fresh()
    out = c.work / f"export{c.n}.parquet"
    code, _, err = cli("--db", db, "gallery", "export", "g", out)
    if code != 0:
        raise Failure(f"export: {err!r}")
    df = pl.read_parquet(out).with_columns(pl.concat_str([pl.lit("other-"), pl.col("image_sha256")])
                                           .alias("image_sha256"))
    v = np.asarray(df["embedding"][0], np.float32)
    before = state(db)
    for what, vec in (("NaN", np.where(np.arange(128) == 5, np.nan, v)), ("infinite", v * np.inf),
                      ("zero", v * 0), ("scaled x30", v * 30), ("scaled x0.3", v * 0.3)):
        bad = df.with_columns(pl.Series("embedding", [list(map(float, vec))] + df["embedding"].to_list()[1:],
                                        dtype=df.schema["embedding"]))
        path = c.work / f"bad-{what}.parquet"
        bad.write_parquet(path)
        code, _, err = cli("--db", db, "gallery", "import", path, "--gallery", "new")
        one_line_error(code, err, f"import of {what} vectors", "nothing was changed")
    return unchanged(db, before, "implausible imports")


# -- what held, and must keep holding -----------------------------------------------------------

def names_round_trip(c: Ctx) -> int:
    """Names with quotes, SQL, ../, 5,000 characters, Unicode and line breaks: stored, read back,
    exported and imported unchanged."""
    from workbench.store import Store

    a, b = c.work / "names-a.duckdb", c.work / "names-b.duckdb"
    with Store(a) as db:
        for i, gallery in enumerate(NAMES[:4]):
            db.faces.add(gallery, [face(p, c.vector, 100 * i + k) for k, p in enumerate(NAMES)], model="Dlib")
        if sorted(db.galleries.list()["gallery"]) != sorted(NAMES[:4]):
            raise Failure("gallery names did not come back unchanged")
        for gallery in NAMES[:4]:
            if sorted(db.faces.people(gallery)["name"]) != sorted(NAMES):
                raise Failure(f"person names in {gallery[:30]!r} did not come back unchanged")
            db.transfer.export_parquet(gallery, c.work / "names.parquet")
            with Store(b) as other:
                other.transfer.import_parquet(c.work / "names.parquet")
                if sorted(other.faces.people(gallery)["name"]) != sorted(NAMES):
                    raise Failure(f"names changed through Parquet ({gallery[:30]!r})")
        db.removal.delete_person(NAMES[0], NAMES[1])  # the SQL-looking one: a parameter, never SQL
        left = db.faces.list(NAMES[0]).height
    return max(0, len(NAMES) - 1 - left)


def apostrophe_path(c: Ctx) -> int:
    """A database path with apostrophes (the compaction writes SQL with the path in it)."""
    from workbench.store import Store

    path = c.work / "l'équipe d'O'Brien" / "it's.duckdb"
    with Store(path) as db:
        db.faces.add("g", [face(p, c.vector, k) for k, p in enumerate(["ann", "bob", "cat"])], model="Dlib")
        db.removal.delete_person("g", "bob")
    with Store(path) as db:
        n = db.faces.list("g").height
    leftovers = list(path.parent.glob("*.compact*"))
    if leftovers:
        raise Failure(f"compaction left {leftovers}")
    return max(0, 2 - n)


def import_refusals(c: Ctx) -> int:
    """Random bytes, empty files, missing columns, 64-d vectors and another model's vectors are
    refused with one line, and nothing changes."""
    import polars as pl

    db = c.fresh()
    good = c.work / f"good{c.n}.parquet"
    cli("--db", db, "gallery", "export", "g", good)
    df = pl.read_parquet(good).with_columns(pl.lit("new").alias("image_sha256"))
    files = {"random bytes": os.urandom(4096), "empty": b""}
    for name, data in files.items():
        (c.work / f"{name}.parquet").write_bytes(data)
    df.drop("embedding").write_parquet(c.work / "missing columns.parquet")
    df.with_columns(pl.Series("embedding", [[0.1] * 64] * df.height)).write_parquet(c.work / "64-d.parquet")
    df.with_columns(pl.lit("Facenet512").alias("model")).write_parquet(c.work / "another model.parquet")
    before = state(db)
    for name, wanted in (("random bytes", "not a readable Parquet"), ("empty", "not a readable Parquet"),
                         ("missing columns", "missing columns"), ("64-d", "64-d vector"),
                         ("another model", "Facenet512")):
        code, _, err = cli("--db", db, "gallery", "import", c.work / f"{name}.parquet")
        one_line_error(code, err, f"import of {name}", wanted)
    return unchanged(db, before, "refused imports")


def import_twice(c: Ctx) -> int:
    """A second import of the same file adds nothing."""
    db, other = c.fresh(), c.work / f"twice{c.n}.duckdb"
    out = c.work / f"twice{c.n}.parquet"
    cli("--db", db, "gallery", "export", "g", out)
    first = cli("--db", other, "gallery", "import", out)
    second = cli("--db", other, "gallery", "import", out)
    if "imported 3 face(s), 0 already present" not in first[1] or "imported 0 face(s), 3 already" not in second[1]:
        raise Failure(f"import twice: {first[1].strip()!r} then {second[1].strip()!r}")
    return 0


def two_enrolments(c: Ctx) -> int:
    """Two enrolments of the same photo at once: one waits or stops with the lock message, and
    the gallery holds it once."""
    from workbench.store import Store

    db = c.work / f"two{c.n}.duckdb"
    c.n += 1
    cmd = [sys.executable, "-m", "workbench.cli", "--db", str(db), "enrol", str(c.photo), "--gallery", "g",
           "--person", "eileen", "--consent"]
    procs = [subprocess.Popen(cmd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(p.wait(timeout=600), p.stdout.read(), p.stderr.read()) for p in procs]
    for code, out, err in results:
        if code == 0:
            continue
        one_line_error(code, err, "the second enrolment", "locked by another process")
    if not any(code == 0 for code, _, _ in results):
        raise Failure(f"neither enrolment finished: {results}")
    with Store(db) as g:
        n = g.faces.list("g").height
    if n != 1:
        raise Failure(f"two enrolments of one photo left {n} faces")
    return 0


def kill_compaction(c: Ctx) -> int:
    """SIGKILL during `gallery compact`: the file always opens and nothing is lost."""
    from workbench.store import Store

    db = c.work / "killed.duckdb"
    size = 1000 if c.kills <= 2 else 6000  # by hand: a file whose compaction lasts long enough to be hit
    with Store(db) as g:
        g.faces.add("g", [face(f"p{i % 50}", c.vector, i) for i in range(size)], model="Dlib")
    cmd = [sys.executable, "-m", "workbench.cli", "--db", str(db), "gallery", "compact"]
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env(), capture_output=True, check=True)  # how long one takes, start to end
    took = time.perf_counter() - t0
    rng = random.Random(17)
    copy = db.with_name(db.name + ".compact")
    lost = killed = 0
    for _ in range(c.kills):
        proc = subprocess.Popen(cmd, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while proc.poll() is None and not copy.exists():  # wait for the event: the fresh copy is being written
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.2) * took)  # then somewhere in the copy, the swap or just after
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait()
        try:
            with Store(db) as g:
                n = g.faces.list("g").height
        except Exception as err:  # noqa: BLE001 - the point is that this never happens
            raise Failure(f"after a kill during compaction the file does not open: {err}") from None
        lost += max(0, size - n)
    if c.kills and not killed:
        raise Failure("no compaction was killed (each ended first): the case proved nothing")
    c.note = f"{killed} of {c.kills} compactions killed after their copy had begun (one run takes {took:.1f} s)"
    return lost


def full_disk_compaction(c: Ctx) -> int:
    """A full disk during compaction: one clear line, the file intact; with room again, a later
    `gallery compact` finishes and removes the leftover. A real full file system: a small tmpfs
    mounted in a private mount namespace (``unshare -m``, needs the privilege)."""
    if not shutil.which("unshare"):
        raise Skip("no unshare on this machine")
    script = f"""
import os, subprocess, sys, json
sys.path.insert(0, {str(ROOT / 'tests')!r})
import numpy as np
from hostile import face, state
from workbench.store import Store
d = sys.argv[1]
db = os.path.join(d, "full.duckdb")
with Store(db) as g:
    g.faces.add("g", [face(f"p{{i % 40}}", np.load(sys.argv[2]), i) for i in range(1500)], model="Dlib")
before = state(__import__("pathlib").Path(db))
st = os.statvfs(d)
free = st.f_bavail * st.f_frsize
with open(os.path.join(d, "filler"), "wb") as fh:  # leave less room than a copy of the file needs
    fh.write(b"\\0" * max(0, free - os.path.getsize(db) // 2))
cmd = [sys.executable, "-m", "workbench.cli", "--db", db, "gallery", "compact"]
full = subprocess.run(cmd, capture_output=True, text=True)
after = state(__import__("pathlib").Path(db))
leftovers_after_full = [f for f in os.listdir(d) if ".compact" in f]
os.remove(os.path.join(d, "filler"))
again = subprocess.run(cmd, capture_output=True, text=True)
print(json.dumps({{"full": [full.returncode, full.stderr], "same": before == after,
                   "leftovers_after_full": leftovers_after_full,
                   "again": [again.returncode, again.stderr],
                   "leftovers": [f for f in os.listdir(d) if ".compact" in f]}}))
"""
    vec = c.work / "vector.npy"
    np.save(vec, c.vector)
    mnt = c.work / "small-disk"
    mnt.mkdir(exist_ok=True)
    (c.work / "full.py").write_text(script)
    shell = (f"mount -t tmpfs -o size=64M tmpfs '{mnt}' && cd '{ROOT}' && "
             f"'{sys.executable}' '{c.work / 'full.py'}' '{mnt}' '{vec}'")
    r = subprocess.run(["unshare", "-m", "sh", "-c", shell], env=env(), capture_output=True, text=True, timeout=600,
                       check=False)
    if r.returncode != 0 and ("mount" in r.stderr or "unshare" in r.stderr):
        raise Skip(f"cannot mount a small file system here ({r.stderr.strip().splitlines()[-1][:100]})")
    try:
        out = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise Failure(f"full-disk run: {r.stderr.strip()[-400:]}") from None
    code, err = out["full"]
    one_line_error(code, err, "compaction on a full disk", "could not compact")
    if not out["same"]:
        raise Failure("a compaction that ran out of room changed the file")
    if out["leftovers_after_full"]:
        raise Failure(f"the failed compaction left a copy of the data behind: {out['leftovers_after_full']}")
    if out["again"][0] != 0 or out["leftovers"]:
        raise Failure(f"with room again, compaction did not finish cleanly: {out}")
    return 0


def pipe_closed(c: Ctx) -> int:
    """`workbench detect ... | head` ends without a traceback."""
    r = subprocess.run(f"'{sys.executable}' -m workbench.cli detect '{c.photo}' --json | head -c 20",
                       shell=True, env=env(), capture_output=True, text=True, timeout=600, check=False)
    if "Traceback" in r.stderr or not r.stdout:
        raise Failure(f"detect | head: {r.stderr.strip()[-300:]!r}")
    return 0


BROKE: list[Callable[[Ctx], int]] = [blank_values, whole_gallery_needs_yes, markup_names, loopback_only, thresholds,
                                     implausible_vectors]
KEEP: list[Callable[[Ctx], int]] = [names_round_trip, apostrophe_path, import_refusals, import_twice, two_enrolments,
                                    kill_compaction, full_disk_compaction, pipe_closed]


def setup(work: Path, kills: int) -> Ctx:
    from corpus import astronaut_one_face
    from PIL import Image

    from workbench.pipeline import analyze_source

    work.mkdir(parents=True, exist_ok=True)
    photo = work / "astronaut.png"
    Image.fromarray(astronaut_one_face()).save(photo)  # one face (HOG also takes her mission patch for one)
    vector = analyze_source(photo).faces[0].embedding.vector.astype(np.float32)
    return Ctx(work=work, photo=photo, vector=vector, kills=kills)


def run(work: Path, *, kills: int = 2, cases: list[Callable[[Ctx], int]] | None = None) -> Outcome:
    """Try every case; a case's failure is reported and the next one runs."""
    c = setup(work, kills)
    out = Outcome()
    for fn in cases or BROKE + KEEP:
        out.cases += 1
        t0 = time.time()
        c.note = ""
        try:
            lost = fn(c)
            out.rows_lost += lost
            verdict = "ok" if not lost else f"LOST {lost} row(s)"
            if lost:
                out.failures.append(f"{fn.__name__}: lost {lost} row(s)")
        except Skip as why:
            out.skipped.append(f"{fn.__name__}: {why}")
            verdict = f"skipped ({why})"
        except Failure as err:
            out.failures.append(f"{fn.__name__}: {err}")
            verdict = f"FAILED: {err}"
        out.lines.append(f"{fn.__name__:<24} {time.time() - t0:6.1f} s  {verdict}" + (f" ({c.note})" if c.note else ""))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=8, help="SIGKILLs during compaction")
    ap.add_argument("--browser", action="store_true", help="also run tests/test_browser_hostile.py in Chromium")
    ap.add_argument("--work", type=Path, default=None, help="work folder (default: a temporary one)")
    args = ap.parse_args()
    os.environ.pop("WORKBENCH_DB", None)
    work = args.work or Path(tempfile.mkdtemp(prefix="hostile-"))
    t0 = time.time()
    o = run(work, kills=args.kills)
    if args.browser:
        o.cases += 1
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            str(ROOT / "tests" / "test_browser_hostile.py")], cwd=ROOT, env=env(),
                           capture_output=True, text=True, check=False)
        tail = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr[-200:]
        o.lines.append(f"{'chromium (3 tests)':<24} {'':>8}  {'ok' if r.returncode == 0 else 'FAILED'}: {tail}")
        if r.returncode != 0:
            failed = [line for line in r.stdout.splitlines() if line.startswith(("FAILED", "ERROR", "E   "))]
            o.failures.append(f"chromium: {tail}; " + " | ".join(failed[:6])[:1500])
    for line in o.lines:
        print(line)
    print(f"cases tried: {o.cases}, failures: {len(o.failures)}, rows lost: {o.rows_lost}, "
          f"skipped: {len(o.skipped)} ({time.time() - t0:.0f} s, work folder {work})")
    for f in o.failures:
        print("  failure:", f)
    for s in o.skipped:
        print("  skipped:", s)
    sys.exit(1 if o.failures or o.rows_lost else 0)


if __name__ == "__main__":
    main()
