"""Nodes of the altxml pipeline that the single network's nodes do not cover: SGM (METHODS
§2.3), which decides label sets by itself, and the comparison table of all the study's models.

The encoder models (altxml, rnn_att, cnn_rnn, kim_cnn) reuse the single pipeline's nodes; SGM
gets its own train → predict → evaluate chain, tracked as ``<corpus>/altxml/sgm/sequence_ce``
(its loss is the cross-entropy of the label sequence, not one of the multi-label losses).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from longtail_mltc.evaluation.reporting import evaluate_decisions_by_group
from longtail_mltc.inference.scores import decode_split
from longtail_mltc.labels import LabelStatistics
from longtail_mltc.models import SGM
from longtail_mltc.training import (
    MetricLogger,
    SGMTrainConfig,
    decoding_limit,
    fit_sgm,
    inference_device,
    seed_everything,
)

from ..checkpoints import run_options
from ..configuration_runs import ModelArtifact, RunRecord, RunSpec, TrackedRun
from ..model_input import encoded_split, split_label_matrices, stored_inverse_propensities

logger = logging.getLogger(__name__)

PIPELINE = "altxml"
SGM_LOSS = "sequence_ce"
TABLE_COLUMNS = (
    "test/all/micro_precision",
    "test/all/micro_recall",
    "test/all/micro_f1",
    "test/all/macro_f1",
    "test/all/p_at_1",
    "test/all/p_at_3",
    "test/all/ndcg_at_5",
    "test/tail/micro_f1",
    "test/tail/macro_f1",
)


def _build_sgm(sgm: Mapping[str, Any], vocab_size: int, num_labels: int) -> SGM:
    return SGM(vocab_size, num_labels, **sgm["model_params"])


def plan_sgm(
    word_vectors: dict[str, np.ndarray],
    sgm: dict[str, Any],
    corpus: str,
    seed: int,
    checkpoints: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], RunSpec]:
    """SGM's training settings and its MLflow run ``<corpus>/altxml/sgm/sequence_ce``."""
    vocab_size = int(word_vectors["vectors"].shape[0])  # the vocabulary, as the encoders use
    training, resume = run_options(sgm["training"])
    spec = RunSpec(
        corpus=corpus,
        pipeline=PIPELINE,
        variant="sgm",
        loss=SGM_LOSS,
        encoder="sgm",
        params={"corpus": corpus, "seed": seed, "sgm": sgm, "vocab_size": vocab_size},
    )
    spec, checkpointing = spec.with_checkpoints(checkpoints, seed=seed, resume=resume)
    settings = {"sgm": sgm, "seed": seed, "vocab_size": vocab_size, "training": training}
    return {**settings, "resume": resume, "checkpointing": checkpointing}, spec


def train_sgm(
    corpus_split: pd.DataFrame,
    encoded_documents: dict[str, np.ndarray],
    label_index: list[str],
    label_statistics: dict[str, Any],
    sgm_plan: Mapping[str, Any],
    sgm_run: TrackedRun,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Teacher-forced training, best validation micro-F1 of decoded sets (epochs logged into
    the run)."""
    seed_everything(sgm_plan["seed"])
    train = encoded_split(corpus_split, encoded_documents, label_index, "train")
    valid = encoded_split(corpus_split, encoded_documents, label_index, "valid")
    model = _build_sgm(sgm_plan["sgm"], sgm_plan["vocab_size"], len(label_index))
    stats = LabelStatistics.from_dict(label_statistics)
    config = SGMTrainConfig(seed=sgm_plan["seed"], **sgm_plan["training"])
    checkpointing = sgm_plan["checkpointing"]
    checkpointing.begin(sgm_run.run_id)
    result = fit_sgm(
        model,
        train,
        valid,
        stats.counts,
        config,
        [MetricLogger(sgm_run.log_metrics)],
        checkpoint_dir=checkpointing.directory,
        resume=sgm_plan["resume"],
    )
    checkpointing.finish()
    summary = {
        "mlflow_run_id": sgm_run.run_id,
        "vocab_size": sgm_plan["vocab_size"],
        "max_labels": decoding_limit(train, config),
        **result.summary(),
    }
    return result.best_state, summary


def predict_sgm(
    sgm_model_state: dict[str, torch.Tensor],
    sgm_training_summary: dict[str, Any],
    corpus_split: pd.DataFrame,
    encoded_documents: dict[str, np.ndarray],
    label_index: list[str],
    sgm: dict[str, Any],
) -> dict[str, np.ndarray]:
    """Decoded label sets and ranking scores of the validation and test splits."""
    model = _build_sgm(sgm, int(sgm_training_summary["vocab_size"]), len(label_index))
    model.load_state_dict(sgm_model_state)
    training = sgm["training"]
    model.to(inference_device(training.get("accelerator", "auto")))
    out: dict[str, np.ndarray] = {}
    for split in ("valid", "test"):
        data = encoded_split(corpus_split, encoded_documents, label_index, split)
        decisions, scores = decode_split(
            model,
            data,
            training.get("eval_batch_size", 256),
            training.get("beam_size", 1),
            int(sgm_training_summary["max_labels"]),
        )
        out[f"{split}_decisions"], out[f"{split}_scores"] = decisions, scores
    return out


def evaluate_sgm(
    sgm_predictions: dict[str, np.ndarray],
    corpus_split: pd.DataFrame,
    label_index: list[str],
    label_statistics: dict[str, Any],
    sgm: dict[str, Any],
) -> dict[str, float]:
    """Metrics per label group from the decoded sets (P/R/F1) and scores (P@k, nDCG@k)."""
    stats = LabelStatistics.from_dict(label_statistics)
    y = split_label_matrices(corpus_split, label_index)
    ks = tuple(sgm["evaluation"]["ks"])
    propensities = stored_inverse_propensities(label_statistics)
    metrics: dict[str, float] = {}
    for split in ("valid", "test"):
        decisions = np.asarray(sgm_predictions[f"{split}_decisions"], dtype=bool)
        scores = sgm_predictions[f"{split}_scores"]
        metrics.update(
            evaluate_decisions_by_group(
                y[split], decisions, scores, stats.groups, ks, split, propensities
            )
        )
    logger.info(
        "sgm: test micro-F1 %.4f, macro-F1 %.4f, P@1 %.4f",
        metrics["test/all/micro_f1"],
        metrics["test/all/macro_f1"],
        metrics["test/all/p_at_1"],
    )
    return metrics


def record_sgm(
    sgm_metrics: dict[str, float],
    sgm_model_state: dict[str, torch.Tensor],
    sgm_training_summary: dict[str, Any],
    label_index: list[str],
    sgm: dict[str, Any],
    sgm_run: TrackedRun,
) -> RunRecord:
    """What the run keeps: final metrics and ``model/`` (weights, configuration, labels)."""
    config = {"model": "sgm", "model_params": sgm["model_params"], **sgm["training"]}
    config["vocab_size"] = sgm_training_summary["vocab_size"]
    model = ModelArtifact(sgm_model_state, config, label_index)
    return RunRecord(sgm_run, metrics=sgm_metrics, model=model)


def compare_models(**metrics: dict[str, float]) -> pd.DataFrame:
    """One row per model (pipeline order) with the test metrics of :data:`TABLE_COLUMNS`."""
    return pd.DataFrame(
        [
            {"model": name, **{c: m.get(c, np.nan) for c in TABLE_COLUMNS}}
            for name, m in metrics.items()
        ]
    )
