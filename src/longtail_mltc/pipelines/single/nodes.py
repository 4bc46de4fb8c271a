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

from ..checkpoints import run_options
from ..configuration_runs import ModelArtifact, RunRecord, RunSpec, TrackedRun
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


def network_settings(
    single: Mapping[str, Any],
    loss: str,
    loss_recipes: Mapping[str, Mapping[str, Any]] | None,
) -> tuple[str, dict[str, Any]]:
    """``(output-bias start, training settings)`` of the network as the loss's recipe starts
    it (:mod:`longtail_mltc.losses.recipes`): a model with ``output_bias: auto`` follows the
    recipe (its start and its training overrides); an explicit ``prior`` / ``zero`` /
    ``fitted`` opts out of the recipe altogether."""
    recipe = loss_recipe(loss, loss_recipes)
    output_bias = resolve_output_bias(single.get("output_bias"), recipe)
    training = dict(single["training"])
    if follows_recipe(single.get("output_bias")):
        training = recipe.training_config(training)
    return output_bias, training


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
    training settings)`` (:func:`network_settings`). ``fitted`` needs the configured
    ``loss_fn`` and the training ``train_labels``."""
    model = _build_model(single, vocab_size, stats.n_labels, vectors)
    output_bias, training = network_settings(single, loss, loss_recipes)
    fitted = None
    if output_bias == "fitted":
        if loss_fn is None or train_labels is None:
            raise ValueError("output_bias 'fitted' needs the loss module and training labels")
        fitted = fitted_output_bias(loss_fn, train_labels, seed=0)
    init_head_bias(model, output_bias, stats.priors, fitted)
    return model, output_bias, training


def select_loss(
    loss: str,
    loss_params: Mapping[str, Mapping[str, Any]] | None,
    loss_recipes: Mapping[str, Mapping[str, Any]] | None,
) -> dict[str, Any]:
    """The loss a network trains with: its name and only its own parameter and recipe
    overrides (METHODS §1.2, §3)."""
    return {
        "name": loss,
        "params": {loss: dict((loss_params or {}).get(loss) or {})},
        "recipes": {loss: dict((loss_recipes or {}).get(loss) or {})},
    }


def plan_single_network(
    word_vectors: dict[str, np.ndarray],
    label_statistics: dict[str, Any],
    single: dict[str, Any],
    corpus: str,
    seed: int,
    chosen_loss: Mapping[str, Any],
    checkpoints: Mapping[str, Any] | None = None,
    pipeline: str = PIPELINE,
    variant: str = VARIANT,
) -> tuple[dict[str, Any], RunSpec]:
    """How to train one network, and its MLflow run ``<corpus>/<pipeline>/<variant>/<loss>``.

    ``chosen_loss`` (:func:`select_loss`) overrides the loss's METHODS defaults and its recipe
    (``single.output_bias`` other than ``auto`` wins over the recipe's start); a ``variant``
    entry of ``single`` overrides ``variant`` (e.g. the backbone chosen at run time).
    ``checkpoints.dir``: where training checkpoints every epoch (none when absent);
    ``single.training.resume`` continues an interrupted training from there, and the run is
    tagged ``resumed_from`` with the interrupted run's id.
    """
    variant = single.get("variant") or variant
    loss = chosen_loss["name"]
    stats = LabelStatistics.from_dict(label_statistics)
    _, effective = configured_loss(loss, chosen_loss["params"], stats)
    output_bias, training = network_settings(single, loss, chosen_loss["recipes"])
    training, resume = run_options(training)
    warnings = _budget_warnings(single, TrainConfig(seed=seed, **training))
    spec = RunSpec(
        corpus=corpus,
        pipeline=pipeline,
        variant=variant,
        loss=loss,
        encoder=single["encoder"],
        params={
            "corpus": corpus,
            "seed": seed,
            "single": {**single, "training": {**training, "resume": resume}},
            "vocab_size": int(word_vectors["vectors"].shape[0]),
            "loss": {"name": loss, **effective},
            "output_bias": output_bias,
        },
        tags=_run_tags(effective, output_bias, warnings),
    )
    spec, checkpointing = spec.with_checkpoints(checkpoints, seed=seed, resume=resume)
    settings = {"single": single, "loss": chosen_loss, "seed": seed, "training": training}
    return {**settings, "resume": resume, "checkpointing": checkpointing}, spec


def _run_tags(effective: Mapping[str, Any], output_bias: str, warnings: list[str]) -> dict:
    """The single network's run tags: its loss parameters, output-bias start, budget warnings."""
    tags = {"loss_params": json.dumps(effective, sort_keys=True), "output_bias": output_bias}
    return {**tags, **({"budget_warning": " | ".join(warnings)} if warnings else {})}


def _budget_warnings(single: Mapping[str, Any], config: TrainConfig) -> list[str]:
    """A transformer's budget warnings (logged, and tagged on the run)."""
    if single["encoder"] != TRANSFORMER_ENCODER:
        return []
    length = int(single["encoder_params"].get("max_length", 512))
    warnings = transformer_budget_warnings(length, config.max_epochs)
    for message in warnings:
        logger.warning(message)
    return warnings


def train_single_network(
    corpus_split: pd.DataFrame,
    encoded_documents: dict[str, np.ndarray],
    word_vectors: dict[str, np.ndarray],
    label_index: list[str],
    label_statistics: dict[str, Any],
    single_plan: Mapping[str, Any],
    single_run: TrackedRun,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Train with early stopping on validation micro-F1 (epochs logged into the run); return
    the best weights and a summary."""
    single, loss = single_plan["single"], single_plan["loss"]
    seed_everything(single_plan["seed"])
    train = encoded_split(corpus_split, encoded_documents, label_index, "train")
    valid = encoded_split(corpus_split, encoded_documents, label_index, "valid")
    vectors = word_vectors["vectors"] if single.get("use_word_vectors", True) else None
    vocab_size = int(word_vectors["vectors"].shape[0])
    stats = LabelStatistics.from_dict(label_statistics)
    loss_fn, _ = configured_loss(loss["name"], loss["params"], stats)
    model, _, _ = initial_network(
        single, vocab_size, vectors, stats, loss["name"], loss["recipes"], loss_fn, train.labels
    )
    checkpointing = single_plan["checkpointing"]
    checkpointing.begin(single_run.run_id)
    result = fit(
        model,
        loss_fn,
        train,
        valid,
        TrainConfig(seed=single_plan["seed"], **single_plan["training"]),
        [MetricLogger(single_run.log_metrics)],
        checkpoint_dir=checkpointing.directory,
        resume=single_plan["resume"],
    )
    checkpointing.finish()
    return result.best_state, {
        "mlflow_run_id": single_run.run_id,
        "vocab_size": vocab_size,
        **result.summary(),
    }


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
    corpus_split: pd.DataFrame,
    label_index: list[str],
    label_statistics: dict[str, Any],
    single: dict[str, Any],
) -> dict[str, float]:
    """Global threshold from validation micro-F1, applied to test; metrics per label group,
    per document group and over all labels (METHODS §3.1, §4)."""
    stats = LabelStatistics.from_dict(label_statistics)
    settings = single["evaluation"]
    ks = tuple(settings["ks"])
    y = split_label_matrices(corpus_split, label_index)
    grid = threshold_grid(settings.get("threshold_grid"))
    threshold, valid_f1 = search_global_threshold(y["valid"], single_scores["valid_scores"], grid)
    metrics: dict[str, float] = {"threshold": threshold}
    bins = settings.get("document_bins", DEFAULT_DOCUMENT_BINS)
    propensities = stored_inverse_propensities(label_statistics)
    for split in ("valid", "test"):
        scores = single_scores[f"{split}_scores"]
        metrics.update(
            evaluate_by_group(y[split], scores, stats.groups, threshold, ks, split, propensities)
        )
        metrics.update(
            evaluate_by_document_group(
                y[split], scores, document_groups(y[split], bins), threshold, ks, split
            )
        )
    logger.info(
        "threshold %.4f (valid micro-F1 %.4f) → test micro-F1 %.4f, macro-F1 %.4f, P@1 %.4f",
        *(threshold, valid_f1, metrics["test/all/micro_f1"], metrics["test/all/macro_f1"]),
        metrics["test/all/p_at_1"],
    )
    return metrics


def build_labeler(
    model_state: dict[str, torch.Tensor],
    label_index: list[str],
    metrics: Mapping[str, float],
    single: Mapping[str, Any],
    vocabulary: Mapping[str, Any],
    features: Mapping[str, Any],
) -> TextLabeler:
    """The trained network with the preprocessing training used and the validation-chosen
    ``metrics["threshold"]``, as a raw-text labeler (the run's ``predictor/``)."""
    model = trained_classifier(single, model_state, len(label_index))
    preprocessing = Preprocessing.from_params(features, single)
    return TextLabeler(
        model,
        preprocessing,
        label_index,
        metrics["threshold"],
        vocabulary=Vocabulary.from_dict(dict(vocabulary))
        if preprocessing.needs_vocabulary
        else None,
        model_config={"encoder": single["encoder"], "encoder_params": single["encoder_params"]},
    )


def analyse_single_network(
    single_scores: dict[str, np.ndarray],
    single_metrics: dict[str, float],
    corpus_split: pd.DataFrame,
    label_index: list[str],
    label_statistics: dict[str, Any],
    single: dict[str, Any],
) -> dict[str, dict[str, bytes | str]]:
    """The run's test files at the chosen threshold: ``predictions/`` (decisions per document,
    raw scores) and ``analysis/`` (most confused label pairs, F1 per label)."""
    scores = single_scores["test_scores"]
    decisions = scores >= single_metrics["threshold"]
    test = corpus_split.loc[corpus_split["split"] == "test"]
    truth = split_label_matrices(corpus_split, label_index, ("test",))["test"]
    top = int(single["evaluation"].get("confused_pairs_top", DEFAULT_CONFUSED_PAIRS))
    counts = LabelStatistics.from_dict(label_statistics).counts
    table = prediction_table(
        test["doc_id"].to_numpy(), test["labels"].tolist(), scores, decisions, label_index
    )
    return {
        "predictions": {
            "test_predictions.csv": table.to_csv(index=False),
            "test_scores.npz": _npz_bytes(scores=scores),
        },
        "analysis": {
            "confused_pairs.csv": confused_label_pairs(
                truth, decisions, label_index, top=top
            ).to_csv(index=False),
            "per_label_f1.csv": per_label_report(truth, decisions, label_index, counts).to_csv(
                index=False
            ),
        },
    }


def record_single_network(
    single_metrics: dict[str, float],
    single_model_state: dict[str, torch.Tensor],
    single_predictor: TextLabeler,
    single_test_files: dict[str, dict[str, bytes | str]],
    label_index: list[str],
    single: dict[str, Any],
    single_run: TrackedRun,
) -> RunRecord:
    """What the run keeps (logged by the ``*_run_record`` dataset, which then ends the run):
    final metrics, ``model/``, the test files and the raw-text ``predictor/``."""
    config = {
        "encoder": single["encoder"],
        "encoder_params": single["encoder_params"],
        "num_labels": len(label_index),
        "threshold": single_metrics["threshold"],
    }
    return RunRecord(
        single_run,
        metrics=single_metrics,
        model=ModelArtifact(single_model_state, config, label_index),
        artifacts=single_test_files,
        predictor=single_predictor,
    )


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()
