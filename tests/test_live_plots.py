import numpy as np
import polars as pl

from workbench.evaluation.reports import plots
from workbench.live import UNKNOWN, LiveProcessor
from workbench.pipeline import analyze
from workbench.store import GalleryMatrix
from workbench.types import Box, Match


def matrix_of(vec: np.ndarray, person: str) -> GalleryMatrix:
    return GalleryMatrix(np.array([1]), np.array([1]), [person], [""], vec[None].astype(np.float32))


def test_faces_are_embedded_once_per_track_and_rechecked(astronaut):
    face = analyze(astronaut).faces[0]
    proc = LiveProcessor(matrix=matrix_of(face.embedding.vector, "eileen"), recheck_every=10)
    stats = [proc.process(astronaut)[1] for _ in range(21)]
    per_frame = [s.embedded for s in stats]
    n_tracks = stats[0].faces
    assert per_frame[0] == n_tracks and sum(per_frame) == 3 * n_tracks  # frames 0, 10 and 20 only
    assert all(s.detect_ms > 0 for s in stats)
    best = max(proc.tracks, key=lambda t: t.box.area)
    assert best.label == "eileen" and best.distance < 0.01
    assert proc.faces_seen == 21 * n_tracks and len(proc.stats()) == 21


def test_strangers_are_unknown_and_detection_works_without_a_gallery(astronaut):
    stranger = np.full(128, 0.3, np.float32)
    proc = LiveProcessor(matrix=matrix_of(stranger, "someone"))
    proc.process(astronaut)
    assert all(t.label == UNKNOWN for t in proc.tracks)
    bare = LiveProcessor(matrix=None)
    _, st = bare.process(astronaut)
    assert st.faces >= 1 and st.embedded == 0


def test_tracks_end_after_missed_frames(astronaut):
    proc = LiveProcessor(matrix=None, max_missed=2)
    proc.process(astronaut)
    blank = np.zeros_like(astronaut)
    for _ in range(3):
        proc.process(blank)
    assert proc.tracks == []


def test_figure_builders_carry_the_data():
    m = [Match(1, 1, "ann", 0.3, 99.0, 1, True), Match(2, 2, "bob", 0.8, 30.0, 2, False)]
    fig = plots.candidates_figure(m, 0.6)
    assert list(fig.data[0].y) == [0.3, 0.8]
    h = plots.pair_distance_figure(np.array([0.3, 0.4]), np.array([0.8]), 0.6, marker=0.5)
    assert len(h.data) == 2 and len(h.layout.shapes) == 2
    log = pl.DataFrame({"detect_ms": [10.0, 12.0], "embed_ms": [5.0, 6.0], "search_ms": [0.1, 0.2],
                        "searched_at": pl.Series([1, 2]).cast(pl.Datetime)})
    assert len(plots.stage_latency_figure(log).data) == 3
    assert list(plots.searches_over_time_figure(log).data[0].y) == [1, 2]
