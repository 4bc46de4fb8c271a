"""Training and prediction of the Hybrid-Siamese network (METHODS §1.4, §1.6-§1.9).

* :func:`fit_hscnn` - §1.6 step 2: the model is already initialised from the trained single
  network (:meth:`~longtail_mltc.models.HybridSiameseNetwork.from_classifier`); it is trained
  on sampled triplets (or plain pairs for /CSS and Naive, §1.9) with the multi-task loss of
  §1.4, Adam, ReduceLROnPlateau and early stopping on the validation signal below.
* :func:`predict_hybrid` - single-network probabilities, Siamese similarities of the tail
  labels (§1.7) and their hybrid merge (§1.8), for any split (what the pipeline nodes call).

**Validation signal** (early stopping, learning-rate schedule, best-state selection): the
micro-F1 of the *hybrid merged decisions* on the validation split, ``valid/hybrid_micro_f1``.
Head labels (``N_c ≥ N_φ``) are decided by the single-network head at ``p ≥ 0.5``, tail labels
(``N_c < N_φ``) by the Siamese part at ``s > 0.5`` (§1.7), with prototypes built by the
*current* encoder from ``K`` support documents per label drawn once from the **training**
split (:func:`tail_support`, seeded by ``config.seed``, so every epoch is scored against the same
support documents). Fixed thresholds rather than a tuned one: the signal then measures the very
decisions §1.7/§1.8 prescribe, and is comparable across epochs. ``valid/head_micro_f1`` and
``valid/tail_micro_f1`` (micro-F1 over the head / tail columns alone) are logged beside it.

**Epoch 0**: before any HSCNN step the model is evaluated (history row and callback with
``epoch = 0``), so a user sees whether HSCNN training helped. Its training losses are the mean
multi-task loss under the initial weights (eval mode, no update) over all training triplets, or
over a seeded sample of ``config.epoch0_loss_triplets`` of them when there are more (default
20,000: a forward pass over Delicious' 300,000 triplets alone took ~5 minutes, for a number
that is only a reference point); later epochs report the running mean during the epoch (train
mode). An epoch counts as a gain
only when it beats the best so far (epoch 0 included) by more than ``min_delta``; if none beats
epoch 0, the initial weights are restored and ``best_epoch`` is 0.

**Head probabilities under /MT and Naive**: with ``λ_m1 = λ_m2 = 0`` the classifier head is not
trained while the shared encoder moves. Pass the untouched single network's validation
probabilities as ``valid_single_probs`` (and ``single_probs`` to :func:`predict_hybrid`) to take
the head labels from it; by default the HSCNN's own head is used.

**Reproducibility**: call :func:`~longtail_mltc.training.seed_everything` before building the
model, as the single pipeline does; the triplet order and the support sets are seeded by
``config.seed``. Same seed → identical weights and metrics on CPU.

No kedro or mlflow here: per-epoch metrics go to callbacks (``on_epoch_end(epoch, metrics)``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..evaluation.merge import hybrid_merge, tail_label_mask
from ..evaluation.metrics import LabelMatrix, f1_from_counts, label_confusion_counts
from ..evaluation.ranking import mean_average_precision
from ..models.siamese import CLASSIFICATION_REDUCTIONS, HybridSiameseNetwork, multitask_loss
from ..models.support import (
    DEFAULT_MAX_ELEMENTS,
    SupportSet,
    encode_support,
    evaluating,
    scorer_from_support,
    select_labels,
)
from ..sampling import Pairs, Triplets, sample_pairs, sample_triplets, support_indices
from .callbacks import Callback
from .data import EncodedSplit, collate, sequential_batches
from .guards import StepPlace, check_finite_loss, clip_and_check_gradients, model_name
from .trainer import EarlyStopping, FitResult, make_optimizer, resolve_device

__all__ = [
    "HSCNNTrainConfig",
    "HybridPrediction",
    "encode_and_score",
    "encode_rows",
    "encode_tail_support",
    "fit_hscnn",
    "hybrid_micro_f1s",
    "predict_hybrid",
    "tail_scorer",
    "tail_support",
]

logger = logging.getLogger(__name__)

TripletLike = Triplets | Pairs
TailScorer = Callable[[torch.Tensor], torch.Tensor]

MONITORS: dict[str, str] = {
    "pair_loss": "valid/pair_loss",
    "tail_map": "valid/tail_siamese_map",
    "hybrid_micro_f1": "valid/hybrid_micro_f1",
}
"""Early-stopping signals (module doc) and the per-epoch metric each one reads."""


@dataclass(frozen=True)
class HSCNNTrainConfig:
    """How to train HSCNN (METHODS §1.4, §1.7, §1.8 defaults).

    ``batch_size``: triplets per batch (§1.1's 100). ``lambda_*``: the multi-task weights of
    §1.4 (all 1; the /MT ablation sets ``lambda_m1 = lambda_m2 = 0``). ``n_phi``: head/tail
    threshold N_φ (§1.8). ``support_k``: K support documents per label (§1.7).
    ``majority_vote``: §1.7's option (vote share of the K comparisons instead of the prototype
    similarity). ``max_score_elements``: memory budget of one ``[labels × documents × width]``
    scoring block. METHODS is silent on the HSCNN epoch budget: ``max_epochs = 20`` and
    ``patience = 3`` are this module's choice (an epoch is ``n_triplets`` × 2 encodings, far
    more than a single-network epoch). Learning-rate decay and clipping as in ``TrainConfig``.
    """

    batch_size: int = 100
    max_epochs: int = 20
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 3
    min_delta: float = 1e-4
    lambda_s: float = 1.0
    lambda_m1: float = 1.0
    lambda_m2: float = 1.0
    n_phi: int = 100
    support_k: int = 5
    seed: int = 42
    device: str = "auto"
    eval_batch_size: int = 512
    max_score_elements: int = DEFAULT_MAX_ELEMENTS
    majority_vote: bool = False
    epoch0_loss_triplets: int | None = 20_000
    lr_decay_factor: float | None = 0.5
    lr_decay_patience: int = 1
    grad_clip_norm: float | None = None
    classification_reduction: str = "label_mean"
    monitor: str = "tail_map"
    validation_examples: int = 2000

    def __post_init__(self) -> None:
        for name in (
            "batch_size",
            "max_epochs",
            "patience",
            "support_k",
            "eval_batch_size",
            "max_score_elements",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"HSCNNTrainConfig.{name} must be ≥ 1, got {getattr(self, name)}")
        if self.epoch0_loss_triplets is not None and self.epoch0_loss_triplets < 1:
            raise ValueError(
                "HSCNNTrainConfig.epoch0_loss_triplets must be ≥ 1 or None, got "
                f"{self.epoch0_loss_triplets}"
            )
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(
                f"HSCNNTrainConfig.learning_rate must be finite and > 0, got {self.learning_rate}"
            )
        if self.n_phi < 0:
            raise ValueError(f"HSCNNTrainConfig.n_phi must be ≥ 0, got {self.n_phi}")
        if self.classification_reduction not in CLASSIFICATION_REDUCTIONS:
            raise ValueError(
                f"HSCNNTrainConfig.classification_reduction must be one of "
                f"{CLASSIFICATION_REDUCTIONS}, got {self.classification_reduction!r}"
            )
        if self.monitor not in MONITORS:
            raise ValueError(
                f"HSCNNTrainConfig.monitor must be one of {tuple(MONITORS)}, got {self.monitor!r}"
            )
        if self.validation_examples < (1 if self.monitor == "pair_loss" else 0):
            raise ValueError(
                "HSCNNTrainConfig.validation_examples must be ≥ 1 with monitor='pair_loss' (and "
                f"≥ 0 otherwise), got {self.validation_examples}"
            )
        weights = (self.lambda_s, self.lambda_m1, self.lambda_m2)
        if min(weights) < 0 or max(weights) == 0:
            raise ValueError(
                f"HSCNNTrainConfig lambdas must be ≥ 0 and not all 0, got "
                f"lambda_s={self.lambda_s}, lambda_m1={self.lambda_m1}, lambda_m2={self.lambda_m2}"
            )


@dataclass(frozen=True)
class HybridPrediction:
    """Hybrid prediction of ``D`` documents over ``C`` labels (METHODS §1.7, §1.8).

    ``siamese_scores`` is full width with **NaN in the head columns** (only tail labels are
    scored); ``scores`` holds the single probabilities in head columns and the similarities in
    tail columns (ranked together as they are); ``decisions``: ``p ≥ 0.5`` (head) /
    ``s > 0.5`` (tail).
    """

    single_probs: np.ndarray  # float32 [D, C]
    siamese_scores: np.ndarray  # float32 [D, C], NaN where ~is_tail
    scores: np.ndarray  # float32 [D, C]
    decisions: np.ndarray  # bool [D, C]
    is_tail: np.ndarray  # bool [C]: N_c < N_phi


# ---- prediction (§1.7, §1.8) -------------------------------------------------------------------


def tail_support(train: EncodedSplit, config: HSCNNTrainConfig) -> np.ndarray:
    """int64 ``[C, K]`` training-row indices of K random documents per label (-1 padded), seeded."""
    return support_indices(train.labels, config.support_k, seed=config.seed)


def encode_tail_support(
    model: HybridSiameseNetwork,
    train: EncodedSplit,
    label_counts: np.ndarray,
    config: HSCNNTrainConfig,
    support: np.ndarray | None = None,
) -> tuple[np.ndarray, SupportSet]:
    """The tail labels (``N_c < N_φ``, ascending) and their encoded support documents (§1.7).

    ``support``: ``[C, K]`` training-row indices (-1 padded; only tail rows are read), default
    :func:`tail_support`. What :func:`predict_hybrid` scores against, and what a packaged
    predictor stores in place of the training corpus.
    """
    counts = np.asarray(label_counts)
    tail = np.flatnonzero(tail_label_mask(counts, config.n_phi))
    chosen = tail_support(train, config) if support is None else support
    chosen = _check_support(chosen, counts.size, len(train))
    encoded = encode_support(
        model, train.token_ids, chosen[tail], batch_size=config.eval_batch_size
    )
    return tail, encoded


def tail_scorer(
    model: HybridSiameseNetwork,
    tail: np.ndarray,
    support: SupportSet,
    config: HSCNNTrainConfig,
) -> TailScorer:
    """The tail labels' scorer (§1.7): prototypes, or the vote share when ``majority_vote``."""
    return scorer_from_support(
        model.comparison,
        support,
        torch.as_tensor(tail, dtype=torch.int64),
        majority=config.majority_vote,
        max_elements=config.max_score_elements,
    )


def _support_of(encoded: tuple[np.ndarray, SupportSet], labels: np.ndarray) -> SupportSet:
    """The rows of ``labels`` (ascending) from an encoded support set of ``encoded[0]``."""
    known, support = encoded
    if np.array_equal(known, labels):
        return support
    rows = np.searchsorted(known, labels)
    if rows.size and (rows.max() >= known.size or not np.array_equal(known[rows], labels)):
        raise ValueError("the encoded support set does not cover every tail label")
    return select_labels(support, rows)


def _check_support(support: np.ndarray, n_labels: int, n_train: int) -> np.ndarray:
    s = np.asarray(support)
    if s.ndim != 2 or s.shape[0] != n_labels or not np.issubdtype(s.dtype, np.integer):
        raise ValueError(f"support must be integer [labels={n_labels}, K], got {s.dtype} {s.shape}")
    if s.size and (s.min() < -1 or s.max() >= n_train):
        raise ValueError(f"support indices must be in [-1, {n_train - 1}] (-1 = padding)")
    return s


def encode_and_score(
    model: HybridSiameseNetwork,
    split: EncodedSplit,
    scorer: TailScorer | None,
    n_tail: int,
    batch_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """One encoder pass per document → head probabilities [D, C] and tail scores [D, T].

    Documents are encoded ``batch_size`` at a time in order of length (rows come back in the
    given order); ``scorer``: :func:`tail_scorer` (``None`` when no label is tail).
    """
    device = next(model.parameters()).device
    order = np.argsort(split.lengths, kind="stable")  # similar lengths → little padding
    probs = np.empty(split.labels.shape, dtype=np.float32)
    tail_scores = np.empty((len(split), n_tail), dtype=np.float32)
    with evaluating(model):
        for batch in sequential_batches(len(split), batch_size):
            index = order[batch]
            ids, _ = collate(split, index, device, with_labels=False)
            reps = model.represent(ids)
            probs[index] = torch.sigmoid(model.classifier.head(reps)).cpu().numpy()
            if scorer is not None:
                tail_scores[index] = scorer(reps).cpu().numpy()
    return probs, tail_scores


def predict_hybrid(
    model: HybridSiameseNetwork,
    train: EncodedSplit,
    split: EncodedSplit,
    label_counts: np.ndarray,
    config: HSCNNTrainConfig,
    support: np.ndarray | None = None,
    *,
    single_probs: np.ndarray | None = None,
    encoded_support: tuple[np.ndarray, SupportSet] | None = None,
) -> HybridPrediction:
    """Single probabilities, tail similarities and their hybrid merge for ``split`` (§1.7, §1.8).

    ``train``: the training split (support documents are its rows); ``label_counts``: training
    ``N_c`` ``[C]``; ``support``: ``[C, K]`` training-row indices (-1 padded; only tail rows are
    read), default :func:`tail_support`. ``single_probs``: precomputed single-network
    probabilities ``[D, C]`` to use instead of the model's own head (Naive, /MT; module doc).
    ``encoded_support``: :func:`encode_tail_support`'s result to reuse across splits (its labels
    must cover the tail at ``config.n_phi``; ``support`` is then not read).
    Each document is encoded once per call; all (document, tail label) pairs of a batch are
    scored at once under inference mode. The model is moved to ``config.device``.
    """
    n_labels = model.num_labels
    counts = np.asarray(label_counts)
    if counts.shape != (n_labels,) or split.labels.shape[1] != n_labels:
        raise ValueError(
            f"label_counts {counts.shape} and split labels {split.labels.shape} must have "
            f"{n_labels} labels (the model's)"
        )
    if single_probs is not None and np.shape(single_probs) != split.labels.shape:
        raise ValueError(
            f"single_probs has shape {np.shape(single_probs)}, expected {split.labels.shape}"
        )
    model.to(resolve_device(config.device))
    is_tail = tail_label_mask(counts, config.n_phi)
    tail = np.flatnonzero(is_tail)
    scorer = None
    if tail.size:
        if encoded_support is None:
            encoded_support = encode_tail_support(model, train, counts, config, support)
        scorer = tail_scorer(model, tail, _support_of(encoded_support, tail), config)
    probs, tail_scores = encode_and_score(model, split, scorer, tail.size, config.eval_batch_size)
    if single_probs is not None:
        probs = np.asarray(single_probs, dtype=np.float32)
    siamese = np.full(probs.shape, np.nan, dtype=np.float32)
    siamese[:, tail] = tail_scores
    scores, decisions, _ = hybrid_merge(probs, siamese, counts, config.n_phi)
    return HybridPrediction(probs, siamese, scores, decisions, is_tail)


def hybrid_micro_f1s(labels: LabelMatrix, prediction: HybridPrediction) -> dict[str, float]:
    """Micro-F1 of the merged decisions over all, head and tail labels (module doc's signal)."""
    counts = label_confusion_counts(labels, prediction.decisions, threshold=0.5)
    out = {}
    for name, columns in (
        ("hybrid", slice(None)),
        ("head", ~prediction.is_tail),
        ("tail", prediction.is_tail),
    ):
        tp, fp, fn = (c[columns].sum() for c in counts)
        out[f"{name}_micro_f1"] = float(f1_from_counts(tp, fp, fn))
    return out


# ---- training (§1.4, §1.6) ---------------------------------------------------------------------


def _check_training_inputs(
    model: HybridSiameseNetwork,
    triplets: TripletLike,
    train: EncodedSplit,
    valid: EncodedSplit,
    label_counts: np.ndarray,
) -> None:
    n_labels = model.num_labels
    if not isinstance(triplets, Triplets | Pairs):
        raise TypeError(f"triplets must be Triplets or Pairs, got {type(triplets).__name__}")
    if len(triplets) == 0 or len(train) == 0 or len(valid) == 0:
        raise ValueError(
            f"need triplets, training and validation documents, got "
            f"{len(triplets)}/{len(train)}/{len(valid)}"
        )
    if isinstance(triplets, Pairs) and model.gated:
        raise ValueError(
            "Pairs carry no label, but the model's comparison head is category-gated: use "
            "Triplets, or build the model with gated=False (the /CSS and Naive variants)"
        )
    if max(triplets.first.max(), triplets.second.max()) >= len(train):
        raise ValueError(f"triplet document indices must be < {len(train)} (training rows)")
    if isinstance(triplets, Triplets) and triplets.label.max() >= n_labels:
        raise ValueError(f"triplet labels must be < {n_labels}")
    label_widths = {len(np.asarray(label_counts)), train.labels.shape[1], valid.labels.shape[1]}
    if np.ndim(label_counts) != 1 or label_widths != {n_labels}:
        raise ValueError(f"label_counts and the splits' label matrices must have {n_labels} labels")


ENCODE_CHUNK = 32
"""Documents per encoder call in :func:`encode_rows` (sorted by length, so little padding)."""


def encode_rows(
    model: HybridSiameseNetwork, split: EncodedSplit, rows: np.ndarray, device: torch.device
) -> torch.Tensor:
    """Representations ``[len(rows), width]`` of ``split``'s ``rows``, with gradient.

    Each distinct document is encoded once (a document on both sides of a batch, or in two
    triplets, shares one representation and gets both gradients), in chunks of
    :data:`ENCODE_CHUNK` documents sorted by length, each trimmed to its own longest document.
    Triplets pair documents at random, so one padded tensor per side would pad every document
    to the batch's longest: on Delicious (median 6 tokens, a batch of 100 spans up to ~190)
    that is most of the compute. Hand-written because the pairing, not the data loader, decides
    which documents meet in a batch.
    """
    unique, inverse = np.unique(rows, return_inverse=True)
    order = np.argsort(split.lengths[unique], kind="stable")
    parts = []
    for start in range(0, order.size, ENCODE_CHUNK):
        ids, _ = collate(split, unique[order[start : start + ENCODE_CHUNK]], device, False)
        parts.append(model.represent(ids))
    position = np.empty(order.size, dtype=np.int64)
    position[order] = np.arange(order.size)
    return torch.cat(parts)[torch.from_numpy(position[inverse]).to(device)]


def _triplet_pass(
    model: HybridSiameseNetwork,
    triplets: TripletLike,
    train: EncodedSplit,
    classification_loss: nn.Module,
    config: HSCNNTrainConfig,
    order: np.ndarray,
    optimizer: torch.optim.Optimizer | None,
    epoch: int,
) -> dict[str, float]:
    """Mean multi-task loss and parts over ``triplets[order]``; an Adam step per batch if given.

    Both sides of a batch are encoded together by :func:`encode_rows`; a Pairs batch passes no
    label (the vanilla head ignores it).
    """
    device = next(model.parameters()).device
    training = optimizer is not None
    model.train(training)
    sums = np.zeros(4)
    batches = [order[i : i + config.batch_size] for i in range(0, len(order), config.batch_size)]
    with torch.set_grad_enabled(training):
        progress = tqdm(
            batches, desc=f"hscnn epoch {epoch}", leave=False, disable=None, mininterval=1.0
        )
        for position, index in enumerate(progress):
            rows = np.concatenate([triplets.first[index], triplets.second[index]])
            reps = encode_rows(model, train, rows, device)
            targets = torch.from_numpy(train.labels[rows].toarray().astype(np.float32)).to(device)
            n = len(index)
            labels = None
            if isinstance(triplets, Triplets):
                labels = torch.from_numpy(triplets.label[index]).to(device)
            out = model.compare(reps[:n], reps[n:], labels)
            target = torch.from_numpy(triplets.target[index]).to(device)
            loss = multitask_loss(
                out.similarity_logits,
                target,
                out.logits_first,
                targets[:n],
                out.logits_second,
                targets[n:],
                classification_loss,
                config.lambda_s,
                config.lambda_m1,
                config.lambda_m2,
                config.classification_reduction,
            )
            parts = np.array([float(part.detach()) for part in loss])
            if training:
                place = StepPlace(
                    model_name(model), epoch, position + 1, optimizer.param_groups[0]["lr"]
                )
                check_finite_loss(float(parts[0]), place)
                optimizer.zero_grad(set_to_none=True)
                loss.total.backward()
                clip_and_check_gradients(model.parameters(), config.grad_clip_norm, place)
                optimizer.step()
            sums += parts * n
    model.eval()
    means = sums / len(order)
    names = ("train_loss", "train_similarity_loss", "train_first_loss", "train_second_loss")
    return {f"hscnn/{name}": float(v) for name, v in zip(names, means, strict=True)}


def validation_examples(
    examples: TripletLike, valid: EncodedSplit, config: HSCNNTrainConfig
) -> TripletLike | None:
    """Seeded examples of the kind that trains the model (triplets or pairs), drawn from the
    validation split for the pair-loss signal; ``None`` when ``config.validation_examples`` is 0.

    Their own seed (``[config.seed, 1]``), so the training triplets do not depend on them.
    """
    count = config.validation_examples
    if count == 0:
        return None
    sampler = sample_triplets if isinstance(examples, Triplets) else sample_pairs
    seed = int(np.random.default_rng([config.seed, 1]).integers(2**31))
    return sampler(valid.labels, count, min_per_label=1, seed=seed)


def tail_siamese_map(labels: LabelMatrix, prediction: HybridPrediction) -> float:
    """Mean average precision of the Siamese scores over the tail labels (threshold-free)."""
    tail = np.flatnonzero(prediction.is_tail)
    if tail.size == 0:
        return 0.0
    return mean_average_precision(labels, np.nan_to_num(prediction.siamese_scores), tail)


def fit_hscnn(
    model: HybridSiameseNetwork,
    triplets: Triplets | Pairs,
    train: EncodedSplit,
    valid: EncodedSplit,
    classification_loss: nn.Module,
    label_counts: np.ndarray,
    config: HSCNNTrainConfig,
    callbacks: Sequence[Callback] = (),
    *,
    valid_single_probs: np.ndarray | None = None,
) -> FitResult:
    """Train HSCNN on ``triplets`` with the multi-task loss (METHODS §1.4, §1.6 step 2).

    ``model``: initialised from the trained single network. ``triplets``: ``Triplets`` (label
    ids feed the category gate) or ``Pairs`` for the /CSS and Naive variants (vanilla head
    only; a gated head raises ``ValueError``). Document indices refer to ``train``'s rows.
    ``classification_loss``: the single network's objective (any ``build_loss`` module), for
    L_m1/L_m2. ``label_counts``: training ``N_c`` (head/tail split at ``config.n_phi``).

    Each epoch shuffles the triplets (seeded by ``config.seed``), takes one Adam step per batch
    of ``config.batch_size`` triplets, then scores the validation signal
    (``valid/hybrid_micro_f1``, module doc) with :func:`predict_hybrid`. Early stopping after
    ``patience`` epochs without gain; the best state (epoch 0 = initial weights included) is
    loaded back into ``model``. Returns a :class:`~longtail_mltc.training.FitResult` whose
    ``best_valid_micro_f1`` is the hybrid micro-F1 and whose ``history`` starts with epoch 0.
    Metrics per epoch (history and ``callback.on_epoch_end(epoch, metrics)``):
    ``hscnn/train_loss``, ``hscnn/train_similarity_loss``, ``hscnn/train_first_loss``,
    ``hscnn/train_second_loss``, ``valid/hybrid_micro_f1``, ``valid/head_micro_f1``,
    ``valid/tail_micro_f1``, ``learning_rate``, ``epoch_seconds``.
    """
    _check_training_inputs(model, triplets, train, valid, label_counts)
    device = resolve_device(config.device)
    model.to(device)
    if isinstance(classification_loss, nn.Module):  # label weights are buffers
        classification_loss.to(device)
    optimizer, scheduler = make_optimizer(model, config)
    support = tail_support(train, config)
    rng = np.random.default_rng(config.seed)
    stopping = EarlyStopping(config.patience, config.min_delta, name="HSCNN")
    stopping.result.best_valid_micro_f1 = -np.inf  # the monitored value may be a negated loss
    best = stopping.result
    logger.info(
        "training HSCNN (%s head) on %s: %d %s over %d train docs, %d valid docs, up to %d epochs",
        "gated" if model.gated else "vanilla",
        device,
        len(triplets),
        type(triplets).__name__.lower(),
        len(train),
        len(valid),
        config.max_epochs,
    )
    held_out = validation_examples(triplets, valid, config)
    held_out_order = None if held_out is None else np.arange(len(held_out))
    for epoch in range(config.max_epochs + 1):
        started = time.perf_counter()
        order = rng.permutation(len(triplets)) if epoch else _epoch0_order(len(triplets), config)
        step = optimizer if epoch else None
        losses = _triplet_pass(
            model, triplets, train, classification_loss, config, order, step, epoch
        )
        prediction = predict_hybrid(
            model, train, valid, label_counts, config, support, single_probs=valid_single_probs
        )
        signal = {f"valid/{k}": v for k, v in hybrid_micro_f1s(valid.labels, prediction).items()}
        signal["valid/tail_siamese_map"] = tail_siamese_map(valid.labels, prediction)
        if held_out is not None:
            pair = _triplet_pass(
                model, held_out, valid, classification_loss, config, held_out_order, None, epoch
            )
            signal["valid/pair_loss"] = pair["hscnn/train_similarity_loss"]
        metrics = {
            **losses,
            **signal,
            "learning_rate": optimizer.param_groups[0]["lr"],
            "epoch_seconds": time.perf_counter() - started,
        }
        monitored = signal[MONITORS[config.monitor]]
        value = -monitored if config.monitor == "pair_loss" else monitored  # larger is better
        stepped = scheduler if epoch else None  # epoch 0 took no optimiser step
        summary = _epoch_summary(epoch, metrics)
        if stopping.end_epoch(model, epoch, value, metrics, callbacks, stepped, summary):
            break
    model.load_state_dict(best.best_state)
    return best


def _epoch0_order(n_triplets: int, config: HSCNNTrainConfig) -> np.ndarray:
    """Triplets whose loss epoch 0 reports: all, or a seeded sorted sample (module doc).

    Its own generator, so the training epochs' shuffles do not depend on the cap.
    """
    cap = config.epoch0_loss_triplets
    if cap is None or n_triplets <= cap:
        return np.arange(n_triplets)
    rng = np.random.default_rng([config.seed, 0])
    return np.sort(rng.choice(n_triplets, cap, replace=False))


def _epoch_summary(epoch: int, metrics: dict[str, float]) -> str:
    pair = metrics.get("valid/pair_loss")
    return (
        f"hscnn epoch {epoch}: loss {metrics['hscnn/train_loss']:.4f} "
        f"(similarity {metrics['hscnn/train_similarity_loss']:.4f}), valid pair loss "
        f"{'-' if pair is None else f'{pair:.4f}'}, tail Siamese mAP "
        f"{metrics['valid/tail_siamese_map']:.4f}, hybrid micro-F1 "
        f"{metrics['valid/hybrid_micro_f1']:.4f} (head {metrics['valid/head_micro_f1']:.4f}, "
        f"tail {metrics['valid/tail_micro_f1']:.4f})"
    )
