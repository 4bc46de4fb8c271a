"""Callbacks: cross-cutting concerns of the training loop (DESIGN.md "Style")."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol


class Callback(Protocol):
    """``on_epoch_end`` is required; a callback may also define ``on_estimate(metrics)``,
    called once early in training with ``estimate/epoch_seconds`` and
    ``estimate/run_seconds`` (see ``trainer.fit``)."""

    def on_epoch_end(self, epoch: int, metrics: Mapping[str, float]) -> None: ...


class MetricLogger:
    """Forward each epoch's metrics to a ``log(metrics, step)`` function.

    The pipelines pass a function that writes into an MLflow run, which keeps this layer free
    of any tracking library (DESIGN.md "Layers").
    """

    def __init__(self, log: Callable[[Mapping[str, float], int], None], prefix: str = "") -> None:
        self._log = log
        self._prefix = prefix

    def on_epoch_end(self, epoch: int, metrics: Mapping[str, float]) -> None:
        self._log({f"{self._prefix}{k}": float(v) for k, v in metrics.items()}, epoch)

    def on_estimate(self, metrics: Mapping[str, float]) -> None:
        self.on_epoch_end(0, metrics)
