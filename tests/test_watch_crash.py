"""SIGKILL during a watch of two cameras (a process each): the database opens with whole
batches only, the camera processes leave with it, and the next run of the same command
continues from the last committed frame, so in the end every person of the footage has their
sightings on both cameras, none twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from footage import segment_of, write_footage

from workbench.store import Store

ROOT = Path(__file__).resolve().parent.parent
A, B = "obama", "angelina_jolie"


def _cli(db: Path, clip: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "workbench.cli", "--db", str(db), "watch", f"door={clip}", f"hall={clip}",
            "--gallery", "city", "--fast", "--batch", "2", "-v", *extra]


def test_sigkill_during_a_watch_loses_at_most_one_batch_and_the_next_run_continues(cast, tmp_path):
    from workbench.search.enrol import Source, enrol_sources
    shots = [(p, cast.photo(p, n)) for n in range(2, 7) for p in (A, B)]
    segments = write_footage(tmp_path / "door.mp4", shots, frames=12)
    db = tmp_path / "crash.duckdb"
    with Store(db) as g:
        assert enrol_sources(g, "city", [Source("a", A, cast.photo(A, 1)), Source("b", B, cast.photo(B, 1))],
                             workers=1).enrolled == 2
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.Popen(_cli(db, tmp_path / "door.mp4"), env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    import psutil

    committed = 0
    for line in proc.stderr:  # wait on the event (a committed batch), not on the clock
        if line.startswith("batch ") and "committed" in line:
            committed += 1
            if committed == 3:
                break
    cameras = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the watch ended before it could be killed"
    assert len(cameras) >= 2, cameras  # a process per camera
    _, alive = psutil.wait_procs(cameras, timeout=30)  # they notice their parent is gone and leave
    assert alive == [], alive

    with Store(db) as g:  # opens; the run's counter and its rows were committed together
        run = g.runs.list("city").row(0, named=True)
        killed = g.sightings.query("city", run_id=run["id"])
        progress = [g.runs.progress("city", cam, str(tmp_path / "door.mp4")) for cam in ("door", "hall")]
    assert run["status"] == "running" and run["sightings"] == killed.height >= 2
    assert max(progress) > 0 and min(progress) < segments[-1].last

    again = subprocess.run(_cli(db, tmp_path / "door.mp4", "--json"), env=env, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    summary = json.loads(again.stdout)
    assert summary["mode"] == "processes" and [c["state"] for c in summary["cameras"]] == ["ended", "ended"]
    with Store(db) as g:
        every = g.sightings.query("city")
        runs = g.runs.list("city")
    # the killed run could not end itself: the next one marked it, so no page shows it as live
    assert runs["status"].to_list() == ["interrupted", "completed"] and runs["ended_at"].null_count() == 0
    for camera in ("door", "hall"):
        per_segment: dict[int, list[str]] = {}
        for r in every.filter(every["camera"] == camera).iter_rows(named=True):
            seg = segment_of(segments, r["first_frame"])
            per_segment.setdefault(segments.index(seg), []).append(r["who"])
        for k, seg in enumerate(segments):  # every shot has its person: nothing lost for good
            assert per_segment.get(k) and set(per_segment[k]) == {seg.person}, (camera, k, seg, per_segment.get(k))
        # none twice, except the one track cut by the kill (a sighting before and one after)
        assert sum(len(v) - 1 for v in per_segment.values()) <= 1, (camera, per_segment)
