"""Nodes of the single pipeline: train, predict, pick the threshold, evaluate (METHODS §1, §3.1)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from longtail_mltc.evaluation.analysis import (
    confused_label_pairs,
    document_groups,
    evaluate_by_document_group,
    prediction_table,
)
from longtail_mltc.evaluation.comparison import per_label_report
from longtail_mltc.evaluation.reporting import evaluate_by_group
from longtail_mltc.evaluation.thresholds import search_global_threshold, threshold_grid
from longtail_mltc.inference import Preprocessing, TextLabeler
from longtail_mltc.inference.scores import predict_scores
from longtail_mltc.labels import LabelStatistics
from longtail_mltc.losses.bias_start import fitted_output_bias
from longtail_mltc.losses.recipes import follows_recipe, loss_recipe, resolve_output_bias
from longtail_mltc.models import build_classifier, init_head_bias
from longtail_mltc.models.registry import TRANSFORMER_ENCODER
from longtail_mltc.text import Vocabulary
from longtail_mltc.training import (
    MetricLogger,
    TrainConfig,
    fit,
    seed_everything,
)
from longtail_mltc.training.budget import transformer_budget_warnings

from .. import tracking
from ..checkpoints import plan, run_options
from ..model_input import (
    configured_loss,
    encoded_split,
    split_label_matrices,
    stored_inverse_propensities,
    trained_classifier,
)

logger = logging.getLogger(__name__)

PIPELINE = "single"
VARIANT = "single"
# METHODS §3.1: Reuters documents with 1 label vs several; `evaluation.document_bins` changes it.
DEFAULT_DOCUMENT_BINS = (1, 2)
DEFAULT_CONFUSED_PAIRS = 20


def _build_model(
    single: Mapping[str, Any], vocab_size: int, num_labels: int, vectors: np.ndarray | None
) -> torch.nn.Module:
    return build_classifier(
        single["encoder"],
        num_labels,
        vocab_size=vocab_size,
        pretrained=vectors,
        **single["encoder_params"],
    )


def initial_network(
    single: Mapping[str, Any],
    vocab_size: int,
    vectors: np.ndarray | None,
    stats: LabelStatistics,
    loss: str,
    loss_recipes: Mapping[str, Mapping[str, Any]] | None,
    loss_fn: torch.nn.Module | None = None,
    train_labels: Any = None,
) -> tuple[torch.nn.Module, str, dict[str, Any]]:
    """The untrained network as the loss's recipe starts it: ``(model, output-bias start,
    training settings)`` (:mod:`longtail_mltc.losses.recipes`). A model with
    ``output_bias: auto`` follows the recipe (its start and its training overrides); an
    explicit ``prior`` / ``zero`` / ``fitted`` opts out of the recipe altogether. ``fitted``
    needs the configured ``loss_fn`` and the training ``train_labels``."""
    model = _build_model(single, vocab_size, stats.n_labels, vectors)
    recipe = loss_recipe(loss, loss_recipes)
    output_bias = resolve_output_bias(single.get("output_bias"), recipe)
    fitted = None
    if output_bias == "fitted":
        if loss_fn is None or train_labels is None:
            raise ValueError("output_bias 'fitted' needs the loss module and training labels")
        fitted = fitted_output_bias(loss_fn, train_labels, seed=0)
    init_head_bias(model, output_bias, stats.priors, fitted)
    training = dict(single["training"])
    if follows_recipe(single.get("output_bias")):
        training = recipe.training_config(training)
    return model, output_bias, training


def train_single_network(
    corpus_split: pd.DataFrame,
    encoded_documents: dict[str, np.ndarray],
    word_vectors: dict[str, np.ndarray],
    label_index: list[str],
    label_statistics: dict[str, Any],
    single: dict[str, Any],
    corpus: str,
    seed: int,
    loss: str,
    loss_params: Mapping[str, Mapping[str, Any]] | None,
    loss_recipes: Mapping[str, Mapping[str, Any]] | None = None,
    checkpoints: Mapping[str, Any] | None = None,
    pipeline: str = PIPELINE,
    variant: str = VARIANT,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Train with early stopping on validation micro-F1; return the best weights and a summary.

    ``loss`` names any loss of the family (METHODS §1.2, §3); ``loss_params[loss]`` overrides
    its METHODS defaults, and ``loss_recipes[loss]`` its recipe (output-bias start and training
    overrides, :mod:`longtail_mltc.losses.recipes`; ``single.output_bias`` other than ``auto``
    wins over the recipe's start). The name and the full parameter set are tagged on the MLflow run
    ``<corpus>/<pipeline>/<variant>/<loss>`` (other pipelines reuse this node under their name;
    a ``variant`` entry of ``single`` overrides ``variant``, e.g. the backbone chosen at run
    time). ``checkpoints.dir``: where the training checkpoints every epoch (none when absent);
    ``single.training.resume`` continues an interrupted training from there, and its run is
    tagged ``resumed_from`` with the interrupted run's id.
    """
    variant = single.get("variant") or variant
    seed_everything(seed)
    train = encoded_split(corpus_split, encoded_documents, label_index, "train")
    valid = encoded_split(corpus_split, encoded_documents, label_index, "valid")
    vectors = word_vectors["vectors"] if single.get("use_word_vectors", True) else None
    vocab_size = int(word_vectors["vectors"].shape[0])
    stats = LabelStatistics.from_dict(label_statistics)
    loss_fn, effective = configured_loss(loss, loss_params, stats)
    model, output_bias, training = initial_network(
        single, vocab_size, vectors, stats, loss, loss_recipes, loss_fn, train.labels
    )
    training, resume = run_options(training)
    config = TrainConfig(seed=seed, **training)
    warnings = []
    if single["encoder"] == TRANSFORMER_ENCODER:
        length = int(single["encoder_params"].get("max_length", 512))
        warnings = transformer_budget_warnings(length, config.max_epochs)
    for message in warnings:
        logger.warning(message)
    checkpointing = plan(
        checkpoints,
        run_name=tracking.run_name(corpus, pipeline, variant, loss),
        seed=seed,
        resume=resume,
    )
    run_id = tracking.start_configuration_run(
        corpus=corpus,
        pipeline=pipeline,
        variant=variant,
        loss=loss,
        encoder=single["encoder"],
        params={
            "corpus": corpus,
            "seed": seed,
            "single": {**single, "training": {**training, "resume": resume}},
            "vocab_size": vocab_size,
            "loss": {"name": loss, **effective},
            "output_bias": output_bias,
        },
        extra_tags={
            "loss_params": json.dumps(effective, sort_keys=True),
            "output_bias": output_bias,
            **({"budget_warning": " | ".join(warnings)} if warnings else {}),
            **checkpointing.tags(),
        },
    )
    with tracking.failed_on_error(run_id):
        checkpointing.begin(run_id)
        result = fit(
            model,
            loss_fn,
            train,
            valid,
            config,
            [MetricLogger(tracking.metric_logger(run_id))],
            checkpoint_dir=checkpointing.directory,
            resume=resume,
        )
    checkpointing.finish()
    summary = {"mlflow_run_id": run_id, "vocab_size": vocab_size, **result.summary()}
    return result.best_state, summary


def predict_single_network(
    single_model_state: dict[str, torch.Tensor],
    corpus_split: pd.DataFrame,
    encoded_documents: dict[str, np.ndarray],
    label_index: list[str],
    single: dict[str, Any],
) -> dict[str, np.ndarray]:
    """Validation and test scores from the saved best weights (what a user reloads, too)."""
    model = trained_classifier(single, single_model_state, len(label_index))
    batch = single["training"].get("eval_batch_size", 512)
    out: dict[str, np.ndarray] = {}
    for split in ("valid", "test"):
        data = encoded_split(corpus_split, encoded_documents, label_index, split)
        out[f"{split}_scores"], _ = predict_scores(model, data, batch)
    return out


def evaluate_single_network(
    single_scores: dict[str, np.ndarray],
    single_model_state: dict[str, torch.Tensor],
    single_training_summary: dict[str, Any],
    corpus_split: pd.DataFrame,
    label_index: list[str],
    label_statistics: dict[str, Any],
    single: dict[str, Any],
    vocabulary: dict[str, Any],
    features: dict[str, Any],
) -> dict[str, float]:
    """Global threshold from validation micro-F1, applied to test; metrics per label group;
    the run's raw-text predictor (``predictor/``, an MLflow pyfunc model)."""
    run_id = single_training_summary["mlflow_run_id"]
    with tracking.failed_on_error(run_id):
        metrics = _evaluate_and_log(
            single_scores,
            single_model_state,
            corpus_split,
            label_index,
            label_statistics,
            single,
            run_id,
        )
        labeler = build_labeler(
            single_model_state, label_index, metrics["threshold"], single, vocabulary, features
        )
        tracking.log_predictor(run_id, labeler)
    tracking.end_configuration_run(run_id)
    return metrics


def build_labeler(
    model_state: dict[str, torch.Tensor],
    label_index: list[str],
    threshold: float,
    single: Mapping[str, Any],
    vocabulary: Mapping[str, Any],
    features: Mapping[str, Any],
) -> TextLabeler:
    """The trained network with the preprocessing training used, as a raw-text labeler."""
    model = trained_classifier(single, model_state, len(label_index))
    preprocessing = Preprocessing.from_params(features, single)
    return TextLabeler(
        model,
        preprocessing,
        label_index,
        threshold,
        vocabulary=Vocabulary.from_dict(dict(vocabulary))
        if preprocessing.needs_vocabulary
        else None,
        model_config={"encoder": single["encoder"], "encoder_params": single["encoder_params"]},
    )


def _evaluate_and_log(
    scores: dict[str, np.ndarray],
    model_state: dict[str, torch.Tensor],
    corpus_split: pd.DataFrame,
    label_index: list[str],
    label_statistics: dict[str, Any],
    single: dict[str, Any],
    run_id: str,
) -> dict[str, float]:
    stats = LabelStatistics.from_dict(label_statistics)
    settings = single["evaluation"]
    ks = tuple(settings["ks"])
    y = split_label_matrices(corpus_split, label_index)
    grid = threshold_grid(settings.get("threshold_grid"))
    threshold, valid_f1 = search_global_threshold(y["valid"], scores["valid_scores"], grid)
    metrics: dict[str, float] = {"threshold": threshold}
    bins = settings.get("document_bins", DEFAULT_DOCUMENT_BINS)
    propensities = stored_inverse_propensities(label_statistics)
    for split in ("valid", "test"):
        split_scores = scores[f"{split}_scores"]
        metrics.update(
            evaluate_by_group(
                y[split], split_scores, stats.groups, threshold, ks, split, propensities
            )
        )
        metrics.update(
            evaluate_by_document_group(
                y[split], split_scores, document_groups(y[split], bins), threshold, ks, split
            )
        )
    logger.info(
        "threshold %.4f (valid micro-F1 %.4f) → test micro-F1 %.4f, macro-F1 %.4f, P@1 %.4f",
        threshold,
        valid_f1,
        metrics["test/all/micro_f1"],
        metrics["test/all/macro_f1"],
        metrics["test/all/p_at_1"],
    )
    tracking.log_final_metrics(run_id, metrics)
    config = {
        "encoder": single["encoder"],
        "encoder_params": single["encoder_params"],
        "num_labels": len(label_index),
        "threshold": threshold,
    }
    tracking.log_model(run_id, model_state, config, label_index)
    test = corpus_split.loc[corpus_split["split"] == "test"]
    tracking.log_artifacts(
        run_id,
        {
            "test_predictions.csv": prediction_table(
                test["doc_id"].to_numpy(),
                test["labels"].tolist(),
                scores["test_scores"],
                scores["test_scores"] >= threshold,
                label_index,
            ).to_csv(index=False),
            "test_scores.npz": _npz_bytes(scores=scores["test_scores"]),
        },
        "predictions",
    )
    pairs = confused_label_pairs(
        y["test"],
        scores["test_scores"] >= threshold,
        label_index,
        top=int(settings.get("confused_pairs_top", DEFAULT_CONFUSED_PAIRS)),
    )
    per_label = per_label_report(
        y["test"], scores["test_scores"] >= threshold, label_index, stats.counts
    )
    tracking.log_artifacts(
        run_id,
        {
            "confused_pairs.csv": pairs.to_csv(index=False),
            "per_label_f1.csv": per_label.to_csv(index=False),
        },
        "analysis",
    )
    return metrics


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()
