"""Nodes of the HSCNN pipelines: sample, train a variant, predict, merge and evaluate (METHODS §1).

Every trained variant gets the MLflow run ``<corpus>/hscnn/<variant>/<loss>`` (tags ``variant``,
``loss``, ``n_phi``, ``n_examples``); the Single variant's run holds the evaluation of the
single network under the same protocol (§1.10 groups at ``N_φ``), so the five variants compare
on equal terms. Science lives in the library: sampling/, training/hscnn.py,
training/variants.py, evaluation/hybrid.py.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import torch

from longtail_mltc.evaluation.analysis import prediction_table
from longtail_mltc.evaluation.comparison import per_label_report
from longtail_mltc.evaluation.hybrid import evaluate_hybrid_splits
from longtail_mltc.evaluation.merge import hybrid_merge, tail_label_mask
from longtail_mltc.inference import HybridTextLabeler, Preprocessing
from longtail_mltc.labels import LabelStatistics
from longtail_mltc.models import HybridSiameseNetwork
from longtail_mltc.models.support import SupportSet, select_labels
from longtail_mltc.sampling import Pairs, Triplets, sample_pairs, sample_triplets
from longtail_mltc.text import Vocabulary
from longtail_mltc.training import (
    HSCNNTrainConfig,
    MetricLogger,
    fit_hscnn,
    predict_hybrid,
    resolve_device,
    seed_everything,
)
from longtail_mltc.training.hscnn import encode_tail_support
from longtail_mltc.training.variants import HSCNNVariant, get_variant

from .. import tracking
from ..model_input import (
    configured_loss,
    encoded_split,
    split_label_matrices,
    trained_classifier,
)

logger = logging.getLogger(__name__)

PIPELINE = "hscnn"
SPLITS = ("valid", "test")
SUPPORT_REPRESENTATIONS = "support_representations"
SUPPORT_INDEX = "support_index"


# ---- sampling (§1.5, §1.9) ---------------------------------------------------------------------


def _sample(sampler, corpus_split, encoded_documents, label_index, hscnn, seed) -> pd.DataFrame:
    """``hscnn.n_triplets`` examples from ``sampler`` over the training split's labels."""
    labels = encoded_split(corpus_split, encoded_documents, label_index, "train").labels
    count, least = int(hscnn["n_triplets"]), int(hscnn["min_per_label"])
    records = sampler(labels, count, min_per_label=least, seed=seed)
    kind = sampler.__name__.removeprefix("sample_")
    logger.info("sampled %d %s (%d similar)", len(records), kind, int(records.target.sum()))
    return records.to_frame()


def sample_training_triplets(
    corpus_split: pd.DataFrame,
    encoded_documents: dict[str, np.ndarray],
    label_index: list[str],
    hscnn: Mapping[str, Any],
    seed: int,
) -> pd.DataFrame:
    """``hscnn.n_triplets`` seeded triplets over the training split (rows = training-row ids)."""
    return _sample(sample_triplets, corpus_split, encoded_documents, label_index, hscnn, seed)


def sample_training_pairs(
    corpus_split: pd.DataFrame,
    encoded_documents: dict[str, np.ndarray],
    label_index: list[str],
    hscnn: Mapping[str, Any],
    seed: int,
) -> pd.DataFrame:
    """Plain pairs for the /CSS and Naive variants: as many examples as there are triplets."""
    return _sample(sample_pairs, corpus_split, encoded_documents, label_index, hscnn, seed)


# ---- models ------------------------------------------------------------------------------------


def _hscnn_state(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The classifier part of a saved HSCNN state, as a single network's state dict."""
    prefix = "classifier."
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def _trained_hscnn(
    single: Mapping[str, Any], state: Mapping[str, torch.Tensor], num_labels: int, gated: bool
) -> HybridSiameseNetwork:
    """A saved HSCNN (classifier + comparison head) rebuilt and loaded strictly."""
    classifier = trained_classifier(single, _hscnn_state(state), num_labels)
    model = HybridSiameseNetwork(classifier, gated=gated)
    model.load_state_dict(state)
    return model


def _train_config(hscnn: Mapping[str, Any], seed: int) -> HSCNNTrainConfig:
    return HSCNNTrainConfig(seed=seed, **hscnn["training"])


# ---- training ----------------------------------------------------------------------------------


def train_hscnn_variant(
    examples: pd.DataFrame,
    single_model_state: dict[str, torch.Tensor],
    single_scores: dict[str, np.ndarray],
    corpus_split: pd.DataFrame,
    encoded_documents: dict[str, np.ndarray],
    label_index: list[str],
    label_statistics: dict[str, Any],
    single: dict[str, Any],
    hscnn: dict[str, Any],
    corpus: str,
    seed: int,
    loss_params: Mapping[str, Mapping[str, Any]] | None,
    variant: str,
    loss: str,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """§1.6 step 2 for one §1.9 variant: initialise from the single network, train, keep the best.

    ``examples``: the sampled triplets (gated variants) or pairs (/CSS, Naive) as saved.
    ``loss``: the single network's objective, reused for L_m1/L_m2 (§1.4).
    """
    spec = get_variant(variant)
    if not spec.siamese:
        raise ValueError("the single variant trains nothing: use evaluate_single_variant")
    seed_everything(seed)
    train = encoded_split(corpus_split, encoded_documents, label_index, "train")
    valid = encoded_split(corpus_split, encoded_documents, label_index, "valid")
    records = (Triplets if spec.triplets else Pairs).from_frame(examples)
    classifier = trained_classifier(single, single_model_state, len(label_index))
    model = HybridSiameseNetwork(classifier, gated=spec.gated)
    stats = LabelStatistics.from_dict(label_statistics)
    loss_fn, effective = configured_loss(loss, loss_params, stats)
    config = spec.configure(_train_config(hscnn, seed))
    run_id = tracking.start_configuration_run(
        corpus=corpus,
        pipeline=PIPELINE,
        variant=variant,
        loss=loss,
        encoder=single["encoder"],
        params={
            "corpus": corpus,
            "seed": seed,
            "single": single,
            "hscnn": hscnn,
            "variant": _variant_params(spec, config),
            "loss": {"name": loss, **effective},
        },
        extra_tags={"n_phi": str(config.n_phi), "n_examples": str(len(records))},
    )
    head_probs = single_scores["valid_scores"] if spec.head_from_single else None
    with tracking.failed_on_error(run_id):
        result = fit_hscnn(
            model,
            records,
            train,
            valid,
            loss_fn,
            stats.counts,
            config,
            [MetricLogger(tracking.metric_logger(run_id))],
            valid_single_probs=head_probs,
        )
    summary = {"mlflow_run_id": run_id, "variant": variant, "loss": loss, **result.summary()}
    return result.best_state, summary


def _variant_params(spec: HSCNNVariant, config: HSCNNTrainConfig) -> dict[str, Any]:
    return {
        "name": spec.name,
        "gated": spec.gated,
        "examples": spec.examples,
        "multitask": spec.multitask,
        "head_from_single": spec.head_from_single,
        "lambda_s": config.lambda_s,
        "lambda_m1": config.lambda_m1,
        "lambda_m2": config.lambda_m2,
    }


# ---- prediction --------------------------------------------------------------------------------


def predict_hscnn_variant(
    hscnn_model_state: dict[str, torch.Tensor],
    single_scores: dict[str, np.ndarray],
    corpus_split: pd.DataFrame,
    encoded_documents: dict[str, np.ndarray],
    label_index: list[str],
    label_statistics: dict[str, Any],
    single: dict[str, Any],
    hscnn: dict[str, Any],
    seed: int,
    variant: str,
) -> dict[str, np.ndarray]:
    """Head probabilities and Siamese similarities of **every** label for valid and test.

    Every label with a training document is scored (not only those under ``N_φ``), so the merge
    and the N_φ sweep can pick any threshold without predicting again. Keys:
    ``<split>_single_probs`` and ``<split>_siamese_scores`` ``[D, C]``, and the encoded support
    set every label was scored against (``support_representations`` ``[U, width]``,
    ``support_index`` ``[C, K]``), which the run's predictor packages.
    """
    spec = get_variant(variant)
    model = _trained_hscnn(single, hscnn_model_state, len(label_index), spec.gated)
    stats = LabelStatistics.from_dict(label_statistics)
    config = _train_config(hscnn, seed)
    every_label = replace(config, n_phi=int(stats.counts.max()) + 1)
    train = encoded_split(corpus_split, encoded_documents, label_index, "train")
    model.to(resolve_device(config.device))
    support = encode_tail_support(model, train, stats.counts, every_label)
    out: dict[str, np.ndarray] = {
        SUPPORT_REPRESENTATIONS: support[1].representations.cpu().numpy(),
        SUPPORT_INDEX: support[1].index.numpy(),
    }
    for split in SPLITS:
        data = encoded_split(corpus_split, encoded_documents, label_index, split)
        prediction = predict_hybrid(
            model, train, data, stats.counts, every_label, encoded_support=support
        )
        probs = single_scores[f"{split}_scores"] if spec.head_from_single else None
        out[f"{split}_single_probs"] = np.asarray(
            prediction.single_probs if probs is None else probs, dtype=np.float32
        )
        out[f"{split}_siamese_scores"] = prediction.siamese_scores
    return out


# ---- evaluation --------------------------------------------------------------------------------


def hybrid_metrics(
    predictions: Mapping[str, np.ndarray] | None,
    single_scores: Mapping[str, np.ndarray],
    labels: Mapping[str, Any],
    label_statistics: Mapping[str, Any],
    n_phi: int,
    ks: list[int],
) -> dict[str, float]:
    """Merged metrics at ``n_phi`` (``predictions=None``: the single network alone);
    ``labels``: :func:`~..model_input.split_label_matrices` of valid and test."""
    stats = LabelStatistics.from_dict(dict(label_statistics))
    if predictions is None:
        probs = {s: single_scores[f"{s}_scores"] for s in SPLITS}
        siamese = None
    else:
        probs = {s: predictions[f"{s}_single_probs"] for s in SPLITS}
        siamese = {s: predictions[f"{s}_siamese_scores"] for s in SPLITS}
    return evaluate_hybrid_splits(labels, probs, siamese, stats.counts, n_phi, tuple(ks))


def _log_summary(name: str, metrics: Mapping[str, float]) -> None:
    logger.info(
        "%s: test micro-F1 %.4f, macro-F1 %.4f, P@1 %.4f | tail (N_c < %d) micro-F1 %.4f, "
        "macro-F1 %.4f",
        name,
        metrics["test/all/micro_f1"],
        metrics["test/all/macro_f1"],
        metrics["test/all/p_at_1"],
        int(metrics["n_phi"]),
        metrics.get("test/tail/micro_f1", float("nan")),
        metrics.get("test/tail/macro_f1", float("nan")),
    )


def evaluate_hscnn_variant(
    hscnn_predictions: dict[str, np.ndarray],
    hscnn_model_state: dict[str, torch.Tensor],
    hscnn_training_summary: dict[str, Any],
    single_scores: dict[str, np.ndarray],
    single_model_state: dict[str, torch.Tensor],
    corpus_split: pd.DataFrame,
    label_index: list[str],
    label_statistics: dict[str, Any],
    single: dict[str, Any],
    hscnn: dict[str, Any],
    vocabulary: dict[str, Any],
    features: dict[str, Any],
) -> dict[str, float]:
    """Merge at ``hscnn.training.n_phi``, evaluate, and log into the variant's run: metrics,
    weights, the merged test predictions (``predictions/test_predictions.csv``), per-label F1
    and the raw-text predictor (``predictor/``, with the hybrid merge); then close the run."""
    run_id = hscnn_training_summary["mlflow_run_id"]
    variant = hscnn_training_summary["variant"]
    n_phi = int(hscnn["training"]["n_phi"])
    with tracking.failed_on_error(run_id):
        metrics = hybrid_metrics(
            hscnn_predictions,
            single_scores,
            split_label_matrices(corpus_split, label_index),
            label_statistics,
            n_phi,
            hscnn["evaluation"]["ks"],
        )
        _log_summary(f"{variant}/{hscnn_training_summary['loss']}", metrics)
        tracking.log_final_metrics(run_id, metrics)
        config = {
            "variant": variant,
            "n_phi": n_phi,
            "head_threshold": metrics["head_threshold"],
            "num_labels": len(label_index),
        }
        tracking.log_model(run_id, hscnn_model_state, config, label_index)
        counts = LabelStatistics.from_dict(dict(label_statistics)).counts
        scores, decisions, _ = hybrid_merge(
            hscnn_predictions["test_single_probs"],
            hscnn_predictions["test_siamese_scores"],
            counts,
            n_phi,
            single_threshold=metrics["head_threshold"],
        )
        _log_test_decisions(run_id, scores, decisions, corpus_split, label_index, counts)
        labeler = build_hybrid_labeler(
            hscnn_model_state,
            single_model_state,
            hscnn_predictions,
            label_index,
            counts,
            metrics["head_threshold"],
            single,
            hscnn,
            variant,
            vocabulary,
            features,
        )
        tracking.log_predictor(run_id, labeler)
    tracking.end_configuration_run(run_id)
    return metrics


def _log_test_decisions(
    run_id: str,
    scores: np.ndarray,
    decisions: np.ndarray,
    corpus_split: pd.DataFrame,
    label_index: list[str],
    counts: np.ndarray,
) -> None:
    """``predictions/test_predictions.csv`` and ``analysis/per_label_f1.csv`` (the reporting
    plots) of the merged test decisions."""
    test = corpus_split.loc[corpus_split["split"] == "test"]
    y_test = split_label_matrices(corpus_split, label_index, ("test",))["test"]
    table = prediction_table(
        test["doc_id"].to_numpy(), test["labels"].tolist(), scores, decisions, label_index
    )
    tracking.log_artifacts(
        run_id, {"test_predictions.csv": table.to_csv(index=False)}, "predictions"
    )
    per_label = per_label_report(y_test, decisions, label_index, counts)
    tracking.log_artifacts(run_id, {"per_label_f1.csv": per_label.to_csv(index=False)}, "analysis")


def build_hybrid_labeler(
    hscnn_model_state: Mapping[str, torch.Tensor],
    single_model_state: Mapping[str, torch.Tensor],
    hscnn_predictions: Mapping[str, np.ndarray],
    label_index: list[str],
    label_counts: np.ndarray,
    head_threshold: float,
    single: Mapping[str, Any],
    hscnn: Mapping[str, Any],
    variant: str,
    vocabulary: Mapping[str, Any],
    features: Mapping[str, Any],
) -> HybridTextLabeler:
    """The trained variant as a raw-text labeler with the hybrid merge at ``hscnn.training.n_phi``.

    Its support set is the tail labels' part of the one :func:`predict_hscnn_variant` scored
    with, so its prototypes are exactly the evaluation's. The Naive and /MT variants decide head
    labels with the single network (§1.9), which the labeler then carries.
    """
    spec = get_variant(variant)
    n_labels = len(label_index)
    model = _trained_hscnn(single, hscnn_model_state, n_labels, spec.gated)
    head_model = None
    if spec.head_from_single:  # Naive and /MT: head labels from the untouched single network
        head_model = trained_classifier(single, single_model_state, n_labels)
    training = hscnn["training"]
    n_phi = int(training["n_phi"])
    tail = np.flatnonzero(tail_label_mask(label_counts, n_phi))
    encoded = SupportSet(
        torch.from_numpy(np.asarray(hscnn_predictions[SUPPORT_REPRESENTATIONS])),
        torch.from_numpy(np.asarray(hscnn_predictions[SUPPORT_INDEX])),
    )
    preprocessing = Preprocessing.from_params(features, single)
    return HybridTextLabeler(
        model,
        preprocessing,
        label_index,
        head_threshold,
        label_counts,
        n_phi,
        select_labels(encoded, tail),
        Vocabulary.from_dict(dict(vocabulary)) if preprocessing.needs_vocabulary else None,
        majority_vote=bool(training.get("majority_vote", False)),
        head_model=head_model,
        model_config={"encoder": single["encoder"], "encoder_params": single["encoder_params"]},
    )


def evaluate_single_variant(
    single_scores: dict[str, np.ndarray],
    single_training_summary: dict[str, Any],
    corpus_split: pd.DataFrame,
    label_index: list[str],
    label_statistics: dict[str, Any],
    single: dict[str, Any],
    hscnn: dict[str, Any],
    corpus: str,
    seed: int,
    loss: str,
) -> dict[str, float]:
    """The Single variant's run: the trained single network under the §1.10 protocol."""
    n_phi = int(hscnn["training"]["n_phi"])
    run_id = tracking.start_configuration_run(
        corpus=corpus,
        pipeline=PIPELINE,
        variant="single",
        loss=loss,
        encoder=single["encoder"],
        params={"corpus": corpus, "seed": seed, "single": single, "n_phi": n_phi},
        extra_tags={
            "n_phi": str(n_phi),
            "single_run_id": str(single_training_summary.get("mlflow_run_id")),
        },
    )
    with tracking.failed_on_error(run_id):
        metrics = hybrid_metrics(
            None,
            single_scores,
            split_label_matrices(corpus_split, label_index),
            label_statistics,
            n_phi,
            hscnn["evaluation"]["ks"],
        )
        _log_summary(f"single/{loss}", metrics)
        tracking.log_final_metrics(run_id, metrics)
    tracking.end_configuration_run(run_id)
    return metrics
