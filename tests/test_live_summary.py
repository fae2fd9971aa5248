"""The per-identity summary of one video run (the Live page's "Who was seen")."""

from workbench.live.summary import Appearance, as_rows, summarise


def appearance(track, first, last, frames, **labels):
    a = Appearance(track, first, first)
    step = (last - first) / max(frames - 1, 1)
    names = [name for name, n in labels.items() for _ in range(n)]
    for i in range(frames):
        a.see(first + i * step, names[i] if i < len(names) else "unknown", 90.0 if i < len(names) else None)
    return a


def test_tracks_are_grouped_by_the_person_most_of_their_frames_named():
    seen = summarise([
        appearance(1, 0.0, 2.0, 10, obama=8),               # named on most frames
        appearance(2, 5.0, 6.0, 5, obama=3),                # obama again, later: one row, two appearances
        appearance(3, 1.0, 3.0, 6, biden=2, obama=1),       # mostly biden
        appearance(4, 4.0, 4.5, 4),                         # never named: an unknown face
        appearance(5, 7.0, 7.0, 1),                         # one frame: a detector's false alarm, left out
    ])
    assert [(s.who, s.tracks, s.first_s, s.last_s) for s in seen] == [
        ("obama", 2, 0.0, 6.0), ("biden", 1, 1.0, 3.0), ("unknown face 1", 1, 4.0, 4.5)]
    assert seen[0].on_screen_s == 3.0 and seen[0].frames == 15 and seen[0].best_similarity == 90.0
    rows = as_rows(seen)
    assert rows[2] == {"who": "unknown face 1", "seen from (s)": 4.0, "to (s)": 4.5, "on screen (s)": 0.5,
                       "appearances": 1, "frames": 4, "best similarity %": None}
