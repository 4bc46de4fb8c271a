"""Nodes that merge a trained HSCNN variant's scores, evaluate the merge and record it in its
MLflow run (METHODS §1.8, §1.10; docs/hscnn.md).

A :class:`Merge` is one decision rule over one variant's scores: the paper's rule
(:func:`merge_paper_rule`, the variant's own run) or the rule calibrated on validation
(:func:`merge_calibrated_rule`, its own run ``<variant>_calibrated``). Both are evaluated,
packaged as a raw-text predictor and recorded by the same nodes. The Single variant's run holds
the single network under the same §1.10 groups.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from longtail_mltc.evaluation.analysis import prediction_table
from longtail_mltc.evaluation.calibration import HybridRule, single_rule
from longtail_mltc.evaluation.comparison import per_label_report
from longtail_mltc.inference import HybridTextLabeler
from longtail_mltc.training.variants import get_variant

from ..configuration_runs import ModelArtifact, RunRecord, RunSpec, TrackedRun
from ..model_input import split_label_matrices
from .nodes import (
    CALIBRATED_SUFFIX,
    FIXED_PREFIXES,
    FIXED_SPLITS,
    PIPELINE,
    HybridEvaluation,
    HybridScores,
    TrainedVariant,
    calibrate_variant,
    hybrid_metrics,
    log_merge_summary,
    paper_hybrid_rule,
    split_scores,
)


@dataclass(frozen=True)
class Merge:
    """One decision rule over a trained variant's scores, and what its run is named after.

    ``name``: the run's variant (``<variant>`` or ``<variant>_calibrated``); ``evaluation``:
    the labels, ``N_φ`` split and groups the rule was chosen under and is evaluated under;
    ``head_from_single``: the predictor decides head labels with the untouched single network
    (Naive and /MT, §1.9, and every calibrated merge)."""

    name: str
    variant: str
    rule: HybridRule
    evaluation: HybridEvaluation
    scores: HybridScores
    head_from_single: bool

    @property
    def counts(self) -> np.ndarray:
        """The ``N_c`` of the ``N_φ`` split."""
        return self.evaluation.counts

    @property
    def n_phi(self) -> int:
        return self.evaluation.n_phi


def build_hybrid_evaluation(
    corpus_split: pd.DataFrame,
    label_index: list[str],
    label_statistics: dict[str, Any],
    hscnn_plan: Mapping[str, Any],
) -> HybridEvaluation:
    """The labels, ``N_φ`` split and groups both merges of a variant are chosen and evaluated
    under (built once per variant, §1.10)."""
    return HybridEvaluation.build(corpus_split, label_index, label_statistics, hscnn_plan["hscnn"])


def merge_paper_rule(
    hscnn_predictions: dict[str, np.ndarray],
    single_scores: dict[str, np.ndarray],
    hybrid_evaluation: HybridEvaluation,
    hscnn_plan: Mapping[str, Any],
) -> Merge:
    """The paper's merge (§1.8): ``N_c < N_φ`` decided by the Siamese part at ``s > 0.5``."""
    variant, evaluation = hscnn_plan["variant"], hybrid_evaluation
    probs, siamese = split_scores(hscnn_predictions, single_scores)
    rule = paper_hybrid_rule(evaluation, probs["valid"])
    head_from_single = get_variant(variant).head_from_single
    scores = HybridScores(probs, siamese)
    return Merge(variant, variant, rule, evaluation, scores, head_from_single)


def merge_calibrated_rule(
    hscnn_predictions: dict[str, np.ndarray],
    single_scores: dict[str, np.ndarray],
    hybrid_evaluation: HybridEvaluation,
    hscnn_plan: Mapping[str, Any],
) -> Merge:
    """The merge calibrated on validation only (:func:`~.nodes.calibrate_variant`), evaluated
    under the same §1.10 groups as the paper's rule. No retraining: the same weights and
    similarities; its base is the single network."""
    variant, hscnn, evaluation = hscnn_plan["variant"], hscnn_plan["hscnn"], hybrid_evaluation
    rule, probs, siamese, joint = calibrate_variant(
        hscnn_predictions, single_scores, evaluation, hscnn.get("calibration")
    )
    scores = HybridScores(probs, siamese, joint)
    name = f"{variant}{CALIBRATED_SUFFIX}"
    return Merge(name, variant, rule, evaluation, scores, True)


def plan_calibrated_run(
    hybrid_merge: Merge,
    hscnn_training_summary: dict[str, Any],
    hscnn_plan: Mapping[str, Any],
    corpus: str,
) -> RunSpec:
    """The calibrated merge's own run ``<corpus>/hscnn/<variant>_calibrated/<loss>``."""
    rule, hscnn = hybrid_merge.rule, hscnn_plan["hscnn"]
    return RunSpec(
        corpus=corpus,
        pipeline=PIPELINE,
        variant=hybrid_merge.name,
        loss=hscnn_training_summary["loss"],
        encoder=hscnn_plan["single"]["encoder"],
        params={
            "corpus": corpus,
            "seed": hscnn_plan["seed"],
            "single": hscnn_plan["single"],
            "hscnn": hscnn,
            "calibration": dict(hscnn.get("calibration") or {}),
        },
        tags={
            "n_phi": str(hybrid_merge.n_phi),
            "n_examples": str(hscnn_training_summary.get("n_examples", "")),
            "trained_run_id": str(hscnn_training_summary["mlflow_run_id"]),
            "calibrated_n_phi": str(rule.n_phi),
            "calibrated_source": str(rule.details.get("source", "single")),
        },
    )


def evaluate_merge(hybrid_merge: Merge, hscnn_training_summary: dict[str, Any]) -> dict[str, float]:
    """Metrics of the merge per §3.1 group and §1.10 ``hybrid_*`` group (the evaluation the
    merge was built under); a calibrated rule adds what the calibration chose
    (``calibration/*``)."""
    scores = hybrid_merge.scores
    metrics = hybrid_merge.evaluation.evaluate(
        hybrid_merge.rule, scores.probs, scores.siamese, joint_probs=scores.joint
    )
    log_merge_summary(f"{hybrid_merge.name}/{hscnn_training_summary['loss']}", metrics)
    if hybrid_merge.name.endswith(CALIBRATED_SUFFIX):
        metrics.update(calibration_details(hybrid_merge.rule))
    return metrics


def calibration_details(rule: HybridRule) -> dict[str, float]:
    """``calibration/<key>`` for every number the calibration recorded, and the label counts."""
    details = {
        f"calibration/{key}": float(value)
        for key, value in rule.details.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    details["calibration/n_phi"] = float(rule.n_phi)
    details["calibration/siamese_labels"] = float(rule.siamese_labels.size)
    details["calibration/joint_labels"] = float(rule.joint_labels.size)
    return details


def build_hscnn_predictor(
    hybrid_merge: Merge,
    hscnn_model_state: dict[str, torch.Tensor],
    single_model_state: dict[str, torch.Tensor],
    hscnn_predictions: dict[str, np.ndarray],
    label_index: list[str],
    hscnn_plan: Mapping[str, Any],
    vocabulary: dict[str, Any],
    features: dict[str, Any],
) -> HybridTextLabeler:
    """The variant as a raw-text labeler that decides as the merge does (``predictor/``)."""
    trained = TrainedVariant(
        hybrid_merge.variant,
        hscnn_model_state,
        single_model_state,
        hscnn_predictions,
        hscnn_plan["single"],
        hscnn_plan["hscnn"],
        vocabulary,
        features,
    )
    return trained.labeler(
        label_index, hybrid_merge.counts, hybrid_merge.rule, hybrid_merge.head_from_single
    )


def analyse_merge(
    hybrid_merge: Merge, corpus_split: pd.DataFrame, label_index: list[str]
) -> dict[str, dict[str, str]]:
    """``predictions/test_predictions.csv`` and ``analysis/per_label_f1.csv`` (the reporting
    plots) of the merged test decisions."""
    scores, decisions = hybrid_merge.scores.merge(hybrid_merge.rule, "test")
    test = corpus_split.loc[corpus_split["split"] == "test"]
    y_test = split_label_matrices(corpus_split, label_index, ("test",))["test"]
    table = prediction_table(
        test["doc_id"].to_numpy(), test["labels"].tolist(), scores, decisions, label_index
    )
    per_label = per_label_report(y_test, decisions, label_index, hybrid_merge.counts)
    return {
        "predictions": {"test_predictions.csv": table.to_csv(index=False)},
        "analysis": {"per_label_f1.csv": per_label.to_csv(index=False)},
    }


def record_merge(
    hscnn_metrics: dict[str, float],
    hybrid_merge: Merge,
    hscnn_model_state: dict[str, torch.Tensor],
    hscnn_predictor: HybridTextLabeler,
    hscnn_test_files: dict[str, dict[str, str]],
    label_index: list[str],
    hscnn_run: TrackedRun,
) -> RunRecord:
    """What the merge's run keeps: metrics, ``model/`` (weights, configuration, label index,
    ``hybrid_rule.json``), the test files and the raw-text ``predictor/``."""
    rule = hybrid_merge.rule
    config = {
        "variant": hybrid_merge.variant,
        "n_phi": hybrid_merge.n_phi,
        "single_threshold": rule.single_threshold,
        "rule": rule.name,
        "num_labels": len(label_index),
    }
    rule_file = {"hybrid_rule.json": json.dumps(rule.to_dict(), indent=1)}
    return RunRecord(
        hscnn_run,
        metrics=hscnn_metrics,
        model=ModelArtifact(hscnn_model_state, config, label_index),
        artifacts={"model": rule_file, **hscnn_test_files},
        predictor=hscnn_predictor,
    )


# ---- the Single variant ------------------------------------------------------------------------


def plan_single_variant_run(
    single_training_summary: dict[str, Any],
    single_loss: Mapping[str, Any],
    single: dict[str, Any],
    hscnn: dict[str, Any],
    corpus: str,
    seed: int,
) -> RunSpec:
    """The Single variant's run ``<corpus>/hscnn/single/<loss>``."""
    n_phi = int(hscnn["training"]["n_phi"])
    return RunSpec(
        corpus=corpus,
        pipeline=PIPELINE,
        variant="single",
        loss=single_loss["name"],
        encoder=single["encoder"],
        params={"corpus": corpus, "seed": seed, "single": single, "n_phi": n_phi},
        tags={
            "n_phi": str(n_phi),
            "single_run_id": str(single_training_summary.get("mlflow_run_id")),
        },
    )


def evaluate_single_variant(
    single_scores: dict[str, np.ndarray],
    corpus_split: pd.DataFrame,
    label_index: list[str],
    label_statistics: dict[str, Any],
    hscnn: dict[str, Any],
    single_loss: Mapping[str, Any],
) -> dict[str, float]:
    """The trained single network under the §1.10 protocol, also at the untuned 0.5 (the
    paper's single network decided there: ``<split>_t0.5/...``)."""
    evaluation = HybridEvaluation.build(corpus_split, label_index, label_statistics, hscnn)
    metrics = hybrid_metrics(None, single_scores, evaluation)
    probs, _ = split_scores(None, single_scores)
    at_half = evaluation.evaluate(single_rule(0.5), probs, None, prefixes=FIXED_PREFIXES)
    metrics.update({k: v for k, v in at_half.items() if k.startswith(FIXED_SPLITS)})
    log_merge_summary(f"single/{single_loss['name']}", metrics)
    return metrics


def record_metrics(metrics: dict[str, float], run: TrackedRun) -> RunRecord:
    """A run that keeps its final metrics only."""
    return RunRecord(run, metrics=metrics)
