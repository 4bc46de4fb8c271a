"""The single network as a LightningModule: what one step computes and what validation says
(METHODS §1.1: Adam, early stopping on validation micro-F1 at its best global threshold).

How to train is :func:`engine.make_trainer`'s; what every method shares (early stopping, the
plateau schedule, loss shares, the divergence guard, checkpoint state) is
:class:`~.method_module.MethodModule`'s. This module adds the single network's own recipe:
- a linear warm-up that owns the learning rate until it is over, then ReduceLROnPlateau;
- the time estimate from the first batches.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..evaluation.metrics import label_confusion_counts, prf_from_counts
from ..evaluation.thresholds import search_global_threshold
from ..losses import LossFn
from .callbacks import Callback
from .data import EncodedSplit
from .engine import BatchRows, BucketedBatchSampler, evaluation_loader, training_loader
from .method_module import MethodModule
from .trainer import TrainConfig  # trainer imports this module lazily

logger = logging.getLogger(__name__)


class ClassifierModule(MethodModule):
    """A multi-label classifier trained on one loss; ``stopping.result`` is the ``FitResult``."""

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        train: EncodedSplit,
        valid: EncodedSplit,
        config: TrainConfig,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        sampler = BucketedBatchSampler(
            train.lengths, config.batch_size, config.seed, config.bucket_factor
        )
        super().__init__(model, config, sampler, callbacks)
        self.loss_fn = loss_fn  # a module (label weights as buffers) follows the device
        self.train_split, self.valid_split = train, valid
        self.steps_taken = 0
        self.estimated = config.estimate_batches == 0

    # ---- data -------------------------------------------------------------------------------

    def train_dataloader(self):
        return training_loader(BatchRows(self.train_split), self.sampler)

    def val_dataloader(self):
        return evaluation_loader(self.valid_split, self.config.eval_batch_size, with_labels=True)

    # ---- optimisation -----------------------------------------------------------------------

    @property
    def warmed_up(self) -> bool:
        return self.steps_taken >= self.config.warmup_steps

    def on_train_epoch_start(self) -> None:
        super().on_train_epoch_start()
        self._loss_sum, self._docs = 0.0, 0

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        ids, targets, _ = batch
        loss = self.loss_fn(self.model(ids), targets)
        self._loss_sum += float(loss.detach()) * len(ids) * (self._weights[batch_idx] > 0)
        self._docs += len(ids) * (self._weights[batch_idx] > 0)
        return self.weighted(loss, batch_idx)

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        super().on_before_optimizer_step(optimizer)
        scale = self.lr_scale(self.steps_taken)
        if scale is not None:
            for group, base in zip(optimizer.param_groups, self.base_lrs, strict=True):
                group["lr"] = base * scale
        self.steps_taken += 1

    def lr_scale(self, step: int) -> float | None:
        """The learning rate of optimiser step ``step`` (0-based) as a fraction of the
        configured one; None leaves it to the plateau schedule."""
        warmup = self.config.warmup_steps
        if step < warmup:
            return (step + 1) / warmup
        if self.config.lr_schedule != "cosine":
            return None
        window = self.config.accumulate_grad_batches
        total = -(-len(self.sampler) // window) * self.config.max_epochs
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        if self.estimated:
            return
        # timed from the end of batch 0 (first-call allocations) over the next estimate_batches
        if batch_idx == 0:
            self._timed_from, self._timed_docs = time.perf_counter(), 0
        elif batch_idx <= self.config.estimate_batches:
            self._timed_docs += len(batch[0])
            if batch_idx == self.config.estimate_batches:
                self._estimate(time.perf_counter() - self._timed_from, self._timed_docs)

    def _estimate(self, seconds: float, docs: int) -> None:
        """Log once what an epoch and the whole run cost, timed on the first batches."""
        self.estimated = True
        epoch_seconds = seconds / docs * len(self.train_split) / self.trainer.world_size
        run_seconds = epoch_seconds * self.config.max_epochs
        logger.info(
            "time estimate from %d batches of epoch %d: %.0f s per training pass (%.1f min); "
            "up to %d epochs ≈ %.1f h, plus validation",
            self.config.estimate_batches,
            self.current_epoch + 1,
            epoch_seconds,
            epoch_seconds / 60,
            self.config.max_epochs,
            run_seconds / 3600,
        )
        estimate = {"estimate/epoch_seconds": epoch_seconds, "estimate/run_seconds": run_seconds}
        for callback in self.project_callbacks:
            on_estimate = getattr(callback, "on_estimate", None)
            if on_estimate is not None:
                on_estimate(estimate)

    # ---- validation -------------------------------------------------------------------------

    def on_validation_epoch_start(self) -> None:
        self._valid_scores = np.empty(self.valid_split.labels.shape, dtype=np.float32)
        self._valid_loss = 0.0

    def validation_step(self, batch, batch_idx: int) -> None:
        ids, targets, index = batch
        logits = self.model(ids)
        self._valid_scores[index.cpu().numpy()] = torch.sigmoid(logits).float().cpu().numpy()
        self._valid_loss += float(self.loss_fn(logits, targets)) * len(ids)

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            return
        valid = self.valid_split
        threshold, valid_f1 = search_global_threshold(valid.labels, self._valid_scores)
        at_threshold = prf_from_counts(
            label_confusion_counts(valid.labels, self._valid_scores, threshold)
        )
        epoch = self.current_epoch + 1
        loss_sum, docs = self.summed_over_ranks([self._loss_sum, self._docs])
        train_loss = loss_sum / max(1, docs)
        valid_loss = self._valid_loss / max(1, len(valid))
        metrics = {
            "train/loss": train_loss,
            "valid/loss": valid_loss,
            "valid/epoch_micro_f1": valid_f1,  # at this epoch's best threshold
            "valid/epoch_macro_f1": at_threshold["macro_f1"],  # the learning curve of the tail
            "valid/epoch_threshold": threshold,
            "learning_rate": self.optimizers().param_groups[0]["lr"],
            "epoch_seconds": self.epoch_seconds(),
        }
        summary = (
            f"epoch {epoch}: train loss {train_loss:.4f}, valid loss {valid_loss:.4f}, "
            f"valid micro-F1 {valid_f1:.4f}, macro-F1 {at_threshold['macro_f1']:.4f}"
        )
        # the warm-up owns the learning rate until it is over
        self.end_epoch(epoch, valid_f1, metrics, summary, step_plateau=self.warmed_up)

    # ---- checkpoints ------------------------------------------------------------------------

    def extra_state(self) -> dict[str, Any]:
        return {"steps_taken": self.steps_taken, "estimated": self.estimated}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.steps_taken, self.estimated = state["steps_taken"], state["estimated"]
