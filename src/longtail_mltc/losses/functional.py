"""Per-element loss terms and per-batch weights on logits (METHODS.md §1.2, §3).

Every function here is pure and works on ``[documents, labels]`` tensors. Base losses return the
per-element loss (no reduction); weights return a tensor that broadcasts against it; the
``nn.Module`` wrappers in :mod:`longtail_mltc.losses.modules` multiply the two and reduce.

Numerical stability: nothing takes ``log(sigmoid(z))`` directly. With ``softplus(x) =
log(1 + e^x)`` computed stably (:func:`softplus`),

* ``-log p = softplus(-z)`` and ``-log(1 - p) = softplus(z)``;
* the focal modulating factors are ``(1 - p)^γ = exp(-γ softplus(z))`` and
  ``p^γ = exp(-γ softplus(-z))``, never ``pow`` of a probability (whose gradient is ``inf`` at
  ``p = 0`` for ``γ < 1``).

So losses and gradients stay finite for any finite logit (checked at ±100).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

REDUCTIONS = ("mean", "sum", "none")


def softplus(x: torch.Tensor) -> torch.Tensor:
    """``log(1 + e^x)`` to full precision for every ``x``.

    ``F.softplus`` returns ``x`` itself above ``x = 20``, an absolute error of up to ``e^-20``
    that ``exp(-γ softplus)`` turns into a relative error of ~1e-9 in float64;
    ``logaddexp(x, 0)`` is exact and its gradient is ``sigmoid(x)`` (also at ``x = 0``).
    """
    return torch.logaddexp(x, x.new_zeros(()))


def positive_focal_term(logits: torch.Tensor, gamma: float) -> torch.Tensor:
    """``-(1 - p)^γ log p`` with ``p = sigmoid(z)``: the focal loss of a positive (§3 FL)."""
    nll = softplus(-logits)
    if gamma == 0:
        return nll
    return torch.exp(-gamma * softplus(logits)) * nll


def negative_focal_term(logits: torch.Tensor, gamma: float) -> torch.Tensor:
    """``-p^γ log(1 - p)`` with ``p = sigmoid(z)``: the focal loss of a negative (§3 FL)."""
    return positive_focal_term(-logits, gamma)


def bce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """BCE ``-[y log p + (1 - y) log(1 - p)]`` per element (METHODS §1.2)."""
    return F.binary_cross_entropy_with_logits(logits, targets, reduction="none")


def focal(logits: torch.Tensor, targets: torch.Tensor, gamma: float) -> torch.Tensor:
    """Focal loss ``-[y (1-p)^γ log p + (1-y) p^γ log(1-p)]`` per element (§1.2, §3 FL)."""
    if gamma == 0:
        return bce(logits, targets)
    nll_positive = softplus(-logits)  # −log p
    nll_negative = softplus(logits)  # −log(1 − p)
    positive = torch.exp(-gamma * nll_negative) * nll_positive  # (1 − p)^γ · (−log p)
    negative = torch.exp(-gamma * nll_positive) * nll_negative  # p^γ · (−log(1 − p))
    return targets * positive + (1 - targets) * negative


def ntr_focal(
    logits: torch.Tensor,
    targets: torch.Tensor,
    class_bias: torch.Tensor,
    gamma: float,
    lam: float,
) -> torch.Tensor:
    """Negative-tolerant focal loss per element (METHODS §3 NTR-FL).

    With the class bias ``v`` (see :func:`~longtail_mltc.losses.weights.ntr_class_bias`):
    positives ``-(1 - q)^γ log q`` with ``q = sigmoid(z - v)``; negatives
    ``-(1/λ) q^γ log(1 - q)`` with ``q = sigmoid(λ (z - v))``.
    """
    shifted = logits - class_bias
    positive = positive_focal_term(shifted, gamma)
    negative = negative_focal_term(lam * shifted, gamma) / lam
    return targets * positive + (1 - targets) * negative


def rebalanced_weight(
    targets: torch.Tensor,
    inverse_counts: torch.Tensor,
    alpha: float,
    beta: float,
    mu: float,
) -> torch.Tensor:
    """R-FL's smoothed rebalancing weight ``r̂`` ``[documents, labels]`` (METHODS §3 R-FL).

    ``r_ki = (1/n_i) / Σ_{j ∈ P_k} (1/n_j)`` for every label ``i`` of document ``k`` (positives
    and negatives alike), then ``r̂ = α + sigmoid(β (r − μ))``. ``inverse_counts`` holds
    ``1/n_i`` (counts clamped to ≥ 1 by the caller). Soft targets weight the sum.

    A document without positive labels has ``Σ = 0``, so ``r = +∞`` in the limit and
    ``r̂ = α + 1`` on all its labels: the value the formula tends to (and what an ε-clamped
    denominator gives), i.e. such a document counts as maximally under-sampled. It is set
    explicitly here, without forming ``inf``.
    """
    with torch.no_grad():
        repeat = targets @ inverse_counts  # Σ_{j ∈ P_k} 1/n_j, [documents]
        has_positive = (repeat > 0).unsqueeze(-1)
        safe = torch.where(repeat > 0, repeat, torch.ones_like(repeat)).unsqueeze(-1)
        smoothed = alpha + torch.sigmoid(beta * (inverse_counts / safe - mu))
        return torch.where(has_positive, smoothed, torch.full_like(smoothed, alpha + 1.0))


def document_average_weight(targets: torch.Tensor, label_weights: torch.Tensor) -> torch.Tensor:
    """Per-instance weight: mean of ``label_weights`` over a document's positives (METHODS §3 CB).

    Returns ``[documents, labels]``. A document without positive labels has no average; it
    falls back to the per-label weights (the "by label" variant) for that row.
    """
    with torch.no_grad():
        n_positive = targets.sum(dim=-1, keepdim=True)
        total = (targets @ label_weights).unsqueeze(-1)
        average = total / torch.where(n_positive > 0, n_positive, torch.ones_like(n_positive))
        return torch.where(n_positive > 0, average, label_weights.expand_as(targets))


def reduce_loss(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    """``"mean"``: mean over documents of the sum over labels; ``"sum"``; ``"none"``."""
    if reduction == "mean":
        return loss.sum() / loss.shape[0]
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"unknown reduction {reduction!r}; valid: {list(REDUCTIONS)}")


__all__ = [
    "REDUCTIONS",
    "bce",
    "document_average_weight",
    "focal",
    "negative_focal_term",
    "ntr_focal",
    "positive_focal_term",
    "rebalanced_weight",
    "reduce_loss",
    "softplus",
]
