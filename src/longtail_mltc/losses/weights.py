"""Loss weights derived once from the label statistics ``N_c`` and ``N`` (METHODS.md §1.2, §3, §5).

NumPy float64 ``[labels]`` arrays; the loss modules turn them into buffers. Where a formula is
undefined at an extreme count, the choice is stated in the function's docstring:

* counts are clamped to ``≥ 1`` wherever they are inverted (CB's ``1 − β^{n}``, R-FL's
  ``1/n``): a label never seen in training is weighted like one seen once, the largest finite
  weight the formula gives;
* NTR's class prior is clamped into ``[1/N, (N−1)/N]`` so its log-odds stay finite.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from longtail_mltc.labels.stats import wce_weights

__all__ = [
    "check_label_counts",
    "class_balanced_weights",
    "inverse_counts",
    "ntr_class_bias",
    "wce_label_weights",
]


def check_label_counts(label_counts: Sequence[int] | np.ndarray, n_train: int) -> np.ndarray:
    """Validate ``N_c`` (1-D, non-negative integers, ``≤ N``) and ``N ≥ 1``; float64 copy."""
    if isinstance(n_train, bool) or not float(n_train).is_integer() or n_train < 1:
        raise ValueError(f"n_train must be a positive integer, got {n_train!r}")
    counts = np.array(label_counts, dtype=np.float64)  # a copy: read-only input is fine
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(f"label_counts must be a non-empty 1-D array, got shape {counts.shape}")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0) or np.any(counts % 1 != 0):
        raise ValueError("label_counts must be non-negative integers")
    if counts.max() > n_train:
        raise ValueError(f"a label count ({counts.max():.0f}) exceeds n_train ({n_train})")
    return counts


def wce_label_weights(
    label_counts: Sequence[int] | np.ndarray, n_train: int, floor: float = 0.01
) -> np.ndarray:
    """WCE weights ``α_c = max(log((N − N_c)/N_c), floor)`` (METHODS §1.2).

    Delegates to :func:`longtail_mltc.labels.wce_weights` (one formula for the project):
    ``N_c = 0``, ``N_c = N`` and ``N_c ≥ N/2`` all get ``floor``.
    """
    if not np.isfinite(floor) or floor < 0:
        raise ValueError(f"wce_floor must be finite and >= 0, got {floor}")
    counts = check_label_counts(label_counts, n_train)
    return wce_weights(counts.astype(np.int64), int(n_train), floor=float(floor))


def class_balanced_weights(label_counts: Sequence[int] | np.ndarray, beta: float) -> np.ndarray:
    """CB weights ``r_CB,i = (1 − β)/(1 − β^{n_i})`` (METHODS §3 CB), ``0 ≤ β < 1``.

    ``n_i = 0`` makes the denominator 0; such labels are treated as ``n_i = 1`` (weight 1,
    the largest the formula gives). ``β = 0`` gives weight 1 everywhere.
    """
    if not (np.isfinite(beta) and 0 <= beta < 1):
        raise ValueError(f"cb_beta must be in [0, 1), got {beta}")
    counts = np.maximum(np.asarray(label_counts, dtype=np.float64), 1.0)
    # 1 − β^n = −expm1(n log β): accurate for β close to 1, where β^n ≈ 1.
    if beta == 0:
        return np.ones_like(counts)
    return (1.0 - beta) / -np.expm1(counts * np.log(beta))


def inverse_counts(label_counts: Sequence[int] | np.ndarray) -> np.ndarray:
    """``1/n_i`` for R-FL's rebalancing (METHODS §3 R-FL), counts clamped to ``≥ 1``."""
    return 1.0 / np.maximum(np.asarray(label_counts, dtype=np.float64), 1.0)


def ntr_class_bias(
    label_counts: Sequence[int] | np.ndarray, n_train: int, kappa: float
) -> np.ndarray:
    """NTR's class bias ``v_i = −κ b̂_i``, ``b̂_i = −log(1/p_i − 1)``, ``p_i = n_i/N`` (§3 NTR-FL).

    ``b̂_i`` is ``∓∞`` at ``n_i = 0`` and ``n_i = N``; the count is clamped into
    ``[1, N − 1]`` first (for ``N = 1``: to ``N/2``, i.e. ``b̂ = 0``), so an unseen label gets
    the bias of a label seen once and a label on every document that of one missing once.
    """
    if not np.isfinite(kappa):
        raise ValueError(f"ntr_kappa must be finite, got {kappa}")
    counts = np.asarray(label_counts, dtype=np.float64)
    n = float(n_train)
    clamped = np.clip(counts, min(1.0, n / 2), max(n - 1.0, n / 2))
    log_odds = np.log(clamped) - np.log(n - clamped)  # b̂ = log(p / (1 − p))
    return -kappa * log_odds
