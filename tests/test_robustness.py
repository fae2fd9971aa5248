"""The robustness lab: each degradation changes the pixels as stated (size, blur, JPEG, night,
occlusions), the camera distance a width stands for, error counts per level equal to counts made by
hand from the distances, the gate rule read from the curves, and a small real run on LFW that a
re-run reads back without model time (skipped without ../shared)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from workbench.errors import WorkbenchError
from workbench.evaluation.stats import robustness as rs
from workbench.pipeline import compare, degrade, quality
from workbench.types import Box


def _photo(h: int = 200, w: int = 160) -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _impulse(side: int = 61) -> np.ndarray:
    img = np.zeros((side, side, 3), np.uint8)
    img[side // 2, side // 2] = 255
    return img


def _ref(box=Box(40, 40, 140, 160)) -> degrade.Reference:
    # YuNet's order: right eye (image left), left eye, nose tip, right and left mouth corners
    return degrade.Reference(box, np.array([[70, 85], [110, 85], [90, 110], [74, 132], [106, 132]], np.float32))


def test_width_shrinks_the_whole_photo_so_the_face_is_that_wide_and_never_enlarges():
    img = _photo(250, 250)
    out = degrade.to_width(img, face_width=100, width=24)
    assert out.shape == (60, 60, 3)  # 250 x 24 / 100
    assert degrade.apply(img, degrade.Level(degrade.WIDTH, 24), _ref(Box(0, 0, 100, 120))).shape == (60, 60, 3)
    same = degrade.to_width(img, face_width=100, width=112)
    assert same.shape == img.shape and np.array_equal(same, img) and same is not img
    flat = np.full((100, 100, 3), 77, np.uint8)  # area interpolation keeps a flat grey exactly
    assert np.all(degrade.to_width(flat, 100, 30) == 77)


def _spread(out: np.ndarray) -> tuple[float, float]:
    """Standard deviation of the blurred impulse along x and along y."""
    w = out[:, :, 0].astype(float)
    w /= w.sum()
    ys, xs = np.indices(w.shape)
    cx, cy = (w * xs).sum(), (w * ys).sum()
    return math.sqrt((w * (xs - cx) ** 2).sum()), math.sqrt((w * (ys - cy) ** 2).sum())


def test_gaussian_blur_has_the_stated_sigma_scaled_with_the_face():
    img = _impulse(81).astype(np.float32) * 0 + _impulse(81)
    big = np.zeros((81, 81, 3), np.uint16)
    big[40, 40] = 60000  # a bright impulse so rounding does not hide the tails
    sx, sy = _spread(degrade.gaussian_blur(big.astype(np.float32), 4.0))
    assert sx == pytest.approx(4.0, rel=0.05) and sy == pytest.approx(4.0, rel=0.05)
    # a level is sigma on a 100-px face: on a 50-px face the blur is half as wide
    half = degrade.apply(big.astype(np.float32), degrade.Level(degrade.GAUSSIAN, 4), _ref(Box(10, 10, 60, 70)))
    assert _spread(half)[0] == pytest.approx(2.0, rel=0.05)
    assert img.dtype == np.float32


def test_motion_blur_is_a_horizontal_line_of_the_stated_length():
    big = np.zeros((41, 41, 3), np.float32)
    big[20, 20] = 900.0
    out = degrade.motion_blur(big, 9)
    row = out[20, :, 0]
    assert np.count_nonzero(row) == 9 and np.allclose(row[row > 0], 100.0)
    assert np.count_nonzero(out[:, :, 0]) == 9  # nothing above or below the line


def test_jpeg_is_opencvs_codec_at_that_quality_and_loses_more_as_quality_falls():
    import cv2

    img = _photo()
    q10 = degrade.jpeg(img, 10)
    bgr = cv2.imdecode(cv2.imencode(".jpg", img[:, :, ::-1].copy(), [cv2.IMWRITE_JPEG_QUALITY, 10])[1], 1)
    assert np.array_equal(q10, bgr[:, :, ::-1]) and q10.shape == img.shape
    err = {q: np.abs(degrade.jpeg(img, q).astype(int) - img).mean() for q in (90, 30, 5)}
    assert err[90] < err[30] < err[5]


def test_night_keeps_the_brightness_adds_noise_as_the_light_falls_and_repeats_itself():
    img = np.full((120, 120, 3), 128, np.uint8)
    noise = {}
    for light in (0.3, 0.03):
        lv = degrade.Level(degrade.NIGHT, light)
        out = degrade.apply(img, lv, _ref())
        assert abs(out.mean() - 128) < 2 and np.array_equal(out, degrade.apply(img, lv, _ref()))
        noise[light] = out.astype(float).std()
    # shot noise (variance = electrons) and read noise, amplified by 255 / (FULL_WELL x light)
    electrons = 128 / 255 * degrade.FULL_WELL * 0.03
    expect = math.sqrt(electrons + degrade.READ_NOISE ** 2) * 255 / (degrade.FULL_WELL * 0.03)
    assert noise[0.03] == pytest.approx(expect, rel=0.1) and noise[0.3] < noise[0.03] / 2


def test_occlusions_cover_the_part_of_the_face_they_stand_for():
    img = np.full((200, 180, 3), 200, np.uint8)
    ref = _ref()
    m = degrade.mask(img, ref)
    changed = np.argwhere(np.any(m != img, axis=2))
    # half-way down the nose (85 + 0.45 x 25) to the chin (the box's bottom, 160), anti-aliased edges aside
    assert changed[:, 0].min() >= 85 + 0.45 * (110 - 85) - 2 and changed[:, 0].max() <= 161
    assert np.any(m[120, 90] != 200)  # over the mouth
    g = degrade.sunglasses(img, ref)
    assert g[85, 70].max() < 40 and g[85, 110].max() < 40 and np.array_equal(g[150:], img[150:])
    c = degrade.cap_shadow(img, ref)
    assert c[60, 90].max() == 50 and np.array_equal(c[150], img[150])  # a quarter of the light above the eyes
    assert np.array_equal(c[60, 0], img[60, 0])  # outside the face and a fifth of its width either side


def test_levels_are_checked_and_named():
    assert degrade.parse_level("width-24") == degrade.Level(degrade.WIDTH, 24)
    assert degrade.parse_level("occlusion-cap-shadow").variant == degrade.CAP
    assert degrade.Level(degrade.OCCLUSION, 0, degrade.MASK).id == "occlusion-mask"
    for bad in ("jpeg-0", "night-2", "width-1", "blur-3", "occlusion-hat", "width-x", "width"):
        with pytest.raises(WorkbenchError):
            degrade.parse_level(bad)
    assert len({lv.id for lv in degrade.DEFAULT_LEVELS}) == len(degrade.DEFAULT_LEVELS)


def test_camera_distance_is_the_stated_formula():
    # 24 px over 0.16 m = 150 px/m; 1920 / (2 x 150 x tan 45 deg) = 6.4 m
    assert degrade.camera_distance(24) == pytest.approx(6.4)
    assert degrade.camera_distance(40) == pytest.approx(1920 / (2 * 250))  # IEC 62676-4: 250 px/m
    assert degrade.camera_distance(24, pixels=3840) == pytest.approx(12.8)
    with pytest.raises(WorkbenchError):
        degrade.camera_distance(0)


# -- the counts --------------------------------------------------------------------------------

def test_level_counts_equal_counts_made_by_hand_from_the_distances():
    t, t99 = 0.6, 0.3
    same = np.array([1, 1, 1, 1, 0, 0, 0, 0], bool)
    d = np.array([0.2, 0.5, 0.7, np.inf, 0.25, 0.55, 0.9, np.inf])
    probe = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    found = np.array([True, True, True, False])
    reasons = [None, quality.TOO_SMALL, None, None]
    r = rs.level_rates("m", degrade.WIDTH, 24, "width-24", "w", same=same, distances=d, probe=probe, found=found,
                       reasons=reasons, sizes=np.array([30, 20, 40, 0]), sharpness=np.array([.1, .2, .3, 0]),
                       thresholds=(t, t99))
    # by hand: genuine 0.2 0.5 match, 0.7 and no face miss; impostor 0.25 and 0.55 match
    assert (r.genuine, r.impostor, r.false_non_matches, r.false_matches) == (4, 4, 2, 2)
    assert (r.false_non_matches_99, r.false_matches_99) == (3, 1)  # only 0.2 and 0.25 under 0.3
    # through the gate photo 1 (too small) is not compared: its genuine 0.5 misses, its impostor 0.55 does not match
    assert (r.false_non_matches_gated, r.false_matches_gated) == (3, 1)
    assert (r.photos, r.no_face, r.rejected_total, r.fta) == (4, 1, 1, 2)
    assert dict(r.rejected)[quality.TOO_SMALL] == 1
    assert r.size_median == 30 and r.as_dict()["fnmr_ci_low"] < 0.5 < r.as_dict()["fnmr_ci_high"]


def _rates(combo, value, misses, fms=0, size=30.0, sharp=0.02, genuine=300, impostor=300, kind=degrade.WIDTH):
    return rs.LevelRates(combo, kind, value, f"{kind}-{value:g}", "", genuine, 0, (), genuine, impostor, misses, fms,
                         misses, fms, misses, fms, size, size, sharp, sharp)


def test_half_loss_is_interpolated_between_the_levels_around_it():
    clean = _rates("m", 0, 10)  # 290 true matches; half is 145
    levels = [_rates("m", 32, 20), _rates("m", 24, 100), _rates("m", 16, 200)]  # 280, 200, 100 true matches
    h = rs.half_loss(clean, levels, " px")
    assert h.between == (24, 16) and h.value == pytest.approx(24 + (200 - 145) / (200 - 100) * (16 - 24))
    assert rs.half_loss(clean, levels[:2]).value is None


def test_the_gate_rule_gives_each_model_its_own_minimum_and_the_gate_obeys_it():
    clean_a, clean_b = _rates("a", 0, 4), _rates("b", 0, 4)
    # model a misses twice as many at 16 px only; model b already at 32 px
    a = [_rates("a", 48, 4, size=50), _rates("a", 32, 5, size=34), _rates("a", 24, 8, size=26, sharp=0.012),
         _rates("a", 16, 30, size=17)]
    b = [_rates("b", 48, 5, size=52), _rates("b", 32, 25, size=35), _rates("b", 24, 40, size=27)]
    blur_a = [_rates("a", 2, 5, sharp=0.02, kind=degrade.GAUSSIAN), _rates("a", 4, 60, sharp=0.008, kind=degrade.GAUSSIAN)]
    ga, gb = rs.gate_from_curves(clean_a, a, blur_a), rs.gate_from_curves(clean_b, b, [])
    assert (ga.min_size, ga.size_level, gb.min_size, gb.size_level) == (26, 24, 52, 48)
    assert ga.min_sharpness == 0.012 and ga.blur_level == 2 and gb.min_sharpness is None
    face = (30, 200.0, 0.05, 0.0)  # a sharp, well-lit, frontal face 30 px wide
    gate_a = quality.QualityThresholds(min_size=ga.min_size, min_sharpness=ga.min_sharpness)
    gate_b = quality.QualityThresholds(min_size=gb.min_size)
    assert quality.decide(*face, gate_a) == (None, "")
    reason, rule = quality.decide(*face, gate_b)
    assert reason == quality.TOO_SMALL and "52 px" in rule
    # false matches count too: a level whose FMR is shown to have doubled is not handled
    assert not rs.handled(clean_a, _rates("a", 32, 4, fms=12))
    # a few misses in a small sample do not move a limit: 6 of 100 against 2 of 100 is not shown to double
    assert rs.handled(_rates("c", 0, 2, genuine=100), _rates("c", 32, 6, genuine=100))
    assert not rs.handled(_rates("c", 0, 2, genuine=100), _rates("c", 24, 12, genuine=100))


def test_the_gates_decision_is_unchanged_by_the_refactor(astronaut):
    from workbench.pipeline.detect import detect_faces

    det = detect_faces(astronaut)[0]
    q = quality.assess(astronaut, det)
    assert quality.decide(q.size, q.exposure, q.sharpness, q.yaw) == (q.reason, q.rule)
    small = quality.assess(astronaut, det, quality.QualityThresholds(min_size=q.size + 1))
    assert small.reason == quality.TOO_SMALL and small.rule == f"the face is {q.size} px, the gate needs at least {q.size + 1} px"
    assert compare.default_threshold("Dlib") == 0.6


# -- a small real run (LFW, skipped without ../shared) ---------------------------------------------

def _tiny_pairs(faces, tmp_path) -> tuple:
    """A pairs file of LFW's first two same-person and first two different-person pairs."""
    lines = (faces / "lfw-pairs.txt").read_text().splitlines()
    f = tmp_path / "pairs.txt"
    f.write_text("\n".join(["1 2", lines[1], lines[2], lines[301], lines[302]]) + "\n")
    return f, faces / "lfw"


@pytest.mark.integration
def test_a_small_lfw_run_counts_as_by_hand_and_a_rerun_costs_no_model_time(faces_lfw, tmp_path):
    from workbench.evaluation.datasets import embedding
    from workbench.evaluation.datasets.degraded import PartStore
    from workbench.evaluation.runners import robustness
    from workbench.pipeline import Settings
    from workbench.pipeline.capture import read_bytes, sha256
    from workbench.store import Store

    pairs, lfw = _tiny_pairs(faces_lfw, tmp_path)
    s = Settings(detector="yunet", model="SFace")
    levels = [degrade.Level(degrade.WIDTH, 24), degrade.Level(degrade.OCCLUSION, 0, degrade.MASK)]
    work = tmp_path / "work"
    with Store(tmp_path / "g.duckdb") as db:
        r = robustness.run_lfw(pairs, lfw, [s], levels, folds=[1], db=db, workdir=work)
        parts = sorted(work.iterdir())
        again = robustness.run_lfw(pairs, lfw, [s], levels, folds=[1], db=db, workdir=work)
        assert sorted(work.iterdir()) == parts  # nothing measured twice
        from workbench.evaluation.datasets.lfw import read_pairs

        lp = read_pairs(pairs, lfw).pairs
        _, stats = embedding.embed_files([p.a for p in lp], s, db)
        assert stats.computed == 0  # the first photos came through the embedding cache
        clean, _ = embedding.embed_files([p.a for p in lp] + [p.b for p in lp], s, db)
    assert [x.level for x in r.rows] == ["as-is", "width-24", "occlusion-mask"] and (r.genuine, r.impostor) == (2, 2)
    out = PartStore(work, "lfw").outcomes()
    vec = {e.path: e.vector for e in clean}
    for row, again_row in zip(r.rows, again.rows):
        assert row == again_row
        at = out.select("yunet + SFace", row.level)
        by_hand = []
        for p in lp:
            i = at[sha256(read_bytes(p.b))]
            d = np.inf if out.vectors[i] is None else float(
                compare.distances(vec[p.a], np.asarray(out.vectors[i], np.float32)[None, :], "cosine")[0])
            by_hand.append((p.same, d <= s.threshold_))
        assert row.false_non_matches == sum(same and not m for same, m in by_hand)
        assert row.false_matches == sum(m and not same for same, m in by_hand)
    # what these 4 pairs call for is said beside the gate SFace uses (set from all 6,000 pairs)
    from workbench.evaluation.reports import robustness_report as rr
    from workbench.pipeline.zoo.opencv_models import SFACE_GATE

    assert rr.gate_lines(r)[0].endswith(f". In use: at least {SFACE_GATE.min_size} px, sharpness "
                                        f"{SFACE_GATE.min_sharpness:g}"), rr.gate_lines(r)
    g = rr.tables(r)["robustness_gates"].row(0, named=True)
    assert (g["in_use_min_size"], g["in_use_min_sharpness"]) == (SFACE_GATE.min_size, SFACE_GATE.min_sharpness)
    # the photo as it is gives the vector eval lfw compares
    at = out.select("yunet + SFace", "as-is")
    for p in lp:
        assert np.allclose(out.vectors[at[sha256(read_bytes(p.b))]], vec[p.b], atol=1e-5)


def test_eval_robustness_refuses_bad_input_in_one_line(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from workbench.cli import cli

    monkeypatch.setenv("WORKBENCH_FACES", str(tmp_path))  # no LFW, no UTKFace there
    run = CliRunner().invoke
    for args, words in ((["--levels", "blur-3"], "unknown degradation 'blur'"),
                        (["--levels", "width-2"], "out of range"),
                        (["--folds", "one"], "--folds wants"),
                        ([], "no LFW here"),
                        (["--groups"], "no labelled faces")):
        res = run(cli, ["--db", str(tmp_path / "x.duckdb"), "eval", "robustness", *args])
        assert res.exit_code == 1 and words in res.output, (args, res.output)
        assert "Traceback" not in res.output
    assert not (tmp_path / "x.duckdb").exists()


def test_robustness_page_renders_without_the_data(tmp_path, db_path, monkeypatch):
    from test_app import app, open_page

    monkeypatch.setenv("WORKBENCH_FACES", str(tmp_path))  # no LFW there
    at = open_page(app(db_path, monkeypatch).run(), "robustness")
    assert [t.value for t in at.title] == ["Robustness"] and not at.error
    assert any("not on this machine" in i.value for i in at.info)


@pytest.mark.integration
def test_robustness_page_runs_both_models_on_a_few_pairs(faces_lfw, db_path, monkeypatch):
    from test_app import app, open_page

    at = open_page(app(db_path, monkeypatch).run(), "robustness")
    at.multiselect(key="robust_kinds").set_value(["occlusion"]).run()
    at.select_slider(key="robust_per_fold").set_value(2).run()
    at.button(key="robust_run").click().run(timeout=600)
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = " ".join(m.value for m in at.markdown).replace("\\", "")  # shown literally: Markdown escaped
    assert "A surgical mask: yunet + SFace misses" in shown and "hog + Dlib misses" in shown, shown  # default first
    assert len(at.get("plotly_chart")) == 2 and len(at.dataframe[0].value) == 8  # occlusion, pose; 2 x (as is + 3)
