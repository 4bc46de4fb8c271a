"""Metrics per label group, named as DESIGN.md "Tracking" says: ``<split>/<group>/<metric>``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .hybrid import evaluate_decisions
from .metrics import evaluate


def evaluate_by_group(
    y_true,
    scores: np.ndarray,
    groups: Mapping[str, Sequence[int] | np.ndarray],
    threshold: float,
    ks: Sequence[int] = (1, 3, 5),
    prefix: str = "test",
    inverse_propensities: np.ndarray | None = None,
) -> dict[str, float]:
    """``evaluate`` over all labels and over each non-empty group's label columns (METHODS §3.1).

    Every document of the split takes part in each group's micro/macro figures; ranking metrics
    skip documents with no positive label in the group (METHODS §4). Empty groups are left out
    rather than reported as zeros. With ``inverse_propensities`` (full width, METHODS §4) the
    propensity-scored PSP@k / PSnDCG@k are reported too.
    """
    extra = {} if inverse_propensities is None else {"inverse_propensities": inverse_propensities}
    subsets: dict[str, Sequence[int] | np.ndarray | None] = {"all": None, **groups}
    out: dict[str, float] = {}
    for name, subset in subsets.items():
        if subset is not None and len(subset) == 0:
            continue
        metrics = evaluate(
            y_true, scores, threshold=threshold, ks=tuple(ks), label_subset=subset, **extra
        )
        out.update({f"{prefix}/{name}/{key}": float(value) for key, value in metrics.items()})
    return out


def evaluate_decisions_by_group(
    y_true,
    decisions: np.ndarray,
    scores: np.ndarray,
    groups: Mapping[str, Sequence[int] | np.ndarray],
    ks: Sequence[int] = (1, 3, 5),
    prefix: str = "test",
    inverse_propensities: np.ndarray | None = None,
) -> dict[str, float]:
    """:func:`evaluate_by_group` for models that decide by themselves (label powerset, SGM, a
    threshold shifted inside the model): P/R/F1 from the boolean ``decisions``, P@k / nDCG@k
    from ``scores`` (:func:`~longtail_mltc.evaluation.hybrid.evaluate_decisions`)."""
    subsets: dict[str, Sequence[int] | np.ndarray | None] = {"all": None, **groups}
    out: dict[str, float] = {}
    for name, subset in subsets.items():
        if subset is not None and len(subset) == 0:
            continue
        columns = None if subset is None else np.asarray(subset)
        metrics = evaluate_decisions(
            y_true, decisions, scores, tuple(ks), columns, inverse_propensities
        )
        out.update({f"{prefix}/{name}/{key}": float(value) for key, value in metrics.items()})
    return out
