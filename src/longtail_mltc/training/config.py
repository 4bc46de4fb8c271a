"""The settings every method's ``training`` block shares, checked once (METHODS §1.1 defaults).

Each method's config (``TrainConfig``, ``HSCNNTrainConfig``, ``SGMTrainConfig``) extends
:class:`EngineConfig` with its own fields and its own defaults for the shared ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .engine import check_devices

OPTIMIZERS: tuple[str, ...] = ("adam", "adamw")


@dataclass(frozen=True)
class EngineConfig:
    """How to train, whatever the method.

    ``accelerator`` (auto | cpu | gpu), ``devices`` and ``precision`` (32 | bf16-mixed |
    16-mixed) have Lightning's meanings, and ``precision: auto`` picks bf16-mixed on a GPU
    that supports it, fp32 elsewhere; ``batch_size`` is the *global* batch, split across
    devices, so ``devices: 2`` trains on the batches of ``devices: 1`` (docs/models.md "Devices").
    ``accumulate_grad_batches``: one optimiser step per this many batches, each weighted by its
    share of the window's documents (= one step on the window as a batch).
    ``lr_decay_factor``: ReduceLROnPlateau on the validation signal, multiplying the learning
    rate by this factor after ``lr_decay_patience`` epochs without gain (None: constant).
    """

    batch_size: int = 100
    max_epochs: int = 100
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"  # "adam" (L2 in the gradient) or "adamw" (decoupled decay)
    patience: int = 5
    min_delta: float = 1e-4
    grad_clip_norm: float | None = None
    accumulate_grad_batches: int = 1
    lr_decay_factor: float | None = 0.5
    lr_decay_patience: int = 1
    eval_batch_size: int = 512
    seed: int = 42
    accelerator: str = "auto"
    devices: int = 1  # per node
    # several nodes: processes started by torchrun or SLURM (docs/models.md "Devices")
    num_nodes: int = 1
    # auto: bf16-mixed on a GPU that has bf16, fp32 elsewhere (engine.resolve_precision)
    precision: str = "auto"

    def __post_init__(self) -> None:
        owner = type(self).__name__
        for name in (
            "batch_size",
            "max_epochs",
            "patience",
            "eval_batch_size",
            "accumulate_grad_batches",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{owner}.{name} must be ≥ 1, got {getattr(self, name)}")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(
                f"{owner}.learning_rate must be finite and > 0, got {self.learning_rate}"
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"{owner}.optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}"
            )
        check_devices(self.accelerator, self.devices, self.precision, owner, self.num_nodes)
