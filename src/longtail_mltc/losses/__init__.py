"""The loss family, built by name from label statistics (METHODS.md §1.2, §3).

``build_loss(name, label_counts, n_train, **params)`` returns an ``nn.Module`` called as
``loss(logits, targets, reduction="mean")``. Every loss is a base loss on logits times an
optional weight derived once from ``N_c`` and ``N``; the weights are registered buffers (move a
loss with ``loss.to(device)`` alongside its model).

Names: ``bce``, ``wce``, ``focal``, ``cb``, ``r_focal``, ``ntr_focal``, ``db``,
``db_no_focal``, ``cb_ntr``.

Each loss's formula, parameters and defaults, and the choices where METHODS leaves room:
docs/losses.md#the-loss-family.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .modules import (
    BinaryCrossEntropy,
    DocumentAveragedWeight,
    FocalLoss,
    LabelWeight,
    NegativeTolerantFocalLoss,
    RebalancedWeight,
    WeightedLoss,
)
from .weights import (
    check_label_counts,
    class_balanced_weights,
    inverse_counts,
    ntr_class_bias,
    wce_label_weights,
)

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
CB_MODES = ("label", "document")


def bce_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-label BCE on logits, summed over labels, averaged over documents (METHODS §1.2)."""
    return F.binary_cross_entropy_with_logits(logits, targets, reduction="sum") / logits.size(0)


# ---- parameter checks --------------------------------------------------------------------------


def _check_gamma(gamma: float) -> float:
    if not (np.isfinite(gamma) and gamma >= 0):
        raise ValueError(f"gamma must be finite and >= 0, got {gamma}")
    return float(gamma)


def _ntr_base(
    counts: np.ndarray, n_train: int, gamma: float, kappa: float, lam: float
) -> NegativeTolerantFocalLoss:
    if not (np.isfinite(lam) and lam > 0):
        raise ValueError(f"ntr_lambda must be finite and > 0, got {lam}")
    bias = ntr_class_bias(counts, n_train, kappa)
    return NegativeTolerantFocalLoss(bias, _check_gamma(gamma), lam)


def _rebalanced(counts: np.ndarray, alpha: float, beta: float, mu: float) -> RebalancedWeight:
    for key, value in (("map_alpha", alpha), ("map_beta", beta), ("map_mu", mu)):
        if not np.isfinite(value):
            raise ValueError(f"{key} must be finite, got {value}")
    if alpha < 0:
        raise ValueError(f"map_alpha must be >= 0 (weights stay non-negative), got {alpha}")
    return RebalancedWeight(inverse_counts(counts), alpha, beta, mu)


def _class_balanced(counts: np.ndarray, beta: float, mode: str) -> LabelWeight:
    if mode not in CB_MODES:
        raise ValueError(f"unknown cb_mode {mode!r}; valid: {list(CB_MODES)}")
    weights = class_balanced_weights(counts, beta)
    return DocumentAveragedWeight(weights) if mode == "document" else LabelWeight(weights)


# ---- builders: (label counts, N, **params) → module ----------------------------------------------


def _bce(counts: np.ndarray, n_train: int) -> WeightedLoss:
    """BCE (§1.2)."""
    return WeightedLoss(BinaryCrossEntropy(), None, counts.size)


def _wce(counts: np.ndarray, n_train: int, *, wce_floor: float = 0.01) -> WeightedLoss:
    """WCE = α_c · BCE (§1.2)."""
    weight = LabelWeight(wce_label_weights(counts, n_train, wce_floor))
    return WeightedLoss(BinaryCrossEntropy(), weight, counts.size)


def _focal(counts: np.ndarray, n_train: int, *, gamma: float = 1.0) -> WeightedLoss:
    """Focal loss (§1.2 with γ = 1; §3 FL passes γ = 2)."""
    return WeightedLoss(FocalLoss(_check_gamma(gamma)), None, counts.size)


def _cb(
    counts: np.ndarray,
    n_train: int,
    *,
    gamma: float = 2.0,
    cb_beta: float = 0.9,
    cb_mode: str = "label",
) -> WeightedLoss:
    """CB = r_CB · FL (§3)."""
    weight = _class_balanced(counts, cb_beta, cb_mode)
    return WeightedLoss(FocalLoss(_check_gamma(gamma)), weight, counts.size)


def _r_focal(
    counts: np.ndarray,
    n_train: int,
    *,
    gamma: float = 2.0,
    map_alpha: float = 0.1,
    map_beta: float = 10.0,
    map_mu: float = 0.9,
) -> WeightedLoss:
    """R-FL = r̂ · FL (§3)."""
    weight = _rebalanced(counts, map_alpha, map_beta, map_mu)
    return WeightedLoss(FocalLoss(_check_gamma(gamma)), weight, counts.size)


def _ntr_focal(
    counts: np.ndarray,
    n_train: int,
    *,
    gamma: float = 2.0,
    ntr_kappa: float = 0.05,
    ntr_lambda: float = 2.0,
) -> WeightedLoss:
    """NTR-FL (§3)."""
    base = _ntr_base(counts, n_train, gamma, ntr_kappa, ntr_lambda)
    return WeightedLoss(base, None, counts.size)


def _db(
    counts: np.ndarray,
    n_train: int,
    *,
    gamma: float = 2.0,
    map_alpha: float = 0.1,
    map_beta: float = 10.0,
    map_mu: float = 0.9,
    ntr_kappa: float = 0.05,
    ntr_lambda: float = 2.0,
) -> WeightedLoss:
    """DB = r̂ · NTR-FL (§3)."""
    base = _ntr_base(counts, n_train, gamma, ntr_kappa, ntr_lambda)
    return WeightedLoss(base, _rebalanced(counts, map_alpha, map_beta, map_mu), counts.size)


def _db_no_focal(
    counts: np.ndarray,
    n_train: int,
    *,
    map_alpha: float = 0.1,
    map_beta: float = 10.0,
    map_mu: float = 0.9,
    ntr_kappa: float = 0.05,
    ntr_lambda: float = 2.0,
) -> WeightedLoss:
    """DB-0FL: DB with γ = 0 (§3); γ is fixed, not a parameter."""
    return _db(
        counts,
        n_train,
        gamma=0.0,
        map_alpha=map_alpha,
        map_beta=map_beta,
        map_mu=map_mu,
        ntr_kappa=ntr_kappa,
        ntr_lambda=ntr_lambda,
    )


def _cb_ntr(
    counts: np.ndarray,
    n_train: int,
    *,
    gamma: float = 2.0,
    cb_beta: float = 0.9,
    cb_mode: str = "label",
    ntr_kappa: float = 0.05,
    ntr_lambda: float = 2.0,
) -> WeightedLoss:
    """CB-NTR = r_CB · NTR-FL (§3)."""
    base = _ntr_base(counts, n_train, gamma, ntr_kappa, ntr_lambda)
    return WeightedLoss(base, _class_balanced(counts, cb_beta, cb_mode), counts.size)


LOSSES: dict[str, Callable[..., nn.Module]] = {
    "bce": _bce,
    "wce": _wce,
    "focal": _focal,
    "cb": _cb,
    "r_focal": _r_focal,
    "ntr_focal": _ntr_focal,
    "db": _db,
    "db_no_focal": _db_no_focal,
    "cb_ntr": _cb_ntr,
}


def loss_parameters(name: str) -> dict[str, Any]:
    """The parameters ``name`` accepts, with their defaults (e.g. for logging a run's config)."""
    builder = _builder(name)
    return {
        p.name: p.default
        for p in inspect.signature(builder).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def _builder(name: str) -> Callable[..., nn.Module]:
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; valid: {sorted(LOSSES)}") from None


def build_loss(
    name: str,
    label_counts: Sequence[int] | np.ndarray,
    n_train: int | None = None,
    **params: Any,
) -> nn.Module:
    """Build a loss of METHODS §1.2 / §3 by name from the training label statistics.

    ``label_counts``: ``N_c`` per label (any 1-D integer sequence, read-only arrays fine);
    ``n_train``: ``N``, the number of training documents (``n_docs=`` is accepted as an alias).
    ``params``: only those the loss accepts (see :func:`loss_parameters`); anything else, or an
    unknown name, raises ``ValueError`` listing the valid ones.
    """
    builder = _builder(name)
    if "n_docs" in params:
        n_docs = params.pop("n_docs")
        if n_train is not None and n_docs != n_train:
            raise ValueError(f"n_train ({n_train}) and its alias n_docs ({n_docs}) disagree")
        n_train = n_docs
    if n_train is None:
        raise ValueError("build_loss needs n_train, the number of training documents")
    valid = loss_parameters(name)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(
            f"loss {name!r} got unknown parameter(s) {unknown}; valid: {sorted(valid)}"
        )
    counts = check_label_counts(label_counts, n_train)
    return builder(counts, int(n_train), **params)


__all__ = [
    "CB_MODES",
    "LOSSES",
    "LossFn",
    "bce_loss",
    "build_loss",
    "loss_parameters",
]
