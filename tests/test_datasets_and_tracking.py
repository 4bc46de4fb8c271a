"""Project Kedro datasets (atomic, pickle-free), tracking helpers and grouped evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from kedro.io import DatasetError

from longtail_mltc.datasets import NumpyDataset, SafetensorsDataset
from longtail_mltc.evaluation.metrics import evaluate
from longtail_mltc.evaluation.reporting import evaluate_by_group
from longtail_mltc.pipelines.tracking import flatten_params, run_name


def test_safetensors_dataset_round_trip(tmp_path):
    state = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.ones(3)}
    ds = SafetensorsDataset(str(tmp_path / "m" / "model.safetensors"))
    ds.save(state)
    loaded = ds.load()
    assert set(loaded) == {"w", "b"}
    torch.testing.assert_close(loaded["w"], state["w"])


def test_numpy_dataset_round_trip_keeps_dtypes(tmp_path):
    arrays = {"ids": np.arange(12, dtype=np.int64).reshape(3, 4), "v": np.eye(2, dtype=np.float32)}
    ds = NumpyDataset(str(tmp_path / "a.npz"))
    ds.save(arrays)
    loaded = ds.load()
    for key, value in arrays.items():
        assert loaded[key].dtype == value.dtype
        np.testing.assert_array_equal(loaded[key], value)


def test_failed_saves_leave_no_file_and_keep_the_previous_one(tmp_path):
    path = tmp_path / "model.safetensors"
    ds = SafetensorsDataset(str(path))
    with pytest.raises(DatasetError, match="expected a dict of tensors"):
        ds.save({"w": [1, 2, 3]})
    assert list(tmp_path.iterdir()) == []
    ds.save({"w": torch.zeros(2)})
    before = path.read_bytes()
    npz = NumpyDataset(str(tmp_path / "x.npz"))
    with pytest.raises(DatasetError, match="no pickle"):  # object arrays: refused, no file
        npz.save({"bad": np.array([{"a": 1}], dtype=object)})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]


def test_loading_a_missing_file_says_which_node_to_run(tmp_path):
    with pytest.raises(DatasetError, match="run the training node first"):
        SafetensorsDataset(str(tmp_path / "none.safetensors")).load()


def test_flatten_params_and_run_names():
    flat = flatten_params({"single": {"training": {"lr": 0.001}, "ks": [1, 3]}, "seed": 42})
    assert flat == {"single.training.lr": "0.001", "single.ks": "[1, 3]", "seed": "42"}
    assert run_name("reuters", "single", "single", "bce") == "reuters/single/single/bce"


def test_grouped_metrics_equal_evaluate_on_the_group_columns():
    rng = np.random.default_rng(0)
    y = (rng.random((40, 6)) < 0.3).astype(np.uint8)
    scores = rng.random((40, 6))
    groups = {"head": np.array([0, 1, 2]), "medium": np.array([], dtype=int), "tail": np.array([5])}
    out = evaluate_by_group(y, scores, groups, threshold=0.4, ks=(1, 3), prefix="test")
    tail = evaluate(y[:, [5]], scores[:, [5]], threshold=0.4, ks=(1, 3))
    assert out["test/tail/micro_f1"] == tail["micro_f1"]
    assert out["test/all/p_at_3"] == evaluate(y, scores, 0.4, (1, 3))["p_at_3"]
    assert not any(key.startswith("test/medium/") for key in out)  # empty groups left out


def test_configuration_runs_are_tagged_and_failed_when_left_open(tmp_path, monkeypatch):
    import mlflow
    from kedro.io import DataCatalog
    from kedro.pipeline import Node, Pipeline
    from kedro_project import end_running_runs, reset_mlflow_process_state
    from mlflow.tracking import MlflowClient

    from longtail_mltc.hooks import CloseConfigurationRunsOnError
    from longtail_mltc.pipelines.configuration_runs import ConfigurationRunDataset, RunSpec

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        experiment_id = mlflow.set_experiment("unit").experiment_id
        dataset = ConfigurationRunDataset()
        dataset.save(
            RunSpec(
                corpus="reuters",
                pipeline="single",
                variant="single",
                loss="bce",
                encoder="kim_cnn",
                params={"single": {"training": {"max_epochs": 3}}},
            )
        )
        dataset.load().log_metrics({"valid/all/micro_f1": 0.5}, 1)
        pipeline = Pipeline([Node(lambda: None, None, "single_run", name="plan")])
        CloseConfigurationRunsOnError().on_pipeline_error(
            RuntimeError("boom"), pipeline, DataCatalog({"single_run": dataset})
        )
        run = MlflowClient().get_run(dataset.load().run_id)
        assert run.info.status == "FAILED"
        assert run.info.run_name == "reuters/single/single/bce"
        assert run.data.tags["encoder"] == "kim_cnn" and run.data.tags["loss"] == "bce"
        assert run.data.params["single.training.max_epochs"] == "3"
        assert run.data.metrics["valid/all/micro_f1"] == 0.5
        assert end_running_runs(MlflowClient(), experiment_id) == []  # nothing left open
    finally:
        reset_mlflow_process_state()
