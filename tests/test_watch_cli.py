"""The command line of the city cameras: watch (strict JSON summary, alerts on the terminal, the
HTML report), sightings (filters, who was there, CSV/Parquet export), identities (name one:
enrolled with consent), watchlists, and one-line errors for bad input."""

from __future__ import annotations

import json

import polars as pl
import pytest
from click.testing import CliRunner
from footage import write_footage

from workbench.cli import cli
from workbench.store import Store

A, B, C = "obama", "angelina_jolie", "kit_harington"


@pytest.fixture(scope="module")
def watched_cli(cast, tmp_path_factory):
    from workbench.pipeline import Settings
    from workbench.search.enrol import Source, enrol_sources
    tmp = tmp_path_factory.mktemp("watchcli")
    clip = tmp / "lobby.mp4"
    write_footage(clip, [(A, cast.photo(A, 2)), (C, cast.photo(C, 1)), (B, cast.photo(B, 2))])
    db = tmp / "cli.duckdb"
    with Store(db) as g:
        enrol_sources(g, "city", [Source("a", A, cast.photo(A, 1)), Source("b", B, cast.photo(B, 1))],
                      Settings(model="Dlib"), workers=1)  # a Dlib gallery: watched below with Dlib, no --model
    run = CliRunner()
    r = run.invoke(cli, ["--db", str(db), "watchlist", "add", A, "--gallery", "city", "--list", "interest"])
    assert r.exit_code == 0, r.output
    r = run.invoke(cli, ["--db", str(db), "watch", f"lobby={clip}", "--gallery", "city", "--fast", "--keep-chips",
                         "--report", str(tmp / "report"), "--json"])
    assert r.exit_code == 0, r.output
    return tmp, db, r


def test_watch_prints_a_strict_json_summary_and_alerts_and_writes_the_report(watched_cli):
    tmp, db, r = watched_cli
    summary = json.loads(r.stdout)
    json.dumps(summary, allow_nan=False)
    cam = summary["cameras"][0]
    assert cam["camera"] == "lobby" and cam["state"] == "ended" and set(cam["people"]) == {A, B}
    assert cam["anonymous_identities"] == 1 and summary["alerts"] >= 1
    assert f"ALERT lobby: {A} (watchlist interest)" in r.stderr
    html = (tmp / "report" / "report.html").read_text()
    assert "Who was seen when" in html and "Alerts per threshold" in html and "data:image/jpeg;base64" in html
    alerts = pl.read_csv(tmp / "report" / "alert_thresholds.csv")
    assert alerts.filter(pl.col("threshold") == "80 % similarity")["alerts"][0] >= 1


def test_sightings_filters_who_was_there_and_exports(watched_cli, tmp_path):
    _, db, _ = watched_cli
    run = CliRunner()
    r = run.invoke(cli, ["--db", str(db), "sightings", "--gallery", "city", "--person", A, "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert rows and {x["who"] for x in rows} == {A} and all(x["camera"] == "lobby" for x in rows)
    r = run.invoke(cli, ["--db", str(db), "sightings", "--gallery", "city", "--who", "--since", "1h", "--json"])
    who = json.loads(r.stdout)
    assert {x["who"] for x in who["identities"] if x["kind"] == "person"} == {A, B}
    assert [x["kind"] for x in who["identities"]].count("anonymous") == 1
    assert all(x["cameras"] == ["lobby"] and x["first_seen"] <= x["last_seen"] for x in who["identities"])
    for suffix in ("csv", "parquet"):
        out = tmp_path / f"s.{suffix}"
        r = run.invoke(cli, ["--db", str(db), "sightings", "--gallery", "city", "--export", str(out)])
        assert r.exit_code == 0 and "exported" in r.stdout, r.output
    assert pl.read_csv(tmp_path / "s.csv").height == len(who["identities"]) >= 3
    assert pl.read_parquet(tmp_path / "s.parquet")["chip"][0][:2] == b"\xff\xd8"
    r = run.invoke(cli, ["--db", str(db), "sightings", "--gallery", "city", "--camera", "nowhere"])
    assert r.exit_code == 0 and "no sightings match" in r.stdout


def test_naming_an_anonymous_identity_enrols_it_with_consent(watched_cli, tmp_path):
    import shutil

    _, db, _ = watched_cli
    copy = tmp_path / "copy.duckdb"
    shutil.copy(db, copy)
    run = CliRunner()
    listed = json.loads(run.invoke(cli, ["--db", str(copy), "identities", "list", "--gallery", "city", "--json"]).stdout)
    assert len(listed) == 1 and listed[0]["chips"] >= 1
    ident = listed[0]["id"]
    for unstated in ([], ["--no-consent"], ["--no-consent", "--reason", " "]):  # naming enrols: consent is stated
        r = run.invoke(cli, ["--db", str(copy), "identities", "name", str(ident), "Gerhard", "--gallery", "city",
                             *unstated])
        assert r.exit_code == 1 and ("nothing was named" in r.output or "is empty" in r.output), r.output
    with Store(copy) as g:
        assert g.identities.list("city").height == 1 and "Gerhard" not in g.faces.people("city")["name"].to_list()
    r = run.invoke(cli, ["--db", str(copy), "identities", "name", str(ident), "Gerhard", "--gallery", "city", "--consent"])
    assert r.exit_code == 0 and "is now Gerhard" in r.stdout, r.output
    with Store(copy) as g:
        p = g.faces.people("city").filter(pl.col("name") == "Gerhard").row(0, named=True)
        assert p["consent"] is True and p["faces"] >= 1
        assert g.faces.thumbnail(int(g.faces.list("city").filter(pl.col("person") == "Gerhard")["id"][0]))[:2] == b"\xff\xd8"
        assert g.identities.list("city").height == 0 and g.sightings.query("city", person="Gerhard").height >= 1


def test_watchlist_commands(watched_cli):
    _, db, _ = watched_cli
    run = CliRunner()
    listed = json.loads(run.invoke(cli, ["--db", str(db), "watchlist", "list", "--gallery", "city", "--json"]).stdout)
    assert [(x["person"], x["list"]) for x in listed] == [(A, "interest")]
    bad = run.invoke(cli, ["--db", str(db), "watchlist", "add", "Nobody", "--gallery", "city"])
    assert bad.exit_code == 1 and "no person 'Nobody'" in bad.stderr


@pytest.mark.parametrize("args, message", [
    ([], "no camera given"),
    (["a=nowhere.mp4"], "no such file, folder, device or stream"),
    (["a="], "empty camera source"),
    (["a=0", "a=1"], "two cameras are called 'a'"),
])
def test_bad_cameras_are_one_line_errors(args, message, tmp_path):
    r = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.duckdb"), "watch", *args, "--gallery", "g"])
    assert r.exit_code == 1 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.output
    assert not (tmp_path / "x.duckdb").exists()


def test_sightings_of_an_unknown_gallery_and_contradicting_filters(watched_cli):
    _, db, _ = watched_cli
    r = CliRunner().invoke(cli, ["--db", str(db), "sightings", "--gallery", "nope"])
    assert r.exit_code == 1 and "unknown gallery" in r.stderr
    r = CliRunner().invoke(cli, ["--db", str(db), "sightings", "--gallery", "city", "--person", A, "--identity", "1"])
    assert r.exit_code == 1 and "not both" in r.stderr


def test_bench_watch_runs_at_a_tiny_size(watched_cli):
    tmp, _, _ = watched_cli
    r = CliRunner().invoke(cli, ["bench", "watch", str(tmp / "lobby.mp4"), "--cameras", "2", "--max-frames", "8",
                                 "--sizes", "320x240", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [x["cameras"] for x in out["local"]] == [2] and len(out["local"][0]["fps_per_camera"]) == 2
    assert out["bench_video_fps"] > 0 and out["cpu_per_camera"][0]["frame_size"] == "320x240"
    assert len(out["load_average"]) == 3


def test_bench_watch_times_camera_processes_with_one_opencv_thread_beside_the_default_with_their_cpu(watched_cli):
    tmp, _, _ = watched_cli
    r = CliRunner().invoke(cli, ["bench", "watch", str(tmp / "lobby.mp4"), "--cameras", "1", "--max-frames", "6",
                                 "--runners", "processes", "--one-thread", "--sizes", "none", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["local"] == [] and (out["detector"], out["model"]) == ("yunet", "SFace")  # the default pair
    (single,), (default,) = out["processes_one_thread"], out["processes"]
    assert single["cv_threads"] == 1 and default["cv_threads"] is None
    assert set(out["one_thread_over_default_min_fps"]) == {"1"}
    default, single = out["every_frame_default_and_one_thread"]  # 2 camera processes, no frame dropped
    for run in (default, single):
        assert run["frames_per_camera"] == [6, 6] and run["cameras_cpu_s"] > 0 and run["cpu_ms_per_frame"] > 0
    assert default["cv_threads"] is None and single["cv_threads"] == 1
    st = out["stages"]
    assert st["frames"] == 6 and st["searched"] == 3 and st["detect_side"] == 640
    assert st["detect_ms"] > 0 and st["decode_ms"] > 0


def test_ray_option_takes_an_address_or_leaves_a_camera_alone():
    from workbench.cli.watch import _ray_choice

    assert _ray_choice(None, ("a=x.mp4",)) == (None, ("a=x.mp4",))
    assert _ray_choice("auto", ()) == ("auto", ())
    assert _ray_choice("ray://127.0.0.1:10001", ()) == ("ray://127.0.0.1:10001", ())
    assert _ray_choice("b=y.mp4", ("a=x.mp4",)) == ("local", ("a=x.mp4", "b=y.mp4"))  # `--ray b=y.mp4`
