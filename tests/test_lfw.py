"""LFW: the View-2 reader, the 10-fold protocol, TAR at FAR and FNIR at FPIR against counts made
by hand, the face choice and the whole-image fallback, and `workbench eval lfw` on a few pairs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from workbench.errors import WorkbenchError
from workbench.evaluation.datasets import embedding, lfw
from workbench.evaluation.runners import lfw as lfw_runs
from workbench.evaluation.stats import protocols
from workbench.pipeline import Settings
from workbench.types import Box, Detection, Embedding, Face, Quality


@pytest.mark.integration
def test_the_reader_yields_6000_pairs_in_10_folds(faces_lfw):
    r = lfw.read_pairs(faces_lfw / "lfw-pairs.txt", faces_lfw / "lfw")
    assert len(r.pairs) == 6000 and r.n_folds == 10
    assert np.bincount(r.folds).tolist() == [600] * 10
    same = np.array([p.same for p in r.pairs])
    for k in range(10):  # each fold: 300 same-person pairs, then 300 different-person pairs
        assert same[r.folds == k].tolist() == [True] * 300 + [False] * 300
    first = r.pairs[0]
    assert first.a.endswith("lfw/Abel_Pacheco/Abel_Pacheco_0001.jpg") and first.b.endswith("Abel_Pacheco_0004.jpg")


def test_the_reader_refuses_bad_files_with_one_line(tmp_path):
    (tmp_path / "A" ).mkdir()
    for i in (1, 2):
        (tmp_path / "A" / f"A_000{i}.jpg").write_bytes(b"x")
    cases = {"bad header": "ten 1\nA 1 2\nA 1 A 2\n", "too few lines": "1 1\nA 1 2\n",
             "wrong form": "1 1\nA 1 A 2\nA 1 2\n", "missing photo": "1 1\nA 1 3\nA 1 A 2\n"}
    for why, text in cases.items():
        (tmp_path / "pairs.txt").write_text(text)
        with pytest.raises(WorkbenchError) as exc:
            lfw.read_pairs(tmp_path / "pairs.txt", tmp_path)
        assert "\n" not in str(exc.value), why
    (tmp_path / "pairs.txt").write_text("1 1\nA 1 2\nA 1 A 2\n")
    assert len(lfw.read_pairs(tmp_path / "pairs.txt", tmp_path).pairs) == 2


def test_ten_fold_protocol_chooses_each_threshold_on_the_other_folds():
    # fold 0's genuine pair sits at 0.5; the other folds' genuine pairs at 0.1, impostors at 0.9:
    # trained without fold 0, the threshold lands between 0.1 and 0.9 (the midpoint 0.5 is not
    # reached: the best candidates are midpoints between 0.1 and 0.9)
    dist = np.array([0.55, 0.9, 0.1, 0.9, 0.1, 0.9, 0.1, np.inf])
    same = np.array([1, 0, 1, 0, 1, 0, 1, 0], bool)
    folds = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    tf = protocols.ten_fold_accuracy(dist, same, folds)
    assert np.allclose(tf.thresholds[1:], tf.thresholds[1])
    assert tf.thresholds[0] == pytest.approx(0.5)  # midpoint of 0.1 and 0.9
    assert tf.per_fold.tolist() == [0.5, 1.0, 1.0, 1.0]  # 0.55 > 0.5: fold 0's genuine pair is missed
    assert tf.mean == pytest.approx(0.875) and tf.sd == pytest.approx(np.std([0.5, 1, 1, 1], ddof=1))
    assert np.isnan(protocols.ten_fold_accuracy(dist, same, np.zeros(8)).mean)  # one fold: no figure


def test_tar_at_far_and_fnir_at_fpir_against_hand_counts():
    impostor = np.array([0.2, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, np.inf])  # 10 impostor pairs
    genuine = np.array([0.1, 0.3, 0.45, 0.55, np.inf])
    t = protocols.tar_at_far(genuine, impostor, 0.1)  # one false accept allowed: threshold just under 0.5
    assert t.false_accepts == 1 and 0.45 <= t.threshold < 0.5 and t.tar == pytest.approx(3 / 5) and t.supported
    assert not protocols.tar_at_far(genuine, impostor, 0.01).supported  # 10 impostors cannot measure 1 %
    m = protocols.fnir_at_fpir(best_nonmated=impostor, mate_dist=np.array([0.1, 0.3, 0.6, np.inf]),
                               mate_rank1=np.array([True, False, True, False]), fpir=0.1)
    assert m.false_alarms == 1 and m.fnir == pytest.approx(3 / 4)  # only the first: rank 1 and under


def _face(box: Box) -> Face:
    det = Detection(box, ((0.0, 0.0),) * 5, 1.0, "hog")
    return Face(det, Quality(50, 100.0, 100.0, 0.0), Embedding(np.ones(128, np.float32), "Dlib"))


def test_face_choice_largest_or_central():
    bystander = _face(Box(180, 0, 250, 90))  # larger, at the edge
    subject = _face(Box(95, 95, 155, 155))  # centred
    faces = [bystander, subject]  # largest first, as analyses list them
    assert embedding.pick_face(faces, (250, 250, 3), "largest") is bystander
    assert embedding.pick_face(faces, (250, 250, 3), "central") is subject
    assert embedding.pick_face([], (250, 250, 3), "central") is None
    with pytest.raises(WorkbenchError):
        embedding.pick_face(faces, (250, 250, 3), "leftmost")


def test_whole_image_fallback_is_counted_not_hidden(blank_png, db_path):
    from workbench.store import Store

    s = Settings(detector="yunet", model="SFace")
    with Store(db_path) as db:
        plain = lfw_runs.enrol_photos([str(blank_png)], s, db, rule="central")
        assert plain.no_face == [str(blank_png)] and plain.whole_image == 0
        whole = lfw_runs.enrol_photos([str(blank_png)], s, db, rule="central", whole_image=True)
        assert whole.no_face == [] and whole.whole_image == 1 and whole.vectors[str(blank_png)].shape == (128,)
        again = lfw_runs.enrol_photos([str(blank_png)], s, db, rule="central", whole_image=True)
        assert again.stats.hits == 1 and again.whole_image == 1  # each choice is cached under its own key


@pytest.mark.integration
def test_eval_lfw_cli_on_a_few_pairs_of_two_folds(faces_lfw, tmp_path):
    from workbench.cli import cli

    full = (faces_lfw / "lfw-pairs.txt").read_text().splitlines()
    # 2 folds of 2 same + 2 different pairs, taken from the real protocol
    lines = ["2 2"] + full[1:3] + full[301:303] + full[601:603] + full[901:903]
    (tmp_path / "pairs.txt").write_text("\n".join(lines) + "\n")
    out = CliRunner().invoke(cli, ["--db", str(tmp_path / "c.duckdb"), "eval", "lfw", "--pairs",
                                   str(tmp_path / "pairs.txt"), "--lfw", str(faces_lfw / "lfw"), "--json",
                                   "--report", str(tmp_path / "rep")])
    assert out.exit_code == 0, out.output
    res = json.loads(out.stdout, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    photos = {q for p in lfw.read_pairs(tmp_path / "pairs.txt", faces_lfw / "lfw").pairs for q in (p.a, p.b)}
    assert [r["label"] for r in res["results"]] == ["yunet + SFace", "hog + Dlib"]  # the default first, then the 2017 pair
    for r in res["results"]:
        assert r["pairs"] == 8 and len(r["ten_fold_per_fold"]) == 2 and r["face_rule"] == "central"
        assert r["images"] == len(photos) and r["failures_to_enrol"] == 0 and r["ten_fold_accuracy"] >= 0.75
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "ROC on LFW" in html and "DET on LFW" in html and "hog + Dlib" in html and "yunet + SFace" in html
    assert (tmp_path / "rep" / "lfw_summary.csv").is_file() and (tmp_path / "rep" / "lfw_pairs.parquet").is_file()
    bad = CliRunner().invoke(cli, ["eval", "lfw", "--pairs", str(tmp_path / "pairs.txt"), "--lfw",
                                   str(faces_lfw / "lfw"), "--combo", "yunet-SFace"])
    assert bad.exit_code == 1 and "DETECTOR:MODEL" in bad.output
