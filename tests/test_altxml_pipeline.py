"""The altxml pipeline on real Reuters-21578 (`--env ci`: tiny models, one epoch each): every
model of the study is its own tracked run, and the table and SGM's figures are consistent."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro_project import run_pipeline
from sklearn.metrics import f1_score

from longtail_mltc.labels import to_label_matrix

pytestmark = pytest.mark.slow

MODELS = ("altxml", "rnn_att", "cnn_rnn", "kim_cnn", "sgm")
REPORTS = Path("data/08_reporting/reuters/altxml")


def test_altxml_pipeline_tracks_each_model_and_tabulates_them(project: Path):
    run_pipeline(project, ("ingestion", "altxml"))  # altxml starts from data/

    runs = {}
    for model in MODELS:
        (run,) = mlflow.search_runs(
            experiment_names=["longtail_mltc"],
            filter_string=f"tags.variant = '{model}' and tags.pipeline = 'altxml'",
            output_format="list",
        )
        loss = "sequence_ce" if model == "sgm" else "bce"
        assert run.info.run_name == f"reuters/altxml/{model}/{loss}"
        assert run.info.status == "FINISHED"
        runs[model] = run
    assert runs["altxml"].data.tags["encoder"] == "altxml"
    assert runs["altxml"].data.params["single.training.optimizer"] == "adamw"
    assert runs["altxml"].data.params["single.training.grad_clip_norm"] == "10.0"
    assert len({r.data.tags["mlflow.parentRunId"] for r in runs.values()}) == 1

    table = pd.read_csv(project / REPORTS / "model_table.csv").set_index("model")
    assert table.index.tolist() == list(MODELS)
    for model, run in runs.items():
        metrics = json.loads((project / REPORTS / model / "metrics.json").read_text())
        for key in ("test/all/micro_f1", "test/all/macro_f1", "test/all/p_at_1"):
            assert run.data.metrics[key] == pytest.approx(metrics[key])
            assert table.loc[model, key] == pytest.approx(metrics[key])

    # SGM decides label sets itself: its micro-F1 is that of the saved decoded test sets.
    split = pd.read_parquet(project / "data/03_primary/reuters/corpus_split.parquet")
    label_index = json.loads((project / "data/04_feature/reuters/label_index.json").read_text())
    test = split.loc[split["split"] == "test", "labels"]
    y_test = np.asarray(to_label_matrix([list(v) for v in test], label_index).todense())
    predictions = np.load(project / "data/07_model_output/reuters/altxml/sgm/predictions.npz")
    decisions = predictions["test_decisions"]
    assert decisions.shape == y_test.shape and decisions.dtype == bool
    assert decisions.any()  # it decodes label sets, not only END
    expected = f1_score(y_test, decisions, average="micro", zero_division=0)
    assert runs["sgm"].data.metrics["test/all/micro_f1"] == pytest.approx(expected, abs=1e-9)
    history = mlflow.tracking.MlflowClient().get_metric_history(
        runs["sgm"].info.run_id, "valid/epoch_micro_f1"
    )
    assert [m.step for m in history] == [1]
