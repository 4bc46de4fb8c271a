"""The loss family, built by name from label statistics (METHODS.md §1.2, §3).

This issue ships BCE; the balancing losses (WCE, focal, CB, R-FL, NTR-FL, DB, DB-0FL, CB-NTR)
plug into the same seam: ``build_loss(name, label_counts=..., n_docs=..., **params)`` returns a
callable ``(logits, targets) -> scalar`` so any loss works with any encoder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.nn import functional as F

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def bce_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-label BCE on logits, summed over labels, averaged over documents (METHODS §1.2)."""
    return F.binary_cross_entropy_with_logits(logits, targets, reduction="sum") / logits.size(0)


def _build_bce(**_: Any) -> LossFn:
    return bce_loss


LOSSES: dict[str, Callable[..., LossFn]] = {"bce": _build_bce}


def build_loss(name: str, **label_statistics: Any) -> LossFn:
    """Build a loss by name; label statistics (counts, N) are passed in, never recounted."""
    try:
        builder = LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; available: {sorted(LOSSES)}") from None
    return builder(**label_statistics)


__all__ = ["LOSSES", "LossFn", "bce_loss", "build_loss"]
