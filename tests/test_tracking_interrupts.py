"""No MLflow run outlives a killed or interrupted training as RUNNING or FINISHED (real SQLite
tracking store)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading

import mlflow
import pytest
import sqlalchemy
from kedro.io import DataCatalog
from kedro.pipeline import Node, Pipeline
from kedro_project import end_running_runs, reset_mlflow_process_state
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from longtail_mltc.hooks import CloseConfigurationRunsOnError, FailRunsOnSignal
from longtail_mltc.pipelines import tracking
from longtail_mltc.pipelines.configuration_runs import ConfigurationRunDataset, RunSpec

NAME = "reuters/single/single/bce"


@pytest.fixture
def store(tmp_path):
    reset_mlflow_process_state()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment_id = mlflow.set_experiment("unit").experiment_id
    yield MlflowClient(), experiment_id
    end_running_runs(MlflowClient(), experiment_id)
    reset_mlflow_process_state()


def _start(**overrides) -> str:
    settings = dict(
        corpus="reuters", pipeline="single", variant="single", loss="bce", encoder="kim_cnn"
    )
    return tracking.start_configuration_run(**{**settings, **overrides}, params={"seed": 1})


def _dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _run_owned_by(client, experiment_id, name, host, pid, parent=None) -> str:
    tags = {"mlflow.runName": name, tracking.HOST_TAG: host, tracking.PID_TAG: str(pid)}
    if parent is not None:
        tags["mlflow.parentRunId"] = parent
    return client.create_run(experiment_id, run_name=name, tags=tags).info.run_id


def test_configuration_runs_record_the_process_that_owns_them(store):
    client, _ = store
    run = client.get_run(_start())
    assert run.data.tags[tracking.HOST_TAG] == socket.gethostname()
    assert run.data.tags[tracking.PID_TAG] == str(os.getpid())


def test_a_run_left_running_by_a_dead_process_is_failed_when_the_configuration_restarts(
    store, caplog
):
    client, experiment_id = store
    host, dead = socket.gethostname(), _dead_pid()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        session = _run_owned_by(client, experiment_id, "session", host, dead)
        killed = _run_owned_by(client, experiment_id, NAME, host, dead, parent=session)
        alive = _run_owned_by(client, experiment_id, NAME, host, sleeper.pid)
        elsewhere = _run_owned_by(client, experiment_id, NAME, "another-host", dead)
        untagged = client.create_run(experiment_id, run_name=NAME).info.run_id
        other_configuration = _run_owned_by(client, experiment_id, "reuters/x/y/z", host, dead)

        with caplog.at_level("WARNING", logger=tracking.__name__):
            new = _start()

        runs = (session, killed, alive, elsewhere, untagged, other_configuration, new)
        status = {run_id: client.get_run(run_id).info.status for run_id in runs}
        assert status[killed] == "FAILED" and status[session] == "FAILED"
        # a live owner, another host, no owner tags, another configuration: left alone
        for run_id in (alive, elsewhere, untagged, other_configuration, new):
            assert status[run_id] == "RUNNING"
        warnings = [r.getMessage() for r in caplog.records if "left RUNNING" in r.getMessage()]
        assert len(warnings) == 2 and any(killed in w and f"process {dead}" in w for w in warnings)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_zombie_counts_as_gone_and_a_live_process_does_not():
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitid(os.P_PID, zombie.pid, os.WEXITED | os.WNOWAIT)  # exited, not yet reaped
    try:
        assert tracking.process_is_gone(zombie.pid)
    finally:
        zombie.wait()
    assert not tracking.process_is_gone(os.getpid())
    assert tracking.process_is_gone(_dead_pid())


@pytest.mark.parametrize(
    ("error", "status"),
    [(tracking.RunInterrupted("interrupted by SIGTERM"), "KILLED"), (ValueError("x"), "FAILED")],
)
def test_open_configuration_runs_end_killed_when_interrupted_and_failed_on_errors(
    store, error, status
):
    """The run a ``*_run`` dataset of the failed pipeline opened ends; a run of another
    pipeline's catalog, and one already finished, are left as they are."""
    client, _ = store
    opened, finished, elsewhere = (ConfigurationRunDataset() for _ in range(3))
    for dataset in (opened, finished, elsewhere):
        dataset.save(RunSpec("reuters", "single", "single", "bce", "kim_cnn", params={"seed": 1}))
    tracking.end_configuration_run(finished.load().run_id)
    catalog = DataCatalog({"a_run": opened, "b_run": finished, "c_run": elsewhere})
    pipeline = Pipeline([Node(lambda: None, None, ["a_run", "b_run"], name="plan")])
    CloseConfigurationRunsOnError().on_pipeline_error(error, pipeline, catalog)
    assert client.get_run(opened.load().run_id).info.status == status
    assert client.get_run(finished.load().run_id).info.status == "FINISHED"
    assert client.get_run(elsewhere.load().run_id).info.status == "RUNNING"


def test_an_interruption_wrapped_by_mlflows_store_still_ends_the_run_killed(store):
    """A signal that lands inside an MLflow write comes back as ``MlflowException`` raised
    from it (MLflow's SQL store wraps every exception of a write): still an interruption."""
    client, _ = store
    opened = ConfigurationRunDataset()
    opened.save(RunSpec("reuters", "single", "single", "bce", "kim_cnn", params={"seed": 1}))
    run_id = opened.load().run_id

    def interrupt(*_):  # the signal handler's exception, raised mid-write
        raise tracking.RunInterrupted("interrupted by SIGINT")

    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "before_cursor_execute", interrupt)
    try:
        with pytest.raises(MlflowException) as info:
            client.log_metric(run_id, "valid/epoch_micro_f1", 0.5, step=1)
    finally:
        sqlalchemy.event.remove(sqlalchemy.engine.Engine, "before_cursor_execute", interrupt)
    assert not isinstance(info.value, tracking.RunInterrupted)  # wrapped, as in the CI failure

    catalog = DataCatalog({"a_run": opened})
    pipeline = Pipeline([Node(lambda: None, None, "a_run", name="plan")])
    CloseConfigurationRunsOnError().on_pipeline_error(info.value, pipeline, catalog)
    assert client.get_run(run_id).info.status == "KILLED"


def test_a_chain_without_an_interruption_is_a_failure_and_cycles_end():
    try:
        try:
            raise ValueError("inner")
        except ValueError as inner:
            raise RuntimeError("outer") from inner
    except RuntimeError as outer:
        error = outer
    assert tracking.status_after(error) == "FAILED"
    error.__cause__.__context__ = error  # a cycle, as frameworks sometimes leave
    assert tracking.status_after(error) == "FAILED"
    assert tracking.status_after(KeyboardInterrupt()) == "KILLED"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_during_the_pipeline_raises_an_exception_kedro_hands_to_its_hooks(signum):
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    hook = FailRunsOnSignal()
    hook.before_pipeline_run()
    with pytest.raises(tracking.RunInterrupted, match=signal.Signals(signum).name) as info:
        os.kill(os.getpid(), signum)
        signal.sigtimedwait([], 0)  # gives the interpreter a point to run the handler
    assert isinstance(info.value, Exception)  # Kedro's session catches Exception only
    # the handlers are restored at once: a second signal acts as before the run
    assert {s: signal.getsignal(s) for s in before} == before
    hook.on_pipeline_error()  # idempotent after the restore
    assert {s: signal.getsignal(s) for s in before} == before


def test_handlers_are_restored_after_a_run_and_not_installed_off_the_main_thread():
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    hook = FailRunsOnSignal()
    hook.before_pipeline_run()
    assert signal.getsignal(signal.SIGTERM) == hook._interrupt
    hook.after_pipeline_run()
    assert {s: signal.getsignal(s) for s in before} == before

    worker = threading.Thread(target=hook.before_pipeline_run)
    worker.start()
    worker.join()
    assert {s: signal.getsignal(s) for s in before} == before


def test_the_originals_come_back_even_when_a_trainer_reinstalled_the_hooks_handler():
    """Lightning's Trainer puts back, after ``fit``, the handlers it found when ``fit`` started:
    this hook's, although its signal had already fired."""
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    hook = FailRunsOnSignal()
    hook.before_pipeline_run()
    with pytest.raises(tracking.RunInterrupted):
        hook._interrupt(signal.SIGTERM, None)
    signal.signal(signal.SIGTERM, hook._interrupt)  # what the trainer's teardown does
    hook.on_pipeline_error()
    assert {s: signal.getsignal(s) for s in before} == before
