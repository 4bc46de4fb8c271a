"""Loss modules: a base loss times an optional weight, composed by the builder (METHODS §1.2, §3).

A *base loss* maps ``(logits, targets)`` to the per-element loss ``[documents, labels]``; a
*weight* maps ``targets`` to something that broadcasts against it. :class:`WeightedLoss`
multiplies the two and reduces. Label-statistics tensors are registered buffers, so
``loss.to(device)`` (or ``.double()``) moves them; nothing names a device. Buffers are created in
torch's default float dtype (float32 unless changed) and cast to the logits' dtype on use (a no-op
when they already match).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import functional as LF


def _buffer(values: np.ndarray) -> torch.Tensor:
    """A buffer in torch's default float dtype, like a freshly built module's parameters."""
    return torch.tensor(np.asarray(values), dtype=torch.get_default_dtype())


# ---- base losses -------------------------------------------------------------------------------


class BinaryCrossEntropy(nn.Module):
    """Per-element BCE on logits (METHODS §1.2)."""

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return LF.bce(logits, targets)


class FocalLoss(nn.Module):
    """Per-element focal loss with focusing parameter ``gamma`` (METHODS §1.2, §3 FL)."""

    def __init__(self, gamma: float) -> None:
        super().__init__()
        self.gamma = float(gamma)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return LF.focal(logits, targets, self.gamma)

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}"


class NegativeTolerantFocalLoss(nn.Module):
    """Per-element NTR-FL with class bias ``v`` (buffer), ``gamma``, ``lam`` (METHODS §3)."""

    class_bias: torch.Tensor

    def __init__(self, class_bias: np.ndarray, gamma: float, lam: float) -> None:
        super().__init__()
        self.register_buffer("class_bias", _buffer(class_bias))
        self.gamma = float(gamma)
        self.lam = float(lam)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        bias = self.class_bias.to(logits.dtype)
        return LF.ntr_focal(logits, targets, bias, self.gamma, self.lam)

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, lam={self.lam}, labels={self.class_bias.numel()}"


# ---- weights -----------------------------------------------------------------------------------


class LabelWeight(nn.Module):
    """A fixed weight per label (WCE's ``α_c``, CB's ``r_CB,i``), broadcast over documents."""

    weights: torch.Tensor

    def __init__(self, weights: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("weights", _buffer(weights))

    def forward(self, targets: torch.Tensor) -> torch.Tensor:
        return self.weights.to(targets.dtype)

    def extra_repr(self) -> str:
        return f"labels={self.weights.numel()}"


class DocumentAveragedWeight(LabelWeight):
    """Per-instance weight: mean of the label weights over a document's positives (METHODS §3 CB).

    A document without positives falls back to the per-label weights (see
    :func:`~longtail_mltc.losses.functional.document_average_weight`).
    """

    def forward(self, targets: torch.Tensor) -> torch.Tensor:
        return LF.document_average_weight(targets, self.weights.to(targets.dtype))


class RebalancedWeight(nn.Module):
    """R-FL's smoothed rebalancing weight ``r̂ = α + sigmoid(β (r − μ))`` (METHODS §3 R-FL).

    Holds ``1/n_i`` (counts clamped to ≥ 1) as a buffer; a document without positive labels
    gets ``r̂ = α + 1`` (see :func:`~longtail_mltc.losses.functional.rebalanced_weight`).
    """

    inverse_counts: torch.Tensor

    def __init__(self, inverse_counts: np.ndarray, alpha: float, beta: float, mu: float) -> None:
        super().__init__()
        self.register_buffer("inverse_counts", _buffer(inverse_counts))
        self.alpha, self.beta, self.mu = float(alpha), float(beta), float(mu)

    def forward(self, targets: torch.Tensor) -> torch.Tensor:
        inverse = self.inverse_counts.to(targets.dtype)
        return LF.rebalanced_weight(targets, inverse, self.alpha, self.beta, self.mu)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, beta={self.beta}, mu={self.mu}"


# ---- composition -------------------------------------------------------------------------------


class WeightedLoss(nn.Module):
    """``weight(targets) × base(logits, targets)``, reduced (METHODS §1.2, §3).

    Call as ``loss(logits, targets, reduction="mean")`` with float ``[documents, labels]``
    tensors. ``"mean"`` is the mean over documents of the sum over labels, ``"sum"`` the total,
    ``"none"`` the per-element loss ``[documents, labels]``.
    """

    def __init__(self, base: nn.Module, weight: nn.Module | None, num_labels: int) -> None:
        super().__init__()
        self.base = base
        self.weight = weight
        self.num_labels = int(num_labels)

    def forward(
        self, logits: torch.Tensor, targets: torch.Tensor, reduction: str = "mean"
    ) -> torch.Tensor:
        if reduction not in LF.REDUCTIONS:
            raise ValueError(f"unknown reduction {reduction!r}; valid: {list(LF.REDUCTIONS)}")
        if logits.ndim != 2 or logits.shape != targets.shape:
            raise ValueError(
                f"logits and targets must both be [documents, labels], got "
                f"{tuple(logits.shape)} and {tuple(targets.shape)}"
            )
        if logits.shape[1] != self.num_labels:
            raise ValueError(
                f"this loss was built for {self.num_labels} labels, got logits with "
                f"{logits.shape[1]}"
            )
        targets = targets.to(logits.dtype)
        loss = self.base(logits, targets)
        if self.weight is not None:
            loss = self.weight(targets) * loss
        return LF.reduce_loss(loss, reduction)

    def extra_repr(self) -> str:
        return f"num_labels={self.num_labels}"


__all__ = [
    "BinaryCrossEntropy",
    "DocumentAveragedWeight",
    "FocalLoss",
    "LabelWeight",
    "NegativeTolerantFocalLoss",
    "RebalancedWeight",
    "WeightedLoss",
]
