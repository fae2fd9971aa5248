"""Values outside their domain: thresholds must be finite distances the metric can reach
(CLI, library, app), every --json output is strict JSON, and a Parquet import takes only
vectors the model could have made (finite, its dimension, a plausible length), all or nothing.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import click
import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from test_bad_inputs import gallery_state

from workbench.cli import cli
from workbench.errors import RangeError
from workbench.pipeline import Settings, compare, zoo
from workbench.search.rank import rank, redecide
from workbench.store import Store

ROOT = Path(__file__).resolve().parent.parent


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def strict_loads(text: str):
    """json.loads that refuses NaN, Infinity and -Infinity, as RFC 8259 and every other parser do."""
    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


# -- thresholds ------------------------------------------------------------------------------

BAD = ["-1", "5", "nan", "inf", "-inf", "1e400", "4.0001"]  # around hog + Dlib's euclidean range, 0 to 4


@pytest.mark.parametrize("value", BAD)
def test_a_threshold_outside_the_metric_is_one_line_on_every_command(value, astronaut_png, db_path):
    for args in (["verify", astronaut_png, astronaut_png, "--json"], ["gallery", "list"],
                 ["search", astronaut_png, "--gallery", "g"], ["detect", astronaut_png]):
        r = run("--db", db_path, "--model", "Dlib", "--threshold", value, *args)
        lines = r.stderr.strip().splitlines()
        assert r.exit_code == 1 and len(lines) == 1 and r.stdout == "", (value, args, r.output)
        assert lines[0].startswith("workbench: threshold ") and "from 0 to 4" in lines[0], lines
        r = run("--db", db_path, "--threshold", value, *args)  # the default, SFace: a cosine distance
        assert r.exit_code == 1 and r.stdout == "" and "cosine distance from 0 to 2" in r.stderr, (value, r.output)
    assert not db_path.exists()


def test_the_range_follows_the_model_and_its_metric(db_path):
    assert run("--db", db_path, "--threshold", "2", "gallery", "list").exit_code == 1  # no file: but past the check
    assert "threshold" not in run("--db", db_path, "--threshold", "2", "gallery", "list").stderr
    assert "from 0 to 2" in run("--db", db_path, "--threshold", "2.01", "gallery", "list").stderr  # SFace's
    for model, t, ok in (("Dlib", "0", True), ("Dlib", "4", True), ("Facenet512", "2", True),
                         ("Facenet512", "2.01", False), ("ArcFace", "-0.1", False), ("SFace", "nan", False)):
        r = run("--db", db_path, "--model", model, "--threshold", t, "gallery", "list")
        assert ("threshold" in r.stderr) != ok, (model, t, r.output)
    assert compare.max_distance("Dlib", "euclidean") == 2 * zoo.embedder("Dlib").norm[1]
    assert compare.max_distance("Facenet", "euclidean") is None  # not measured here: finite and >= 0 only
    assert Settings(model="Facenet", metric="euclidean", threshold=50).threshold_ == 50


def test_library_entry_points_refuse_thresholds_outside_the_range():
    for t in (float("nan"), float("inf"), -0.01, 4.5):
        with pytest.raises(RangeError):
            Settings(threshold=t)
        with pytest.raises(RangeError):
            compare.verify_vectors(np.ones(128), np.ones(128), "Dlib", threshold=t)
    from workbench.bench.synthetic import gallery_matrix

    m = gallery_matrix(20)
    for t in (float("nan"), -1.0):
        with pytest.raises(RangeError):
            rank(m.vectors[:1], m, metric="euclidean", threshold=t)
    with pytest.raises(RangeError):
        rank(m.vectors[:1], m, metric="cosine", threshold=2.5)
    matches = rank(m.vectors[:1], m, metric="euclidean", threshold=0.6)[0]
    with pytest.raises(RangeError):
        redecide(matches, float("nan"))
    assert redecide(matches, 4.0)[0].match


def test_the_app_sliders_stay_inside_the_range():
    """The sidebar's threshold slider runs from 1 % to 99.9 % similarity: for every model and metric
    both ends are distances the metric can reach."""
    for model in zoo.embedder_names():
        for metric in compare.METRICS:
            base = compare.default_threshold(model, metric)
            for percent in (1.0, 99.9):
                d = compare.distance_for_similarity(percent, base, compare.max_distance(model, metric))
                assert compare.check_threshold(d, model, metric) == d
    source = (ROOT / "workbench" / "app" / "ui.py").read_text()
    assert '"Match threshold (similarity %)", 1.0, 99.9,' in source


# -- strict JSON -----------------------------------------------------------------------------

def test_non_finite_numbers_become_null_with_words_beside_them():
    from workbench.cli.base import to_json

    out = strict_loads(to_json({"fpir": float("nan"), "x": [1.0, float("inf")], "d": {"e": np.float32("-inf")},
                                "n": np.float64(0.25), "k": np.int64(3)}))
    assert out == {"fpir": None, "fpir_note": "not a number: nothing to compute it from", "x": [1.0, None],
                   "d": {"e": None, "e_note": "minus infinite"}, "n": 0.25, "k": 3}


def json_commands(group: click.Group = cli, path: tuple[str, ...] = ()):
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from json_commands(cmd, path + (name,))
        elif any(p.name == "as_json" for p in cmd.params):
            yield path + (name,)


#: Benchmarks that time DeepFace on every run: run by hand; their output goes through the same
#: helper (checked below from the source).
#: benchmarks run by hand on real data, and `watch` (its JSON is parsed strictly in test_watch_cli.py)
BY_HAND = {("bench", "enrol"), ("bench", "video"), ("bench", "watch"), ("bench", "clusters"), ("bench", "face-choice"),
           ("bench", "face-size"), ("watch",),
           ("eval", "lfw"), ("eval", "audit"),  # minutes of model time on the shared data sets; their JSON: test_lfw, test_audit
           ("eval", "robustness"),  # LFW's photos degraded: its JSON in test_robustness
           ("bench", "classroom")}  # Chromium sessions against the app: test_bench_classroom


@pytest.fixture(scope="module")
def json_setup(tmp_path_factory, astronaut_png):
    """Two 'people' of two photos each (the astronaut, varied), a gallery of them, pairs."""
    from crash import make_folder

    tmp = tmp_path_factory.mktemp("json")
    photos = make_folder(tmp / "people", 4, people=2)
    (tmp / "pairs.csv").write_text("file_x,file_y,Decision\n" + "\n".join(
        f"{a.relative_to(tmp / 'people')},{b.relative_to(tmp / 'people')},{'Yes' if a.parent == b.parent else 'No'}"
        for a, b in [(photos[0], photos[2]), (photos[0], photos[1]), (photos[1], photos[3])]) + "\n")
    db = tmp / "j.duckdb"
    assert run("--db", db, "enrol", tmp / "people", "--gallery", "g", "--consent").exit_code == 0
    one = run("--db", db, "enrol", tmp / "people" / "person00", "--gallery", "g0", "--person", "person00",
              "--consent")
    assert one.exit_code == 0, one.output
    return tmp, db, photos


def _cases(tmp: Path, db: Path, photos: list[Path], png: Path) -> dict[tuple[str, ...], list]:
    return {
        ("detect",): ["detect", png],
        ("verify",): ["verify", photos[0], photos[1]],
        ("enrol",): ["enrol", photos[0], "--gallery", "g2", "--person", "p", "--consent"],
        ("search",): ["search", png, "--gallery", "g"],
        ("gallery", "list"): ["gallery", "list"],
        ("gallery", "show"): ["gallery", "show", "g"],
        ("eval", "pairs"): ["eval", "pairs", tmp / "pairs.csv", "--images", tmp / "people"],
        ("eval", "folder"): ["eval", "folder", tmp / "people"],
        ("eval", "search"): ["eval", "search", "--probes", tmp / "people", "--gallery", "g"],  # no non-mated probe
        ("eval", "scale"): ["eval", "scale"],
        ("eval", "replay"): ["eval", "replay", "--probes", tmp / "people" / "person01", "--gallery", "g0",
                             "--none-enrolled"],
        ("sightings",): ["sightings", "--gallery", "g"],
        ("identities", "list"): ["identities", "list", "--gallery", "g"],
        ("watchlist", "list"): ["watchlist", "list", "--gallery", "g"],
        ("bench", "search"): ["bench", "search", "--sizes", "50"],
        ("bench", "detect"): ["bench", "detect", png, "--sides", "256"],
        ("bench", "explain"): ["bench", "explain", png, "--steps", "1", "--repeat", "1"],
        ("bench", "sightings"): ["bench", "sightings", "--size", "300", "--probes", "3", "--cameras", "2"],
    }


def test_every_json_command_prints_strict_json(json_setup, astronaut_png):
    tmp, db, photos = json_setup
    cases = _cases(tmp, db, photos, astronaut_png)
    assert set(json_commands()) == set(cases) | BY_HAND, "a --json command without a case here"
    for path, args in cases.items():
        r = run("--db", db, *args, "--json")
        assert r.exit_code == 0, (path, r.output)
        strict_loads(r.stdout)  # raises on NaN / Infinity
    out = strict_loads(run("--db", db, *cases[("eval", "search")], "--json").stdout)
    assert out["fpir"] is None  # every probe is mated: no FPIR to compute, and no NaN printed


def test_every_json_output_goes_through_the_one_strict_helper():
    """No other json.dumps in the CLI, and every command with --json calls _echo_json."""
    for module in (ROOT / "workbench" / "cli").glob("*.py"):
        tree = ast.parse(module.read_text())
        dumps = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "dumps"]
        assert module.name == "base.py" or not dumps, module
        for fn in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            if "as_json" in [a.arg for a in fn.args.args]:
                calls = {getattr(c.func, "id", None) for c in ast.walk(fn) if isinstance(c, ast.Call)}
                assert calls & {"_echo_json", "_pairs_out", "_bench_search_scale"}, (module.name, fn.name)


# -- Parquet import: vectors the model could have made -----------------------------------------

@pytest.fixture()
def exported(db_path, tmp_path, astronaut):
    """A gallery 'g' with the astronaut's real vector, and its export as a DataFrame."""
    from workbench.search.enrol import Source, enrol_sources

    with Store(db_path) as db:  # a Dlib gallery: the bounds below are Dlib's
        assert enrol_sources(db, "g", [Source("a", "eileen", astronaut)], Settings(model="Dlib")).enrolled == 1
        db.transfer.export_parquet("g", tmp_path / "g.parquet")
    return pl.read_parquet(tmp_path / "g.parquet")


def _variants(df: pl.DataFrame) -> dict[str, tuple[pl.DataFrame, str]]:
    v = np.asarray(df["embedding"][0], np.float32)
    other = df.with_columns(pl.lit("other").alias("image_sha256"), pl.lit("mallory").alias("person"))

    def with_vec(vec) -> pl.DataFrame:  # the real face, plus a second row carrying ``vec``
        return pl.concat([df, other.with_columns(pl.Series("embedding", [list(map(float, vec))],
                                                          dtype=df.schema["embedding"]))])

    nan = v.copy()
    nan[3] = np.nan
    return {
        "NaN": (with_vec(nan), "1 of 2 vectors are not Dlib face vectors"),
        "all NaN": (df.with_columns(pl.Series("embedding", [[float("nan")] * 128], dtype=df.schema["embedding"])),
                    "1 of 1 vectors"),
        "infinite": (with_vec(np.where(np.arange(128) == 0, np.inf, v)), "row 1, person 'mallory'"),
        "zero": (with_vec(np.zeros(128)), "length 0.8 to 2"),
        "scaled x30": (with_vec(v * 30), "length 0.8 to 2"),
        "too short": (with_vec(v * 0.3), "length 0.8 to 2"),
        "64-d": (pl.concat([df.with_columns(pl.col("embedding").cast(pl.List(pl.Float32))),
                            other.with_columns(pl.Series("embedding", [[0.1] * 64], dtype=pl.List(pl.Float32)))]),
                 "a 64-d vector"),
    }


@pytest.mark.parametrize("case", ["NaN", "all NaN", "infinite", "zero", "scaled x30", "too short", "64-d"])
def test_an_import_with_an_implausible_vector_is_refused_whole(case, exported, db_path, tmp_path):
    df, want = _variants(exported)[case]
    bad = tmp_path / "bad.parquet"
    df.write_parquet(bad)
    before = gallery_state(db_path)
    for args in (["gallery", "import", bad, "--gallery", "new"], ["gallery", "import", bad]):
        r = run("--db", db_path, *args)
        lines = r.stderr.strip().splitlines()
        assert r.exit_code == 1 and len(lines) == 1 and want in lines[0] and "nothing was changed" in lines[0], \
            (case, r.output)
    assert gallery_state(db_path) == before


def test_a_plausible_import_still_works_and_the_bounds_are_dlibs(exported, db_path, tmp_path, astronaut):
    df = exported.with_columns(pl.lit("copy").alias("image_sha256"))
    good = tmp_path / "good.parquet"
    df.write_parquet(good)
    r = run("--db", db_path, "gallery", "import", good, "--gallery", "copy")
    assert r.exit_code == 0 and "imported 1 face" in r.stdout, r.output
    norm = float(np.linalg.norm(df["embedding"][0]))
    lo, hi = zoo.embedder("Dlib").norm
    assert lo < 1.197 and 1.689 < hi and lo < norm < hi  # the measured span sits well inside
    with Store(db_path) as db, pytest.raises(Exception, match="NaN or infinite"):  # the library path too
        from workbench.store import FaceRecord

        db.faces.add("g", [FaceRecord("x", "s", "", [0, 0, 1, 1], [0.0] * 10, {}, 1.0, "hog", np.full(128, np.nan))], model="Dlib")
