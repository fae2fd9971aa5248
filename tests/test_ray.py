"""Ray in the suite: one local cluster per session (tests/conftest.py). It listens on
loopback only; cameras as actors give the same sightings as the local path; an enrolment
spread over the cluster stores the same faces."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import psutil
import pytest
from click.testing import CliRunner
from footage import write_footage

from workbench.store import Store

A, B, C = "obama", "angelina_jolie", "kit_harington"
LOOPBACK = ("127.0.0.1", "::1", "::ffff:127.0.0.1")


def _listening(pids: set[int]) -> list[tuple[str, int, str]]:
    """``(address, pid, process)`` of every TCP/UDP socket listening in ``pids`` (ss, else psutil)."""
    import re

    out = []
    if shutil.which("ss"):
        text = subprocess.run(["ss", "-ltnupH"], capture_output=True, text=True, check=True).stdout
        for line in text.splitlines():
            for name, pid in re.findall(r'\("([^"]+)",pid=(\d+)', line):
                if int(pid) in pids:
                    local = line.split()[4]
                    out.append((local.rsplit(":", 1)[0].strip("[]"), int(pid), name))
        return out
    for c in psutil.net_connections(kind="inet"):
        if c.pid in pids and (c.status == psutil.CONN_LISTEN or not c.raddr):
            out.append((c.laddr.ip, c.pid, psutil.Process(c.pid).name()))
    return out


def test_the_local_ray_cluster_listens_on_loopback_only(ray_cluster):
    import ray

    @ray.remote
    def pid() -> int:
        import os

        return os.getpid()

    ray.get([pid.remote() for _ in range(2)])  # workers up, listening too
    pids = {p.pid for p in psutil.Process().children(recursive=True)}
    sockets = _listening(pids)
    names = {n for _, _, n in sockets}
    assert {"gcs_server", "raylet"} <= names, sockets  # the check sees Ray's servers at all
    outside = [s for s in sockets if s[0] not in LOOPBACK]
    assert outside == [], outside


@pytest.fixture(scope="module")
def small_clip(cast, tmp_path_factory):
    from workbench.search.enrol import Source, enrol_sources
    tmp = tmp_path_factory.mktemp("ray")
    write_footage(tmp / "gate.mp4", [(A, cast.photo(A, 2)), (C, cast.photo(C, 1)), (B, cast.photo(B, 2))])
    db = tmp / "ray.duckdb"
    with Store(db) as g:
        enrol_sources(g, "city", [Source("a", A, cast.photo(A, 1)), Source("b", B, cast.photo(B, 1))],
                      workers=1)
    return tmp, db


def test_cameras_as_ray_actors_give_the_same_sightings_as_the_local_path(ray_cluster, small_clip):
    from workbench.live.cameras import parse_sources
    from workbench.live.watch import Watch, WatchOptions

    tmp, db_path = small_clip
    specs = parse_sources([f"gate={tmp / 'gate.mp4'}", f"side={tmp / 'gate.mp4'}"])
    # both paths embed inline here, so both decide on the same frames
    options = WatchOptions("city", fast=True, restart=True, embed_async=False, keep_chips=True)
    seen = {}
    with Store(db_path) as db:
        for runner in ("local", "ray"):
            summary = Watch(db, specs, options, runner=runner).run()
            assert [c.state for c in summary.cameras] == ["ended", "ended"], summary.as_dict()
            rows = db.sightings.query("city", run_id=summary.run_id)
            seen[runner] = sorted((r["camera"], r["who"], r["first_frame"], r["last_frame"], r["has_chip"])
                                  for r in rows.iter_rows(named=True))
    assert seen["local"] and {w for _, w, *_ in seen["local"]} >= {A, B}
    assert seen["ray"] == seen["local"]


def test_enrol_spread_over_ray_stores_the_same_faces(ray_cluster, cast, tmp_path):
    from workbench.cli import cli

    folder = tmp_path / "people"
    for person in (A, B):
        (folder / person).mkdir(parents=True)
        for n in (1, 2, 3):
            shutil.copy(cast.photo(person, n), folder / person)
    vectors = {}
    for mode, extra in (("local", []), ("ray", ["--ray"])):
        db = tmp_path / f"{mode}.duckdb"
        r = CliRunner().invoke(cli, ["--db", str(db), "enrol", str(folder), "--gallery", "g", "--consent", *extra, "--json"])
        assert r.exit_code == 0, r.output
        with Store(db) as g:
            assert g.galleries.model("g") == "SFace"  # a new gallery: the default, on Ray as locally
            f = g.vectors.table("g", "SFace").sort("image_sha256")
        vectors[mode] = (f["person"].to_list(), np.stack(f["embedding"].to_list()))
    assert vectors["ray"][0] == vectors["local"][0] and len(vectors["ray"][0]) == 6
    assert np.allclose(vectors["ray"][1], vectors["local"][1], atol=1e-5)
