"""Training the single network (METHODS §1.1: Adam, early stopping on validation micro-F1, best
weights kept), and what every method's training shares: the configuration checks, the
optimiser and plateau schedule, the early-stopping bookkeeping.

The epoch loop is Lightning's (:mod:`.engine`, :mod:`.classifier_module`); ``logger=False``
keeps Lightning's MLflow logger from ending the kedro-mlflow run (docs/tracking.md).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..losses import LossFn
from .callbacks import Callback
from .config import OPTIMIZERS, EngineConfig
from .data import EncodedSplit
from .engine import train_module

logger = logging.getLogger(__name__)

LR_SCHEDULES: tuple[str, ...] = ("plateau", "cosine")


@dataclass(frozen=True)
class TrainConfig(EngineConfig):
    """How to train the single network (defaults: METHODS §1.1, with a CPU-sized epoch cap
    documented in README); the shared fields are :class:`~.config.EngineConfig`'s."""

    # Linear learning-rate warm-up over the first optimiser steps (transformer fine-tuning,
    # METHODS §3.1); ReduceLROnPlateau only starts once warm-up is over.
    warmup_steps: int = 0
    # After warm-up: "plateau" (ReduceLROnPlateau, lr_decay_factor / lr_decay_patience) or
    # "cosine" (half a cosine from the learning rate to 0 at the last step of max_epochs,
    # stepped per optimiser step; the plateau schedule is then off)
    lr_schedule: str = "plateau"
    # Batches timed at the start of epoch 1 for the logged time estimate (0: no estimate).
    estimate_batches: int = 5
    bucket_factor: int = 50

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"TrainConfig.lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}"
            )
        if self.warmup_steps < 0 or self.estimate_batches < 0:
            raise ValueError(
                "TrainConfig.warmup_steps and estimate_batches must be ≥ 0, got "
                f"{self.warmup_steps} and {self.estimate_batches}"
            )


@dataclass
class FitResult:
    """Best weights (by validation micro-F1), the epoch they came from, and per-epoch history."""

    best_state: dict[str, torch.Tensor]
    best_epoch: int
    best_valid_micro_f1: float
    history: list[dict[str, float]] = field(default_factory=list)
    stopped_early: bool = False

    def summary(self) -> dict[str, object]:
        return {
            "best_epoch": self.best_epoch,
            "best_valid_micro_f1": self.best_valid_micro_f1,
            "epochs_run": len(self.history),
            "stopped_early": self.stopped_early,
            "history": self.history,
        }


@dataclass
class EarlyStopping:
    """Best-so-far bookkeeping with patience, shared by the training loops.

    ``improves(signal)`` says whether an epoch beats the best by more than ``min_delta``;
    ``record(...)`` keeps the best weights and returns True when training should stop.
    """

    patience: int
    min_delta: float
    name: str = ""
    result: FitResult = field(
        default_factory=lambda: FitResult(best_state={}, best_epoch=0, best_valid_micro_f1=-1.0)
    )
    epochs_without_gain: int = 0

    def improves(self, signal: float) -> bool:
        return signal > self.result.best_valid_micro_f1 + self.min_delta

    def record(self, model: nn.Module, epoch: int, signal: float, improved: bool) -> bool:
        if improved:
            self.result.best_state = copy_state(model)
            self.result.best_epoch, self.result.best_valid_micro_f1 = epoch, signal
            self.epochs_without_gain = 0
            return False
        self.epochs_without_gain += 1
        if self.epochs_without_gain < self.patience:
            return False
        self.result.stopped_early = True
        logger.info(
            "%searly stop after epoch %d: no gain for %d epochs; best epoch %d",
            f"{self.name} " if self.name else "",
            epoch,
            self.patience,
            self.result.best_epoch,
        )
        return True

    def end_epoch(
        self,
        model: nn.Module,
        epoch: int,
        signal: float,
        metrics: dict[str, float],
        callbacks: Sequence[Callback],
        scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau | None,
        summary: str,
    ) -> bool:
        """The end of every epoch of every training loop; True when training should stop.

        Appends the history row, tells the callbacks, steps the scheduler on ``signal`` (pass
        ``None`` after an epoch without optimiser steps), logs ``summary`` with a ``*`` on a
        gain and the epoch's seconds, and keeps the best weights.
        """
        self.result.history.append({"epoch": float(epoch), **metrics})
        for callback in callbacks:
            callback.on_epoch_end(epoch, metrics)
        if scheduler is not None:
            scheduler.step(signal)
        improved = self.improves(signal)
        logger.info("%s%s (%.1fs)", summary, " *" if improved else "", metrics["epoch_seconds"])
        return self.record(model, epoch, signal, improved)


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW groups: matrices (weights, embeddings) decay; biases and norm scales do not.

    The usual transformer fine-tuning split (decaying a bias or a LayerNorm gain only pulls it
    towards 0 without curbing capacity). Frozen parameters are left out; empty groups dropped.
    """
    trainable = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in trainable if p.ndim >= 2], "weight_decay": weight_decay},
        {"params": [p for p in trainable if p.ndim < 2], "weight_decay": 0.0},
    ]
    return [g for g in groups if g["params"]]


def make_optimizer(
    model: nn.Module, config: EngineConfig
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.ReduceLROnPlateau | None]:
    """Adam or AdamW on the trainable parameters, ReduceLROnPlateau (mode max) on the signal.

    ``config``: any :class:`~.config.EngineConfig`; its ``optimizer`` is ``"adam"`` (default;
    ``weight_decay`` is an L2 term on every trainable parameter) or ``"adamw"`` (decoupled
    decay, METHODS §2.2 / §3.1, on the groups of :func:`parameter_groups`).
    """
    name = config.optimizer
    # fused: one kernel per step instead of ~8 elementwise passes (about 10% of a CPU step)
    if name == "adamw":
        optimizer: torch.optim.Optimizer = torch.optim.AdamW(
            parameter_groups(model, config.weight_decay), lr=config.learning_rate, fused=True
        )
    elif name == "adam":
        optimizer = torch.optim.Adam(
            [p for p in model.parameters() if p.requires_grad],  # frozen embeddings stay out
            lr=config.learning_rate,
            weight_decay=config.weight_decay,
            fused=True,
        )
    else:
        raise ValueError(f"unknown optimizer {name!r}; available: {OPTIMIZERS}")
    if not config.lr_decay_factor or getattr(config, "lr_schedule", "plateau") != "plateau":
        return optimizer, None
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer,
        mode="max",
        factor=config.lr_decay_factor,
        patience=config.lr_decay_patience,
        threshold=config.min_delta,
        threshold_mode="abs",
    )
    return optimizer, scheduler


def copy_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of the weights (``.cpu()`` alone would alias live CPU tensors)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def fit(
    model: nn.Module,
    loss_fn: LossFn,
    train: EncodedSplit,
    valid: EncodedSplit,
    config: TrainConfig,
    callbacks: Sequence[Callback] = (),
    *,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
) -> FitResult:
    """Train until validation micro-F1 (at its best global threshold) stops improving.

    Runs :class:`ClassifierModule` on the engine's Trainer. ``checkpoint_dir``: write
    ``last.ckpt`` there after every epoch (weights, optimiser, plateau schedule, early-stopping
    state, sampler and RNG state); ``resume=True`` continues from it when it exists, and ends
    with what the uninterrupted training would have (a fresh training removes it first).
    """
    if len(train) == 0 or len(valid) == 0:
        raise ValueError(f"need training and validation documents, got {len(train)}/{len(valid)}")
    from .classifier_module import ClassifierModule

    module = ClassifierModule(model, loss_fn, train, valid, config, callbacks)
    logger.info(
        "training %s: %d train / %d valid docs, up to %d epochs, %d document(s) per optimiser step",
        type(model).__name__,
        len(train),
        len(valid),
        config.max_epochs,
        config.batch_size * config.accumulate_grad_batches,
    )
    return train_module(module, config, checkpoint_dir=checkpoint_dir, resume=resume)
