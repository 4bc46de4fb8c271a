"""The single network as a LightningModule: what one step computes and what validation says
(METHODS §1.1: Adam, early stopping on validation micro-F1 at its best global threshold).

How to train (device, precision, epochs) is :func:`engine.make_trainer`'s; this module keeps the
behaviours of the project's recipes that Lightning does not have in this form:
- each batch's loss weighted by its share of the documents in its accumulation window, so an
  accumulated step equals one step on the window as a batch (Lightning divides by the window
  length, which is right only for equal batches);
- a linear warm-up that owns the learning rate until it is over, then ReduceLROnPlateau on the
  validation signal (stepped here, after validation, so a checkpoint holds it exactly);
- the divergence guard, the time estimate from the first batches, and the best weights kept in
  memory (and in the checkpoint), with the project's ``EarlyStopping`` bookkeeping.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn

from ..evaluation.metrics import label_confusion_counts, prf_from_counts
from ..evaluation.thresholds import search_global_threshold
from ..losses import LossFn
from .callbacks import Callback
from .data import EncodedSplit
from .engine import BucketedBatchSampler, evaluation_loader, training_loader
from .guards import StepPlace, check_finite_loss, clip_and_check_gradients, model_name
from .trainer import (  # trainer imports this module lazily
    EarlyStopping,
    TrainConfig,
    accumulation_weights,
    make_optimizer,
)

logger = logging.getLogger(__name__)


class ClassifierModule(L.LightningModule):
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
        super().__init__()
        self.model = model
        self.loss_fn = loss_fn  # a module (label weights as buffers) follows the device
        self.train_split, self.valid_split = train, valid
        self.config, self.project_callbacks = config, list(callbacks)
        self.stopping = EarlyStopping(config.patience, config.min_delta)
        self.sampler = BucketedBatchSampler(
            train.lengths, config.batch_size, config.seed, config.bucket_factor
        )
        self.steps_taken = 0
        self.estimated = config.estimate_batches == 0
        self.plateau: torch.optim.lr_scheduler.ReduceLROnPlateau | None = None
        self._rng_to_restore: torch.Tensor | None = None
        self._plateau_state: dict[str, Any] | None = None
        self._name = model_name(model)

    # ---- data -------------------------------------------------------------------------------

    def train_dataloader(self):
        return training_loader(self.train_split, self.sampler)

    def val_dataloader(self):
        return evaluation_loader(self.valid_split, self.config.eval_batch_size, with_labels=True)

    # ---- optimisation -----------------------------------------------------------------------

    def configure_optimizers(self):
        optimizer, self.plateau = make_optimizer(self.model, self.config)
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        return optimizer

    @property
    def warmed_up(self) -> bool:
        return self.steps_taken >= self.config.warmup_steps

    def _place(self, batch_idx: int) -> StepPlace:
        lr = self.optimizers().param_groups[0]["lr"]
        return StepPlace(self._name, self.current_epoch + 1, batch_idx + 1, lr)

    def on_train_epoch_start(self) -> None:
        if self._rng_to_restore is not None:  # resumed: continue the interrupted run's stream
            torch.set_rng_state(self._rng_to_restore)
            self._rng_to_restore = None
        self._epoch_started = time.perf_counter()
        self._loss_sum, self._docs = 0.0, 0
        window = self.config.accumulate_grad_batches
        # × window: Lightning divides every accumulated loss by the window length
        shares = accumulation_weights(self.sampler.batches, window)
        self._weights = [share * window for share in shares]

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        ids, targets, _ = batch
        loss = self.loss_fn(self.model(ids), targets)
        value = float(loss.detach())
        self._batch_place = self._place(batch_idx)
        check_finite_loss(value, self._batch_place)
        self._loss_sum += value * len(ids)
        self._docs += len(ids)
        return loss * self._weights[batch_idx]

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        clip_and_check_gradients(
            self.model.parameters(), self.config.grad_clip_norm, self._batch_place
        )
        if not self.warmed_up:
            scale = (self.steps_taken + 1) / self.config.warmup_steps
            for group, base in zip(optimizer.param_groups, self.base_lrs, strict=True):
                group["lr"] = base * scale
        self.steps_taken += 1

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
        epoch_seconds = seconds / docs * len(self.train_split)
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
        train_loss = self._loss_sum / max(1, self._docs)
        valid_loss = self._valid_loss / max(1, len(valid))
        metrics = {
            "train/loss": train_loss,
            "valid/loss": valid_loss,
            "valid/epoch_micro_f1": valid_f1,  # at this epoch's best threshold
            "valid/epoch_macro_f1": at_threshold["macro_f1"],  # the learning curve of the tail
            "valid/epoch_threshold": threshold,
            "learning_rate": self.optimizers().param_groups[0]["lr"],
            "epoch_seconds": time.perf_counter() - self._epoch_started,
        }
        summary = (
            f"epoch {epoch}: train loss {train_loss:.4f}, valid loss {valid_loss:.4f}, "
            f"valid micro-F1 {valid_f1:.4f}, macro-F1 {at_threshold['macro_f1']:.4f}"
        )
        plateau = self.plateau if self.warmed_up else None  # warm-up owns the rate until done
        if self.stopping.end_epoch(
            self.model, epoch, valid_f1, metrics, self.project_callbacks, plateau, summary
        ):
            self.trainer.should_stop = True

    # ---- checkpoints ------------------------------------------------------------------------

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        result = self.stopping.result
        checkpoint["longtail_mltc"] = {
            "best_state": result.best_state,
            "best_epoch": result.best_epoch,
            "best_signal": result.best_valid_micro_f1,
            "history": result.history,
            "epochs_without_gain": self.stopping.epochs_without_gain,
            "steps_taken": self.steps_taken,
            "estimated": self.estimated,
            "plateau": None if self.plateau is None else self.plateau.state_dict(),
            "sampler": self.sampler.state_dict(),
            "torch_rng": torch.get_rng_state(),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        saved = checkpoint["longtail_mltc"]
        result = self.stopping.result
        result.best_state = saved["best_state"]
        result.best_epoch, result.best_valid_micro_f1 = saved["best_epoch"], saved["best_signal"]
        result.history = list(saved["history"])
        self.stopping.epochs_without_gain = saved["epochs_without_gain"]
        self.steps_taken, self.estimated = saved["steps_taken"], saved["estimated"]
        self._plateau_state = saved["plateau"]
        self.sampler.load_state_dict(saved["sampler"])
        self._rng_to_restore = saved["torch_rng"]

    def on_fit_start(self) -> None:
        if self._plateau_state is not None and self.plateau is not None:
            self.plateau.load_state_dict(self._plateau_state)
