"""The one scale answer (issue 21, part 4): one library call for "false candidates per search of an
innocent person in a gallery of N faces", the same figure from the CLI, the Story, the reports and
the sightings log; a small basis leads with its range and its number of comparisons; an LFW
reference built by hand (here: a few dozen photos) is counted pair by pair; per-group figures
come from UTKFace's labels."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from click.testing import CliRunner

from workbench.cli import cli
from workbench.evaluation.runners import scale_reference
from workbench.evaluation.stats import scale
from workbench.pipeline import Settings, compare
from workbench.store import Store, references


#: hog + Dlib (not the default SFace): the fastest pair, and the one the figures by hand used.
DLIB = Settings(model="Dlib")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _printed(output: str, size: int, similarity: float) -> str:
    """The CLI's sentence for one gallery size and similarity."""
    key = f"in a gallery of {size:,} faces at {similarity:g} % similarity"
    lines = [ln.strip() for ln in output.splitlines() if key in ln]
    assert len(lines) == 1, output
    return lines[0]


# -- pure: the counts path is the distances path ----------------------------------------------

def test_counts_per_cluster_give_the_same_answer_as_the_distances():
    rng = np.random.default_rng(3)
    d = rng.normal(0.9, 0.12, (40, 30))
    who = np.repeat(np.arange(40)[:, None], 30, axis=1)
    t = scale.thresholds_for(0.6, (80.0, 99.0))
    direct = scale.scale_answer(d, t, clusters=who, n_boot=200)
    # per probe: its false matches at each threshold and its comparisons, counted twice over (as the
    # LFW reference counts every pair from both ends) and halved
    k = np.stack([(d <= x).sum(axis=1) for x in t.values()], axis=1) * 2
    n = np.full(40, 30) * 2
    counted = scale.scale_answer(d, t, clusters=who, n_boot=200, counts=(k / 2, n / 2))
    for a, b in zip(direct.rows, counted.rows):
        assert (a.comparisons, a.false_matches, a.source) == (b.comparisons, b.false_matches, b.source) == \
            (1200, a.false_matches, a.source)
        assert a.measured.value == pytest.approx(b.measured.value)
        assert b.measured.low <= b.measured.value <= b.measured.high
    for sim, x in t.items():  # each threshold's false matches, counted by hand
        assert direct.row(sim).false_matches == counted.row(sim).false_matches == int((d <= x).sum())
    assert direct.row(80.0).false_matches > counted.row(99.0).false_matches
    # false matches in clumps (4 of 40 probes match everyone): the range is wider than Wilson's,
    # which takes the 1,200 comparisons as independent
    from workbench.evaluation.stats import metrics

    clumped = np.where(np.arange(40)[:, None] < 4, 0.5, 0.9) * np.ones((1, 30))
    k = (clumped <= 0.6).sum(axis=1)[:, None]
    a = scale.scale_answer(clumped, {80.0: 0.6}, clusters=who, counts=(k, np.full(40, 30)))
    assert a.row(80.0).false_matches == 120 and a.row(80.0).measured.high > metrics.wilson(120, 1200)[1] + 0.02


def test_a_small_basis_leads_with_its_range_and_its_count_even_with_false_matches():
    d = np.r_[np.full(30, 0.5), np.full(270, 0.9)]  # 30 of 300 under the threshold: measured
    a = scale.scale_answer(d, {80.0: 0.6}, sizes=(300_000,))
    assert a.row(80.0).source == "measured"
    big = a.with_basis(scale.Basis("LFW", "every pair"))
    small = a.with_basis(scale.Basis("the packaged photos", "138 pairs", small=True))
    assert big.sentence(300_000, 80.0).startswith("In a gallery of 300,000 faces")
    words = small.sentence(300_000, 80.0)
    assert words.startswith("Measured on 300 comparisons of the packaged photos (138 pairs), 30 false matches:")
    m = a.row(80.0).measured
    assert m.low < 0.1 < m.high
    assert (f"would return between {scale.count(300_000 * m.low)} and {scale.count(300_000 * m.high)} false "
            "candidates (95 % range; 30,000 at the measured rate)") in words


def test_the_fitted_tail_is_the_estimate_only_where_the_measurement_supports_it():
    rng = np.random.default_rng(1)
    few = scale.scale_answer(rng.normal(0.9, 0.1, 3_000), {99.0: 0.3})  # 0 false matches in 3,000
    many = scale.scale_answer(rng.normal(0.9, 0.1, 20_000), {99.0: 0.3}, n_boot=50)
    assert few.row(99.0).source == "range" and many.row(99.0).source == "fitted"
    assert few.sentence(300_000, 99.0).startswith("Measured on 3,000 comparisons, 0 false matches")
    assert "3,000 comparisons are too few to check it" in few.sentence(300_000, 99.0)
    # one false match in 20,001 where the fitted curve expects a thousandth of one: the count
    # refutes the curve, so the measured range leads
    one = scale.scale_answer(np.r_[rng.normal(0.9, 0.1, 20_000), 0.29], {99.0: 0.3}, n_boot=50)
    assert one.row(99.0).false_matches == 1 and one.row(99.0).fitted.value < 1e-7
    assert one.row(99.0).source == "range"
    assert one.sentence(300_000, 99.0).startswith("Measured on 20,001 comparisons, 1 false match:")


def test_a_reference_file_is_counted_pair_by_pair_and_names_its_model_and_detector(tmp_path):
    from workbench.errors import WorkbenchError

    rng = np.random.default_rng(5)
    people = np.repeat([f"p{i}" for i in range(8)], 3)
    v = (rng.normal(0, 0.035, (8, 1, 128)) + rng.normal(0, 0.01, (8, 3, 128))).reshape(24, 128).astype(np.float32)
    ref = references.Reference("lfw", "Dlib", "yunet", np.array([f"{p}/{i}.jpg" for i, p in enumerate(people)]),
                               people, v, np.array([""] * 24), {"total": 13_233})
    references.save(references.path_for(tmp_path, "lfw", "Dlib", "yunet"), ref)
    a = scale_reference.answer_at_scale(DLIB, folder=tmp_path)  # hog asked: the yunet file, said so
    d = compare.distances(v, v)
    other = people[:, None] != people[None, :]
    iu = np.triu_indices(24, 1)
    assert a.comparisons == int(other[iu].sum()) == 24 * 23 // 2 - 8 * 3
    for sim, t in scale.thresholds_for(0.6).items():
        assert a.row(sim).false_matches == int((d[iu] <= t)[other[iu]].sum())
    assert a.row(80.0).false_matches > 0
    assert a.basis.dataset == "LFW" and "24 of 13,233 photos of 8 people" in a.basis.detail
    assert "Dlib/yunet, not hog" in a.basis.detail and a.basis.small
    with pytest.raises(WorkbenchError, match="vectors of model Dlib, asked for SFace"):
        references.load(references.path_for(tmp_path, "lfw", "Dlib", "yunet"), "SFace")


# -- the packaged fallback (always runs) ------------------------------------------------------

@pytest.fixture(scope="module")
def packaged_db(tmp_path_factory):
    """A database whose embedding cache holds the packaged pairs' vectors (model time once)."""
    path = tmp_path_factory.mktemp("scale") / "gallery.duckdb"
    with Store(path) as db:
        scale_reference.answer_at_scale(DLIB, db=db)
    return path


def test_without_a_reference_the_answer_rests_on_the_packaged_photos_and_says_so(packaged_db):
    with Store(packaged_db) as db:
        a = scale_reference.answer_at_scale(DLIB, db=db)
    assert a.basis.dataset == "the packaged photos" and a.basis.small and a.comparisons == 138
    for sim in (80.0, 99.0):
        words = a.sentence(300_000, sim)
        assert words.startswith("Measured on 138 comparisons of the packaged photos"), words
        assert "would return between" in words and "(95 % range" in words
    assert any("eval scale-reference --data lfw" in n for n in a.notes)
    assert any("No per-group figure" in n for n in a.notes) and a.groups == ()


def test_the_cli_the_story_the_report_and_the_sightings_log_give_one_figure(packaged_db):
    from workbench.app import story
    from workbench.evaluation.reports.report import scale_sentences
    from workbench.live.log_risk import log_risk

    r = run("--db", packaged_db, "--model", "Dlib", "eval", "scale", "--gallery", 300_000, "--similarity", 80)
    assert r.exit_code == 0, r.output
    printed = _printed(r.output, 300_000, 80.0)
    with Store(packaged_db) as db:
        step = story.scale_step(DLIB, 300_000, db=db)
        risk = log_risk(300_000, DLIB, db)
        answer = scale_reference.answer_at_scale(DLIB, db=db)
    assert printed in step.text  # the Story's step 4 says the CLI's sentence, word for word
    assert printed in scale_sentences(answer)  # the reports' and the Evaluate page's headline
    assert risk.at(300_000) == answer.row(80.0).at(300_000)  # the sightings log's risk: the same figure
    assert risk.basis == answer.basis.words() and risk.row.comparisons == 138
    assert "138 comparisons" in step.figure


# -- LFW: a reference of a few dozen photos ---------------------------------------------------

@pytest.fixture(scope="module")
def lfw_reference(faces_lfw, tmp_path_factory):
    """A reference of 30 LFW photos, built in two runs (16, then on to 30), skipped without LFW."""
    folder = tmp_path_factory.mktemp("references")
    db_path = folder / "cache.duckdb"
    with Store(db_path) as db:
        _, first = scale_reference.build("lfw", DLIB, db=db, limit=16, chunk=6, folder=folder)
        seen = []
        path, ref = scale_reference.build("lfw", DLIB, db=db, limit=30, chunk=6, folder=folder,
                                          progress=lambda i, n, text: seen.append(text))
    return folder, db_path, first, ref, seen


def test_an_lfw_reference_is_resumed_and_counted_pair_by_pair(lfw_reference, monkeypatch):
    folder, db_path, first, ref, seen = lfw_reference
    assert len(first.paths) == 16 and len(ref.paths) == 30
    assert list(ref.paths[:16]) == list(first.paths)  # the second run went on where the first stopped
    assert not any(p in t for p in first.paths for t in seen)  # and did not embed those again
    assert ref.meta["total"] == 13_233
    monkeypatch.setenv("WORKBENCH_REFERENCES", str(folder))
    a = scale_reference.answer_at_scale(DLIB)
    ok = ref.embedded
    v, people = ref.vectors[ok], ref.labels[ok]
    pairs = [(i, j) for i, j in combinations(range(len(v)), 2) if people[i] != people[j]]
    d = np.array([compare.distances(v[i], v[j:j + 1], "euclidean")[0] for i, j in pairs])
    assert a.basis.dataset == "LFW" and a.basis.reference == "lfw-Dlib-hog.npz"
    assert a.comparisons == len(pairs)
    assert a.row(80.0).false_matches == int((d <= 0.6).sum())
    assert a.row(99.0).false_matches == int((d <= scale.thresholds_for(0.6)[99.0]).sum())
    assert a.basis.small and a.sentence(300_000, 80.0).startswith(f"Measured on {len(pairs):,} comparisons of LFW")


def test_with_an_lfw_reference_the_cli_and_the_story_give_one_figure(lfw_reference, monkeypatch):
    from workbench.app import story

    folder, db_path, *_ = lfw_reference
    monkeypatch.setenv("WORKBENCH_REFERENCES", str(folder))
    r = run("--db", db_path, "--model", "Dlib", "eval", "scale", "--gallery", 300_000, "--similarity", 80)
    assert r.exit_code == 0, r.output
    printed = _printed(r.output, 300_000, 80.0)
    assert "comparisons of LFW (30 of 13,233 photos" in printed
    assert "; reference file lfw-Dlib-hog.npz (EXTRAPOLATED):" in r.output
    assert printed in story.scale_step(DLIB, 300_000).text
    from workbench.live.log_risk import log_risk

    risk = log_risk(300_000, DLIB)  # the sightings log rests on the same reference
    assert risk.basis.startswith("LFW (30 of 13,233 photos")
    assert risk.at(300_000) == scale_reference.answer_at_scale(DLIB).row(80.0).at(300_000)


# -- per group: UTKFace's labels --------------------------------------------------------------

def test_per_group_figures_come_from_utkfaces_labels(faces_utkface, tmp_path, monkeypatch):
    from workbench.evaluation.datasets.labels import parse_utkface_name

    with Store(tmp_path / "cache.duckdb") as db:
        _, ref = scale_reference.build("utkface", DLIB, db=db, per_group=3, folder=tmp_path)
    monkeypatch.setenv("WORKBENCH_REFERENCES", str(tmp_path))
    with Store(tmp_path / "cache.duckdb") as db:
        a = scale_reference.answer_at_scale(DLIB, db=db)
    groups = dict(a.groups)
    # the groups are UTKFace's own, read from its file names (age_gender_race_date), adults only
    for p, label in zip(ref.paths, ref.labels):
        lab = parse_utkface_name(p)
        assert lab is not None and lab.age >= 18 and lab.label("race and gender") == label, (p, label)
    assert len(groups) == 10 and sorted(groups) == sorted(set(ref.labels.tolist()))
    assert "same_photo" in ref.meta  # checked at build time
    for g, ga in groups.items():
        n = int((ref.labels[ref.embedded] == g).sum())
        left = sum(ref.labels[a] == g == ref.labels[b] for a, b in ref.meta["same_photo"])
        assert ga.comparisons == n * (n - 1) // 2 - left and ga.basis.dataset == "UTKFace" and g in ga.basis.detail
    assert not any("No per-group figure" in n for n in a.notes)


def test_a_utkface_reference_leaves_out_the_same_photo_filed_twice(tmp_path, astronaut):
    """UTKFace files some pictures twice under two names: such a pair is not two people, so the
    per-group answer leaves it out (as the audit does) and says how many it left out."""
    from PIL import Image

    photos = tmp_path / "utk"
    photos.mkdir()
    Image.fromarray(astronaut).save(photos / "a.png")
    Image.fromarray(astronaut).save(photos / "b.jpg", quality=90)  # the same picture, saved again
    Image.fromarray(np.ascontiguousarray(astronaut[::-1])).save(photos / "c.png")  # another picture
    Image.fromarray(np.full_like(astronaut, 200)).save(photos / "d.png")
    paths = np.array(["a.png", "b.jpg", "c.png", "d.png"])
    assert scale_reference._same_photo_pairs(photos, paths) == [[0, 1]]

    rng = np.random.default_rng(3)
    v = rng.normal(0, 0.1, (4, 128)).astype(np.float32)
    v[1] = v[0] + 0.001  # the same photo: the same face, a false match at any threshold
    group = np.array(["White, male"] * 4)
    thresholds = tuple(scale.thresholds_for(0.6).items())
    answers = {}
    for checked in (True, False):
        meta = {"total": 4, **({"same_photo": [[0, 1]]} if checked else {})}
        path = references.path_for(tmp_path / str(checked), "utkface", "Dlib", "hog")
        references.save(path, references.Reference("utkface", "Dlib", "hog", paths, group, v, np.array([""] * 4), meta))
        ((g, answers[checked]),) = scale_reference._groups(str(path), path.stat().st_mtime_ns, "Dlib", "euclidean",
                                                           thresholds, (300_000,))
        assert g == "White, male"
    assert answers[True].comparisons == 5 and answers[False].comparisons == 6
    assert answers[False].row(80.0).false_matches == answers[True].row(80.0).false_matches + 1
    assert "1 pair(s) of the same photo filed twice left out" in answers[True].basis.detail
    assert "not checked for the same photo filed twice" in answers[False].basis.detail
