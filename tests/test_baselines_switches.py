"""baselines.enabled.<name>: a switched-off baseline is neither fitted nor tracked (issue 21, 6)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from omegaconf import OmegaConf

from longtail_mltc.config_errors import ConfigurationError
from longtail_mltc.datasets import SkopsDataset
from longtail_mltc.pipelines import configuration_runs
from longtail_mltc.pipelines.baselines import nodes
from longtail_mltc.pipelines.baselines.nodes import (
    BASELINES,
    build_tfidf_features,
    compare_baselines,
    enabled_baselines,
    evaluate_baseline,
    fit_baseline,
    plan_baseline,
    record_baseline,
    skipped_model,
)

KNOWN = "br, cc, lp, svm_ovr, svm_ovr_balanced"


def test_every_baseline_is_on_unless_switched_off() -> None:
    assert enabled_baselines({}) == dict.fromkeys(BASELINES, True)
    assert enabled_baselines({"enabled": {"lp": False}}) == {
        "br": True,
        "cc": True,
        "lp": False,
        "svm_ovr": True,
        "svm_ovr_balanced": True,
    }


def test_the_command_line_form_gives_a_boolean() -> None:
    # kedro run --params baselines.enabled.lp=false goes through OmegaConf.from_dotlist
    params = OmegaConf.to_container(OmegaConf.from_dotlist(["baselines.enabled.lp=false"]))
    assert enabled_baselines(params["baselines"])["lp"] is False


def test_unknown_baseline_name_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as error:
        enabled_baselines({"enabled": {"lp": True, "label_powerset": False}})
    assert str(error.value) == (
        "baselines.enabled.label_powerset: expected a known baseline, got 'label_powerset'; "
        f"declared: {KNOWN}"
    )


def test_a_switch_must_be_true_or_false() -> None:
    with pytest.raises(
        ConfigurationError, match=r"^baselines.enabled.cc: expected true or false, got 'no'$"
    ):
        enabled_baselines({"enabled": {"cc": "no"}})


def test_a_wrong_switch_fails_before_the_tfidf_features() -> None:
    with pytest.raises(ConfigurationError, match="baselines.enabled.bogus"):
        build_tfidf_features(pd.DataFrame(), pd.DataFrame(), {"enabled": {"bogus": True}})


def test_switched_off_baseline_is_not_fitted_nor_tracked(monkeypatch) -> None:
    calls: list[str] = []

    def must_not_run(*args, **kwargs):
        calls.append("called")
        raise AssertionError("a switched-off baseline was fitted or tracked")

    monkeypatch.setattr(nodes, "fit_linear_baseline", must_not_run)
    monkeypatch.setattr(configuration_runs.tracking, "start_configuration_run", must_not_run)
    monkeypatch.setattr(nodes, "split_label_matrices", must_not_run)
    baselines = {"enabled": {"lp": False}, "tfidf": {}}
    plan, spec = plan_baseline(baselines, corpus="goemotions", seed=0, name="lp")
    run_dataset = configuration_runs.ConfigurationRunDataset()
    run_dataset.save(spec)
    run = run_dataset.load()
    model, fit = fit_baseline({}, pd.DataFrame(), [], plan)
    metrics, scores = evaluate_baseline(model, fit, {}, pd.DataFrame(), [], {}, baselines, plan)
    configuration_runs.RunRecordDataset().save(record_baseline(model, metrics, scores, {}, [], run))
    assert calls == []
    assert run.run_id == "" and not spec.tracked
    assert model == {"skipped": True, "baseline": "lp", "reason": "baselines.enabled.lp is false"}
    assert metrics == {"skipped": 1.0}


def test_a_baseline_that_is_on_is_tracked() -> None:
    plan, spec = plan_baseline({"tfidf": {"min_df": 2}}, corpus="reuters", seed=3, name="svm_ovr")
    assert plan == {"name": "svm_ovr", "enabled": True, "params": {"random_state": 3}}
    assert spec.tracked and spec.name == "reuters/baselines/svm_ovr/hinge"
    assert spec.params == {
        "corpus": "reuters",
        "seed": 3,
        "tfidf": {"min_df": 2},
        "svm_ovr": {"random_state": 3},
    }


def test_comparison_table_marks_the_skipped_row() -> None:
    table = compare_baselines(
        br={"test/all/micro_f1": 0.5, "test/all/macro_f1": 0.25}, lp={"skipped": 1.0}
    )
    assert table["model"].tolist() == ["br", "lp"]
    assert table["status"].tolist() == ["fitted", "skipped"]
    assert table.loc[0, "test/all/micro_f1"] == 0.5
    assert all(math.isnan(v) for v in table.loc[1].drop(["model", "status"]))


def test_the_skip_marker_replaces_a_stale_model_file(tmp_path) -> None:
    path = tmp_path / "model.skops"
    path.write_bytes(b"an earlier run's model")
    dataset = SkopsDataset(str(path))
    dataset.save(skipped_model("lp"))
    assert dataset.load() == skipped_model("lp")
