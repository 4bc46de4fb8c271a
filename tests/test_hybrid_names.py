"""One meaning per name (issue 22, item 4): ``head`` / ``medium`` / ``tail`` are the frequency
groups of §3.1 in every run, table and file; HSCNN's ``N_φ`` split is ``hybrid_head`` /
``hybrid_tail``. Older runs and files are read under the new names."""

from __future__ import annotations

import re
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml

from longtail_mltc.evaluation.calibration import paper_rule
from longtail_mltc.evaluation.hybrid import evaluate_hybrid_splits
from longtail_mltc.evaluation.legacy_runs import rename_legacy_hybrid_groups
from longtail_mltc.evaluation.metrics import evaluate
from longtail_mltc.evaluation.reporting import evaluate_by_group
from longtail_mltc.labels.stats import LabelStatistics
from longtail_mltc.pipelines.reporting.nodes import collect_runs, render_comparison
from longtail_mltc.pipelines.tracked_runs import TrackedRunsDataset
from longtail_mltc.training.hscnn import HSCNNTrainConfig
from longtail_mltc.training.hybrid_prediction import HybridPrediction, hybrid_micro_f1s

PROJECT = Path(__file__).resolve().parents[1]
FREQUENCY = {"head": np.array([0, 1]), "medium": np.array([2]), "tail": np.array([3, 4])}
N_PHI_TAIL = np.array([False, False, False, False, True])  # N_c < N_φ: label 4 only
HEAD_TAIL_WORD = re.compile(r"(?<![a-z])(head|tail)(?![a-z])")


def _case(seed: int = 0):
    """60 documents, 5 labels; the frequency tail (3, 4) and the N_φ tail (4) differ."""
    rng = np.random.default_rng(seed)
    y = (rng.random((60, 5)) < [0.5, 0.4, 0.3, 0.2, 0.1]).astype(np.uint8)
    y[0, 4] = 1  # a document with an N_φ-tail label
    probs = np.clip(y * 0.4 + rng.random((60, 5)) * 0.6, 0, 1).astype(np.float32)
    sims = np.clip(y * 0.3 + rng.random((60, 5)) * 0.7, 0, 1).astype(np.float32)
    counts = np.array([300, 200, 150, 120, 10])
    return y, probs, sims, counts


def _hscnn_metrics() -> dict[str, float]:
    y, probs, sims, counts = _case()
    splits = {"valid": y, "test": y}
    rule = paper_rule(counts, 100, 0.5)
    return evaluate_hybrid_splits(
        splits,
        {"valid": probs, "test": probs},
        {"valid": sims, "test": sims},
        rule,
        N_PHI_TAIL,
        (1,),
        FREQUENCY,
    )


def test_every_head_or_tail_key_of_an_hscnn_evaluation_is_a_frequency_group():
    """``head`` / ``tail`` as a word of a key is only ever ``<split>/<frequency group>/...``,
    whose figure is the frequency group's; the N_φ split has only ``hybrid_*`` keys."""
    out = _hscnn_metrics()
    y, probs, sims, counts = _case()
    scores, decisions = paper_rule(counts, 100, 0.5).merge(probs, sims)
    for key in out:
        if not HEAD_TAIL_WORD.search(key.replace("hybrid_head", "").replace("hybrid_tail", "")):
            continue
        assert key.count("/") == 2, key  # <split>/<group>/<metric>
        split, group, metric = key.split("/")
        assert group in FREQUENCY, key
        if metric == "micro_f1":  # P/R/F1 come from the merged decisions (module doc)
            columns = FREQUENCY[group]
            expected = evaluate(y[:, columns], decisions[:, columns].astype(np.float32), 0.5, ())
            assert out[key] == pytest.approx(expected["micro_f1"], abs=1e-12), key
    assert {"single_threshold", "n_hybrid_tail_labels"} <= set(out)
    assert out["n_hybrid_tail_labels"] == 1.0
    assert "test/hybrid_tail/micro_f1" in out and "test/hybrid_head/micro_f1" in out
    assert out["test/tail/n_labels"] == 2 and out["test/hybrid_tail/n_labels"] == 1


def test_the_per_epoch_signal_names_the_n_phi_split_hybrid():
    y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 1]], dtype=np.uint8)
    decisions = np.array([[1, 0, 0], [0, 1, 1], [1, 0, 1]], dtype=bool)
    is_tail = np.array([False, False, True])
    zeros = np.zeros((3, 3), dtype=np.float32)
    out = hybrid_micro_f1s(y, HybridPrediction(zeros, zeros, zeros, decisions, is_tail))
    # head columns 0, 1: tp 3, fp 0, fn 1 → 6/7; tail column 2: tp 1, fp 1, fn 1 → 1/2
    assert out == pytest.approx(
        {"hybrid_micro_f1": 8 / 11, "hybrid_head_micro_f1": 6 / 7, "hybrid_tail_micro_f1": 0.5}
    )
    assert HSCNNTrainConfig().monitor == "hybrid_tail_map"
    assert HSCNNTrainConfig(monitor="tail_map").monitor == "hybrid_tail_map"  # older configs


def test_label_statistics_name_the_split_hybrid_and_read_older_files():
    stats = LabelStatistics(("a", "b", "c"), np.array([5, 120, 0]), 130, 50, 5, n_phi=100)
    stored = stats.to_dict()
    assert stored["hybrid"] == {"hybrid_head": [1], "hybrid_tail": [0, 2]}
    older = {**stored, "hybrid": {"head": [1], "tail": [0, 2]}}  # written before the rename
    assert LabelStatistics.from_dict(older) == stats
    with pytest.raises(ValueError, match="hybrid"):
        LabelStatistics.from_dict({**stored, "hybrid": {"head": [0], "tail": [1, 2]}})


def _default_reporting() -> dict:
    text = (PROJECT / "conf/base/parameters_reporting.yml").read_text()
    return yaml.safe_load(text)["reporting"]


def test_the_default_reporting_table_keeps_the_two_meanings_in_separate_columns():
    y, probs, _, _ = _case()
    single = evaluate_by_group(y, probs, FREQUENCY, threshold=0.5, ks=(1,), prefix="test")
    hscnn = _hscnn_metrics()
    runs = pd.DataFrame(
        [
            {"configuration": "reuters/single/single/bce", "seed": 1, **single},
            {"configuration": "reuters/hscnn/hscnn/bce", "seed": 1, **hscnn},
        ]
    )
    reporting = _default_reporting()
    table, markdown, _ = render_comparison(runs, reporting)
    table = table.set_index("configuration")
    row = table.loc["reuters/hscnn/hscnn/bce"]
    for metric in reporting["metrics"]:
        assert row[f"test/tail/{metric}"] == hscnn[f"test/tail/{metric}"]
        assert row[f"test/hybrid_tail/{metric}"] == hscnn[f"test/hybrid_tail/{metric}"]
        assert row[f"test/hybrid_head/{metric}"] == hscnn[f"test/hybrid_head/{metric}"]
        assert np.isnan(table.loc["reuters/single/single/bce", f"test/hybrid_tail/{metric}"])
    assert "test/hybrid_tail/macro_f1" in markdown


def _search_runs_frame() -> pd.DataFrame:
    """Three runs as MLflow's search_runs returns them: a single network, a new HSCNN run, and
    an HSCNN run tracked before the split had its own names (head / tail = the N_φ split)."""
    return pd.DataFrame(
        {
            "tags.pipeline": ["single", "hscnn", "hscnn"],
            "metrics.test/all/micro_f1": [0.8, 0.81, 0.79],
            "metrics.test/head/micro_f1": [0.9, 0.91, 0.85],
            "metrics.test/medium/micro_f1": [0.5, 0.52, np.nan],
            "metrics.test/tail/micro_f1": [0.2, 0.25, 0.4],
            "metrics.test/hybrid_tail/micro_f1": [np.nan, 0.3, np.nan],
            "metrics.valid/tail/micro_f1": [0.21, 0.26, 0.41],
        }
    )


def test_older_hscnn_runs_are_read_with_the_split_under_hybrid_names():
    before = _search_runs_frame()
    after = rename_legacy_hybrid_groups(before)
    pd.testing.assert_frame_equal(after.iloc[:2][before.columns], before.iloc[:2])  # unchanged
    legacy = after.iloc[2]
    assert legacy["metrics.test/hybrid_tail/micro_f1"] == 0.4
    assert legacy["metrics.test/hybrid_head/micro_f1"] == 0.85
    assert legacy["metrics.valid/hybrid_tail/micro_f1"] == 0.41
    assert np.isnan(legacy["metrics.test/tail/micro_f1"])
    assert np.isnan(legacy["metrics.test/head/micro_f1"])
    assert legacy["metrics.test/all/micro_f1"] == 0.79
    assert np.isnan(after.loc[0, "metrics.test/hybrid_head/micro_f1"])


def test_reporting_reads_an_older_hscnn_run_tracked_in_mlflow(tmp_path):
    from kedro_project import reset_mlflow_process_state

    reset_mlflow_process_state()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        mlflow.set_experiment("unit")
        frame = _search_runs_frame()
        for i, name in enumerate(["single", "hscnn", "hscnn_old"]):
            metrics = {
                k[len("metrics.") :]: v for k, v in frame.iloc[i].items() if k[:8] == "metrics."
            }
            tags = {"corpus": "reuters", "pipeline": frame.loc[i, "tags.pipeline"], "seed": "1"}
            with mlflow.start_run(run_name=f"reuters/{name}"):
                mlflow.set_tags(tags)
                mlflow.log_metrics({k: v for k, v in metrics.items() if not np.isnan(v)})
        tracked = TrackedRunsDataset("unit").load()
        runs = collect_runs(tracked, _default_reporting(), "reuters").set_index("configuration")
        assert runs.loc["reuters/hscnn_old", "test/hybrid_tail/micro_f1"] == 0.4
        assert np.isnan(runs.loc["reuters/hscnn_old", "test/tail/micro_f1"])
        assert runs.loc["reuters/hscnn", "test/tail/micro_f1"] == 0.25
        assert runs.loc["reuters/single", "test/tail/micro_f1"] == 0.2
    finally:
        reset_mlflow_process_state()
