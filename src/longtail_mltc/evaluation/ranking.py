"""Threshold-free per-label ranking quality: average precision of each label's column.

Where a decision threshold hides whether a model ranks a label's documents well (a tail label
decided at a fixed ``s > 0.5`` may fire on every document, or on none), the average precision
of the label's score column says how well the model *orders* documents for it, whatever the
threshold. METHODS §1.8's calibrated merge and the honest report of the hybrid (docs/hscnn.md)
compare the Siamese part and the single network on the tail labels with it.

AP of one label is scikit-learn's ``average_precision_score`` (step-wise interpolation, tied
scores form one threshold). Labels without a positive document have no AP and are left out of
the mean. A loop over labels, not over (document, label) pairs: each call sorts one column.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import average_precision_score

from .metrics import LabelMatrix

__all__ = ["label_average_precision", "mean_average_precision"]


def _column(y_true: LabelMatrix, j: int) -> np.ndarray:
    col = y_true[:, [j]]
    col = col.toarray() if sp.issparse(col) else np.asarray(col)
    return col.ravel() != 0


def label_average_precision(
    y_true: LabelMatrix, scores: np.ndarray, labels: Sequence[int] | np.ndarray | None = None
) -> np.ndarray:
    """AP per label of ``labels`` (all columns by default), NaN for a label without positives.

    ``y_true``: 0/1 ``[documents × labels]`` (dense or sparse); ``scores``: dense, same shape;
    the columns read must be finite.
    """
    s = np.asarray(scores)
    if s.ndim != 2 or s.shape != tuple(y_true.shape):
        raise ValueError(f"scores {s.shape} and y_true {tuple(y_true.shape)} must match")
    columns = np.arange(s.shape[1]) if labels is None else np.asarray(labels, dtype=np.int64)
    if sp.issparse(y_true):
        y_true = sp.csc_matrix(y_true)  # column slices in O(nnz of the column)
    out = np.full(columns.size, np.nan)
    for position, j in enumerate(columns):
        positives = _column(y_true, int(j))
        if not positives.any():
            continue
        column = s[:, j]
        if not np.isfinite(column).all():
            raise ValueError(f"scores of label column {int(j)} must be finite")
        out[position] = average_precision_score(positives, column)
    return out


def mean_average_precision(
    y_true: LabelMatrix, scores: np.ndarray, labels: Sequence[int] | np.ndarray | None = None
) -> float:
    """Mean AP over the labels of ``labels`` that have a positive document (0.0 if none has)."""
    ap = label_average_precision(y_true, scores, labels)
    present = ap[~np.isnan(ap)]
    return float(present.mean()) if present.size else 0.0
