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
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import torch

from longtail_mltc.evaluation.calibration import (
    CalibrationSettings,
    HybridRule,
    calibrate_hybrid,
    paper_rule,
    single_rule,
)
from longtail_mltc.evaluation.hybrid import HYBRID_TAIL, evaluate_hybrid_splits, head_threshold
from longtail_mltc.evaluation.merge import tail_label_mask
from longtail_mltc.inference import HybridTextLabeler, Preprocessing
from longtail_mltc.labels import LabelStatistics
from longtail_mltc.labels.stats import label_counts
from longtail_mltc.models import HybridSiameseNetwork
from longtail_mltc.models.support import SupportSet, select_labels
from longtail_mltc.sampling import Pairs, Triplets, sample_pairs, sample_triplets
from longtail_mltc.text import Vocabulary
from longtail_mltc.training import (
    HSCNNTrainConfig,
    MetricLogger,
    fit_hscnn,
    inference_device,
    seed_everything,
)
from longtail_mltc.training.budget import hscnn_budget_warnings
from longtail_mltc.training.hybrid_prediction import encode_tail_support, predict_hybrid
from longtail_mltc.training.variants import HSCNNVariant, get_variant

from ..checkpoints import run_options
from ..configuration_runs import RunSpec, TrackedRun
from ..model_input import (
    configured_loss,
    encoded_split,
    split_label_matrices,
    stored_inverse_propensities,
    trained_classifier,
)

logger = logging.getLogger(__name__)

PIPELINE = "hscnn"
SPLITS = ("valid", "test")
# The single network decided at 0.5 instead of its tuned threshold: <split>_t0.5/<group>/<metric>
FIXED_PREFIXES = {split: f"{split}_t0.5" for split in SPLITS}
FIXED_SPLITS = tuple(f"{prefix}/" for prefix in FIXED_PREFIXES.values())
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


def _comparison_bound(hscnn: Mapping[str, Any]) -> str:
    """The compared space of ``hscnn.comparison_bound`` (``none`` | ``sigmoid``, §1.3)."""
    return str(hscnn.get("comparison_bound", "none"))


def _trained_hscnn(
    single: Mapping[str, Any],
    state: Mapping[str, torch.Tensor],
    num_labels: int,
    gated: bool,
    bound: str,
) -> HybridSiameseNetwork:
    """A saved HSCNN (classifier + comparison head) rebuilt and loaded strictly."""
    classifier = trained_classifier(single, _hscnn_state(state), num_labels)
    model = HybridSiameseNetwork(classifier, gated=gated, bound=bound)
    model.load_state_dict(state)
    return model


def _train_config(hscnn: Mapping[str, Any], seed: int) -> HSCNNTrainConfig:
    return HSCNNTrainConfig(seed=seed, **run_options(hscnn["training"])[0])


# ---- training ----------------------------------------------------------------------------------


def configure_hscnn_variant(
    hscnn: dict[str, Any],
    variant: str,
    seed: int,
    chosen_loss: Mapping[str, Any],
    label_statistics: dict[str, Any],
) -> dict[str, Any]:
    """How one §1.9 variant trains: its configuration, and the single network's objective
    (``chosen_loss``, ``single.nodes.select_loss``) reused for L_m1/L_m2 (§1.4)."""
    spec = get_variant(variant)
    if not spec.siamese:
        raise ValueError("the single variant trains nothing: use evaluate_single_variant")
    loss = chosen_loss["name"]
    stats = LabelStatistics.from_dict(label_statistics)
    loss_fn, effective = configured_loss(loss, chosen_loss["params"], stats)
    return {
        "variant": variant,
        "hscnn": hscnn,
        "seed": seed,
        "config": spec.configure(_train_config(hscnn, seed)),
        "loss": loss,
        "loss_params": effective,
        "loss_fn": loss_fn,
        "counts": np.asarray(stats.counts),
    }


def plan_hscnn_variant(
    hscnn_config: Mapping[str, Any],
    examples: pd.DataFrame,
    single: dict[str, Any],
    corpus: str,
    checkpoints: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], RunSpec]:
    """The variant's training plan and its MLflow run ``<corpus>/hscnn/<variant>/<loss>``.

    ``examples``: the sampled triplets (gated variants) or pairs (/CSS, Naive) as saved."""
    variant, loss, seed = hscnn_config["variant"], hscnn_config["loss"], hscnn_config["seed"]
    config = hscnn_config["config"]
    warnings = hscnn_budget_warnings(len(examples), config.max_epochs)
    for message in warnings:
        logger.warning(message)
    run = RunSpec(
        corpus=corpus,
        pipeline=PIPELINE,
        variant=variant,
        loss=loss,
        encoder=single["encoder"],
        params={
            "corpus": corpus,
            "seed": seed,
            "single": single,
            "hscnn": hscnn_config["hscnn"],
            "variant": _variant_params(get_variant(variant), config),
            "loss": {"name": loss, **hscnn_config["loss_params"]},
        },
        tags={
            "n_phi": str(config.n_phi),
            "n_examples": str(len(examples)),
            **({"budget_warning": " | ".join(warnings)} if warnings else {}),
        },
    )
    resume = run_options(hscnn_config["hscnn"]["training"])[1]
    run, checkpointing = run.with_checkpoints(checkpoints, seed=seed, resume=resume)
    return {**hscnn_config, "single": single, "checkpointing": checkpointing}, run


def train_hscnn_variant(
    examples: pd.DataFrame,
    single_model_state: dict[str, torch.Tensor],
    single_scores: dict[str, np.ndarray],
    corpus_split: pd.DataFrame,
    encoded_documents: dict[str, np.ndarray],
    label_index: list[str],
    hscnn_plan: Mapping[str, Any],
    hscnn_run: TrackedRun,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """§1.6 step 2 for one §1.9 variant: initialise from the single network, train (epochs
    logged into the run), keep the best."""
    spec = get_variant(hscnn_plan["variant"])
    seed_everything(hscnn_plan["seed"])
    train = encoded_split(corpus_split, encoded_documents, label_index, "train")
    valid = encoded_split(corpus_split, encoded_documents, label_index, "valid")
    records = (Triplets if spec.triplets else Pairs).from_frame(examples)
    classifier = trained_classifier(hscnn_plan["single"], single_model_state, len(label_index))
    bound = _comparison_bound(hscnn_plan["hscnn"])
    model = HybridSiameseNetwork(classifier, gated=spec.gated, bound=bound)
    config, checkpointing = hscnn_plan["config"], hscnn_plan["checkpointing"]
    checkpointing.begin(hscnn_run.run_id)
    result = fit_hscnn(
        model,
        records,
        train,
        valid,
        hscnn_plan["loss_fn"],
        hscnn_plan["counts"],
        config,
        [MetricLogger(hscnn_run.log_metrics)],
        valid_single_probs=single_scores["valid_scores"] if spec.head_from_single else None,
        checkpoint_dir=checkpointing.directory,
        resume=checkpointing.resume,
    )
    checkpointing.finish()
    summary = {"mlflow_run_id": hscnn_run.run_id, "variant": hscnn_plan["variant"]}
    summary |= {"loss": hscnn_plan["loss"]}
    summary |= {"n_examples": len(records), "monitor": config.monitor, **result.summary()}
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
    hscnn_plan: Mapping[str, Any],
) -> dict[str, np.ndarray]:
    """Head probabilities and Siamese similarities of **every** label for valid and test.

    Every label with a training document is scored (not only those under ``N_φ``), so the merge
    and the N_φ sweep can pick any threshold without predicting again. Keys:
    ``<split>_single_probs`` and ``<split>_siamese_scores`` ``[D, C]``, and the encoded support
    set every label was scored against (``support_representations`` ``[U, width]``,
    ``support_index`` ``[C, K]``), which the run's predictor packages.
    """
    spec = get_variant(hscnn_plan["variant"])
    single, hscnn, counts = hscnn_plan["single"], hscnn_plan["hscnn"], hscnn_plan["counts"]
    bound = _comparison_bound(hscnn)
    model = _trained_hscnn(single, hscnn_model_state, len(label_index), spec.gated, bound)
    config = _train_config(hscnn, hscnn_plan["seed"])
    every_label = replace(config, n_phi=int(counts.max()) + 1)
    train = encoded_split(corpus_split, encoded_documents, label_index, "train")
    model.to(inference_device(config.accelerator))
    support = encode_tail_support(model, train, counts, every_label)
    out: dict[str, np.ndarray] = {
        SUPPORT_REPRESENTATIONS: support[1].representations.cpu().numpy(),
        SUPPORT_INDEX: support[1].index.numpy(),
    }
    for split in SPLITS:
        data = encoded_split(corpus_split, encoded_documents, label_index, split)
        prediction = predict_hybrid(
            model, train, data, counts, every_label, encoded_support=support
        )
        probs = single_scores[f"{split}_scores"] if spec.head_from_single else None
        out[f"{split}_single_probs"] = np.asarray(
            prediction.single_probs if probs is None else probs, dtype=np.float32
        )
        out[f"{split}_siamese_scores"] = prediction.siamese_scores
    return out


# ---- evaluation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HybridEvaluation:
    """What every hybrid evaluation of one corpus shares (built once per node)."""

    labels: dict[str, Any]  # {valid, test}: label matrices
    counts: np.ndarray  # the N_c that define N_φ's split (``hscnn.n_phi_counts``)
    n_phi: int
    groups: dict[str, np.ndarray]  # the §3.1 frequency groups
    inverse_propensities: np.ndarray
    ks: tuple[int, ...]

    @property
    def is_tail(self) -> np.ndarray:
        return tail_label_mask(self.counts, self.n_phi)

    @classmethod
    def build(
        cls,
        corpus_split: pd.DataFrame,
        label_index: list[str],
        label_statistics: Mapping[str, Any],
        hscnn: Mapping[str, Any],
        n_phi: int | None = None,
    ) -> HybridEvaluation:
        stats = LabelStatistics.from_dict(dict(label_statistics))
        return cls(
            labels=split_label_matrices(corpus_split, label_index),
            counts=hybrid_counts(corpus_split, label_index, stats, hscnn),
            n_phi=int(hscnn["training"]["n_phi"] if n_phi is None else n_phi),
            groups={k: np.asarray(v) for k, v in stats.groups.items()},
            inverse_propensities=stored_inverse_propensities(label_statistics),
            ks=tuple(hscnn["evaluation"]["ks"]),
        )

    def evaluate(
        self,
        rule: HybridRule,
        single_probs: Mapping[str, np.ndarray],
        siamese_scores: Mapping[str, np.ndarray] | None,
        prefixes: Mapping[str, str] | None = None,
        joint_probs: Mapping[str, np.ndarray] | None = None,
    ) -> dict[str, float]:
        metrics = evaluate_hybrid_splits(
            self.labels,
            single_probs,
            siamese_scores,
            rule,
            self.is_tail,
            self.ks,
            self.groups,
            self.inverse_propensities,
            prefixes=prefixes,
            joint_probs=joint_probs,
        )
        return {**metrics, "n_phi": float(self.n_phi)}


N_PHI_COUNTS = ("train", "train_and_valid")


def hybrid_counts(
    corpus_split: pd.DataFrame,
    label_index: list[str],
    stats: LabelStatistics,
    hscnn: Mapping[str, Any],
) -> np.ndarray:
    """The ``N_c`` that split labels at ``N_φ`` (§1.8), as ``hscnn.n_phi_counts`` says.

    ``train`` (default): the training split after the validation hold-out, the documents the
    model learns from and the support documents are drawn from (``label_statistics``' counts).
    ``train_and_valid``: every training document of the corpus, hold-out included, as a count
    over the published training set would be.
    """
    source = str(hscnn.get("n_phi_counts", "train"))
    if source not in N_PHI_COUNTS:
        raise ValueError(f"hscnn.n_phi_counts must be one of {N_PHI_COUNTS}, got {source!r}")
    if source == "train":
        return np.asarray(stats.counts)
    both = split_label_matrices(corpus_split, label_index, ("train", "valid"))
    return label_counts(both["train"]) + label_counts(both["valid"])


def split_scores(
    predictions: Mapping[str, np.ndarray] | None, single_scores: Mapping[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None]:
    """Head probabilities and full-width Siamese similarities per split (``None``: single)."""
    if predictions is None:
        return {s: single_scores[f"{s}_scores"] for s in SPLITS}, None
    probs = {s: predictions[f"{s}_single_probs"] for s in SPLITS}
    return probs, {s: predictions[f"{s}_siamese_scores"] for s in SPLITS}


def paper_hybrid_rule(
    evaluation: HybridEvaluation, valid_probs: np.ndarray, n_phi: int | None = None
) -> HybridRule:
    """§1.8 as published at ``n_phi``: head labels at the threshold chosen on validation over
    the head columns (so they are decided as a single network decides them, §3.1), tail labels
    at ``s > 0.5``."""
    n_phi = evaluation.n_phi if n_phi is None else int(n_phi)
    head = np.flatnonzero(~tail_label_mask(evaluation.counts, n_phi))
    threshold = head_threshold(evaluation.labels["valid"], valid_probs, head)
    return paper_rule(evaluation.counts, n_phi, threshold)


def hybrid_metrics(
    predictions: Mapping[str, np.ndarray] | None,
    single_scores: Mapping[str, np.ndarray],
    evaluation: HybridEvaluation,
    n_phi: int | None = None,
) -> dict[str, float]:
    """Metrics of the paper's merge at ``n_phi`` (default the evaluation's);
    ``predictions=None``: the single network alone at its own threshold."""
    probs, siamese = split_scores(predictions, single_scores)
    if siamese is None:
        every = np.arange(evaluation.counts.size)
        rule = single_rule(head_threshold(evaluation.labels["valid"], probs["valid"], every))
    else:
        rule = paper_hybrid_rule(evaluation, probs["valid"], n_phi)
    metrics = evaluation.evaluate(rule, probs, siamese)
    metrics["merge_n_phi"] = float(rule.n_phi)
    return metrics


def log_merge_summary(name: str, metrics: Mapping[str, float]) -> None:
    logger.info(
        "%s: test micro-F1 %.4f, macro-F1 %.4f, P@1 %.4f, PSP@5 %.4f | tail (N_c < %d) "
        "micro-F1 %.4f, macro-F1 %.4f, false-positive rate %.4f | frequency tail macro-F1 %.4f",
        name,
        metrics["test/all/micro_f1"],
        metrics["test/all/macro_f1"],
        metrics["test/all/p_at_1"],
        metrics.get("test/all/psp_at_5", float("nan")),
        int(metrics["n_phi"]),
        metrics.get(f"test/{HYBRID_TAIL}/micro_f1", float("nan")),
        metrics.get(f"test/{HYBRID_TAIL}/macro_f1", float("nan")),
        metrics.get(f"test/{HYBRID_TAIL}/false_positive_rate", float("nan")),
        metrics.get("test/tail/macro_f1", float("nan")),
    )


@dataclass(frozen=True)
class HybridScores:
    """Per split: the base head's probabilities, the Siamese similarities (full width) and,
    for a rule that hands labels to it, the joint head's probabilities."""

    probs: Mapping[str, np.ndarray]
    siamese: Mapping[str, np.ndarray]
    joint: Mapping[str, np.ndarray] | None = None

    def merge(self, rule: HybridRule, split: str) -> tuple[np.ndarray, np.ndarray]:
        joint = None if self.joint is None else self.joint[split]
        return rule.merge(self.probs[split], self.siamese[split], joint)


@dataclass(frozen=True)
class TrainedVariant:
    """A trained §1.9 variant and what its raw-text predictor is built from."""

    variant: str
    hscnn_model_state: Mapping[str, torch.Tensor]
    single_model_state: Mapping[str, torch.Tensor]
    hscnn_predictions: Mapping[str, np.ndarray]
    single: Mapping[str, Any]
    hscnn: Mapping[str, Any]
    vocabulary: Mapping[str, Any]
    features: Mapping[str, Any]

    def labeler(
        self,
        label_index: list[str],
        label_counts: np.ndarray,
        rule: HybridRule,
        head_from_single: bool = False,
    ) -> HybridTextLabeler:
        """The variant as a raw-text labeler that decides as ``rule`` does.

        Its support set is the Siamese labels' part of the one :func:`predict_hscnn_variant`
        scored with, so its prototypes are exactly the evaluation's. With ``head_from_single``
        (Naive and /MT, §1.9, and a calibrated rule, whose base is the single network) the
        labeler carries the untouched single network for the labels it decides.
        """
        spec = get_variant(self.variant)
        n_labels = len(label_index)
        bound = _comparison_bound(self.hscnn)
        model = _trained_hscnn(self.single, self.hscnn_model_state, n_labels, spec.gated, bound)
        head_model = None
        if head_from_single:
            head_model = trained_classifier(self.single, self.single_model_state, n_labels)
        encoded = SupportSet(
            torch.from_numpy(np.asarray(self.hscnn_predictions[SUPPORT_REPRESENTATIONS])),
            torch.from_numpy(np.asarray(self.hscnn_predictions[SUPPORT_INDEX])),
        )
        preprocessing = Preprocessing.from_params(self.features, self.single)
        vocabulary = Vocabulary.from_dict(dict(self.vocabulary))
        return HybridTextLabeler(
            model,
            preprocessing,
            label_index,
            rule.single_threshold,
            label_counts,
            rule.n_phi,
            select_labels(encoded, rule.siamese_labels),
            vocabulary if preprocessing.needs_vocabulary else None,
            majority_vote=bool(self.hscnn["training"].get("majority_vote", False)),
            head_model=head_model,
            model_config={
                "encoder": self.single["encoder"],
                "encoder_params": self.single["encoder_params"],
            },
            rule=rule,
        )


CALIBRATED_SUFFIX = "_calibrated"


def calibrate_variant(
    hscnn_predictions: Mapping[str, np.ndarray],
    single_scores: Mapping[str, np.ndarray],
    evaluation: HybridEvaluation,
    calibration: Mapping[str, Any] | None,
) -> tuple[HybridRule, dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """METHODS §1.8's calibrated merge of a trained variant, chosen on validation only
    (:func:`~longtail_mltc.evaluation.calibration.calibrate_hybrid`).

    The base is the untouched single network at its own validation-chosen threshold; the tail
    experts are the Siamese part and, for variants trained with multi-task (their head differs
    from the single network's), the joint head. Returns the rule and, per split, the single
    network's probabilities, the Siamese similarities and the joint head's probabilities.
    """
    single_probs, _ = split_scores(None, single_scores)
    joint, siamese = split_scores(hscnn_predictions, single_scores)
    has_joint = not np.array_equal(joint["valid"], single_probs["valid"])
    every = np.arange(evaluation.counts.size)
    threshold = head_threshold(evaluation.labels["valid"], single_probs["valid"], every)
    rule = calibrate_hybrid(
        evaluation.labels["valid"],
        single_probs["valid"],
        siamese["valid"],
        evaluation.counts,
        threshold,
        CalibrationSettings(**dict(calibration or {})),
        joint_probs=joint["valid"] if has_joint else None,
    )
    return rule, single_probs, siamese, joint
