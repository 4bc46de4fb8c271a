"""SGM training and decoding over encoded splits (METHODS §2.3; Yang et al. 2018).

* :func:`fit_sgm` - teacher forcing on label sequences in descending training frequency
  (:func:`~longtail_mltc.models.sgm.label_sequence_targets`), cross-entropy over the sequence
  steps, the optimiser of :func:`~longtail_mltc.training.trainer.make_optimizer`, gradient
  clipping, and early stopping on the **validation micro-F1 of the decoded label sets** (SGM
  decides by itself: no threshold to tune). The best epoch's weights are restored.
* :func:`decode_split` - decoded label sets (boolean ``[N, |C|]``) and per-label ranking scores
  for a whole split, batched in order of length.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from ..evaluation.metrics import evaluate
from ..models.sgm import SGM, TARGET_PAD, label_sequence_targets, sequence_loss
from .callbacks import Callback
from .data import EncodedSplit, bucketed_batches, collate, sequential_batches
from .guards import StepPlace, check_finite_loss, clip_and_check_gradients
from .trainer import OPTIMIZERS, EarlyStopping, FitResult, make_optimizer, resolve_device

logger = logging.getLogger(__name__)

__all__ = ["SGMTrainConfig", "decode_split", "decoding_limit", "fit_sgm"]


@dataclass(frozen=True)
class SGMTrainConfig:
    """How SGM is trained and decoded (README "AltXML and its baselines" gives the defaults)."""

    batch_size: int = 64
    max_epochs: int = 20
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"
    grad_clip_norm: float | None = 10.0
    patience: int = 3
    min_delta: float = 1e-4
    lr_decay_factor: float | None = None
    lr_decay_patience: int = 1
    eval_batch_size: int = 256
    beam_size: int = 1  # 1 = greedy decoding (validation signal and prediction)
    # longest decoded set and target truncation; None: the longest training label set
    max_labels: int | None = None
    bucket_factor: int = 50
    seed: int = 42
    device: str = "auto"

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_epochs", "patience", "eval_batch_size", "beam_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"SGMTrainConfig.{name} must be ≥ 1, got {getattr(self, name)}")
        if self.max_labels is not None and self.max_labels < 1:
            raise ValueError(f"SGMTrainConfig.max_labels must be ≥ 1, got {self.max_labels}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"SGMTrainConfig.optimizer must be one of {OPTIMIZERS}")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(
                f"SGMTrainConfig.learning_rate must be finite and > 0, got {self.learning_rate}"
            )


@torch.no_grad()
def decode_split(
    model: SGM,
    split: EncodedSplit,
    batch_size: int = 256,
    beam_size: int = 1,
    max_labels: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Decoded label sets (bool ``[N, |C|]``) and ranking scores (float32), in document order."""
    model.eval()
    device = next(model.parameters()).device
    n_labels = split.labels.shape[1]
    decisions = np.zeros((len(split), n_labels), dtype=bool)
    scores = np.zeros((len(split), n_labels), dtype=np.float32)
    order = np.argsort(split.lengths, kind="stable")  # similar lengths → little padding
    with torch.inference_mode():
        for batch in sequential_batches(len(split), batch_size):
            index = order[batch]
            ids, _ = collate(split, index, device, with_labels=False)
            out = model.decode(ids, beam_size=beam_size, max_labels=max_labels)
            decisions[index] = out.labels.cpu().numpy()
            scores[index] = out.scores.float().cpu().numpy()
    return decisions, scores


def decoding_limit(train: EncodedSplit, config: SGMTrainConfig) -> int:
    """``config.max_labels``, or the largest number of labels of a training document (≥ 1)."""
    if config.max_labels is not None:
        return config.max_labels
    return max(1, int(train.labels.getnnz(axis=1).max(initial=0)))


def _micro_f1(split: EncodedSplit, decisions: np.ndarray) -> float:
    return float(
        evaluate(split.labels, decisions.astype(np.float32), threshold=0.5, ks=())["micro_f1"]
    )


def _train_one_epoch(
    model: SGM,
    train: EncodedSplit,
    targets: np.ndarray,
    optimizer: torch.optim.Optimizer,
    config: SGMTrainConfig,
    rng: np.random.Generator,
    device: torch.device,
    epoch: int,
) -> float:
    model.train()
    batches = bucketed_batches(train.lengths, config.batch_size, rng, config.bucket_factor)
    total, seen = 0.0, 0
    progress = tqdm(batches, desc=f"sgm epoch {epoch}", leave=False, disable=None)
    for position, index in enumerate(progress):
        ids, _ = collate(train, index, device, with_labels=False)
        batch_targets = targets[index]
        steps = int((batch_targets != TARGET_PAD).sum(axis=1).max())  # trim all-pad steps
        target = torch.from_numpy(np.ascontiguousarray(batch_targets[:, :steps])).to(device)
        optimizer.zero_grad(set_to_none=True)
        loss = sequence_loss(model(ids, target), target)
        value = float(loss.detach())
        place = StepPlace("SGM", epoch, position + 1, optimizer.param_groups[0]["lr"])
        check_finite_loss(value, place)
        loss.backward()
        clip_and_check_gradients(model.parameters(), config.grad_clip_norm, place)
        optimizer.step()
        total += value * len(index)
        seen += len(index)
    return total / seen


def fit_sgm(
    model: SGM,
    train: EncodedSplit,
    valid: EncodedSplit,
    label_counts: np.ndarray,
    config: SGMTrainConfig,
    callbacks: Sequence[Callback] = (),
) -> FitResult:
    """Train SGM with teacher forcing; keep the epoch with the best validation micro-F1.

    ``label_counts``: training ``N_c`` (the label order of the targets). Decoding stops after
    ``config.max_labels`` labels, by default the longest training label set (an untrained
    decoder would otherwise run up to ``|C|`` steps per validation batch), see
    :func:`decoding_limit`. Metrics per epoch: ``train/loss``,
    ``valid/epoch_micro_f1`` (decoded sets), ``learning_rate``, ``epoch_seconds``.
    """
    if len(train) == 0 or len(valid) == 0:
        raise ValueError(f"need training and validation documents, got {len(train)}/{len(valid)}")
    device = resolve_device(config.device)
    model.to(device)
    targets = label_sequence_targets(train.labels, label_counts, config.max_labels)
    max_labels = decoding_limit(train, config)
    optimizer, scheduler = make_optimizer(model, config)
    rng = np.random.default_rng(config.seed)
    stopping = EarlyStopping(config.patience, config.min_delta, name="SGM")
    best = stopping.result
    logger.info(
        "training SGM on %s: %d train / %d valid docs, up to %d epochs, target length %d",
        device,
        len(train),
        len(valid),
        config.max_epochs,
        targets.shape[1],
    )
    for epoch in range(1, config.max_epochs + 1):
        started = time.perf_counter()
        train_loss = _train_one_epoch(model, train, targets, optimizer, config, rng, device, epoch)
        decisions, _ = decode_split(
            model, valid, config.eval_batch_size, config.beam_size, max_labels
        )
        valid_f1 = _micro_f1(valid, decisions)
        metrics = {
            "train/loss": train_loss,
            "valid/epoch_micro_f1": valid_f1,
            "learning_rate": optimizer.param_groups[0]["lr"],
            "epoch_seconds": time.perf_counter() - started,
        }
        summary = f"sgm epoch {epoch}: train loss {train_loss:.4f}, valid micro-F1 {valid_f1:.4f}"
        if stopping.end_epoch(model, epoch, valid_f1, metrics, callbacks, scheduler, summary):
            break
    model.load_state_dict(best.best_state)
    return best
