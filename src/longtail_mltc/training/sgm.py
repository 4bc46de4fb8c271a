"""SGM training and decoding over encoded splits (METHODS §2.3; Yang et al. 2018).

* :func:`fit_sgm` - teacher forcing on label sequences in descending training frequency
  (:func:`~longtail_mltc.models.sgm.label_sequence_targets`), cross-entropy over the sequence
  steps, the optimiser of :func:`~longtail_mltc.training.trainer.make_optimizer`, gradient
  clipping, and early stopping on the **validation micro-F1 of the decoded label sets** (SGM
  decides by itself: no threshold to tune). The best epoch's weights are restored.
* decoding a split with a trained model is :func:`~longtail_mltc.inference.scores.decode_split`
  (``inference/``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..evaluation.metrics import evaluate
from ..models.sgm import SGM, TARGET_PAD, label_sequence_targets, sequence_loss
from .callbacks import Callback
from .config import EngineConfig
from .data import EncodedSplit
from .engine import (
    BatchRows,
    BucketedBatchSampler,
    evaluation_loader,
    train_module,
    training_loader,
)
from .method_module import MethodModule
from .trainer import FitResult

logger = logging.getLogger(__name__)

__all__ = ["SGMModule", "SGMTrainConfig", "decoding_limit", "fit_sgm"]


@dataclass(frozen=True)
class SGMTrainConfig(EngineConfig):
    """How SGM is trained and decoded (docs/altxml.md gives the defaults);
    the shared fields are :class:`~.config.EngineConfig`'s."""

    batch_size: int = 64
    max_epochs: int = 20
    grad_clip_norm: float | None = 10.0
    patience: int = 3
    lr_decay_factor: float | None = None
    eval_batch_size: int = 256
    beam_size: int = 1  # 1 = greedy decoding (validation signal and prediction)
    # longest decoded set and target truncation; None: the longest training label set
    max_labels: int | None = None
    bucket_factor: int = 50

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.beam_size < 1:
            raise ValueError(f"SGMTrainConfig.beam_size must be ≥ 1, got {self.beam_size}")
        if self.max_labels is not None and self.max_labels < 1:
            raise ValueError(f"SGMTrainConfig.max_labels must be ≥ 1, got {self.max_labels}")


def decoding_limit(train: EncodedSplit, config: SGMTrainConfig) -> int:
    """``config.max_labels``, or the largest number of labels of a training document (≥ 1)."""
    if config.max_labels is not None:
        return config.max_labels
    return max(1, int(train.labels.getnnz(axis=1).max(initial=0)))


def _micro_f1(split: EncodedSplit, decisions: np.ndarray) -> float:
    return float(
        evaluate(split.labels, decisions.astype(np.float32), threshold=0.5, ks=())["micro_f1"]
    )


def fit_sgm(
    model: SGM,
    train: EncodedSplit,
    valid: EncodedSplit,
    label_counts: np.ndarray,
    config: SGMTrainConfig,
    callbacks: Sequence[Callback] = (),
    *,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
) -> FitResult:
    """Train SGM with teacher forcing; keep the epoch with the best validation micro-F1.

    ``label_counts``: training ``N_c`` (the label order of the targets). Decoding stops after
    ``config.max_labels`` labels, by default the longest training label set (an untrained
    decoder would otherwise run up to ``|C|`` steps per validation batch), see
    :func:`decoding_limit`. Metrics per epoch: ``train/loss`` (mean over the label steps),
    ``valid/epoch_micro_f1`` (decoded sets), ``learning_rate``, ``epoch_seconds``.
    """
    if len(train) == 0 or len(valid) == 0:
        raise ValueError(f"need training and validation documents, got {len(train)}/{len(valid)}")
    module = SGMModule(model, train, valid, label_counts, config, callbacks)
    logger.info(
        "training SGM: %d train / %d valid docs, up to %d epochs, target length %d",
        len(train),
        len(valid),
        config.max_epochs,
        module.targets.shape[1],
    )
    return train_module(module, config, checkpoint_dir=checkpoint_dir, resume=resume)


class SGMModule(MethodModule):
    """SGM on the engine's Trainer: teacher forcing per step, decoded validation sets."""

    def __init__(
        self,
        model: SGM,
        train: EncodedSplit,
        valid: EncodedSplit,
        label_counts: np.ndarray,
        config: SGMTrainConfig,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        sampler = BucketedBatchSampler(
            train.lengths, config.batch_size, config.seed, config.bucket_factor
        )
        super().__init__(model, config, sampler, callbacks, name="SGM")
        self.train_split, self.valid_split = train, valid
        self.targets = label_sequence_targets(train.labels, label_counts, config.max_labels)
        self.max_labels = decoding_limit(train, config)
        self.loss_sizes = (self.targets != TARGET_PAD).sum(axis=1)  # the loss is per label step

    def train_dataloader(self):
        return training_loader(BatchRows(self.train_split, with_labels=False), self.sampler)

    def val_dataloader(self):
        return evaluation_loader(self.valid_split, self.config.eval_batch_size, with_labels=False)

    def on_train_epoch_start(self) -> None:
        super().on_train_epoch_start()
        self._loss_sum, self._steps = 0.0, 0

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        ids, _, index = batch
        batch_targets = self.targets[index.cpu().numpy()]
        steps = int((batch_targets != TARGET_PAD).sum(axis=1).max())  # trim all-pad steps
        target = torch.from_numpy(np.ascontiguousarray(batch_targets[:, :steps]))
        target = target.to(ids.device)
        loss = sequence_loss(self.model(ids, target), target)
        if self._weights[batch_idx] > 0:  # the mean over every label step of the epoch
            steps_here = int(self.loss_sizes[index.cpu().numpy()].sum())
            self._loss_sum += float(loss.detach()) * steps_here
            self._steps += steps_here
        return self.weighted(loss, batch_idx)

    def on_validation_epoch_start(self) -> None:
        self._decisions = np.zeros(self.valid_split.labels.shape, dtype=bool)

    def validation_step(self, batch, batch_idx: int) -> None:
        ids, _, index = batch
        out = self.model.decode(ids, beam_size=self.config.beam_size, max_labels=self.max_labels)
        self._decisions[index.cpu().numpy()] = out.labels.cpu().numpy()

    def on_validation_epoch_end(self) -> None:
        epoch = self.current_epoch + 1
        loss_sum, steps = self.summed_over_ranks([self._loss_sum, self._steps])
        train_loss = loss_sum / max(1, steps)
        valid_f1 = _micro_f1(self.valid_split, self._decisions)
        metrics = {
            "train/loss": train_loss,
            "valid/epoch_micro_f1": valid_f1,
            "learning_rate": self.optimizers().param_groups[0]["lr"],
            "epoch_seconds": self.epoch_seconds(),
        }
        summary = f"sgm epoch {epoch}: train loss {train_loss:.4f}, valid micro-F1 {valid_f1:.4f}"
        self.end_epoch(epoch, valid_f1, metrics, summary)
