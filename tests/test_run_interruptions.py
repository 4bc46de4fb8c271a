"""`kedro run` as a user runs it, in a subprocess, diverging, interrupted and killed: the exit
status and the MLflow store say what happened (real Reuters at `--env ci` sizes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import pytest
from kedro_project import copy_project, reset_mlflow_process_state
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.slow

RUN_NAME = "reuters/single/single/bce"
LONG_TRAINING = "single.training.max_epochs=500,single.training.patience=500"
# six epochs of a few seconds each at ci sizes: time to kill one after its first checkpoint
RESUMABLE = "single.training.max_epochs=6,single.training.patience=6,single.training.batch_size=16"
CHECKPOINT = "data/06_models/checkpoints/reuters/single/single/bce/seed-42/last.ckpt"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, reuters_mirror) -> Path:
    """A project copy whose corpus, features and label statistics are built (once)."""
    project = copy_project(tmp_path_factory.mktemp("interruptions") / "project")
    _kedro(project, "--pipelines=ingestion,features,label_stats", mirror=reuters_mirror).check()
    return project


@pytest.fixture
def client(prepared):
    reset_mlflow_process_state()
    mlflow.set_tracking_uri(_store(prepared))
    yield MlflowClient()
    reset_mlflow_process_state()


def _store(project: Path) -> str:
    return f"sqlite:///{project / 'mlflow.db'}"


class _Kedro:
    """A ``kedro run --env ci`` child process, its output in a file."""

    def __init__(self, project: Path, args: tuple[str, ...], mirror: Path) -> None:
        env = {
            **os.environ,
            "KEDRO_DISABLE_TELEMETRY": "true",
            "LONGTAIL_MLTC_MIRROR": str(mirror.parent),
            "MLFLOW_TRACKING_URI": _store(project),
        }
        self.log = project / f"kedro-{time.monotonic_ns()}.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kedro", "run", "--env", "ci", *args],
                cwd=project,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def output(self) -> str:
        return self.log.read_text()

    def wait(self, timeout: float = 300) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:  # no orphan left running after a failed test
            self.process.kill()
            self.process.wait()
            pytest.fail(f"kedro run still running after {timeout} s:\n{self.output[-3000:]}")

    def check(self) -> None:
        assert self.wait() == 0, self.output[-3000:]


def _kedro(project: Path, *args: str, mirror: Path) -> _Kedro:
    return _Kedro(project, args, mirror)


def _runs_of(client: MlflowClient, pid: int) -> list:
    """Every run a process created: its configuration runs and the session run it tagged."""
    experiment = client.get_experiment_by_name("longtail_mltc")
    return client.search_runs([experiment.experiment_id], filter_string=f"tags.pid = '{pid}'")


def _wait_for_a_trained_epoch(client: MlflowClient, child: _Kedro, timeout: float = 180) -> str:
    """The configuration run's id, once it has logged its first epoch."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert child.process.poll() is None, child.output[-3000:]
        for run in _runs_of(client, child.process.pid):
            if run.info.run_name == RUN_NAME and "valid/epoch_micro_f1" in run.data.metrics:
                return run.info.run_id
        time.sleep(0.5)
    child.process.kill()
    pytest.fail(f"no epoch logged within {timeout} s:\n{child.output[-3000:]}")


def test_a_diverging_training_exits_non_zero_and_its_run_is_failed_without_a_predictor(
    prepared, reuters_mirror, client
):
    child = _kedro(
        prepared,
        "--pipeline=single",
        "--params=single.training.learning_rate=1e8",
        mirror=reuters_mirror,
    )
    assert child.wait() != 0
    assert "diverged at epoch 1, step" in child.output
    assert "learning rate (1e+08) is too high" in child.output

    runs = {run.info.run_name: run for run in _runs_of(client, child.process.pid)}
    configuration = runs[RUN_NAME]
    assert configuration.info.status == "FAILED"
    assert client.list_artifacts(configuration.info.run_id) == []  # no model, no predictor
    session = client.get_run(configuration.data.tags["mlflow.parentRunId"])
    assert session.info.status == "FAILED"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_during_training_leaves_no_run_running_or_finished(
    prepared, reuters_mirror, client, signum
):
    child = _kedro(
        prepared, "--pipeline=single", f"--params={LONG_TRAINING}", mirror=reuters_mirror
    )
    configuration = _wait_for_a_trained_epoch(client, child)
    child.process.send_signal(signum)
    assert child.wait(timeout=120) != 0
    assert f"interrupted by {signal.Signals(signum).name}" in child.output

    runs = _runs_of(client, child.process.pid)
    status = {run.info.run_id: run.info.status for run in runs}
    assert status[configuration] == "KILLED"
    session = client.get_run(configuration).data.tags["mlflow.parentRunId"]
    assert status[session] == "FAILED"  # kedro-mlflow's on_pipeline_error
    assert not {"RUNNING", "FINISHED"} & set(status.values())


def test_a_sigkilled_configuration_run_is_failed_when_the_configuration_next_starts(
    prepared, reuters_mirror, client
):
    killed = _kedro(
        prepared, "--pipeline=single", f"--params={LONG_TRAINING}", mirror=reuters_mirror
    )
    configuration = _wait_for_a_trained_epoch(client, killed)
    killed.process.kill()
    killed.wait()
    assert client.get_run(configuration).info.status == "RUNNING"  # nothing could mark it

    _kedro(prepared, "--pipeline=single", mirror=reuters_mirror).check()

    run = client.get_run(configuration)
    assert run.info.status == "FAILED"
    assert client.get_run(run.data.tags["mlflow.parentRunId"]).info.status == "FAILED"
    assert not [r for r in _runs_of(client, killed.process.pid) if r.info.status == "RUNNING"]


def test_a_training_killed_after_its_first_epoch_and_resumed_ends_as_the_uninterrupted_one(
    prepared, reuters_mirror, client
):
    metrics_file = prepared / "data/08_reporting/reuters/single/metrics.json"
    _kedro(prepared, "--pipeline=single", f"--params={RESUMABLE}", mirror=reuters_mirror).check()
    uninterrupted = json.loads(metrics_file.read_text())
    assert not (prepared / CHECKPOINT).parent.exists()  # a finished training leaves none

    killed = _kedro(prepared, "--pipeline=single", f"--params={RESUMABLE}", mirror=reuters_mirror)
    deadline = time.monotonic() + 300
    while not (prepared / CHECKPOINT).exists():
        assert killed.process.poll() is None, killed.output[-3000:]
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.05)
    killed.process.kill()
    killed.wait()
    (interrupted,) = [
        r for r in _runs_of(client, killed.process.pid) if r.info.run_name == RUN_NAME
    ]
    epochs_done = len(client.get_metric_history(interrupted.info.run_id, "valid/epoch_micro_f1"))
    assert 1 <= epochs_done < 6  # killed mid-training, after at least one checkpoint

    resumed = _kedro(
        prepared,
        "--pipeline=single",
        f"--params={RESUMABLE},single.training.resume=true",
        mirror=reuters_mirror,
    )
    resumed.check()
    assert "continuing MLflow run" in resumed.output
    assert json.loads(metrics_file.read_text()) == pytest.approx(uninterrupted, rel=1e-6, abs=1e-9)

    (run,) = [r for r in _runs_of(client, resumed.process.pid) if r.info.run_name == RUN_NAME]
    assert run.info.status == "FINISHED"
    assert run.data.tags["resumed_from"] == interrupted.info.run_id
    assert client.get_run(interrupted.info.run_id).info.status == "FAILED"  # its owner is gone
    assert not (prepared / CHECKPOINT).parent.exists()


# dropout off: with it each rank draws its own masks, and the two trainings differ by that alone
NO_DROPOUT = "single.encoder_params.embedding_dropout=0,single.encoder_params.feature_dropout=0"
CPU = "single.training.accelerator=cpu"
DDP_RECIPE = "single.training.max_epochs=1,single.training.patience=1,single.training.batch_size=16"
SCORE_TOLERANCE = 1e-4  # on probabilities; the gap measured 2026-12-06 was 8.6e-6


def test_two_cpu_devices_train_as_one_process_and_log_one_configuration_run(
    prepared, reuters_mirror, client
):
    """`devices: 2` is DDP over gloo launched from inside the node: the same global batches,
    so the same scores as one process (float tolerance), and rank 0 alone tracks.

    The two differ only by the order of float sums (each rank reduces half a batch), which
    Adam amplifies step by step: after one epoch of batch 16 the scores differ by < 1e-5, after
    two by up to 0.25 on a few cells (mean 7e-4), and six epochs moved the metrics of the tiny
    label groups by up to 0.07 (CI, 2026-12-06). So one epoch, and the scores are compared.
    """
    scores_file = prepared / "data/07_model_output/reuters/single/scores.npz"
    metrics_file = prepared / "data/08_reporting/reuters/single/metrics.json"
    params = f"--params={DDP_RECIPE},{NO_DROPOUT},{CPU}"
    _kedro(prepared, "--pipeline=single", params, mirror=reuters_mirror).check()
    one_process = dict(np.load(scores_file))
    one_metrics = json.loads(metrics_file.read_text())
    experiment = client.get_experiment_by_name("longtail_mltc").experiment_id
    before = {r.info.run_id for r in client.search_runs([experiment], max_results=10_000)}

    two = _kedro(
        prepared, "--pipeline=single", f"{params},single.training.devices=2", mirror=reuters_mirror
    )
    two.check()
    assert "DDP over 2 processes" in two.output
    two_processes = dict(np.load(scores_file))
    for split in ("valid_scores", "test_scores"):
        np.testing.assert_allclose(two_processes[split], one_process[split], atol=SCORE_TOLERANCE)
    two_metrics = json.loads(metrics_file.read_text())
    assert two_metrics["test/all/micro_f1"] == pytest.approx(
        one_metrics["test/all/micro_f1"], abs=1e-3
    )

    new = [
        r
        for r in client.search_runs([experiment], max_results=10_000)
        if r.info.run_id not in before
    ]
    configuration = [r for r in new if r.info.run_name == RUN_NAME]
    assert len(configuration) == 1  # one configuration run, from rank 0
    assert len(new) == 2  # and the session run: no rank re-ran the Kedro session
    assert {r.info.status for r in new} == {"FINISHED"}
    assert configuration[0].data.tags["pid"] == str(two.process.pid)
