"""Purge means gone, classroom mode writes nothing, the search log is auditable and exportable,
and nothing is configured to leave the machine."""

from __future__ import annotations

import json
import os
import socket
import tomllib
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from workbench.app import privacy
from workbench.cli import cli
from workbench.store import FaceRecord, Store

ROOT = Path(__file__).resolve().parent.parent


def secret_face(person: str, seed: int) -> FaceRecord:
    """A face whose vector, thumbnail and name are recognisable byte strings."""
    v = np.random.default_rng([seed, *person.encode()]).normal(size=128).astype(np.float32)
    return FaceRecord(person=person, image_sha256=f"sha-{person}-{seed}", source_path=f"{person}/{seed}.jpg",
                      box=[0, 0, 50, 50], landmarks=[0.0] * 10, quality={"size": 50}, det_score=1.0,
                      detector="hog", embedding=v, thumbnail=f"THUMB<{person}:{seed}>".encode() * 40)


def traces(path: Path, rec: FaceRecord) -> dict[str, bool]:
    """Which of a face's bytes can still be found in the database file."""
    data = path.read_bytes()
    return {"embedding": np.asarray(rec.embedding, np.float32).tobytes()[:64] in data,
            "thumbnail": rec.thumbnail[:40] in data, "source": rec.source_path.encode() in data}


@pytest.fixture()
def uncompressed(db_path):
    """A gallery whose vectors are stored uncompressed, so their raw bytes are findable at all."""
    db = Store(db_path)
    db.db.cursor().execute("SET force_compression = 'uncompressed'")
    yield db
    db.close()


def _fill(db: Store) -> list[FaceRecord]:
    recs = [secret_face(p, s) for p in ("ann", "bob", "cat") for s in range(1, 41)]
    db.faces.add("g", [r for r in recs if r.person != "cat"], model="Dlib")
    db.faces.add("h", [r for r in recs if r.person == "cat"], model="Dlib")
    db.db.cursor().execute("CHECKPOINT")
    return recs


def test_deleted_person_bytes_are_gone_from_the_file_and_the_rest_survives(uncompressed, db_path):
    db = uncompressed
    recs = _fill(db)
    ann = [r for r in recs if r.person == "ann"]
    bob = [r for r in recs if r.person == "bob"]
    assert all(all(traces(db_path, r).values()) for r in ann[:3]), "the check could not see the bytes at all"
    ann_ids = db.faces.list("g").filter(pl.col("person") == "ann")["id"].to_list()
    db.search_log.add(gallery="g", detector="hog", metric="euclidean", threshold=0.6, top_k=2,
                  result_face_ids=[[ann_ids[0], ann_ids[1]]], result_distances=[[0.1, 0.2]],
                  detect_ms=1, embed_ms=1, search_ms=1, model="Dlib")
    db.search_log.add(gallery="h", detector="hog", metric="euclidean", threshold=0.6, top_k=1,
                  result_face_ids=[[999999]], result_distances=[[0.3]], detect_ms=1, embed_ms=1, search_ms=1, model="Dlib")

    assert db.removal.delete_person("g", "ann") == 40
    assert not (db_path.parent / (db_path.name + ".wal")).exists()
    left = {k: sum(traces(db_path, r)[k] for r in ann) for k in ("embedding", "thumbnail", "source")}
    assert left == {"embedding": 0, "thumbnail": 0, "source": 0}
    assert all(all(traces(db_path, r).values()) for r in bob[:5])  # survivors are still in the file
    assert db.search_log.rows()["gallery"].to_list() == ["h"]  # the log row that returned ann is gone
    assert db.faces.list("g").height == 40 and db.vectors.matrix("g", "Dlib").vectors.shape == (40, 128)
    ids, _ = db.faces.add("g", [secret_face("dan", 1)], model="Dlib")  # sequences survive the rewrite
    assert ids[0] > max(ann_ids)


def test_purge_everything_empties_every_data_table_including_new_ones(uncompressed, db_path):
    db = uncompressed
    recs = _fill(db)
    # another helper's cache table: purge must find it without being told
    db.db.cursor().execute("CREATE TABLE embedding_cache (key VARCHAR, vector FLOAT[128])")
    db.db.cursor().execute("INSERT INTO embedding_cache VALUES ('x', ?)", [recs[0].embedding.tolist()])
    from workbench.store import derived

    side = derived.index_path(db_path, "g", "exact")  # a saved index, named by the storage layer
    side.write_bytes(b"index")
    removed = db.removal.purge_all()
    assert removed["faces"] == 120 and removed["people"] == 3 and removed["embedding_cache"] == 1
    assert set(removed) == {"faces", "people", "galleries", "searches", "embedding_cache", "sightings", "identities",
                            "watchlist", "watch_progress", "watch_cameras", "watch_runs"}
    assert not side.exists()
    assert sum(any(traces(db_path, r).values()) for r in recs) == 0
    assert db.galleries.list().height == 0
    for t in db.db.data_tables():
        assert db.db.cursor().execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] == 0
    assert db.db.cursor().execute("SELECT value FROM meta WHERE key = 'model'").fetchone()[0] == "Dlib"


def test_deleting_a_gallery_and_a_face_compact_too(uncompressed, db_path):
    db = uncompressed
    recs = _fill(db)
    cat = [r for r in recs if r.person == "cat"]
    assert db.removal.delete_gallery("h") == 40
    assert sum(traces(db_path, r)["thumbnail"] for r in cat) == 0
    one = db.faces.list("g")["id"][0]
    victim = next(r for r in recs if r.person == "ann" and r.source_path == db.faces.list("g")["source_path"][0])
    db.removal.delete_face("g", int(one))
    assert not any(traces(db_path, victim).values())


def test_purge_all_on_the_cli_needs_yes_and_reports(db_path):
    with Store(db_path) as db:
        db.faces.add("g", [secret_face("ann", 1)], model="Dlib")
    before = db_path.read_bytes()
    r = CliRunner().invoke(cli, ["--db", str(db_path), "gallery", "purge-all"])
    assert r.exit_code == 1 and "--yes" in r.stderr and db_path.read_bytes() == before
    r = CliRunner().invoke(cli, ["--db", str(db_path), "gallery", "purge-all", "--yes"])
    assert r.exit_code == 0, r.output
    assert "1 faces" in r.stdout and "1 people" in r.stdout
    assert b"THUMB<ann" not in db_path.read_bytes()


def test_classroom_mode_writes_nothing_to_disk(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with Store(":memory:") as db:
        db.faces.add("g", [secret_face("ann", 1), secret_face("bob", 2)], model="Dlib")
        assert db.faces.list("g").height == 2
        assert db.removal.delete_person("g", "ann") == 1
        assert db.removal.purge_all()["faces"] == 1
    assert list(tmp_path.iterdir()) == []
    with Store(":memory:") as fresh:  # and nothing carries over
        assert fresh.galleries.list().height == 0


def test_search_log_audit_fields_probe_only_on_request_and_export(astronaut, astronaut_png, db_path, tmp_path):
    from workbench.search import search_image
    from workbench.search.enrol import Source, enrol_sources

    with Store(db_path) as db:
        enrol_sources(db, "g", [Source("a", "eileen", astronaut)])
        search_image(db, "g", astronaut_png, name="probe.png")
        search_image(db, "g", astronaut_png, name="kept.png", keep_probe=True, client="app")
        log = db.search_log.rows().sort("id")
    import hashlib

    first, kept = log.row(0, named=True), log.row(1, named=True)
    assert first["probe_sha256"] == hashlib.sha256(astronaut_png.read_bytes()).hexdigest()
    assert (first["probe_width"], first["probe_height"]) == (512, 512)
    assert first["result_people"][0][0] == "eileen" and first["result_match"][0][0] is True
    assert first["gallery_faces"] == 1 and first["probe_boxes"][0][2] > first["probe_boxes"][0][0]
    assert first["workbench_version"] and first["client"] == "library" and first["upsample"] == 1
    assert first["probe_image"] is None  # never unless asked
    assert kept["client"] == "app" and kept["probe_image"][:2] == b"\xff\xd8"  # a JPEG

    for suffix in ("csv", "json", "parquet"):
        out = tmp_path / f"log.{suffix}"
        r = CliRunner().invoke(cli, ["--db", str(db_path), "log", "export", str(out)])
        assert r.exit_code == 0, r.output
        assert "exported 2 search(es)" in r.stdout
    csv = pl.read_csv(tmp_path / "log.csv")
    assert csv.height == 2 and json.loads(csv["result_people"][0]) == first["result_people"]
    assert "probe_image" not in csv.columns
    lines = (tmp_path / "log.json").read_text().splitlines()
    assert json.loads(lines[1])["source"] == "kept.png" and "probe_image" not in json.loads(lines[1])
    assert "probe_image" not in pl.read_parquet(tmp_path / "log.parquet").columns
    with_probes = tmp_path / "probes.parquet"
    assert CliRunner().invoke(cli, ["--db", str(db_path), "log", "export", str(with_probes), "--with-probes"]).exit_code == 0
    assert pl.read_parquet(with_probes)["probe_image"][1][:2] == b"\xff\xd8"
    bad = CliRunner().invoke(cli, ["--db", str(db_path), "log", "export", str(tmp_path / "log.xlsx")])
    assert bad.exit_code == 1 and len(bad.stderr.strip().splitlines()) == 1


def test_an_old_search_log_gains_the_audit_columns_on_open(db_path):
    import duckdb

    with Store(db_path) as db:
        db.faces.add("g", [secret_face("ann", 1)], model="Dlib")
        db.db.cursor().execute("ALTER TABLE searches DROP COLUMN probe_sha256")
    import subprocess
    import sys

    # the migration must survive a crash right after it (DuckDB cannot replay it from the WAL)
    code = "import os, sys; from workbench.store import Store; Store(sys.argv[1]); os._exit(0)"
    subprocess.run([sys.executable, "-c", code, str(db_path)], check=True, cwd=ROOT,
                   env=dict(os.environ, PYTHONPATH=str(ROOT)))
    with Store(db_path) as db:
        assert "probe_sha256" in db.search_log.rows().columns
    con = duckdb.connect(str(db_path), read_only=True)
    assert "probe_sha256" in [r[0] for r in con.execute("DESCRIBE searches").fetchall()]
    con.close()


def test_streamlit_config_keeps_statistics_off_and_limits_uploads():
    conf = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert conf["browser"]["gatherUsageStats"] is False
    assert conf["server"]["maxUploadSize"] == privacy.MAX_UPLOAD_MB
    opts = privacy.streamlit_options()
    assert opts[opts.index("--browser.gatherUsageStats") + 1] == "false"
    for key, value in privacy.STREAMLIT_OPTIONS.items():  # file and command line say the same
        section, name = key.split(".")
        assert str(conf[section][name]).lower() == value


def test_webrtc_uses_no_stun_server_by_default(monkeypatch):
    from streamlit_webrtc.component import (
        _resolve_server_rtc_configuration,
        enhance_frontend_rtc_configuration,
    )

    from workbench.app import ui

    monkeypatch.delenv("WORKBENCH_ICE_SERVERS", raising=False)
    rtc = {"iceServers": ui.ice_servers()}
    assert rtc == {"iceServers": []}
    # what pages/live.py hands to streamlit-webrtc: neither side falls back to Google's STUN server
    assert _resolve_server_rtc_configuration(rtc).iceServers == []
    assert enhance_frontend_rtc_configuration(rtc)["iceServers"] == []
    live = (ROOT / "pages" / "live.py").read_text()
    assert 'rtc_configuration={"iceServers": ui.ice_servers()}' in live
    monkeypatch.setenv("WORKBENCH_ICE_SERVERS", '[{"urls": "stun:stun.example.org"}]')
    assert ui.ice_servers() == [{"urls": "stun:stun.example.org"}]


def test_the_pipeline_opens_no_outside_connection(astronaut, db_path, monkeypatch):
    """Models load, faces enrol and search with every non-local connection refused."""
    from workbench.pipeline import models
    from workbench.search import search_image
    from workbench.search.enrol import Source, enrol_sources

    attempts: list = []
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else str(address)
        if host not in ("127.0.0.1", "::1", "localhost") and self.family != socket.AF_UNIX:
            attempts.append(address)
            raise OSError(f"test: outside connection to {address} refused")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: guarded(socket.socket(), address))
    models._cache.clear()  # really load them again, under the guard
    with Store(db_path) as db:
        assert enrol_sources(db, "g", [Source("a", "eileen", astronaut)]).enrolled == 1
        assert search_image(db, "g", astronaut).faces[0].best.person == "eileen"
    assert attempts == []


def test_classroom_switch_in_the_app_enrols_in_memory_only(astronaut_png, tmp_path, monkeypatch):
    import tempfile

    from streamlit.testing.v1 import AppTest

    from workbench.app import ui

    disk_db = tmp_path / "would-be.duckdb"
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # any temporary file would land here
    made: list = []  # ... and be recorded, even if deleted right after
    for name in ("mkdtemp", "_mkstemp_inner"):
        real = getattr(tempfile, name)
        monkeypatch.setattr(tempfile, name, lambda *a, _real=real, **k: made.append(a) or _real(*a, **k))
    monkeypatch.setenv("WORKBENCH_DB", str(disk_db))
    monkeypatch.delenv("WORKBENCH_FACES", raising=False)
    monkeypatch.chdir(ROOT)
    before = {p for p in ROOT.rglob("*.duckdb*")}
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state["classroom"] = True  # the sidebar switch
    at.run()
    assert not at.exception and at.toggle(key="classroom").value is True
    at.switch_page("pages/enrol.py").run()
    at.text_input(key="enrol_person").input("pupil").run()
    at.radio(key="enrol_consent").set_value("They consented to being enrolled").run()
    at.file_uploader(key="enrol_uploads").set_value(("me.png", astronaut_png.read_bytes(), "image/png")).run()
    at.button[0].click().run()
    assert not at.exception
    assert any("1 face(s) enrolled for pupil" in s.value for s in at.success), [w.value for w in at.warning]
    at.switch_page("pages/gallery.py").run()  # browsing and exporting write nothing either
    assert not at.exception and [b for b in at.get("download_button") if "Parquet" in b.proto.label]
    db = ui.get_db(":memory:")
    assert db.db.in_memory and db.faces.list("demo").height == 1
    assert not disk_db.exists() and list(tmp_path.iterdir()) == [temp] and list(temp.iterdir()) == []
    assert made == [], made
    assert {p for p in ROOT.rglob("*.duckdb*")} == before
    db.removal.purge_all()  # the cached in-memory gallery is shared by this process's other app tests


def test_app_exports_the_log_and_purges_everything(astronaut, db_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from workbench.search import search_image
    from workbench.search.enrol import Source, enrol_sources

    with Store(db_path) as db:
        enrol_sources(db, "demo", [Source("a", "eileen", astronaut)])
        search_image(db, "demo", astronaut, name="probe")
        thumb = db.faces.thumbnail(int(db.faces.list("demo")["id"][0]))
    assert thumb and thumb[100:200] in db_path.read_bytes()
    monkeypatch.setenv("WORKBENCH_DB", str(db_path))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/metrics.py").run()
    assert not at.exception
    assert [b for b in at.get("download_button") if "search log" in b.proto.label]
    at.switch_page("pages/gallery.py").run()
    at.checkbox(key="purge_all_ok").check().run()
    at.button(key="purge_all").click().run()
    assert not at.exception
    assert any("1 faces" in s.value and "1 searches" in s.value for s in at.success), [s.value for s in at.success]
    assert thumb[100:200] not in db_path.read_bytes()


def test_reads_in_other_threads_survive_compaction(db_path):
    """Compaction swaps the connection: app sessions reading at that moment must not notice."""
    import threading

    errors: list[str] = []
    reads = [0]
    stop = threading.Event()
    with Store(db_path) as db:
        db.faces.add("g", [secret_face(f"p{i}", s) for i in range(8) for s in range(3)], model="Dlib")

        def reader() -> None:
            while not stop.is_set():
                try:
                    db.faces.list("g")
                    db.vectors.matrix("g", "Dlib")
                    db.faces.people("g")
                    with db.db.reading():
                        db.db.cursor().execute("SELECT count(*) FROM searches").fetchone()
                    reads[0] += 1
                except Exception as err:  # noqa: BLE001 - collected and asserted below
                    errors.append(f"{type(err).__name__}: {err}")

        threads = [threading.Thread(target=reader) for _ in range(3)]
        [t.start() for t in threads]
        for i in range(6):
            db.removal.delete_person("g", f"p{i}")
        stop.set()
        [t.join(timeout=60) for t in threads]
        assert errors == [] and reads[0] > 0
        assert db.faces.people("g")["name"].to_list() == ["p6", "p7"]


def test_workbench_app_runs_streamlit_from_the_checkout_with_the_privacy_options(tmp_path, monkeypatch):
    """What `workbench app` execs: its options, its folder (so .streamlit/config.toml applies), its DB."""
    calls: list = []

    def fake_execve(path, argv, env):
        calls.append((argv, env, os.getcwd()))
        raise SystemExit(0)

    monkeypatch.setattr(os, "execve", fake_execve)
    monkeypatch.chdir(tmp_path)  # started from anywhere
    r = CliRunner().invoke(cli, ["--db", "rel/g.duckdb", "app", "--port", "8765"])
    assert r.exit_code == 0, r.output
    argv, env, cwd = calls[0]
    assert Path(cwd) == ROOT and argv[argv.index("run") + 1] == str(ROOT / "app.py")
    assert env["WORKBENCH_DB"] == str(tmp_path / "rel" / "g.duckdb")  # resolved where the user was
    assert argv[argv.index("--browser.gatherUsageStats") + 1] == "false"
    assert argv[argv.index("--server.maxUploadSize") + 1] == str(privacy.MAX_UPLOAD_MB)
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli, ["app", "--classroom"]).exit_code == 0
    assert calls[1][1]["WORKBENCH_DB"] == ":memory:"


@pytest.mark.parametrize("raw, words", [
    ('[{"urls": "stun:cam-net.invalid"', "not valid JSON (Expecting"),
    ('{"urls": "stun:cam-net.invalid"}', "must be a JSON list of servers, not dict"),
    ('[{"url": "stun:cam-net.invalid"}]', 'server 1 is not an object with "urls"'),
    ('[{"urls": "stun:a"}, {"urls": "http://b"}]', "server 2's urls must start with stun:"),
    ('[{"urls": "turn:t", "username": "u", "credential": 7}]', "username and credential must be text"),
])
def test_a_bad_ice_servers_setting_is_said_once_in_words(raw, words, caplog, monkeypatch):
    """Issue 24, point 9: a bad WORKBENCH_ICE_SERVERS used to become [] without a word."""
    from streamlit.testing.v1 import AppTest

    from workbench.app import privacy

    privacy.ice_servers.cache_clear()
    with caplog.at_level("WARNING", logger="workbench"):
        ice = privacy.ice_servers(raw)
        again = privacy.ice_servers(raw)
    assert ice.servers == () and again == ice
    assert words in ice.problem and "uses no STUN/TURN server instead" in ice.problem, ice.problem
    assert [r.getMessage() for r in caplog.records] == [ice.problem]  # once, however often it is read
    assert "cam-net" not in ice.problem and '"u"' not in ice.problem  # the value is not repeated

    def page():
        from workbench.app import ui

        ui.ice_servers()

    monkeypatch.setenv("WORKBENCH_ICE_SERVERS", raw)
    at = AppTest.from_function(page).run()
    assert [w.value for w in at.warning] == [ice.problem]


def test_a_good_ice_servers_setting_is_used_silently(caplog):
    from workbench.app import privacy

    with caplog.at_level("WARNING", logger="workbench"):
        ice = privacy.ice_servers('[{"urls": ["turn:t.example.org"], "username": "u", "credential": "c"}]')
    assert ice.servers == ({"urls": ["turn:t.example.org"], "username": "u", "credential": "c"},)
    assert ice.problem == "" and not caplog.records
