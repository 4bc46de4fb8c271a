"""Training the single network (METHODS §1.1: Adam, early stopping on validation micro-F1, best
weights kept), and what every method's training shares: the configuration checks, the
optimiser and plateau schedule, the early-stopping bookkeeping.

The epoch loop is Lightning's (:mod:`.engine`, :mod:`.classifier_module`); ``logger=False``
keeps Lightning's MLflow logger from ending the kedro-mlflow run (README "Tracking").
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..losses import LossFn
from .callbacks import Callback
from .data import EncodedSplit, collate, sequential_batches
from .engine import LAST_CHECKPOINT, PRECISIONS, EpochCheckpoint, make_trainer

logger = logging.getLogger(__name__)


OPTIMIZERS: tuple[str, ...] = ("adam", "adamw")


@dataclass(frozen=True)
class TrainConfig:
    """How to train (defaults: METHODS §1.1, with a CPU-sized epoch cap documented in README)."""

    batch_size: int = 100
    max_epochs: int = 100
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"  # "adam" (L2 in the gradient) or "adamw" (decoupled decay)
    patience: int = 5
    min_delta: float = 1e-4
    grad_clip_norm: float | None = None
    # Gradient accumulation: one optimiser step per this many batches, each batch's loss
    # weighted by its share of the window's documents (= one step on the window as a batch).
    accumulate_grad_batches: int = 1
    # Linear learning-rate warm-up over the first optimiser steps (transformer fine-tuning,
    # METHODS §3.1); ReduceLROnPlateau only starts once warm-up is over.
    warmup_steps: int = 0
    # Batches timed at the start of epoch 1 for the logged time estimate (0: no estimate).
    estimate_batches: int = 5
    # ReduceLROnPlateau on validation micro-F1: multiply the learning rate by this factor after
    # `lr_decay_patience` epochs without gain (None: constant learning rate).
    lr_decay_factor: float | None = 0.5
    lr_decay_patience: int = 1
    eval_batch_size: int = 512
    bucket_factor: int = 50
    seed: int = 42
    device: str = "auto"
    # Lightning's precision: "32", "bf16-mixed" or "16-mixed" (GPU); fp32 is the CPU default
    # (benchmarks/bench_cpu_bf16.py: bf16 is emulated, and slower, without native bf16)
    precision: str = "32"

    def __post_init__(self) -> None:
        for name in (
            "batch_size",
            "max_epochs",
            "patience",
            "eval_batch_size",
            "accumulate_grad_batches",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be ≥ 1, got {getattr(self, name)}")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(
                f"TrainConfig.learning_rate must be finite and > 0, got {self.learning_rate}"
            )
        if self.warmup_steps < 0 or self.estimate_batches < 0:
            raise ValueError(
                "TrainConfig.warmup_steps and estimate_batches must be ≥ 0, got "
                f"{self.warmup_steps} and {self.estimate_batches}"
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"TrainConfig.optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}"
            )
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"TrainConfig.precision must be one of {PRECISIONS}, got {self.precision!r}"
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


def resolve_device(name: str) -> torch.device:
    """'auto' → CUDA when torch sees one, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


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
    model: nn.Module, config: TrainConfig | Any
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.ReduceLROnPlateau | None]:
    """Adam or AdamW on the trainable parameters, ReduceLROnPlateau (mode max) on the signal.

    ``config`` needs learning_rate, weight_decay, lr_decay_factor, lr_decay_patience and
    min_delta (``TrainConfig`` and the HSCNN config both have them) and may name an
    ``optimizer``: ``"adam"`` (default; ``weight_decay`` is an L2 term on every trainable
    parameter) or ``"adamw"`` (decoupled decay, METHODS §2.2 / §3.1, on the groups of
    :func:`parameter_groups`).
    """
    name = getattr(config, "optimizer", "adam")
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
    if not config.lr_decay_factor:
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
    engine_callbacks = []
    ckpt_path = None
    if checkpoint_dir is not None:
        last = Path(checkpoint_dir) / LAST_CHECKPOINT
        if resume and last.exists():
            ckpt_path = last
            logger.info("resuming from %s", last)
        elif last.exists():
            last.unlink()
        engine_callbacks.append(EpochCheckpoint(Path(checkpoint_dir)))
    trainer = make_trainer(
        max_epochs=config.max_epochs,
        device=config.device,
        precision=config.precision,
        accumulate_grad_batches=config.accumulate_grad_batches,
        callbacks=engine_callbacks,
    )
    logger.info(
        "training %s on %s: %d train / %d valid docs, up to %d epochs, %d document(s) per "
        "optimiser step",
        type(model).__name__,
        trainer.strategy.root_device,
        len(train),
        len(valid),
        config.max_epochs,
        config.batch_size * config.accumulate_grad_batches,
    )
    # weights_only: a checkpoint is read as tensors and plain containers, never as code
    trainer.fit(module, ckpt_path=ckpt_path, weights_only=True)
    best = module.stopping.result
    model.load_state_dict(best.best_state)
    model.to("cpu")
    return best


def accumulation_weights(batches: Sequence[np.ndarray], window: int) -> list[float]:
    """Each batch's share of the documents in its window of ``window`` consecutive batches.

    Weighting each batch's mean loss by this share makes the accumulated gradient that of one
    batch holding the whole window (the last window may be shorter).
    """
    sizes = np.array([len(b) for b in batches], dtype=np.float64)
    totals = np.add.reduceat(sizes, np.arange(0, len(sizes), window)) if len(sizes) else sizes
    return (sizes / np.repeat(totals, window)[: len(sizes)]).tolist()


@torch.no_grad()
def predict_scores(
    model: nn.Module, split: EncodedSplit, batch_size: int = 512, loss_fn: LossFn | None = None
) -> tuple[np.ndarray, float]:
    """Sigmoid scores [N, |C|] in document order, and the mean loss when ``loss_fn`` is given."""
    model.eval()
    device = next(model.parameters()).device
    order = np.argsort(split.lengths, kind="stable")  # similar lengths → little padding
    scores = np.empty(split.labels.shape, dtype=np.float32)
    total = 0.0
    with torch.inference_mode():  # no autograd graph: prediction only
        for batch in sequential_batches(len(split), batch_size):
            index = order[batch]
            ids, targets = collate(split, index, device, with_labels=loss_fn is not None)
            logits = model(ids)
            scores[index] = torch.sigmoid(logits).cpu().numpy()
            if loss_fn is not None:
                total += float(loss_fn(logits, targets)) * len(index)
    return scores, total / max(1, len(split))
