"""`workbench eval ...` on the real photos: pairs (both CSVs), folder, search, replay, per-group
labels, the embedding cache, and reports that render offline in headless Chromium. The packaged
demo photos serve all but the pivot CSV, which needs ../shared/data/faces."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import file_state

from workbench.cli import cli

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def eval_db(tmp_path_factory) -> Path:
    """One database for the module: its embedding cache makes the later runs cheap."""
    return tmp_path_factory.mktemp("eval") / "eval.duckdb"


@pytest.fixture(scope="module")
def master(demo_photos, eval_db, tmp_path_factory) -> tuple[dict, Path]:
    """deepface's master.csv restricted to the photos packaged in the demo (153 of its 300 pairs)."""
    out = tmp_path_factory.mktemp("report") / "master"
    r = run("--db", eval_db, "eval", "pairs", demo_photos / "deepface-unit" / "master-subset.csv", "--json",
            "--report", out)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout), out


def test_eval_pairs_master_json(master):
    out, _ = master
    assert set(out) >= {"accuracy", "eer", "fmr", "fnmr", "threshold", "pairs", "failed_images", "ci"}
    assert out["pairs"] == 153 and out["genuine_pairs"] + out["impostor_pairs"] == 153
    assert out["threshold"] == 0.637 and out["accuracy"] >= 0.99  # the default, yunet + SFace
    assert out["fmr"] <= 0.01 and out["fnmr"] <= 0.05 and out["eer"] <= 0.02
    # the counts behind the rates agree with them
    assert out["fnmr"] == round(out["false_non_matches"] / out["genuine_pairs"], 4)
    assert out["ci"]["fnmr"][0] <= out["fnmr"] <= out["ci"]["fnmr"][1]
    assert out["cache"]["computed"] == out["images"] and out["failed_images"] == {}


def test_eval_pairs_pivot_csv_with_foreign_paths_and_the_cache(master, faces_deepface, eval_db):
    r = run("--db", eval_db, "eval", "pairs", faces_deepface / "deepface-unit" / "face-recognition-pivot.csv", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    # 'deepface/tests/dataset/imgN.jpg' resolved by file name: every photo found, none failed
    assert out["pairs"] >= 279 and out["failed_images"] == {}
    assert out["accuracy"] >= 0.97 and out["eer"] <= 0.05
    # the photos master.csv already embedded came from the cache
    assert out["cache"]["hits"] >= master[0]["images"] - 1 and out["cache"]["computed"] < out["images"]
    again = json.loads(run("--db", eval_db, "--threshold", "0.5", "eval", "pairs",
                           faces_deepface / "deepface-unit" / "face-recognition-pivot.csv", "--json").stdout)
    assert again["cache"]["computed"] == 0 and again["threshold"] == 0.5
    assert again["fmr"] <= out["fmr"] and again["fnmr"] >= out["fnmr"]


def test_eval_pairs_resolves_foreign_paths_by_file_name_from_the_cache(master, demo_photos, eval_db, tmp_path):
    """The pivot CSV's form on the packaged photos (a bare clone has no pivot CSV): another
    machine's paths ('deepface/tests/dataset/imgN.jpg'), a lower-case 'decision' and extra score
    columns, resolved by file name in --images; every vector comes from master's cache."""
    with (demo_photos / "deepface-unit" / "master-subset.csv").open() as fh:
        rows = list(csv.reader(fh))[1:]
    pivot = tmp_path / "pivot.csv"
    pivot.write_text("file_x,file_y,decision,VGG-Face_cosine\n" + "".join(
        f"deepface/tests/dataset/{a},deepface/tests/dataset/{b},{d},0.5\n" for a, b, d in rows))
    r = run("--db", eval_db, "eval", "pairs", pivot, "--images", demo_photos / "deepface-unit", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["pairs"] == 153 and out["failed_images"] == {} and out["accuracy"] == master[0]["accuracy"]
    assert out["cache"]["computed"] == 0 and out["cache"]["hits"] == out["images"] == master[0]["images"]


def test_labels_split_every_figure_per_group(demo_photos, eval_db, tmp_path):
    # An ARBITRARY grouping by file name, only to exercise the mechanics; it says nothing about anyone.
    labels = tmp_path / "labels.csv"
    names = sorted(p.name for p in (demo_photos / "deepface-unit").glob("img*.jpg"))
    labels.write_text("file,group\n" + "".join(f"{n},{'A' if i % 2 else 'B'}\n" for i, n in enumerate(names)))
    rep = tmp_path / "report"
    r = run("--db", eval_db, "eval", "pairs", demo_photos / "deepface-unit" / "master-subset.csv", "--labels", labels,
            "--json", "--report", rep)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    # the report's per-group table: highest false match rate first, rates in percent with 2 decimals
    import polars as pl

    table = pl.read_csv(rep / "groups.csv")
    fmr = [-1.0 if v is None else v for v in table["FMR %"].to_list()]
    assert fmr == sorted(fmr, reverse=True) and set(table["group"]) == {"A", "B", "(mixed)"}
    assert all(v is None or round(v, 2) == v for v in table["FMR %"].to_list() + table["FNMR %"].to_list())
    html = (rep / "report.html").read_text()
    assert html.index("<h2>groups</h2>") < html.index("Plotly.newPlot")  # the table before the charts
    groups = {g["group"]: g for g in out["groups"]}
    assert set(groups) == {"A", "B", "(mixed)"} and out["group_column"] == "group"
    assert sum(g["genuine_pairs"] + g["impostor_pairs"] for g in groups.values()) == out["pairs"]
    assert sum(g["false_non_matches"] for g in groups.values()) == out["false_non_matches"]
    small = [g for g in groups.values() if g["genuine_pairs"] < 30]
    assert small and all("only" in g["warning"] for g in small)


def test_bad_eval_input_is_one_line_and_writes_nothing(demo_photos, tmp_path, db_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    labels = tmp_path / "labels.csv"
    labels.write_text("name,group\nx,A\n")
    cases = [["eval", "pairs", tmp_path / "missing.csv"], ["eval", "pairs", bad],
             ["eval", "pairs", demo_photos / "deepface-unit" / "master-subset.csv", "--labels", labels],
             ["eval", "folder", tmp_path], ["eval", "search", "--probes", tmp_path, "--gallery", "nope"],
             ["eval", "replay", "--probes", tmp_path / "none", "--gallery", "nope"]]
    for args in cases:
        r = run("--db", db_path, *args)
        assert r.exit_code == 1, (args, r.output)
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("workbench: "), r.output
    assert file_state(db_path) is None


@pytest.fixture(scope="module")
def demo(demo_photos, eval_db) -> Path:
    knn = demo_photos / "face-recognition-examples" / "knn_examples"
    r = run("--db", eval_db, "enrol", knn / "train", "--gallery", "demo", "--consent")
    assert r.exit_code == 0, r.output
    return knn


def test_eval_folder_and_search(demo, eval_db, tmp_path):
    r = run("--db", eval_db, "eval", "folder", demo / "train", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    # 5 people, 9 photos: 36 pairs, of which 4 same-person (obama 2, biden 2, alex 2, kit 2, rose 1 photos)
    assert out["pairs"] == 36 and out["genuine_pairs"] == 4 and out["cache"]["computed"] == 9
    probes = tmp_path / "probes"
    (probes / "obama").mkdir(parents=True)
    shutil.copy(demo / "test" / "obama1.jpg", probes / "obama" / "a.jpg")
    shutil.copy(demo / "test" / "alex_lacamoire1.jpg", probes / "alex_lacamoire1.jpg")
    shutil.copy(demo / "train" / "biden" / "biden.jpg", probes / "stranger.jpg")  # a biden photo NAMED as someone else
    # who the two loose photos show is stated in a CSV (a file name proves nothing)
    who = tmp_path / "who.csv"
    who.write_text("file,person\nalex_lacamoire1.jpg,alex_lacamoire\nstranger.jpg,stranger\n")
    s = run("--db", eval_db, "eval", "search", "--probes", probes, "--gallery", "demo", "--identities", who, "--json",
            "--report", tmp_path / "search-report")
    assert s.exit_code == 0, s.output
    res = json.loads(s.stdout)
    html = (tmp_path / "search-report" / "report.html").read_text()  # the answer in words, before the charts
    assert html.index("1 still returned a candidate") < html.index("Plotly.newPlot")
    assert "Of 2 searches for people who are in it, 0 did not return them first" in html
    assert (res["mated"], res["nonmated"]) == (2, 1)
    assert res["fnir"] == 0.0 and res["cmc"][0] == 1.0
    assert res["fpir"] == 1.0  # the 'stranger' is biden: a (labelled) false positive
    from workbench.evaluation.datasets import embedding as cache
    from workbench.store import Store

    shutil.copy(demo / "test" / "kit_with_rose.jpg", probes / "new.jpg")
    with Store(eval_db) as db:
        before = cache.size(db)
    again = run("--db", eval_db, "eval", "search", "--probes", probes, "--gallery", "demo", "--identities", who,
                "--no-cache", "--json")
    assert again.exit_code == 0, again.output
    out = json.loads(again.stdout)  # new.jpg's person is stated nowhere: left out, and listed
    assert out["probes"] == 3 and [Path(p).name for p in out["unknown_identity"]] == ["new.jpg"]
    with Store(eval_db) as db:
        assert cache.size(db) == before  # --no-cache wrote nothing


def test_replay_counts_innocent_probes_and_extrapolates(demo, demo_photos, eval_db, tmp_path):
    rep = tmp_path / "replay"
    # An ARBITRARY grouping by file name, only to exercise the mechanics; it says nothing about anyone.
    labels = tmp_path / "labels.csv"
    photos = sorted(p.name for p in (demo_photos / "deepface-unit").glob("*.jpg"))
    labels.write_text("file,group\n" + "".join(f"{n},{'A' if i % 2 else 'B'}\n" for i, n in enumerate(photos)))
    r = run("--db", eval_db, "eval", "replay", "--probes", demo_photos / "deepface-unit", "--gallery", "demo",
            "--none-enrolled", "--similarity", "30", "--labels", labels, "--json", "--report", rep)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    rows = {t["similarity"]: t for t in out["thresholds"]}
    assert set(rows) == {30.0, 80.0, 90.0, 95.0, 99.0} and out["gallery_faces"] == 9
    flagged = [rows[s]["probes_flagged"] for s in sorted(rows)]
    assert flagged == sorted(flagged, reverse=True)  # stricter never flags more
    assert rows[30.0]["probes_flagged"] > 0  # a loose threshold flags innocent people
    for t in rows.values():  # the per-group split adds up
        assert sum(g["flagged"] for g in t["by_group"].values()) == t["probes_flagged"]
        assert sum(g["probes"] for g in t["by_group"].values()) == out["probes"]
    loose = rows[30.0]
    assert loose["growth_measured"][str(out["gallery_faces"])] == pytest.approx(loose["probes_flagged"])
    assert loose["extrapolated"]["25000"] <= loose["extrapolated_upper_95"]["25000"] <= out["probes"]
    assert (rep / "report.html").is_file() and (rep / "replay.parquet").is_file()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_report_is_self_contained_and_its_charts_render_in_chromium(master, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    _, out = master
    html = (out / "report.html").read_text()
    assert not re.search(r"<script[^>]*\bsrc=", html), "a script is loaded from elsewhere"
    assert "Plotly.newPlot" in html and len(html) > 3_000_000  # plotly.js itself is inside
    for table in ("summary", "pairs", "curve"):
        assert (out / f"{table}.csv").is_file() and (out / f"{table}.parquet").is_file()
    outside: list[str] = []
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = b.new_page(viewport={"width": 1200, "height": 900})
        page.route("**/*", lambda route: (outside.append(route.request.url), route.abort())
                   if not route.request.url.startswith("file://") else route.continue_())
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((out / "report.html").as_uri())
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
        page.wait_for_timeout(500)
        n_plots = page.locator(".js-plotly-plot").count()
        traces = page.evaluate("Array.from(document.querySelectorAll('.js-plotly-plot'))"
                               ".map(d => d.querySelectorAll('.trace, .point').length)")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        b.close()
    assert not errors, errors
    assert outside == [], outside  # nothing left the machine
    assert n_plots == 4 and all(t > 0 for t in traces), traces
    assert "Verification (1:1) evaluation" in html and "SFace" in html and "master-subset.csv" in html
    # a headline in words comes first, then the charts, then the worst errors with both photos
    first_chart = html.index("Plotly.newPlot")
    assert html.index('class="headline"') < first_chart
    assert "pairs of different people the same person" in html[:first_chart]
    assert html.index("Closest pairs of different people") > first_chart
    assert html.count("data:image/jpeg;base64,") >= 8  # 4 + 4 pairs, two photos each
    # the per-pair rows are in the files, not on the page; both histograms are scaled to their own totals
    assert "<h2>pairs</h2>" not in html and "pairs.csv (opens in a spreadsheet)" in html
    assert html.count('"histnorm":"percent"') == 2
