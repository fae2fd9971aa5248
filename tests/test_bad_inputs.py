"""The bad-input corpus (tests/corpus.py, generated here, never committed) through every entry
point that accepts it: the CLI, the library functions, and the app's upload widgets.

Broken input gives one clear line (CLI: on stderr, exit 1, no traceback; app: a visible
message) and the gallery stays exactly as it was: same bytes on disk, same row counts.
Unusual but valid images (odd modes, animations, all 8 EXIF orientations, a 48 MP photo, a
path with spaces and non-ASCII characters) must still have their face found.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import corpus
import duckdb
import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from conftest import file_state

from workbench.cli import cli
from workbench.errors import (
    DatabaseError,
    ImageError,
    NoFaceError,
    VideoError,
    WorkbenchError,
)
from workbench.evaluation.runners.verification import eval_pairs
from workbench.pipeline import analyze_source, capture
from workbench.search import search_image
from workbench.search.enrol import enrol_path
from workbench.store import Store

ROOT = Path(__file__).resolve().parent.parent


def gallery_state(db: Path) -> tuple:
    """Bytes on disk and the row count of every table: what 'nothing changed' compares."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        con.close()
    return file_state(db), counts


def run(*args) -> object:
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_one_line(r, *, contains: str = "", args=()) -> str:
    assert r.exit_code == 1, (args, r.exit_code, r.output)
    lines = r.stderr.strip().splitlines()
    assert "Traceback" not in r.output and len(lines) == 1, (args, r.output)
    assert lines[0].startswith("workbench: ") and "internal error" not in lines[0], lines
    assert contains.lower() in lines[0].lower(), (contains, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory, astronaut) -> dict[str, Path]:
    """Every corpus file on disk, by case name."""
    d = tmp_path_factory.mktemp("corpus")
    out: dict[str, Path] = {}
    for name, (fn, data, *_) in {**corpus.broken_images(astronaut), **corpus.faceless_images(),
                                   **corpus.unusual_images(astronaut)}.items():
        (d / fn).write_bytes(data)
        out[name] = d / fn
    return out


@pytest.fixture()
def seeded(db_path, astronaut_png) -> Path:
    """A gallery 'g' holding the astronaut, written and closed by the CLI."""
    r = run("--db", db_path, "enrol", astronaut_png, "--gallery", "g", "--person", "eileen", "--consent")
    assert r.exit_code == 0, r.output
    return db_path


BROKEN = list(corpus.broken_images(np.zeros((8, 8, 3), np.uint8)))


@pytest.mark.parametrize("case", BROKEN)
def test_broken_image_through_every_entry_point(case, files, seeded, astronaut, astronaut_png):
    path = files[case]
    want = corpus.broken_images(astronaut)[case][2]
    before = gallery_state(seeded)
    for args in (["detect", path], ["verify", path, astronaut_png], ["verify", astronaut_png, path],
                 ["search", path, "--gallery", "g"], ["enrol", path, "--gallery", "g", "--consent"]):
        assert_one_line(run("--db", seeded, *args), contains=want, args=args)
    with pytest.raises(ImageError, match=want):
        capture.load_image(path)
    with pytest.raises(ImageError, match=want):
        analyze_source(path.read_bytes())
    with Store(seeded) as db:
        with pytest.raises(ImageError, match=want):
            search_image(db, "g", path)
        report = enrol_path(db, "g", path)
        assert report.enrolled == 0 and want in report.skipped[0].reason
    assert gallery_state(seeded) == before


@pytest.mark.parametrize("case", ["1x1", "10x10"])
def test_images_without_a_face(case, files, seeded):
    path = files[case]
    before = gallery_state(seeded)
    for args in (["detect", path], ["search", path, "--gallery", "g"], ["verify", path, path],
                 ["enrol", path, "--gallery", "g", "--consent"]):
        assert_one_line(run("--db", seeded, *args), contains="no", args=args)
    with Store(seeded) as db:
        with pytest.raises(NoFaceError):
            search_image(db, "g", path)
    assert gallery_state(seeded) == before


UNUSUAL = list(corpus.unusual_images(np.zeros((8, 8, 3), np.uint8)))


@pytest.mark.parametrize("case", UNUSUAL)
def test_unusual_images_still_show_their_face(case, files, astronaut):
    """The face is found where it is in the upright photo (EXIF rotation really applied)."""
    from workbench.pipeline.detect import detect_faces

    upright = detect_faces(astronaut)[0].box
    r = run("detect", files[case], "--json")
    assert r.exit_code == 0, r.output
    import json

    boxes = [f["box"] for f in json.loads(r.stdout)["faces"] if f["accepted"]]
    assert boxes, (case, r.stdout)
    from workbench.types import Box

    assert max(Box(*b).iou(upright) for b in boxes) > 0.6, (case, boxes, upright)


def test_a_real_48_megapixel_photo_is_searched(tmp_path, seeded, astronaut):
    big = tmp_path / "big.jpg"
    big.write_bytes(corpus.big_photo(astronaut))
    assert capture.load_image(big).shape == (6000, 8000, 3)
    r = run("--db", seeded, "search", big, "--gallery", "g", "--json")
    assert r.exit_code == 0, r.output
    import json

    assert json.loads(r.stdout)["faces"][0]["matches"][0]["person"] == "eileen"


def test_path_with_spaces_and_non_ascii(tmp_path, astronaut_png, db_path):
    folder = tmp_path / "Classe de 5ème" / "Zoë Ñúñez 山田"
    folder.mkdir(parents=True)
    photo = folder / "photo d'identité – été.png"
    shutil.copy(astronaut_png, photo)
    r = run("--db", db_path, "enrol", folder.parent, "--gallery", "école", "--consent")
    assert r.exit_code == 0, r.output
    assert "enrolled 1 face" in r.stdout
    s = run("--db", db_path, "search", photo, "--gallery", "école", "--json")
    import json

    assert s.exit_code == 0, s.output
    assert json.loads(s.stdout)["faces"][0]["matches"][0]["person"] == "Zoë Ñúñez 山田"
    with Store(db_path) as db:
        assert db.faces.list("école")["source_path"].to_list() == [str(photo)]


@pytest.fixture(scope="module")
def bad_videos(tmp_path_factory, astronaut):
    return corpus.videos(tmp_path_factory.mktemp("videos"), astronaut)


@pytest.mark.parametrize("case", ["zero frames", "truncated MP4", "non-video renamed .mp4"])
def test_bad_videos(case, bad_videos, seeded):
    path, want = bad_videos[case]
    before = gallery_state(seeded)
    assert_one_line(run("--db", seeded, "enrol", path, "--gallery", "g", "--consent"), contains=want)
    with pytest.raises(VideoError, match=want):
        list(capture.iter_frames(path))
    with Store(seeded) as db, pytest.raises(VideoError):
        enrol_path(db, "g", path)
    assert gallery_state(seeded) == before


def test_pairs_csv_naming_missing_files(tmp_path, astronaut_png):
    images = tmp_path / "images"
    images.mkdir()
    shutil.copy(astronaut_png, images / "a.png")
    csv = tmp_path / "pairs.csv"
    csv.write_text("file_x,file_y,Decision\na.png,gone.png,Yes\nalso-gone.jpg,a.png,No\n")
    line = assert_one_line(run("eval", "pairs", csv, "--images", images), contains="2 file(s)")
    assert "gone.png" in line and "also-gone.jpg" in line
    with pytest.raises(WorkbenchError, match="not in"):
        eval_pairs(csv, images)
    empty = tmp_path / "bad.csv"
    empty.write_text("a,b\n1,2\n")
    assert_one_line(run("eval", "pairs", empty, "--images", images), contains="file_x")


def _export(db_path: Path, tmp: Path) -> pl.DataFrame:
    out = tmp / "x.parquet"
    assert run("--db", db_path, "gallery", "export", "g", out).exit_code == 0
    return pl.read_parquet(out)


@pytest.mark.parametrize("case", ["wrong dimension", "another model"])
def test_parquet_import_of_foreign_embeddings(case, seeded, tmp_path):
    df = _export(seeded, tmp_path)
    if case == "wrong dimension":
        df = df.with_columns(pl.Series("embedding", [[0.5] * 512] * df.height), pl.lit("other").alias("image_sha256"))
        want = "512-d vector"
    else:
        df = df.with_columns(pl.lit("Facenet512").alias("model"), pl.lit("other").alias("image_sha256"))
        want = "Facenet512 vectors"
    bad = tmp_path / "bad.parquet"
    df.write_parquet(bad)
    before = gallery_state(seeded)
    assert_one_line(run("--db", seeded, "gallery", "import", bad), contains=want)
    assert_one_line(run("--db", seeded, "gallery", "import", bad, "--gallery", "new"), contains=want)
    with Store(seeded) as db, pytest.raises(DatabaseError):
        db.transfer.import_parquet(bad)
    assert gallery_state(seeded) == before


#: Every command that opens the database, with its arguments.
DB_COMMANDS = [["gallery", "list"], ["gallery", "show", "g"], ["gallery", "delete", "g", "--yes"], ["gallery", "purge", "g", "--yes"],
               ["gallery", "purge-all", "--yes"], ["gallery", "compact"], ["gallery", "export", "g", "{tmp}/x.parquet"],
               ["log", "export", "{tmp}/log.csv"], ["search", "{photo}", "--gallery", "g"],
               ["enrol", "{photo}", "--gallery", "g", "--consent"], ["gallery", "import", "{tmp}/x.parquet"]]


def _fill(args, tmp: Path, photo: Path) -> list[str]:
    return [a.format(tmp=tmp, photo=photo) for a in args]


def test_corrupt_database_file(tmp_path, astronaut_png, seeded):
    shutil.copy(seeded, tmp_path / "x.parquet")  # something for import to read
    corrupt = tmp_path / "corrupt.duckdb"
    data = bytearray(seeded.read_bytes())
    data[: 4096 * 3] = os.urandom(4096 * 3)  # headers gone
    corrupt.write_bytes(bytes(data))
    before = file_state(corrupt)
    for args in DB_COMMANDS:
        args = _fill(args, tmp_path, astronaut_png)
        assert_one_line(run("--db", corrupt, *args), contains="database", args=args)
    assert file_state(corrupt) == before
    with pytest.raises(DatabaseError, match="not a readable DuckDB database"):
        Store(corrupt)


def test_locked_database_file(tmp_path, astronaut_png, seeded):
    _export(seeded, tmp_path)  # a real export for `gallery import` to try
    before = gallery_state(seeded)
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb,sys,time; c = duckdb.connect(sys.argv[1]);"
                               "print('ok', flush=True); time.sleep(60)", str(seeded)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        for args in DB_COMMANDS:
            args = _fill(args, tmp_path, astronaut_png)
            line = assert_one_line(run("--db", seeded, *args), contains="locked by another process", args=args)
            assert f"process {holder.pid}" in line
    finally:
        holder.kill()
        holder.wait()
    assert gallery_state(seeded) == before


def _without_write_permission() -> list[str]:
    """A command prefix under which file permissions apply (root ignores them otherwise)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("running as root without setpriv: cannot make a file read-only for this process")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]


def test_read_only_database_file(tmp_path, astronaut_png, seeded):
    before = gallery_state(seeded)
    seeded.chmod(0o444)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    prefix = _without_write_permission()
    try:
        def cli_(*args):
            return subprocess.run([*prefix, sys.executable, "-m", "workbench.cli", "--db", str(seeded), *args],
                                  capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)

        for args in (["enrol", astronaut_png, "--gallery", "g", "--consent"], ["gallery", "delete", "g", "--yes"],
                     ["search", astronaut_png, "--gallery", "g"]):
            r = cli_(*map(str, args))
            assert r.returncode == 1 and "Traceback" not in r.stderr, (args, r.stderr)
            assert r.stderr.strip().splitlines() == [r.stderr.strip()] and "read-only" in r.stderr, r.stderr
        listing = cli_("gallery", "list")  # reading still works
        assert listing.returncode == 0 and "g: 1 people, 1 faces" in listing.stdout, listing.stderr
    finally:
        seeded.chmod(0o644)
    assert gallery_state(seeded) == before


def _mime(name: str) -> str:
    return {".png": "image/png", ".gif": "image/gif", ".webp": "image/webp", ".mp4": "video/mp4"}.get(
        Path(name).suffix, "image/jpeg")


def test_app_upload_widgets_show_a_message_and_write_nothing(files, bad_videos, seeded, astronaut_png,
                                                             monkeypatch):
    """Enrol, Search, Compare and Live uploaders, fed every broken file, through AppTest."""
    from streamlit.testing.v1 import AppTest

    from workbench.app import ui

    monkeypatch.setenv("WORKBENCH_DB", str(seeded))
    monkeypatch.delenv("WORKBENCH_FACES", raising=False)
    monkeypatch.chdir(ROOT)
    before = gallery_state(seeded)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    assert not at.exception
    broken = {case: files[case] for case in [*BROKEN, "1x1", "10x10"]}

    at.switch_page("pages/enrol.py").run()
    at.text_input(key="enrol_person").input("nobody").run()
    at.radio(key="enrol_consent").set_value("They consented to being enrolled").run()
    at.file_uploader(key="enrol_uploads").set_value(
        [(p.name, p.read_bytes(), _mime(p.name)) for p in broken.values()]).run()
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    shown = " ".join(w.value.replace("\\", "") for w in at.warning)  # names are shown escaped, as typed
    assert "0 face(s) enrolled" in shown
    for p in broken.values():
        assert f"{p.name}: " in shown, (p.name, shown)

    at.switch_page("pages/search.py").run()
    for case, p in broken.items():
        at.file_uploader(key="search_upload").set_value((p.name, p.read_bytes(), _mime(p.name))).run()
        assert not at.exception, (case, [e.message for e in at.exception])
        errors = " ".join(e.value.replace("\\", "") for e in at.error)
        assert p.name in errors or "No face was found" in errors, (case, errors)

    at.switch_page("pages/compare.py").run()
    at.file_uploader(key="cmp_b_upload").set_value((astronaut_png.name, astronaut_png.read_bytes(), "image/png")).run()
    for case, p in broken.items():
        at.file_uploader(key="cmp_a_upload").set_value((p.name, p.read_bytes(), _mime(p.name))).run()
        assert not at.exception, (case, [e.message for e in at.exception])
        assert at.error, case

    at.switch_page("pages/live.py").run()
    at.radio(key="live_mode").set_value("Video file").run()
    for case, (path, _) in bad_videos.items():
        at.file_uploader(key="live_video").set_value((path.name, path.read_bytes(), "video/mp4")).run()
        [b for b in at.button if b.label == "Process video"][0].click().run()
        assert not at.exception, (case, [e.message for e in at.exception])
        assert any("video" in e.value for e in at.error) and not at.success, case

    db = ui.get_db(str(seeded))  # the app's own connection (the file is open in this process)
    counts = {t: db.db.cursor().execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in before[1]}
    assert (file_state(seeded), counts) == before
    assert not seeded.with_name(seeded.name + ".wal").exists()  # not even a pending write

    at.switch_page("pages/search.py").run()
    for case in ("EXIF orientation 6", "16-bit PNG", "CMYK JPEG"):  # unusual but fine: the face is found
        p = files[case]
        at.file_uploader(key="search_upload").set_value((p.name, p.read_bytes(), _mime(p.name))).run()
        table = at.dataframe[0].value  # one row per face: its verdict and best candidate
        assert list(table["verdict"]) == ["MATCH"] and list(table["best candidate"]) == ["eileen"], case


def test_app_on_a_corrupt_database_shows_one_message_and_leaves_it(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    corrupt = tmp_path / "corrupt.duckdb"
    corrupt.write_bytes(b"DUCK" + os.urandom(20000))
    before = file_state(corrupt)
    monkeypatch.setenv("WORKBENCH_DB", str(corrupt))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    assert not at.exception
    assert [e.value for e in at.error if "not a readable DuckDB database" in e.value], [e.value for e in at.error]
    assert file_state(corrupt) == before
