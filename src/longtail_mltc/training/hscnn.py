"""Training of the Hybrid-Siamese network (METHODS §1.4, §1.6-§1.9).

* :func:`fit_hscnn` - §1.6 step 2: trains a model initialised from the single network
  (:meth:`~longtail_mltc.models.HybridSiameseNetwork.from_classifier`) on sampled triplets (or
  plain pairs for /CSS and Naive, §1.9) with the multi-task loss of §1.4, Adam,
  ReduceLROnPlateau and early stopping on ``config.monitor`` (:data:`MONITORS`), evaluating
  epoch 0 (the initial weights) first.
* :class:`HSCNNTrainConfig` - its settings.
* prediction (:func:`~longtail_mltc.training.hybrid_prediction.predict_hybrid`) lives in
  :mod:`~longtail_mltc.training.hybrid_prediction`; the validation signals are scored with it.

No kedro or mlflow here: per-epoch metrics go to callbacks (``on_epoch_end(epoch, metrics)``).
Validation signals, epoch 0, head probabilities under /MT and Naive, reproducibility:
docs/hscnn.md#training-the-hybrid-siamese-network.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..evaluation.merge import tail_label_mask
from ..models.siamese import CLASSIFICATION_REDUCTIONS, HybridSiameseNetwork, multitask_loss
from ..models.support import (
    DEFAULT_MAX_ELEMENTS,
    evaluating,
)
from ..sampling import Pairs, Triplets, sample_pairs, sample_triplets
from .callbacks import Callback
from .config import EngineConfig
from .data import EncodedSplit, collate
from .engine import (
    IndexBatches,
    ShuffledBatchSampler,
    evaluation_loader,
    train_module,
    training_loader,
)
from .hybrid_prediction import (
    HybridPrediction,
    encode_tail_support,
    hybrid_micro_f1s,
    merge_prediction,
    predict_hybrid,
    score_batch,
    tail_scorer,
    tail_siamese_map,
    tail_support,
)
from .method_module import MethodModule
from .trainer import FitResult

__all__ = [
    "HSCNNModule",
    "HSCNNTrainConfig",
    "encode_rows",
    "fit_hscnn",
]

logger = logging.getLogger(__name__)

TripletLike = Triplets | Pairs

MONITORS: dict[str, str] = {
    "pair_loss": "valid/pair_loss",
    "hybrid_tail_map": "valid/hybrid_tail_siamese_map",
    "hybrid_micro_f1": "valid/hybrid_micro_f1",
}
"""Early-stopping signals (module doc) and the per-epoch metric each one reads."""
RENAMED_MONITORS: dict[str, str] = {"tail_map": "hybrid_tail_map"}
"""Monitor names of configurations written before the N_φ split had its own names."""


@dataclass(frozen=True)
class HSCNNTrainConfig(EngineConfig):
    """How to train HSCNN (METHODS §1.4, §1.7, §1.8 defaults); the shared fields are
    :class:`~.config.EngineConfig`'s.

    ``batch_size``: triplets per batch (§1.1's 100). ``lambda_*``: the multi-task weights of
    §1.4 (all 1; the /MT ablation sets ``lambda_m1 = lambda_m2 = 0``). ``n_phi``: head/tail
    threshold N_φ (§1.8). ``support_k``: K support documents per label (§1.7).
    ``majority_vote``: §1.7's option (vote share of the K comparisons instead of the prototype
    similarity). ``max_score_elements``: memory budget of one ``[labels × documents × width]``
    scoring block. METHODS is silent on the HSCNN epoch budget: ``max_epochs = 20`` and
    ``patience = 3`` are this module's choice (an epoch is ``n_triplets`` × 2 encodings, far
    more than a single-network epoch).
    """

    max_epochs: int = 20
    patience: int = 3
    lambda_s: float = 1.0
    lambda_m1: float = 1.0
    lambda_m2: float = 1.0
    n_phi: int = 100
    support_k: int = 5
    max_score_elements: int = DEFAULT_MAX_ELEMENTS
    majority_vote: bool = False
    epoch0_loss_triplets: int | None = 2_000
    classification_reduction: str = "label_mean"
    monitor: str = "hybrid_tail_map"
    validation_examples: int = 2000

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("support_k", "max_score_elements"):
            if getattr(self, name) < 1:
                raise ValueError(f"HSCNNTrainConfig.{name} must be ≥ 1, got {getattr(self, name)}")
        if self.epoch0_loss_triplets is not None and self.epoch0_loss_triplets < 1:
            raise ValueError(
                "HSCNNTrainConfig.epoch0_loss_triplets must be ≥ 1 or None, got "
                f"{self.epoch0_loss_triplets}"
            )
        if self.n_phi < 0:
            raise ValueError(f"HSCNNTrainConfig.n_phi must be ≥ 0, got {self.n_phi}")
        if self.classification_reduction not in CLASSIFICATION_REDUCTIONS:
            raise ValueError(
                f"HSCNNTrainConfig.classification_reduction must be one of "
                f"{CLASSIFICATION_REDUCTIONS}, got {self.classification_reduction!r}"
            )
        if self.monitor in RENAMED_MONITORS:
            renamed = RENAMED_MONITORS[self.monitor]
            logger.warning("hscnn monitor %r is now called %r", self.monitor, renamed)
            object.__setattr__(self, "monitor", renamed)
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


def triplet_loss(
    model: HybridSiameseNetwork,
    triplets: TripletLike,
    train: EncodedSplit,
    index: np.ndarray,
    classification_loss: nn.Module,
    config: HSCNNTrainConfig,
):
    """The multi-task loss (§1.4) of ``triplets[index]``, with gradient when it is enabled.

    Both sides of a batch are encoded together by :func:`encode_rows`; a Pairs batch passes no
    label (the vanilla head ignores it).
    """
    device = next(model.parameters()).device
    rows = np.concatenate([triplets.first[index], triplets.second[index]])
    reps = encode_rows(model, train, rows, device)
    targets = torch.from_numpy(train.labels[rows].toarray().astype(np.float32)).to(device)
    n = len(index)
    labels = None
    if isinstance(triplets, Triplets):
        labels = torch.from_numpy(triplets.label[index]).to(device)
    out = model.compare(reps[:n], reps[n:], labels)
    return multitask_loss(
        out.similarity_logits,
        torch.from_numpy(triplets.target[index]).to(device),
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


LOSS_NAMES = ("train_loss", "train_similarity_loss", "train_first_loss", "train_second_loss")


def loss_means(sums: np.ndarray, count: int) -> dict[str, float]:
    """``hscnn/<part>`` means of the summed (total, similarity, first, second) losses."""
    return {f"hscnn/{name}": float(v) for name, v in zip(LOSS_NAMES, sums / count, strict=True)}


def evaluate_triplets(
    model: HybridSiameseNetwork,
    triplets: TripletLike,
    train: EncodedSplit,
    classification_loss: nn.Module,
    config: HSCNNTrainConfig,
    order: np.ndarray,
) -> dict[str, float]:
    """Mean multi-task loss and parts over ``triplets[order]`` under the current weights, in
    eval mode and without gradient (epoch 0's reference and the held-out pair loss)."""
    sums = np.zeros(4)
    with evaluating(model):
        for start in range(0, len(order), config.batch_size):
            index = order[start : start + config.batch_size]
            loss = triplet_loss(model, triplets, train, index, classification_loss, config)
            sums += np.array([float(part) for part in loss]) * len(index)
    return loss_means(sums, len(order))


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
    checkpoint_dir: Path | None = None,
    resume: bool = False,
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
    ``hscnn/train_second_loss``, ``valid/hybrid_micro_f1``, ``valid/hybrid_head_micro_f1``,
    ``valid/hybrid_tail_micro_f1``, ``learning_rate``, ``epoch_seconds``.
    """
    _check_training_inputs(model, triplets, train, valid, label_counts)
    module = HSCNNModule(
        model,
        triplets,
        train,
        valid,
        classification_loss,
        label_counts,
        config,
        callbacks,
        valid_single_probs=valid_single_probs,
    )
    logger.info(
        "training HSCNN (%s head): %d %s over %d train docs, %d valid docs, up to %d epochs",
        "gated" if model.gated else "vanilla",
        len(triplets),
        type(triplets).__name__.lower(),
        len(train),
        len(valid),
        config.max_epochs,
    )
    return train_module(module, config, checkpoint_dir=checkpoint_dir, resume=resume)


class HSCNNModule(MethodModule):
    """HSCNN on the engine's Trainer (:func:`fit_hscnn`): a step is one batch of triplets under
    the multi-task loss; validation is the hybrid prediction of the validation split."""

    def __init__(
        self,
        model: HybridSiameseNetwork,
        triplets: TripletLike,
        train: EncodedSplit,
        valid: EncodedSplit,
        classification_loss: nn.Module,
        label_counts: np.ndarray,
        config: HSCNNTrainConfig,
        callbacks: Sequence[Callback] = (),
        *,
        valid_single_probs: np.ndarray | None = None,
    ) -> None:
        sampler = ShuffledBatchSampler(len(triplets), config.batch_size, config.seed)
        super().__init__(model, config, sampler, callbacks, name="HSCNN")
        self.stopping.result.best_valid_micro_f1 = -np.inf  # the signal may be a negated loss
        self.classification_loss = classification_loss  # label weights as buffers follow
        self.triplets, self.train_split, self.valid_split = triplets, train, valid
        self.label_counts = np.asarray(label_counts)
        self.valid_single_probs = valid_single_probs
        self.support = tail_support(train, config)
        self.tail = np.flatnonzero(tail_label_mask(self.label_counts, config.n_phi))
        self.held_out = validation_examples(triplets, valid, config)

    # ---- data -------------------------------------------------------------------------------

    def train_dataloader(self):
        return training_loader(IndexBatches(len(self.triplets)), self.sampler)

    def val_dataloader(self):
        return evaluation_loader(self.valid_split, self.config.eval_batch_size, with_labels=False)

    # ---- epoch 0 and training ---------------------------------------------------------------

    def on_train_start(self) -> None:
        if not self.stopping.result.history:  # a resumed training has its epoch 0 already
            self._epoch_zero()

    def _epoch_zero(self) -> None:
        """The initial weights, evaluated before any step (module doc)."""
        started = time.perf_counter()
        order = _epoch0_order(len(self.triplets), self.config)
        losses = evaluate_triplets(
            self.model,
            self.triplets,
            self.train_split,
            self.classification_loss,
            self.config,
            order,
        )
        prediction = predict_hybrid(  # eval and inference mode inside, restored after
            self.model,
            self.train_split,
            self.valid_split,
            self.label_counts,
            self.config,
            self.support,
            single_probs=self.valid_single_probs,
        )
        self._finish(0, losses, prediction, started, step_plateau=False)

    def on_train_epoch_start(self) -> None:
        super().on_train_epoch_start()
        self._sums, self._count = np.zeros(4), 0

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        index = batch.cpu().numpy()
        loss = triplet_loss(
            self.model,
            self.triplets,
            self.train_split,
            index,
            self.classification_loss,
            self.config,
        )
        if self._weights[batch_idx] > 0:
            self._sums += np.array([float(part.detach()) for part in loss]) * len(index)
            self._count += len(index)
        return self.weighted(loss.total, batch_idx)

    # ---- validation -------------------------------------------------------------------------

    def on_validation_epoch_start(self) -> None:
        valid = self.valid_split
        self._probs = np.empty(valid.labels.shape, dtype=np.float32)
        self._tail_scores = np.empty((len(valid), self.tail.size), dtype=np.float32)
        self._scorer = None
        if self.tail.size:  # prototypes of the current encoder (§1.7)
            tail, support = encode_tail_support(
                self.model, self.train_split, self.label_counts, self.config, self.support
            )
            self._scorer = tail_scorer(self.model, tail, support, self.config)

    def validation_step(self, batch, batch_idx: int) -> None:
        ids, _, index = batch
        rows = index.cpu().numpy()
        self._probs[rows], tail_scores = score_batch(self.model, ids, self._scorer)
        if tail_scores is not None:
            self._tail_scores[rows] = tail_scores

    def on_validation_epoch_end(self) -> None:
        prediction = merge_prediction(
            self._probs,
            self._tail_scores,
            self.label_counts,
            self.config.n_phi,
            self.valid_single_probs,
        )
        *sums, count = self.summed_over_ranks([*self._sums, self._count])
        losses = loss_means(np.array(sums), max(1, count))
        self._finish(self.current_epoch + 1, losses, prediction, self._epoch_started)

    def _finish(
        self,
        epoch: int,
        losses: dict[str, float],
        prediction: HybridPrediction,
        started: float,
        step_plateau: bool = True,
    ) -> None:
        valid, config = self.valid_split, self.config
        signal = {f"valid/{k}": v for k, v in hybrid_micro_f1s(valid.labels, prediction).items()}
        signal["valid/hybrid_tail_siamese_map"] = tail_siamese_map(valid.labels, prediction)
        if self.held_out is not None:
            pair = evaluate_triplets(
                self.model,
                self.held_out,
                valid,
                self.classification_loss,
                config,
                np.arange(len(self.held_out)),
            )
            signal["valid/pair_loss"] = pair["hscnn/train_similarity_loss"]
        metrics = {
            **losses,
            **signal,
            "learning_rate": self.optimizers().param_groups[0]["lr"],
            "epoch_seconds": time.perf_counter() - started,
        }
        monitored = signal[MONITORS[config.monitor]]
        value = -monitored if config.monitor == "pair_loss" else monitored  # larger is better
        self.end_epoch(epoch, value, metrics, _epoch_summary(epoch, metrics), step_plateau)


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
        f"{'-' if pair is None else f'{pair:.4f}'}, hybrid_tail Siamese mAP "
        f"{metrics['valid/hybrid_tail_siamese_map']:.4f}, hybrid micro-F1 "
        f"{metrics['valid/hybrid_micro_f1']:.4f} (hybrid_head "
        f"{metrics['valid/hybrid_head_micro_f1']:.4f}, hybrid_tail "
        f"{metrics['valid/hybrid_tail_micro_f1']:.4f})"
    )
