"""Careless input to destructive commands: an empty value never widens what a command does,
deleting a whole gallery needs --yes, and every destructive command says first what it removes.
"""

from __future__ import annotations

import click
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import file_state
from test_bad_inputs import gallery_state

from workbench.cli import cli
from workbench.store import FaceRecord, Store


@pytest.fixture(autouse=True)
def _no_exec(monkeypatch):
    """`workbench app` execs Streamlit: should a blank value ever get through, fail, don't become a server."""
    import os
    import subprocess

    def refuse(*a, **k):
        raise AssertionError(f"a blank value reached the command and started {a[:2]}")

    monkeypatch.setattr(os, "execve", refuse)
    monkeypatch.setattr(subprocess, "call", refuse)


def run(*args) -> click.testing.Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def face(person: str, k: int) -> FaceRecord:
    v = np.random.default_rng([k, len(person)]).normal(size=128).astype(np.float32)
    return FaceRecord(person, f"{person}-{k}", f"{person}/{k}.jpg", [0, 0, 9, 9], [0.0] * 10, {}, 1.0, "hog",
                      v / np.linalg.norm(v))


def fill(db_path):
    """Gallery 'g': ann (2 faces), bob (1 face); 'h': cat. Three logged searches, and a
    few sightings in issue 13's log (rows tied to people)."""
    with Store(db_path) as db:
        ids, _ = db.faces.add("g", [face("ann", 1), face("ann", 2), face("bob", 3)], model="Dlib")
        (cat,), _ = db.faces.add("h", [face("cat", 4)], model="Dlib")
        for gallery, hits in (("g", [ids[0]]), ("g", [ids[2]]), ("h", [cat])):
            db.search_log.add(gallery=gallery, detector="hog", metric="euclidean", threshold=0.6, top_k=1,
                          result_face_ids=[hits], result_distances=[[0.1]], detect_ms=1, embed_ms=1, search_ms=1, model="Dlib")
        people = dict(zip(db.faces.people("g")["name"], db.faces.people("g")["id"]))
        cur = db.db.cursor()  # three sightings of ann and one of bob at the door camera (issue 13's log)
        gid = db.galleries.id("g")
        cur.executemany("INSERT INTO sightings (run_id, gallery_id, camera, person_id) VALUES (1, ?, 'door', ?)",
                        [[gid, people[p]] for p in ("ann", "ann", "ann", "bob")])
        cur.execute("CHECKPOINT")
    return db_path


@pytest.fixture()
def two_people(db_path):
    return fill(db_path)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """The same, once for the many blank-value cases (each checks the file is unchanged)."""
    return fill(tmp_path_factory.mktemp("blank") / "g.duckdb")


def commands(group: click.Group = cli, path: tuple[str, ...] = ()):
    """Every (command path, command) of the CLI, groups included."""
    yield path, group
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from commands(cmd, path + (name,))
        else:
            yield path + (name,), cmd


def _blank_cases():
    cases = []
    for path, cmd in commands():
        for param in cmd.params:
            if isinstance(param, click.Option) and (param.is_flag or param.count or param.name == "help"):
                continue
            cases.append(pytest.param(path, cmd, param, id=" ".join(path + (param.name,)) or param.name))
    return cases


@pytest.mark.parametrize("blank", ["", "  "])
@pytest.mark.parametrize("path, cmd, param", _blank_cases())
def test_a_blank_value_of_any_option_is_one_line_and_changes_nothing(path, cmd, param, blank, shared):
    """Every option and argument of every command, given "" or spaces (a script's unset "$VAR")."""
    args: list[str] = []
    for p in cmd.params:  # every other required value, given something (it is never reached)
        if p is not param and p.required:
            args += [p.opts[0], "x"] if isinstance(p, click.Option) else ["x"]
    if isinstance(param, click.Option):
        args += [param.opts[0], blank]
    else:
        args.insert([q for q in cmd.params if isinstance(q, click.Argument)].index(param), blank)
    prefix = ["--db", str(shared)]
    if path:
        full = prefix + list(path) + args
    else:  # an option of the group itself, before a harmless subcommand
        full = [a for a in prefix if param.name != "db"] + args + ["gallery", "list"]
    before = file_state(shared)  # bytes: cheap; the row counts are compared once, below
    r = run(*full)
    lines = r.stderr.strip().splitlines()
    assert r.exit_code == 1 and len(lines) == 1, (full, r.output)
    name = param.opts[0] if isinstance(param, click.Option) else param.human_readable_name
    assert lines[0] == (f"workbench: {name} is empty: give a value (an empty value never means 'all' or "
                        "'the default'); nothing was changed"), lines
    assert file_state(shared) == before and not shared.with_name(shared.name + ".wal").exists()


def test_after_every_blank_value_the_rows_are_as_they_were(shared):
    assert gallery_state(shared)[1] == {"faces": 4, "galleries": 2, "meta": 3, "people": 3, "searches": 3,
                                        "sightings": 4, "identities": 0, "watch_progress": 0, "watch_runs": 0,
                                        "watch_cameras": 0, "watchlist": 0}


def test_an_empty_person_no_longer_deletes_the_gallery(two_people):
    before = gallery_state(two_people)
    for args in (["--person", ""], ["--person="], ["--person", " "]):
        r = run("--db", two_people, "gallery", "delete", "g", *args)
        assert r.exit_code == 1 and "--person is empty" in r.stderr, r.output
    assert gallery_state(two_people) == before
    with Store(two_people) as db:
        assert db.faces.list("g").height == 3


def test_deleting_a_whole_gallery_needs_yes_and_names_what_goes(two_people):
    before = gallery_state(two_people)
    r = run("--db", two_people, "gallery", "delete", "g")
    assert r.exit_code == 1 and r.stderr.strip().splitlines() == [(
        "workbench: deleting gallery g would remove 2 people, 3 faces, 2 search-log rows and 4 sightings; "
        "add --yes to confirm (nothing was changed)")], r.output
    p = run("--db", two_people, "gallery", "purge", "g")
    assert p.exit_code == 1 and "purging gallery g would remove 2 people, 3 faces" in p.stderr, p.output
    assert gallery_state(two_people) == before

    r = run("--db", two_people, "gallery", "delete", "g", "--yes")
    assert r.exit_code == 0, r.output
    assert "gallery g: removing 2 people, 3 faces, 2 search-log rows and 4 sightings" in r.stderr
    assert "deleted gallery g and its 3 face(s)" in r.stdout
    with Store(two_people) as db:
        assert db.galleries.list()["gallery"].to_list() == ["h"] and db.search_log.rows().height == 1


def test_person_and_face_deletions_say_first_what_they_remove(two_people):
    r = run("--db", two_people, "gallery", "delete", "g", "--person", "ann")
    assert r.exit_code == 0, r.output
    assert "g: ann: removing 1 person, 2 faces, 1 search-log row and 3 sightings" in r.stderr, r.stderr
    with Store(two_people) as db:
        bob = int(db.faces.list("g")["id"][0])
        # a face's deletion leaves its person's sightings; a gallery without sightings names none
        assert db.removal.counts("g", face_id=bob) == {"people": 0, "faces": 1, "searches": 1}
        assert db.removal.counts("h") == {"people": 1, "faces": 1, "searches": 1}
        assert db.removal.counts("g", person="bob") == {"people": 1, "faces": 1, "searches": 1, "sightings": 1}
        assert sum(db.removal.purge_counts().values()) == 2 + 2 + 2 + 2 + 1  # galleries, people, faces, log, bob's sighting
    r = run("--db", two_people, "gallery", "delete", "g", "--face", bob)
    assert r.exit_code == 0 and f"g: face #{bob}: removing 0 people, 1 face and 1 search-log row" in r.stderr, r.output
    r = run("--db", two_people, "gallery", "purge-all")
    assert r.exit_code == 1 and "purge-all would remove" in r.stderr and "1 face" in r.stderr, r.output


def test_the_gallery_page_confirms_each_deletion_with_its_counts(two_people, monkeypatch):
    from test_app import app, open_page

    at = open_page(app(two_people, monkeypatch).run(), "gallery")
    assert [r for r in at.dataframe[0].value["name"]] == ["ann", "bob"]
    at.button(key="del_person_ann").click().run()  # first click: says what would go, deletes nothing
    shown = " ".join(w.value for w in at.warning)
    assert "removes 1 person, 2 faces, 1 search-log row and 3 sightings" in shown, shown
    assert list(at.dataframe[0].value["name"]) == ["ann", "bob"]
    at.button(key="del_person_ann__no").click().run()
    asked = [w.value for w in at.warning if "removes" in w.value]  # (the page also warns who lacks consent)
    assert not asked and list(at.dataframe[0].value["name"]) == ["ann", "bob"]
    at.button(key="del_person_ann").click().run()
    at.button(key="del_person_ann__yes").click().run()
    assert not at.exception
    assert list(at.dataframe[0].value["name"]) == ["bob"]
    labels = [c.label for c in at.checkbox]
    assert any("removes 1 person, 1 face, 1 search-log row" in label for label in labels), labels
