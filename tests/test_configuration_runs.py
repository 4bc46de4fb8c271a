"""Configuration runs as catalog I/O: the ``*_run`` dataset opens a run from a RunSpec, the
``*_run_record`` dataset logs a RunRecord and ends it, and a failed pipeline's open runs end
FAILED (real SQLite tracking store); node functions of converted pipelines never call MLflow."""

from __future__ import annotations

import functools
import inspect
import json
from pathlib import Path

import mlflow
import pytest
import torch
from kedro.io import DatasetError
from kedro_project import end_running_runs, reset_mlflow_process_state
from mlflow.tracking import MlflowClient

from longtail_mltc.pipelines import tracking
from longtail_mltc.pipelines.configuration_runs import (
    ConfigurationRunDataset,
    ModelArtifact,
    RunRecord,
    RunRecordDataset,
    RunSpec,
    end_open_runs,
)

SPEC = dict(corpus="reuters", pipeline="single", variant="single", loss="bce", encoder="kim_cnn")


@pytest.fixture
def client(tmp_path):
    reset_mlflow_process_state()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment_id = mlflow.set_experiment("unit").experiment_id
    yield MlflowClient()
    end_running_runs(MlflowClient(), experiment_id)
    reset_mlflow_process_state()


def _open(**params) -> ConfigurationRunDataset:
    dataset = ConfigurationRunDataset()
    dataset.save(RunSpec(**SPEC, params={"seed": 7, **params}, tags={"output_bias": "prior"}))
    return dataset


def test_saving_a_spec_opens_its_run_and_loading_gives_the_open_run(client):
    run = _open(single={"training": {"lr": 0.001}}).load()
    stored = client.get_run(run.run_id)
    assert stored.info.status == "RUNNING"
    assert stored.data.tags["mlflow.runName"] == "reuters/single/single/bce" == run.spec.name
    assert stored.data.tags["output_bias"] == "prior"
    assert stored.data.tags["seed"] == "7"
    assert stored.data.params["single.training.lr"] == "0.001"
    run.log_metrics({"valid/loss": 2.5}, 0)
    run.log_metrics({"valid/loss": 1.5}, 1)
    history = client.get_metric_history(run.run_id, "valid/loss")
    assert [(m.step, m.value) for m in history] == [(0, 2.5), (1, 1.5)]


def test_two_specs_of_one_name_are_two_runs(client):
    first, second = _open().load(), _open().load()
    assert first.spec.name == second.spec.name
    assert first.spec.key != second.spec.key and first.run_id != second.run_id


def test_a_record_is_logged_into_its_run_which_then_ends_finished(client, tmp_path):
    run = _open().load()
    state = {"head.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3)}
    record = RunRecord(
        run,
        metrics={"test/all/micro_f1": 0.75, "threshold": 0.3},
        model=ModelArtifact(state, {"encoder": "kim_cnn", "threshold": 0.3}, ["a", "b"]),
        artifacts={"analysis": {"per_label_f1.csv": "label,f1\na,1.0\n"}},
        tags={"n_examples": "900"},
    )
    RunRecordDataset().save(record)
    stored = client.get_run(run.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.metrics == {"test/all/micro_f1": 0.75, "threshold": 0.3}
    assert stored.data.tags["n_examples"] == "900"
    files = {
        a.path
        for folder in ("model", "analysis")
        for a in client.list_artifacts(run.run_id, folder)
    }
    assert files == {
        "model/model.safetensors",
        "model/model_config.json",
        "model/label_index.json",
        "analysis/per_label_f1.csv",
    }
    config = Path(client.download_artifacts(run.run_id, "model/model_config.json", str(tmp_path)))
    assert json.loads(config.read_text()) == {"encoder": "kim_cnn", "threshold": 0.3}


def test_a_record_that_is_not_final_leaves_the_run_open(client):
    run = _open().load()
    RunRecordDataset().save(RunRecord(run, metrics={"x": 1.0}, final=False))
    assert client.get_run(run.run_id).info.status == "RUNNING"


@pytest.mark.parametrize("status", ["FAILED", "KILLED"])
def test_a_failed_pipeline_ends_only_the_runs_still_open(client, status):
    finished, still_open, never_opened = _open(), _open(), ConfigurationRunDataset()
    RunRecordDataset().save(RunRecord(finished.load()))
    ended = end_open_runs([finished, still_open, never_opened, object()], status)
    assert ended == [still_open.load().run_id]
    assert client.get_run(still_open.load().run_id).info.status == status
    assert client.get_run(finished.load().run_id).info.status == "FINISHED"


def test_wrong_values_and_early_loads_are_refused(client):
    with pytest.raises(DatasetError, match="RunSpec"):
        ConfigurationRunDataset().save({"name": "x"})
    with pytest.raises(DatasetError, match="not saved"):
        ConfigurationRunDataset().load()
    with pytest.raises(DatasetError, match="RunRecord"):
        RunRecordDataset().save({"metrics": {}})
    with pytest.raises(DatasetError, match="save-only"):
        RunRecordDataset().load()


# Every registered pipeline: no node function may reach MLflow or the tracking module
# (docs/tracking.md "Runs are catalog I/O").
PIPELINES = (
    "ingestion", "features", "label_stats", "single", "hscnn", "hscnn_variants", "hscnn_n_phi",
    "hscnn_triplets", "balanced_losses", "altxml", "baselines", "reporting", "fidelity",
    "predict",
)  # fmt: skip


def _node_functions(pipeline):
    for node in pipeline.nodes:
        function = node.func
        while isinstance(function, functools.partial):
            function = function.func
        yield node.name, inspect.unwrap(function)


def _tracking_reached(function, seen: set) -> set[str]:
    """Names of MLflow objects or of the tracking module's run-writing functions that
    ``function`` uses, following the project's pipeline functions it calls. (The tracking
    module's pure helpers, such as run names or the masked tracking URI, are allowed.)"""
    if function in seen or not hasattr(function, "__code__"):
        return set()
    seen.add(function)
    namespace = function.__globals__
    names = set(function.__code__.co_names)
    reached = set()
    for name in names:
        value = namespace.get(name)
        if value is None:
            continue
        origin = value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", "")
        origin = origin or ""
        writes = name in RUN_WRITERS or (inspect.ismodule(value) and names & RUN_WRITERS)
        if origin.startswith("mlflow") or (origin == TRACKING and writes):
            reached.add(f"{function.__name__} uses {name}")
        elif (
            inspect.isfunction(value)
            and origin.startswith(PIPELINES_PACKAGE)
            and origin != TRACKING
        ):
            reached |= _tracking_reached(value, seen)
    return reached


PIPELINES_PACKAGE = "longtail_mltc.pipelines"
RUN_WRITERS = {
    "start_configuration_run",
    "end_configuration_run",
    "metric_logger",
    "log_final_metrics",
    "log_artifacts",
    "log_model",
    "log_predictor",
    "fail_abandoned_runs",
}
TRACKING = "longtail_mltc.pipelines.tracking"


def test_every_pipeline_is_checked(project_root):
    from kedro.framework.startup import bootstrap_project

    from longtail_mltc.pipeline_registry import register_pipelines

    bootstrap_project(project_root)
    assert set(register_pipelines()) - {"__default__"} == set(PIPELINES)


@pytest.mark.parametrize("name", PIPELINES)
def test_no_node_function_calls_mlflow(project_root, name):
    from kedro.framework.project import pipelines
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(project_root)
    offenders = set()
    for _, function in _node_functions(pipelines[name]):
        offenders |= _tracking_reached(function, set())
    assert offenders == set()


def _logs(run_id: str) -> None:
    tracking.log_final_metrics(run_id, {})


def _evaluates_and_logs(run_id: str) -> None:
    _logs(run_id)


def test_the_check_finds_a_node_that_logs_to_mlflow():
    """The check above can fail: a function logging through the tracking module is caught,
    also through a helper it calls."""
    assert _tracking_reached(_logs, set()) == {"_logs uses tracking"}
    assert _tracking_reached(_evaluates_and_logs, set()) == set()  # a tests-module helper


def test_the_check_follows_helpers_of_pipeline_modules():
    source = "def helper(r):\n    tracking.log_final_metrics(r, {})\ndef node(r):\n    helper(r)\n"
    module = {"__name__": "longtail_mltc.pipelines.example", "tracking": tracking}
    exec(compile(source, "example", "exec"), module)
    assert _tracking_reached(module["node"], set()) == {"helper uses tracking"}


@pytest.mark.parametrize("resume", [True, False])
def test_a_spec_with_checkpoints_keeps_its_tags_and_names_the_run_it_continues(tmp_path, resume):
    spec = RunSpec(**SPEC, params={"seed": 7}, tags={"n_phi": "35"})
    folder = tmp_path / "reuters/single/single/bce/seed-7"  # <dir>/<run name>/seed-<seed>
    folder.mkdir(parents=True)
    (folder / "last.ckpt").write_bytes(b"")  # what an interrupted training leaves
    (folder / "run.json").write_text(json.dumps({"mlflow_run_id": "abc123"}))

    tagged, checkpointing = spec.with_checkpoints({"dir": str(tmp_path)}, seed=7, resume=resume)
    assert checkpointing.directory == folder and checkpointing.resume is resume
    expected = {"n_phi": "35", **({"resumed_from": "abc123"} if resume else {})}
    assert dict(tagged.tags) == expected
    assert (tagged.name, tagged.params, tagged.key) == (spec.name, spec.params, spec.key)
    assert dict(spec.tags) == {"n_phi": "35"}  # the spec itself is unchanged


def test_a_spec_without_a_checkpoint_folder_plans_none():
    spec = RunSpec(**SPEC, params={})
    tagged, checkpointing = spec.with_checkpoints(None, seed=1, resume=True)
    assert checkpointing.directory is None and checkpointing.resumed_from is None
    assert tagged == spec
