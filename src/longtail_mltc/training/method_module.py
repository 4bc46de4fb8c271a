"""What every method's LightningModule shares: one place for the behaviours of the project's
recipes that Lightning does not have in this form.

- Early stopping on the method's own validation signal, with the best weights kept in memory
  (and in the checkpoint), through the project's :class:`~.trainer.EarlyStopping`.
- ReduceLROnPlateau stepped on that signal after validation, so a checkpoint holds it exactly.
- Each batch's loss weighted by its share of the documents of its accumulation window and of
  its ranks (:meth:`~.engine.EpochBatchSampler.loss_weights`).
- The divergence guard on the loss and on the clipped gradient norm.
- Checkpoint extras: early-stopping, sampler, plateau and torch RNG state, restored exactly.
- Tracking callbacks stay in the process that owns the MLflow run: a DDP rank spawned from it
  gets a copy of the module without them (:meth:`__getstate__`).

A subclass says what one step computes and what validation says; it calls :meth:`end_epoch`
once per epoch with its signal.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn

from .callbacks import Callback
from .config import EngineConfig
from .engine import EpochBatchSampler
from .guards import StepPlace, check_finite_loss, clip_and_check_gradients, model_name
from .trainer import EarlyStopping, make_optimizer


class MethodModule(L.LightningModule):
    """A method trained by :func:`~.engine.make_trainer`; ``stopping.result`` is its
    ``FitResult``."""

    def __init__(
        self,
        model: nn.Module,
        config: EngineConfig,
        sampler: EpochBatchSampler,
        callbacks: Sequence[Callback] = (),
        name: str = "",
    ) -> None:
        super().__init__()
        self.model = model
        self.config, self.sampler = config, sampler
        self.project_callbacks = list(callbacks)
        self.stopping = EarlyStopping(config.patience, config.min_delta, name=name)
        self.plateau: torch.optim.lr_scheduler.ReduceLROnPlateau | None = None
        self._rng_to_restore: torch.Tensor | None = None
        self._plateau_state: dict[str, Any] | None = None
        self._name = model_name(model)
        # what a batch's loss averages over, per training row (None: the rows themselves)
        self.loss_sizes: np.ndarray | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state["project_callbacks"] = []  # they log into this process's MLflow run
        return state

    # ---- set-up -----------------------------------------------------------------------------

    def setup(self, stage: str) -> None:
        if self.trainer.world_size > 1:
            self.sampler.shard(self.global_rank, self.trainer.world_size)

    def configure_optimizers(self):
        optimizer, self.plateau = make_optimizer(self.model, self.config)
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        return optimizer

    def on_fit_start(self) -> None:
        if self._plateau_state is not None and self.plateau is not None:
            self.plateau.load_state_dict(self._plateau_state)

    # ---- steps ------------------------------------------------------------------------------

    def on_train_epoch_start(self) -> None:
        if self._rng_to_restore is not None:  # resumed: continue the interrupted run's stream
            torch.set_rng_state(self._rng_to_restore)
            self._rng_to_restore = None
        self.model.train()  # whatever mode the model came in, or validation left it in
        self._epoch_started = time.perf_counter()
        window = self.config.accumulate_grad_batches
        self._weights = self.sampler.loss_weights(window, self.loss_sizes)

    def place(self, batch_idx: int) -> StepPlace:
        """Where a step is, for the divergence guard's message; remembered for the gradient."""
        lr = self.optimizers().param_groups[0]["lr"]
        self._batch_place = StepPlace(
            self._name, self.current_epoch + 1, batch_idx + 1, self.config.learning_rate, lr
        )
        return self._batch_place

    def weighted(self, loss: torch.Tensor, batch_idx: int) -> torch.Tensor:
        """The loss to back-propagate, after the divergence check on its value.

        Under DDP a rank checks only the gradient, which every rank sees all-reduced: a rank
        that stopped on its own loss would leave the others waiting in the all-reduce.
        """
        place = self.place(batch_idx)
        if self.trainer.world_size == 1:
            check_finite_loss(float(loss.detach()), place)
        return loss * self._weights[batch_idx]

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        clip_and_check_gradients(
            self.model.parameters(), self.config.grad_clip_norm, self._batch_place
        )

    # ---- the end of an epoch ----------------------------------------------------------------

    def summed_over_ranks(self, values: Sequence[float]) -> list[float]:
        """Per-rank running sums (training losses, document counts) added over the ranks."""
        if self.trainer.world_size == 1:
            return [float(v) for v in values]
        tensor = torch.tensor(list(values), dtype=torch.float64, device=self.device)
        return self.trainer.strategy.reduce(tensor, reduce_op="sum").tolist()

    def epoch_seconds(self) -> float:
        return time.perf_counter() - self._epoch_started

    def end_epoch(
        self,
        epoch: int,
        signal: float,
        metrics: dict[str, float],
        summary: str,
        step_plateau: bool = True,
    ) -> None:
        """History, callbacks, plateau step, best weights; stops the trainer when patience runs
        out. Every rank computes the same signal, so every rank takes the same decision."""
        plateau = self.plateau if step_plateau else None
        if self.stopping.end_epoch(
            self.model, epoch, signal, metrics, self.project_callbacks, plateau, summary
        ):
            self.trainer.should_stop = True

    # ---- checkpoints ------------------------------------------------------------------------

    def extra_state(self) -> dict[str, Any]:
        """A subclass's own checkpoint state (tensors and plain containers only)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restores :meth:`extra_state`."""

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        result = self.stopping.result
        checkpoint["longtail_mltc"] = {
            "best_state": result.best_state,
            "best_epoch": result.best_epoch,
            "best_signal": result.best_valid_micro_f1,
            "history": result.history,
            "epochs_without_gain": self.stopping.epochs_without_gain,
            "plateau": None if self.plateau is None else self.plateau.state_dict(),
            "sampler": self.sampler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "method": self.extra_state(),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        saved = checkpoint["longtail_mltc"]
        result = self.stopping.result
        result.best_state = saved["best_state"]
        result.best_epoch, result.best_valid_micro_f1 = saved["best_epoch"], saved["best_signal"]
        result.history = list(saved["history"])
        self.stopping.epochs_without_gain = saved["epochs_without_gain"]
        self._plateau_state = saved["plateau"]
        self.sampler.load_state_dict(saved["sampler"])
        self._rng_to_restore = saved["torch_rng"]
        self.load_extra_state(saved["method"])
