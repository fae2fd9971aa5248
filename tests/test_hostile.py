"""tests/hostile.py small, in CI: every case of the issue's list (what broke, and the "Keep"
list) against a temporary database, one SIGKILL during compaction instead of eight. The full
run, and the Chromium part, by hand: `python tests/hostile.py --kills 8 --browser`."""

from hostile import BROKE, KEEP, run


def test_the_hostile_list_holds(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_DB", raising=False)
    out = run(tmp_path, kills=1)
    print(*out.lines, sep="\n")
    assert out.cases == len(BROKE) + len(KEEP) == 14
    assert out.failures == [] and out.rows_lost == 0, out.failures
