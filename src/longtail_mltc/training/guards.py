"""Stop a diverging training at the step where it diverges, with an error that says why.

Without this check a learning rate of 1e8 trained for every epoch on infinite losses, chose a
threshold of 0.0 (every label predicted) and was tracked as a success.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn


class TrainingDiverged(FloatingPointError):
    """A training loss or gradient stopped being finite."""


@dataclass(frozen=True)
class StepPlace:
    """Where a training is: which model, epoch (1-based), batch of that epoch (1-based).

    ``learning_rate`` is the configured rate; ``step_learning_rate`` the one a warm-up or decay
    schedule had set at this step, when it differs.
    """

    model: str
    epoch: int
    step: int
    learning_rate: float
    step_learning_rate: float | None = None


def model_name(model: nn.Module) -> str:
    """``MultiLabelClassifier(KimCNNEncoder)``: the network and, when it has one, its encoder."""
    encoder = getattr(model, "encoder", None)
    inner = f"({type(encoder).__name__})" if isinstance(encoder, nn.Module) else ""
    return f"{type(model).__name__}{inner}"


def _diverged(place: StepPlace, what: str, value: float) -> TrainingDiverged:
    scheduled = place.step_learning_rate
    at_step = (
        f" (the schedule had it at {scheduled:g} at this step)"
        if scheduled is not None and not math.isclose(scheduled, place.learning_rate)
        else ""
    )
    return TrainingDiverged(
        f"{place.model} diverged at epoch {place.epoch}, step {place.step}: the {what} is "
        f"{value}. Likely cause: the learning rate ({place.learning_rate:g}) is too high for "
        f"this model and loss{at_step}; lower `training.learning_rate`, or set "
        "`training.grad_clip_norm`. Training stopped; no model or predictor was saved."
    )


def check_finite_loss(value: float, place: StepPlace) -> None:
    """Raise :class:`TrainingDiverged` when a batch's loss is inf or NaN."""
    if not math.isfinite(value):
        raise _diverged(place, "training loss", value)


def clip_and_check_gradients(
    parameters: Iterable[nn.Parameter], max_norm: float | None, place: StepPlace
) -> float:
    """The total gradient norm (L2 over all parameters); clip to ``max_norm`` when given.

    One fused norm over every gradient, which the clipping needs anyway; raises
    :class:`TrainingDiverged` when it is not finite (before the optimiser turns the weights
    into NaN).
    """
    with_grads = [p for p in parameters if p.grad is not None]
    if not with_grads:
        return 0.0
    total = torch.nn.utils.get_total_norm([p.grad for p in with_grads], foreach=True)
    value = float(total)
    if not math.isfinite(value):
        raise _diverged(place, "gradient norm", value)
    if max_norm:
        torch.nn.utils.clip_grads_with_norm_(with_grads, max_norm, total, foreach=True)
    return value
