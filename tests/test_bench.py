import json

from click.testing import CliRunner

from workbench.bench import synthetic
from workbench.bench.detect import bench_detect
from workbench.bench.search import bench_search, loop_top_k
from workbench.cli import cli


def test_vectorised_search_agrees_with_the_loop_baseline():
    rows = bench_search([50, 500], repeat=1)
    assert [r.gallery_size for r in rows] == [50, 500]
    assert all(r.same_answer and r.vectorised_ms > 0 and r.loop_ms > 0 for r in rows)


def test_loop_baseline_is_a_true_nearest_neighbour():
    m = synthetic.gallery_matrix(200)
    q = m.vectors[17]
    assert loop_top_k(q, m.vectors, 1) == [17]


def test_bench_cli_json():
    r = CliRunner().invoke(cli, ["bench", "search", "--sizes", "100,300", "--json"])
    assert r.exit_code == 0, r.output
    assert [row["gallery_size"] for row in json.loads(r.stdout)] == [100, 300]
    bad = CliRunner().invoke(cli, ["bench", "search", "--sizes", "ten"])
    assert bad.exit_code == 1 and "integers" in bad.stderr


def test_detect_bench_reports_each_cap(astronaut):
    import cv2

    big = cv2.resize(astronaut, (1600, 1600))
    rows = bench_detect(big, [800], repeat=1)
    assert [r.max_side for r in rows] == [None, 800]
    assert rows[0].speedup_vs_full == 1.0 and all(r.faces >= 1 for r in rows)


def test_explain_bench_times_a_map_per_face_against_one_plain_embedding(demo_photos, blank_png):
    photo = demo_photos / "face-recognition-examples/knn_examples/train/obama/obama.jpg"
    r = CliRunner().invoke(cli, ["bench", "explain", str(photo), str(blank_png), "--steps", "2", "--repeat", "1",
                                 "--json"])
    assert r.exit_code == 0, r.output
    rows = {row["model"]: row for row in json.loads(r.stdout)}
    assert set(rows) == {"Dlib", "SFace"}  # every model with chips; the blank photo has no face: skipped
    assert all(row["faces"] == 1 and row["embeddings_per_map"] == 2 * 2 + 2 and row["ratio"] > 0
               for row in rows.values())
    assert rows["Dlib"]["chip_side"] == 150 and rows["SFace"]["chip_side"] == 112
