"""The search of the sightings log without models: the range search gives a full scan's answer,
every read of the log's vectors names its model, deleting a person removes their sightings'
vectors (bytes) and the searches that returned them, naming an identity keeps its sightings
searchable, camera positions are read strictly, and the route is drawn with nothing fetched."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from workbench.bench import synthetic
from workbench.errors import ModelMismatchError, WorkbenchError
from workbench.live import route
from workbench.live.follow import FollowResult, Hit
from workbench.pipeline import compare
from workbench.search.index.exact import PRUNE_MIN, ExactIndex
from workbench.search.log_search import LogIndex, index_for, scan
from workbench.store import FaceRecord, SearchAudit, SightingMatrix, SightingRow, Store
from workbench.types import Embedding

NOW = dt.datetime(2026, 12, 1, 9, 0, 0)


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    return np.vstack([c.vectors for c in synthetic.clustered(n, seed=seed, queries=0)])


@pytest.mark.parametrize("n", [500, PRUNE_MIN + 5_000])
def test_the_range_search_returns_a_full_scans_answer(n):
    """The index's range search keeps every vector within the radius (a hair of slack for float32
    rounding), with and without its lower bound; the log search, deciding on the one distance
    formula, returns exactly what a plain scan returns."""
    v = _vectors(n)
    ids = np.arange(10, 10 + n, dtype=np.int64)
    index = ExactIndex(ids, v)
    assert (index._axes is not None) == (n >= PRUNE_MIN)  # both paths: with and without the bound
    m = SightingMatrix(ids, v, "Dlib", "g")
    log = LogIndex(m, "euclidean")
    for k, radius in enumerate((0.3, 0.5, 0.6, 0.75)):
        q = v[(k * 97) % n] + np.float32(0.01)
        d = np.linalg.norm(v.astype(np.float64) - q, axis=1)
        got_d, got = index.within(q, radius)
        assert set(ids[d <= radius - 1e-4].tolist()) <= set(got.tolist()), radius
        assert np.all(d[got - 10] <= radius + 1e-3) and np.all(np.diff(got_d) >= 0)
        found = log.within(Embedding(q, "Dlib"), radius, 0.6)
        assert sorted(f.sighting_id for f in found) == sorted(scan(m, Embedding(q, "Dlib"), "euclidean", radius).tolist())
        assert len(found) >= 1 and [f.distance for f in found] == sorted(f.distance for f in found)


def test_the_cosine_log_search_equals_a_scan_and_refuses_another_models_probe():
    v = _vectors(2_000, seed=3)
    m = SightingMatrix(np.arange(2_000, dtype=np.int64), v, "SFace", "g")
    idx = index_for(m, "cosine")
    assert index_for(m, "cosine") is idx and isinstance(idx, LogIndex)
    probe = Embedding(v[7] * 3.0, "SFace")  # a longer vector: cosine ignores the length
    found = idx.within(probe, 0.05, 0.637)
    d = compare.distances(probe.vector, v, "cosine")
    assert [f.sighting_id for f in found] == sorted(np.flatnonzero(d <= 0.05).tolist(), key=lambda i: (d[i], i))
    assert found[0].sighting_id == 7 and found[0].similarity > 99
    with pytest.raises(ModelMismatchError, match="holds SFace vectors"):
        idx.within(Embedding(v[7], "Dlib"), 0.05, 0.637)


def _face(person: str, seed: int) -> FaceRecord:
    rng = np.random.default_rng(seed)
    return FaceRecord(person, f"sha-{person}-{seed}", person, [0, 0, 9, 9], [0.0] * 10, {}, 1.0, "hog",
                      (rng.normal(size=128) / 11).astype(np.float32))


def _marked(tag: int) -> np.ndarray:
    """A vector whose float32 bytes are easy to find in the file."""
    return np.full(128, 1.0 + tag / 1024, np.float32)


def _log(db: Store, rows: list[tuple[str, int | None, np.ndarray]]) -> tuple[int, list[int]]:
    run = db.runs.start(gallery="g", model="Dlib", detector="hog", metric="euclidean", threshold=0.6,
                        alert_threshold=0.6, identity_threshold=0.5, sources=["a=a.mp4"], mode="local",
                        keep_chips=False)
    ids = db.runs.allocate_ids("sighting_ids", len(rows))
    db.sightings.write_batch(run, "g", "Dlib", [
        SightingRow(sid, cam, f"{cam}.mp4", k, 1, k * 10, k * 10 + 9, k, k + 0.9, NOW, NOW, pid, pid, None,
                    0.3 if pid else None, 90.0 if pid else None, 0.6, "Dlib", (1, 2, 30, 40), embedding=v)
        for k, (sid, (cam, pid, v)) in enumerate(zip(ids, rows))])
    return run, ids


@pytest.fixture()
def log(db_path):
    db = Store(db_path)
    db.db.cursor().execute("SET force_compression = 'uncompressed'")
    db.faces.add("g", [_face("ann", 1), _face("bob", 2)], model="Dlib")
    who = dict(db.faces.people("g").select("name", "id").iter_rows())
    _, ids = _log(db, [("north", who["ann"], _marked(1)), ("south", who["ann"], _marked(2)),
                       ("north", who["bob"], _marked(3)), ("south", None, _marked(4))])
    yield db, db_path, who, ids
    db.close()


def test_every_sighting_vector_is_read_for_one_model_and_followed_as_the_log_changes(log):
    db, _, who, ids = log
    m = db.sighting_vectors.matrix("g", "Dlib")
    assert m.ids.tolist() == ids and m.vectors.shape == (4, 128) and m.unsearchable == 0
    assert db.sighting_vectors.matrix("g", "Dlib") is m  # cached while the log stays as it is
    with pytest.raises(ModelMismatchError, match="holds Dlib vectors, and SFace vectors are never compared"):
        db.sighting_vectors.matrix("g", "SFace")
    _log(db, [("gate", None, _marked(5)), ("gate", who["bob"], None)])
    again = db.sighting_vectors.matrix("g", "Dlib")
    assert again is not m and again.size == 5 and again.unsearchable == 1


def test_deleting_a_person_removes_their_sightings_vectors_and_the_searches_that_returned_them(log):
    db, path, who, ids = log
    audit = SearchAudit(client="test", result_sighting_ids=((ids[0], ids[1]),), sightings_searched=4)
    db.search_log.add(gallery="g", model="Dlib", detector="hog", metric="euclidean", threshold=0.6, top_k=2,
                      result_face_ids=[[]], result_distances=[[0.1, 0.2]], detect_ms=0, embed_ms=0, search_ms=0,
                      source="sightings: ann.jpg", audit=audit)
    db.search_log.add(gallery="g", model="Dlib", detector="hog", metric="euclidean", threshold=0.6, top_k=1,
                      result_face_ids=[[]], result_distances=[[0.1]], detect_ms=0, embed_ms=0, search_ms=0,
                      source="sightings: bob.jpg", audit=SearchAudit(client="test", result_sighting_ids=((ids[2],),)))
    db.db.cursor().execute("CHECKPOINT")
    data = path.read_bytes()
    assert all(_marked(t).tobytes()[:64] in data for t in (1, 2, 3, 4)), "the check could not see the vectors at all"
    assert db.removal.counts("g", person="ann") == {"people": 1, "faces": 1, "searches": 1, "sightings": 2}
    db.removal.delete_person("g", "ann")
    data = path.read_bytes()
    assert not any(_marked(t).tobytes()[:64] in data for t in (1, 2)) and _marked(3).tobytes()[:64] in data
    assert [x for x in db.search_log.rows()["source"].to_list() if x.startswith("sightings")] == ["sightings: bob.jpg"]
    assert db.sighting_vectors.matrix("g", "Dlib").ids.tolist() == ids[2:]
    db.removal.delete_gallery("g")
    assert not any(_marked(t).tobytes()[:64] in path.read_bytes() for t in (3, 4))


def test_naming_an_identity_keeps_its_sightings_searchable_until_the_person_is_deleted(db_path):
    from workbench.search import clusters

    db = Store(db_path)
    db.galleries.create("g", "Dlib")
    book = clusters.IdentityBook.load(db, "g", model="Dlib", metric="euclidean", threshold=0.5)
    iid, _, _ = book.assign(_marked(9), lambda: db.runs.allocate_ids("identity_ids", 1)[0])
    run = db.runs.start(gallery="g", model="Dlib", detector="hog", metric="euclidean", threshold=0.6,
                        alert_threshold=0.6, identity_threshold=0.5, sources=[], mode="local", keep_chips=False)
    sid = db.runs.allocate_ids("sighting_ids", 1)[0]
    db.sightings.write_batch(run, "g", "Dlib", [SightingRow(sid, "a", "a.mp4", 1, 1, 0, 9, 0, 0.3, NOW, NOW, None,
                                                            None, iid, None, None, 0.6, "Dlib", (1, 2, 3, 4),
                                                            embedding=_marked(9))], identities=book.changes())
    db.identities.name("g", iid, "someone", model="Dlib", consent=True)
    assert db.sighting_vectors.matrix("g", "Dlib").ids.tolist() == [sid]
    assert db.sightings.query("g", ids=[sid])["who"].to_list() == ["someone"]
    db.removal.delete_person("g", "someone")
    assert db.sighting_vectors.matrix("g", "Dlib").size == 0
    db.close()


@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (b"camera,north,east\na,1,2\n", "must name a camera column"),
    (b"camera,x,y\na,1\n", "row 2 has 2 values"),
    (b"camera,x,y\na,nan,2\n", "not a finite number"),
    (b"camera,x,y\na,1e999,2\n", "not a finite number"),
    (b"camera,lon,lat\na,2.3,95\n", "from -90 to 90"),
    (b"camera,x,y\na,1,2\na,3,4\n", "listed twice"),
    (b"camera,x,y\n,1,2\n", "no camera name"),
    (b"camera,x,y\n", "no camera listed"),
    (b"\xff\xfe\x00garbage", "cannot read"),
])
def test_camera_positions_are_read_strictly_in_one_line(content, words):
    with pytest.raises(WorkbenchError, match=words):
        route.read_positions(content, "plan.csv")


def _hit(rank: int, sid: int, camera: str, t: float, *, source: str = "clip.mp4", wall: int = 0) -> Hit:
    seen = NOW + dt.timedelta(seconds=wall)
    return Hit(rank, sid, 1, camera, source, sid, "unknown 0001", t, t + 1.0, seen, seen + dt.timedelta(seconds=1),
               0.4, 95.0, False)


def _result(hits: list[Hit]) -> FollowResult:
    return FollowResult("g", "Dlib", "hog", "euclidean", 0.6, 0.6, "probe.jpg", "1 face found", 100, 0,
                        tuple(hits), None, 1.0)


def test_the_route_is_in_time_order_and_drawn_with_nothing_fetched(tmp_path):
    plan = route.read_positions(b"camera,x,y\nnorth,0,10\nsouth,30,0\n<b>hall</b>,15,15\n", "plan.csv")
    assert plan.kind == "xy" and plan.positions["<b>hall</b>"] == (15.0, 15.0)
    r = _result([_hit(1, 10, "south", 4.0), _hit(2, 11, "north", 1.0), _hit(3, 12, "north", 2.5),
                 _hit(4, 13, "roof", 6.0)])
    stops = route.route(r, plan)
    assert [(s.camera, s.when()) for s in stops] == [("north", "1.0-3.5 s"), ("south", "4.0-5.0 s"),
                                                    ("roof", "6.0-7.0 s")]
    assert stops[2].position is None  # not on the plan: named under the chart
    fig = route.route_figure(r, plan)
    assert "http" not in fig.to_json()  # no tile server, no topojson, no image from anywhere
    layout = {k: v for k, v in fig.to_dict()["layout"].items() if k != "template"}
    assert not {"mapbox", "map", "geo"} & set(layout) and {t.type for t in fig.data} == {"scatter"}
    spec = json.dumps({"data": fig.to_dict()["data"], "layout": layout})
    assert "not on the plan: 3. roof" in spec and "&lt;b&gt;hall&lt;/b&gt;" in spec and "<b>hall" not in spec
    arrows = [a for a in fig.layout.annotations if a.showarrow]
    assert [(a.ax, a.ay, a.x, a.y) for a in arrows] == [(0, 10, 30, 0)]
    live = _result([_hit(1, 20, "gate", 0.0, source="rtsp://cam:554/s", wall=30),
                    _hit(2, 21, "door", 0.0, source="0", wall=5)])
    assert [s.camera for s in route.route(live)] == ["door", "gate"]  # live sources: by the wall clock
    assert live.hits[0].when().startswith("2026-12-01 09:00:30")


def test_the_route_page_opens_in_chromium_without_a_request_leaving_the_machine(tmp_path):
    import plotly.io as pio

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("Debian's chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    plan = route.read_positions(b"camera,lon,lat\nnorth,2.35,48.85\nsouth,2.36,48.86\n", "plan.csv")
    fig = route.route_figure(_result([_hit(1, 1, "north", 1.0), _hit(2, 2, "south", 3.0)]), plan)
    page_file = tmp_path / "route.html"
    page_file.write_text(pio.to_html(fig, include_plotlyjs=True, full_html=True))
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.on("request", lambda req: requests.append(req.url))
        page.goto(page_file.as_uri())
        page.wait_for_selector(".scatterlayer .point", timeout=60_000)
        points = page.locator(".scatterlayer .point").count()
        browser.close()
    assert points >= 4  # two cameras and two stops
    assert all(u.startswith(("file://", "data:", "about:")) for u in requests), requests
    json.dumps(requests)


def test_bench_sightings_runs_at_a_tiny_size(tmp_path):
    from click.testing import CliRunner

    from workbench.cli import cli

    r = CliRunner().invoke(cli, ["bench", "sightings", "--size", "3000", "--probes", "6", "--cameras", "3",
                                 "--workdir", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["sightings"] == 3000 and out["probes"] == 6 and out["same_answers"] is True
    assert 0 < out["own_found_per_probe"] <= out["own_logged_per_probe"] and out["found_per_probe"] >= 1
    assert out["vector_bytes_per_sighting"] > 100 and out["sightings_per_s"] > 0
