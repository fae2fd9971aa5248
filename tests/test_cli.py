"""The `workbench` CLI contract, on the packaged astronaut photo (no shared data needed)."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import file_state
from PIL import Image

from workbench.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_detect_json(astronaut_png):
    r = run("detect", astronaut_png, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    face = out["faces"][0]
    assert set(face) >= {"box", "landmarks", "score", "quality", "reason", "accepted"}
    assert len(face["box"]) == 4 and len(face["landmarks"]) == 5 and face["accepted"]


def test_verify_json_keys(astronaut_png, tmp_path, astronaut):
    mirrored = tmp_path / "mirror.jpg"
    Image.fromarray(np.ascontiguousarray(astronaut[:, ::-1])).save(mirrored)
    r = run("verify", astronaut_png, mirrored, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert set(out) >= {"verified", "distance", "threshold", "similarity", "model", "detector"}
    assert out["verified"] is True and out["model"] == "SFace" and out["detector"] == "yunet"  # the default pair


def test_enrol_search_and_gallery_commands(astronaut_png, db_path, tmp_path):
    r = run("--db", db_path, "enrol", astronaut_png, "--gallery", "g", "--person", "eileen", "--consent")
    assert r.exit_code == 0, r.output
    assert "enrolled 1 face" in r.stdout
    again = run("--db", db_path, "enrol", astronaut_png, "--gallery", "g", "--person", "eileen", "--consent")
    assert again.exit_code == 0 and "1 already enrolled" in again.stdout
    s = run("--db", db_path, "search", astronaut_png, "--gallery", "g", "--json")
    assert s.exit_code == 0, s.output
    best = json.loads(s.stdout)["faces"][0]["matches"][0]
    assert best["person"] == "eileen" and best["match"] and best["distance"] < 0.01
    show = run("--db", db_path, "gallery", "show", "g", "--json")
    people = json.loads(show.stdout)["people"]
    assert people[0]["name"] == "eileen" and people[0]["consent"] is True
    assert "g: 1 people, 1 faces" in run("--db", db_path, "gallery", "list").stdout
    pq = tmp_path / "g.parquet"
    assert run("--db", db_path, "gallery", "export", "g", pq).exit_code == 0 and pq.is_file()
    assert run("--db", db_path, "gallery", "purge", "g", "--yes").exit_code == 0
    imp = run("--db", db_path, "gallery", "import", pq)
    assert imp.exit_code == 0 and "imported 1 face" in imp.stdout
    assert run("--db", db_path, "gallery", "delete", "g", "--yes").exit_code == 0
    assert "no galleries" in run("--db", db_path, "gallery", "list").stdout


def test_db_from_environment(astronaut_png, tmp_path, monkeypatch):
    env_db = tmp_path / "env.duckdb"
    monkeypatch.setenv("WORKBENCH_DB", str(env_db))
    assert run("enrol", astronaut_png, "--gallery", "g", "--consent").exit_code == 0
    assert env_db.is_file()


@pytest.fixture()
def bad_inputs(tmp_path, blank_png):
    zero = tmp_path / "zero.jpg"
    zero.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)
    return {"missing": tmp_path / "missing.jpg", "zero-byte": zero, "non-image": text,
            "corrupt": corrupt, "no face": blank_png}


@pytest.mark.parametrize("kind", ["missing", "zero-byte", "non-image", "corrupt", "no face"])
def test_bad_input_is_one_line_nonzero_and_writes_nothing(kind, bad_inputs, astronaut_png, db_path):
    run("--db", db_path, "enrol", astronaut_png, "--gallery", "g", "--consent")
    before = file_state(db_path)
    bad = bad_inputs[kind]
    for args in (["detect", bad], ["verify", bad, astronaut_png], ["search", bad, "--gallery", "g"],
                 ["enrol", bad, "--gallery", "g", "--consent"]):
        r = run("--db", db_path, *args)
        assert r.exit_code != 0, (args, r.output)
        err_lines = r.stderr.strip().splitlines()
        assert "Traceback" not in r.output and len(err_lines) == 1, (args, r.output)
        assert err_lines[0].startswith("workbench: "), err_lines
    assert file_state(db_path) == before


def test_unknown_gallery_and_missing_db(astronaut_png, db_path):
    run("--db", db_path, "enrol", astronaut_png, "--gallery", "g", "--consent")
    before = file_state(db_path)
    r = run("--db", db_path, "search", astronaut_png, "--gallery", "nope")
    assert r.exit_code == 1 and "unknown gallery 'nope'" in r.stderr
    assert file_state(db_path) == before
    other = db_path.with_name("none.duckdb")
    r = run("--db", other, "search", astronaut_png, "--gallery", "g")
    assert r.exit_code == 1 and "no database here" in r.stderr and not other.exists()
