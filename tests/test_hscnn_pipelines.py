"""The HSCNN pipelines on real Reuters-21578, shrunk by `--env ci` (numbers say nothing about
quality; the tests check what is produced, tracked and how the pieces agree)."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from kedro_project import run_pipeline
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.slow

REPORTS = Path("data/08_reporting/reuters")


def _runs(name: str | None = None, **tags: str) -> list:
    filters = [f"tags.{k} = '{v}'" for k, v in tags.items()]
    if name:
        filters.append(f"tags.mlflow.runName = '{name}'")
    return mlflow.search_runs(
        experiment_names=["longtail_mltc"],
        filter_string=" and ".join(filters),
        output_format="list",
    )


def _json(project: Path, relative: str) -> dict:
    return json.loads((project / relative).read_text())


def test_hscnn_chain_sweeps_and_variant_table(project):
    run_pipeline(project, "hscnn")

    # Triplets are a saved dataset: training-row ids, labels, targets 1:2 (METHODS §1.5).
    triplets = pd.read_parquet(project / "data/05_model_input/reuters/hscnn/triplets.parquet")
    assert list(triplets.columns) == ["first", "second", "label", "target"]
    assert len(triplets) == 1000 and triplets["target"].sum() == 1000 - 2 * ((1000 - 333) // 2)

    # Four runs under the kedro-mlflow session run: the single network's own (§3.1 groups), and
    # tagged pipeline=hscnn under the same §1.10 groups: the single network, the paper's merge
    # and the calibrated merge.
    (single_run,) = _runs("reuters/single/single/bce")
    (single_variant,) = _runs("reuters/hscnn/single/bce")
    (hscnn_run,) = _runs("reuters/hscnn/hscnn/bce")
    (calibrated_run,) = _runs("reuters/hscnn/hscnn_calibrated/bce")
    compared = (single_variant, hscnn_run, calibrated_run)
    for run in (single_run, *compared):
        assert run.info.status == "FINISHED"
        assert run.data.tags["mlflow.parentRunId"] == single_run.data.tags["mlflow.parentRunId"]
    assert hscnn_run.data.tags["variant"] == "hscnn" and hscnn_run.data.tags["n_phi"] == "100"
    assert hscnn_run.data.params["variant.gated"] == "True"
    assert "budget_warning" in hscnn_run.data.tags  # 1,000 triplets: far below the paper's
    metrics = _json(project, REPORTS / "hscnn/metrics.json")
    for key in ("test/all/micro_f1", "test/all/p_at_5", "test/tail/macro_f1", "test/head/micro_f1"):
        assert hscnn_run.data.metrics[key] == pytest.approx(metrics[key])
    for run in compared:  # the same groups and diagnostics in all three runs
        for key in (
            "test/all/psp_at_1",
            "test/all/psp_at_3",
            "test/all/psp_at_5",
            "test/tail/macro_f1",  # §3.1 frequency group, as in every run
            "test/hybrid_tail/macro_f1",  # §1.10 (b) at N_φ
            "test/hybrid_tail/false_positive_rate",
            "test/hybrid_tail/single_map",
        ):
            assert key in run.data.metrics, (run.data.tags["variant"], key)
    assert "test/hybrid_tail/siamese_map" in calibrated_run.data.metrics
    assert "test_t0.5/all/micro_f1" in single_variant.data.metrics  # untuned threshold too
    # the calibrated merge is never below its single network on validation macro-F1, and on
    # validation micro-F1 at most the run's logged tolerance
    calibrated = _json(project, REPORTS / "hscnn/calibrated_metrics.json")
    single_hybrid = _json(project, REPORTS / "hscnn/single_metrics.json")
    tolerance = float(calibrated_run.data.params["calibration.micro_tolerance"])
    assert 0 <= tolerance < 0.05
    valid_micro = single_hybrid["valid/all/micro_f1"] - tolerance - 1e-12
    assert calibrated["valid/all/micro_f1"] >= valid_micro
    assert calibrated["valid/all/macro_f1"] >= single_hybrid["valid/all/macro_f1"] - 1e-12
    # N_φ of the grid, or 0 when the single network alone did best on validation
    grid = (0, 5, 10, 25, 50, 75, 100, 150, 200, 300)
    assert calibrated_run.data.metrics["calibration/n_phi"] in grid
    rule = MlflowClient().download_artifacts(calibrated_run.info.run_id, "model/hybrid_rule.json")
    assert json.loads(Path(rule).read_text())["name"] == "calibrated"
    history = MlflowClient().get_metric_history(hscnn_run.info.run_id, "valid/hybrid_micro_f1")
    assert [m.step for m in history] == [0, 1]  # epoch 0 = the initial weights
    for signal in ("valid/pair_loss", "valid/hybrid_tail_siamese_map"):
        assert len(MlflowClient().get_metric_history(hscnn_run.info.run_id, signal)) == 2
    artifacts = {a.path for a in MlflowClient().list_artifacts(hscnn_run.info.run_id, "model")}
    assert "model/model.safetensors" in artifacts

    # N_φ sweep: a re-merge of the same predictions, so its row at the configured N_φ is the
    # pipeline's own evaluation, and the tail grows with N_φ.
    run_pipeline(project, "hscnn_n_phi")
    sweep = pd.read_csv(project / REPORTS / "hscnn_sweeps/n_phi.csv")
    assert sweep["n_phi"].tolist() == [5, 50, 100]
    assert sweep["n_hybrid_tail_labels"].is_monotonic_increasing
    at_100 = sweep.set_index("n_phi").loc[100]
    assert at_100["test/all/micro_f1"] == pytest.approx(metrics["test/all/micro_f1"])
    assert at_100["test/hybrid_tail/macro_f1"] == pytest.approx(
        metrics["test/hybrid_tail/macro_f1"]
    )
    assert (project / REPORTS / "hscnn_sweeps/n_phi.png").stat().st_size > 10_000

    # Triplet sweep: three namespaced points, each an ordinary HSCNN run tagged with its count;
    # the point at the headline chain's own count (1,000) retrains the main HSCNN exactly.
    run_pipeline(project, "hscnn_triplets")
    counts = pd.read_csv(project / REPORTS / "hscnn_sweeps/n_triplets.csv")
    assert counts["n_triplets"].tolist() == [900, 1000, 1200]
    for count, run_id in zip(counts["n_triplets"], counts["mlflow_run_id"], strict=True):
        run = MlflowClient().get_run(run_id)
        assert run.data.tags["n_examples"] == str(count) and run.info.status == "FINISHED"
        assert run.data.tags["mlflow.runName"] == "reuters/hscnn/hscnn/bce"
    at_1000 = counts.set_index("n_triplets").loc[1000]
    for key in ("test/all/micro_f1", "test/all/macro_f1", "test/hybrid_tail/macro_f1"):
        assert at_1000[key] == pytest.approx(metrics[key], abs=1e-12)

    # Variant × loss: 27 runs tagged with exactly the §1.9 names (each Siamese variant also
    # calibrated); the bce single network is trained with the same seed and settings as the main
    # chain's, so bce/hscnn reproduces the main pipeline's HSCNN to the last digit.
    run_pipeline(project, "hscnn_variants")
    table = pd.read_csv(project / REPORTS / "hscnn_variants/variant_table.csv")
    siamese = ("naive", "no_css", "no_mt", "hscnn")
    assert len(table) == 27
    assert set(table["variant"]) == {"single", *siamese, *(f"{v}_calibrated" for v in siamese)}
    assert set(table["loss"]) == {"bce", "wce", "focal"}
    for loss in ("bce", "wce", "focal"):
        runs = _runs(pipeline="hscnn", loss=loss)
        variants = sorted(r.data.tags["variant"] for r in runs if r.info.status == "FINISHED")
        expected = {"single": 1, **{v: 1 for v in siamese}}
        expected.update({f"{v}_calibrated": 1 for v in siamese})
        if loss == "bce":  # the main chain's three runs and the three sweep runs
            expected.update(single=2, hscnn=5, hscnn_calibrated=2)
        assert variants == sorted(v for v, n in expected.items() for _ in range(n))
    bce_hscnn = table.set_index(["loss", "variant"]).loc[("bce", "hscnn")]
    assert bce_hscnn["test/all/micro_f1"] == metrics["test/all/micro_f1"]
    single = table.set_index(["loss", "variant"]).loc[("bce", "single")]
    assert single["test/all/p_at_1"] == pytest.approx(
        _json(project, REPORTS / "single/metrics.json")["test/all/p_at_1"]
    )
