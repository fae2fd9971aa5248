"""Worker processes started from the app (enrolment, live embedding) do not re-run the app.

Workers are *spawned*, and a spawned process re-runs its parent's main script: under Streamlit
that was app.py, so every worker imported Streamlit, drew the app without a session (about 100
"missing ScriptRunContext!" warnings per enrolment) and cost ~1.5 s and ~230 MB more.
"""

from __future__ import annotations

from test_app import app, open_page
from worker_probe import worker_state  # a module that imports nothing itself

from workbench.pipeline import parallel


def test_app_enrolment_workers_start_without_the_app_script(demo_photos, db_path, monkeypatch, capfd):
    monkeypatch.setenv("WORKBENCH_FACES", str(demo_photos))
    monkeypatch.setattr(parallel, "default_workers", lambda: 2)  # a pool even on a 1-core machine
    parallel.shutdown_pool()  # workers started by other tests came from pytest, not from the app
    try:
        at = open_page(app(db_path, monkeypatch).run(), "enrol")
        at.text_input(key="enrol_person").input("obama").run()
        at.radio(key="enrol_consent").set_value("They consented to being enrolled").run()
        picks = at.multiselect(key="enrol_samples")
        for name in ("obama/obama.jpg", "obama/obama2.jpg", "biden/biden.jpg", "biden/biden2.jpg"):  # >= MIN_PARALLEL
            picks = picks.select(f"face-recognition-examples/knn_examples/train/{name}")
        picks.run()
        at.button[0].click().run()
        assert not at.exception
        assert any("4 face(s) enrolled" in s.value for s in at.success), [s.value for s in at.success]
        pool = parallel._pool
        assert pool is not None, "the enrolment did not use worker processes"
        states = [pool.submit(worker_state).result(timeout=120) for _ in range(4)]
    finally:
        parallel.shutdown_pool()
    for state in states:
        # the worker ran app.py as __mp_main__ (spawn does), but nothing in it: no Streamlit, no app
        assert state["streamlit"] == [] and state["main_names"] == [], state
    assert "missing ScriptRunContext" not in capfd.readouterr().err


def test_the_app_warms_up_models_and_workers_in_the_background(db_path, monkeypatch):
    """At the server's first run the models and the worker pool start loading in the background,
    so the first Compare, Enrol or Evaluate does not wait for them."""
    from worker_probe import loaded_models

    from workbench.app import warm
    from workbench.pipeline import models

    monkeypatch.setattr(parallel, "default_workers", lambda: 2)
    parallel.shutdown_pool()
    warm.start.clear()
    monkeypatch.setattr(warm, "state", None)
    try:
        at = app(db_path, monkeypatch).run()
        assert not at.exception
        state = warm.state
        assert state is not None, "the app did not start the warm-up"
        assert state.done.wait(300) and state.error is None, state.error
        from workbench.pipeline import zoo

        default = set(zoo.detector(zoo.DEFAULT_DETECTOR).loads + zoo.embedder(zoo.DEFAULT_MODEL).loads)
        assert default == {"opencv.yunet", "opencv.sface"}  # the default pair, yunet + SFace
        assert state.workers == 2 and default <= set(models.loaded())
        pool = parallel._pool
        assert {"opencv.sface"} <= set(pool.submit(loaded_models).result(timeout=60))
    finally:
        parallel.shutdown_pool()


def test_a_failed_warm_up_is_said_once_in_words(db_path, monkeypatch, caplog):
    """A background warm-up that fails (missing weights, say) is said in the server's log once and in
    the sidebar once per session, in words; the app still runs."""
    from workbench.app import warm
    from workbench.errors import WeightsMissingError

    def missing(workers=None):
        raise WeightsMissingError("missing model weights x.dat: reinstall face_recognition_models (expected at /x)")

    monkeypatch.setattr(parallel, "warm_up", missing)
    warm.start.clear()
    monkeypatch.setattr(warm, "state", None)
    try:
        first = app(db_path, monkeypatch).run()  # starts the warm-up (it fails in the background)
        assert warm.state is not None and warm.state.done.wait(120) and not first.exception
        at = app(db_path, monkeypatch).run()  # a session opened after it failed (AppTest draws the sidebar once)
        said = [w.value.replace("\\", "") for w in at.sidebar.warning if "background" in w.value]
        assert len(said) == 1 and "missing model weights x.dat" in said[0] and "will load them itself" in said[0], said
        assert at.session_state["_warm_up_said"] and not at.exception  # not again in this session
    finally:
        warm.start.clear()  # the next app test starts a real warm-up
    logged = [r.getMessage() for r in caplog.records if r.name == "workbench.app.warm"]
    assert len(logged) == 1 and "could not be prepared in the background" in logged[0], logged


def test_pandas_is_whole_before_the_warm_up_thread_can_start():
    """plotly looks pandas up in ``sys.modules`` without waiting for an import in progress: if the
    warm-up thread were the first to import pandas, a page drawing a chart meanwhile could see a
    half-made module (seen once in CI). The app's shell imports it whole, in the session's own
    thread, before ``warm.start`` can run."""
    import subprocess
    import sys

    code = ("import sys; import workbench.app.shell; p = sys.modules.get('pandas'); "
            "assert p is not None and hasattr(p, 'Series') and hasattr(p, 'Index'), 'pandas not imported whole'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
