"""The real pipelines on real Reuters-21578, shrunk by `--env ci` (DESIGN "Configuration")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro_project import data_files, run_pipeline
from mlflow.tracking import MlflowClient
from safetensors.torch import load_file

pytestmark = pytest.mark.slow

RUN_NAME = "reuters/single/single/bce"
KS = (1, 2, 3, 4, 5)


def _metrics(project: Path) -> dict[str, float]:
    return json.loads((project / "data/08_reporting/reuters/single/metrics.json").read_text())


def test_hscnn_twice_same_metrics_all_outputs_rewritten_and_tracked(project):
    run_pipeline(project, "hscnn")
    first = _metrics(project)
    stamps = {p: p.stat().st_mtime_ns for p in data_files(project)}

    run_pipeline(project, "hscnn")
    second = _metrics(project)

    # Same seed, CPU → identical test metrics (the reproducibility criterion).
    assert first == second
    for key in ("micro_f1", "macro_f1", "macro_f1_present"):
        assert 0.0 <= first[f"test/all/{key}"] <= 1.0
    for k in KS:
        assert f"test/all/p_at_{k}" in first and f"test/all/ndcg_at_{k}" in first
    # the run's profile (hooks.ProfileNodes): one row per node, inside the run's wall time
    profile = json.loads((project / "data/08_reporting/run_profile.json").read_text())
    steps = {step["name"]: step for step in profile["steps"]}
    assert {"train_single_network", "train_hscnn", "evaluate_hscnn"} <= set(steps)
    assert sum(step["wall_seconds"] for step in steps.values()) <= profile["run_seconds"] + 1e-6
    assert all(step["peak_rss_mb"] > 0 and step["wall_seconds"] >= 0 for step in steps.values())
    # Nothing stale: every output of the first run was written again by the second.
    assert set(stamps) == set(data_files(project))
    assert all(p.stat().st_mtime_ns > t for p, t in stamps.items()), "an output was reused"

    client = MlflowClient()
    runs = mlflow.search_runs(
        experiment_names=["longtail_mltc"],
        filter_string=f"tags.mlflow.runName = '{RUN_NAME}'",
        output_format="list",
    )
    assert len(runs) == 2
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.data.tags["corpus"] == "reuters" and run.data.tags["variant"] == "single"
    assert run.data.tags["encoder"] == "kim_cnn" and run.data.tags["loss"] == "bce"
    assert "mlflow.parentRunId" in run.data.tags  # nested under the kedro-mlflow session run
    assert run.data.params["single.training.max_epochs"] == "2"
    # the run's final metrics are the ones the pipeline wrote to metrics.json
    for key in ("test/all/micro_f1", "test/all/macro_f1", "test/all/p_at_1", "test/all/ndcg_at_5"):
        assert run.data.metrics[key] == pytest.approx(second[key])
    for k in (1, 3, 5):  # propensity-scored precision in every single-network run (METHODS §4)
        assert 0.0 < run.data.metrics[f"test/all/psp_at_{k}"] <= 1.0 + 1e-12
    assert run.data.tags["output_bias"] == "prior"  # bce's recipe
    assert run.data.tags["seed"] == "42"
    summary = json.loads(
        (project / "data/06_models/reuters/single/training_summary.json").read_text()
    )
    history = client.get_metric_history(run.info.run_id, "valid/epoch_micro_f1")
    assert [m.step for m in history] == list(range(1, summary["epochs_run"] + 1))
    # the best epoch's curve value is the validation F1 at the threshold chosen for test
    best = history[summary["best_epoch"] - 1].value
    assert best == pytest.approx(second["valid/all/micro_f1"])
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "model")}
    assert {"model/model.safetensors", "model/label_index.json"} <= artifacts
    predictions = {a.path for a in client.list_artifacts(run.info.run_id, "predictions")}
    assert "predictions/test_predictions.csv" in predictions
    # documents with one label vs several (METHODS §3.1), and the per-label F1 artifact whose
    # mean is the macro-F1 over all labels (a label without test positives counts 0 in both)
    assert {"test/labels_1/micro_f1", "test/labels_2plus/macro_f1"} <= set(run.data.metrics)
    (hscnn_run,) = mlflow.search_runs(
        experiment_names=["longtail_mltc"],
        filter_string="tags.mlflow.runName = 'reuters/hscnn/hscnn/bce'",
        output_format="list",
        max_results=1,
    )
    for tracked in (run, hscnn_run):
        path = mlflow.artifacts.download_artifacts(
            run_id=tracked.info.run_id, artifact_path="analysis/per_label_f1.csv"
        )
        per_label = pd.read_csv(path)
        assert per_label["label"].tolist() == json.loads(
            (project / "data/04_feature/reuters/label_index.json").read_text()
        )
        assert per_label["f1"].mean() == pytest.approx(tracked.data.metrics["test/all/macro_f1"])

    # The saved best weights are a plain safetensors state_dict of the classifier.
    state = load_file(str(project / "data/06_models/reuters/single/model.safetensors"))
    labels = json.loads((project / "data/04_feature/reuters/label_index.json").read_text())
    assert state["head.weight"].shape[0] == len(labels) == 90
    scores = np.load(project / "data/07_model_output/reuters/single/scores.npz")["test_scores"]
    assert scores.shape == (3019, 90)


def _copy_mirror(reuters_mirror: Path, dest: Path) -> Path:
    folder = dest / "reuters21578"
    folder.mkdir(parents=True)
    for src in sorted(reuters_mirror.glob("reut2-*.sgm")):
        shutil.copy2(src, folder / src.name)
    return folder


def _truncate(folder: Path) -> str:
    target = folder / "reut2-004.sgm"
    raw = target.read_bytes()
    target.write_bytes(raw[: len(raw) // 2])
    return "reut2-004.sgm"


def _no_topics(folder: Path) -> str:
    for path in folder.glob("reut2-*.sgm"):
        path.write_bytes(path.read_bytes().replace(b'TOPICS="YES"', b'TOPICS="NO"'))
    return "no documents"


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (_truncate, None),  # the file name is the expected message
        (_no_topics, None),
        (None, "reut2-000.sgm"),  # missing raw folder: the error lists the expected files
    ],
    ids=["corrupt-sgml", "empty-corpus", "missing-raw-folder"],
)
def test_bad_raw_data_fails_clearly_and_writes_nothing(
    project, tmp_path, monkeypatch, reuters_mirror, damage, expected
):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    if damage is not None:
        expected = damage(_copy_mirror(reuters_mirror, mirror))
    monkeypatch.setenv("LONGTAIL_MLTC_MIRROR", str(mirror))

    with pytest.raises(Exception) as info:
        run_pipeline(project, "hscnn")

    assert expected in str(info.value)
    assert data_files(project) == []


def test_any_loss_from_params_and_the_kim_cnn_loss_study(project):
    """`--params loss=db` trains the single network with DB, tagged with its parameters; then
    `--pipelines=balanced_losses --params backbone=kim_cnn` (the single network's loss sweep)
    trains one network per loss, each its own `balanced_losses/kim_cnn` run, and one table."""
    run_pipeline(project, "hscnn", params={"loss": "db", "loss_params": {"db": {"map_mu": 0.05}}})
    runs = mlflow.search_runs(
        experiment_names=["longtail_mltc"],
        filter_string="tags.mlflow.runName = 'reuters/single/single/db'",
        output_format="list",
    )
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    tagged = json.loads(runs[0].data.tags["loss_params"])
    assert tagged["map_mu"] == 0.05 and tagged["gamma"] == 2.0  # override + METHODS default
    assert runs[0].data.params["loss.name"] == "db"

    run_pipeline(project, "balanced_losses", params={"backbone": "kim_cnn"})
    from longtail_mltc.losses import LOSSES

    reports = project / "data/08_reporting/reuters/balanced_losses/kim_cnn"
    table = pd.read_csv(reports / "loss_table.csv")
    rows = table.iloc[1:].set_index("loss")  # row 0: labels or documents per group
    assert rows.index.tolist() == list(LOSSES)
    assert rows["all/micro_f1"].between(0, 1).all()
    for loss in LOSSES:
        metrics = json.loads((reports / f"{loss}/metrics.json").read_text())
        for column in ("tail/macro_f1", "all/p_at_1", "all/ndcg_at_5"):
            assert rows.loc[loss, column] == pytest.approx(metrics[f"test/{column}"], abs=1e-4)
    studied = mlflow.search_runs(
        experiment_names=["longtail_mltc"],
        filter_string="tags.pipeline = 'balanced_losses'",
        output_format="list",
    )
    assert sorted(run.info.run_name for run in studied) == sorted(
        f"reuters/balanced_losses/kim_cnn/{loss}" for loss in LOSSES
    )
    for run in studied:
        assert run.info.status == "FINISHED" and run.data.tags["variant"] == "kim_cnn"
        # the single network's encoder (conf/ci: 8 filters) and each loss's recipe
        assert run.data.params["single.encoder_params.num_filters"] == "8"
        recipe = "prior" if run.data.tags["loss"] in ("bce", "wce") else "zero"
        assert run.data.tags["output_bias"] == recipe
    # the only single/single run is the DB run above: the study's runs have their own names
    singles = mlflow.search_runs(
        experiment_names=["longtail_mltc"],
        filter_string="tags.variant = 'single' and tags.pipeline != 'hscnn'",
        output_format="list",
    )
    assert [run.info.run_name for run in singles] == ["reuters/single/single/db"]
