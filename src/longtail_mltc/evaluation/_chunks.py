"""The inputs that :mod:`~longtail_mltc.evaluation.metrics` and
:mod:`~longtail_mltc.evaluation.thresholds` share: ``y_true`` and the scores validated once
(:func:`prepare`), then read row chunk by row chunk (:func:`label_chunk`, :func:`score_chunk`),
and the exact ``score >= threshold`` comparison (:func:`exact_thresholds`). The conventions are
documented in ``metrics``; this module is for ``evaluation/`` alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:  # the public aliases live in metrics, which imports this module
    from .metrics import LabelMatrix, LabelSubset

__all__ = ["Inputs", "exact_thresholds", "label_chunk", "prepare", "score_chunk"]


class Inputs(NamedTuple):
    y: np.ndarray | sp.csr_matrix | sp.csr_array  # sparse: already restricted to the subset
    s: np.ndarray
    y_cols: np.ndarray | None  # column selection still to apply to dense y chunks
    s_cols: np.ndarray | None  # column selection to apply to score chunks
    n_docs: int
    n_labels: int


def _as_scores(scores: np.ndarray) -> np.ndarray:
    """Dense 2-D floating score matrix (bool/int scores are converted to float64)."""
    if sp.issparse(scores):
        raise TypeError("scores must be a dense array [docs × labels]; received a sparse matrix")
    s = np.asarray(scores)
    if s.ndim != 2:
        raise ValueError(f"scores must be 2-D [docs × labels]; received shape {s.shape}")
    if s.dtype == bool or np.issubdtype(s.dtype, np.integer):
        s = s.astype(np.float64)
    elif not np.issubdtype(s.dtype, np.floating):
        raise ValueError(f"scores must be real numbers; received dtype {s.dtype}")
    return s


def _as_labels(y_true: LabelMatrix) -> np.ndarray | sp.csr_matrix:
    """Dense 2-D array, or canonical CSR whose stored values are checked to be 0/1."""
    if sp.issparse(y_true):
        if y_true.ndim != 2:
            raise ValueError(f"y_true must be 2-D [docs × labels]; received shape {y_true.shape}")
        y = y_true.tocsr()
        if not y.has_canonical_format:
            y = y.copy()
            y.sum_duplicates()
        _check_binary(y.data, "y_true")
        return y
    y = np.asarray(y_true)
    if y.ndim != 2:
        raise ValueError(f"y_true must be 2-D [docs × labels]; received shape {y.shape}")
    return y


def _check_binary(values: np.ndarray, name: str) -> None:
    if values.dtype == bool:
        return
    bad = (values != 0) & (values != 1)
    if bad.any():
        example = values[bad].ravel()[0].item()
        raise ValueError(f"{name} must contain only 0/1 values; received e.g. {example!r}")


def _check_finite_scores(block: np.ndarray, row_offset: int = 0) -> None:
    if not np.isnan(block.min()):  # min propagates NaN: one cheap reduction
        return
    row, col = np.argwhere(np.isnan(block))[0]
    raise ValueError(
        "scores must not contain NaN (finite or ±inf expected); received NaN at "
        f"document {row_offset + int(row)}, column {int(col)}"
    )


def _subset_columns(label_subset: LabelSubset, n_labels: int) -> np.ndarray | None:
    """Column indices selected by ``label_subset`` (None = all labels, in order)."""
    if label_subset is None:
        return None
    sub = np.asarray(label_subset)
    if sub.ndim != 1 or sub.size == 0:
        raise ValueError(
            "label_subset must be a non-empty 1-D sequence of column indices or a boolean mask; "
            f"received shape {sub.shape}"
        )
    if sub.dtype == bool:
        if sub.size != n_labels:
            raise ValueError(
                f"boolean label_subset must have length {n_labels} (number of labels); "
                f"received length {sub.size}"
            )
        cols = np.flatnonzero(sub)
        if cols.size == 0:
            raise ValueError("label_subset mask selects no label")
    elif np.issubdtype(sub.dtype, np.integer):
        cols = sub.astype(np.intp)
        if cols.min() < 0 or cols.max() >= n_labels:
            raise ValueError(
                f"label_subset indices must lie in [0, {n_labels}); "
                f"received min {cols.min()}, max {cols.max()}"
            )
        if np.unique(cols).size != cols.size:
            raise ValueError("label_subset contains duplicate column indices")
    else:
        raise ValueError(f"label_subset must be integer indices or a bool mask; got {sub.dtype}")
    if cols.size == n_labels and np.array_equal(cols, np.arange(n_labels)):
        return None
    return cols


def prepare(y_true: LabelMatrix, scores: np.ndarray, label_subset: LabelSubset) -> Inputs:
    s = _as_scores(scores)
    y = _as_labels(y_true)
    if y.shape != s.shape:
        raise ValueError(
            "y_true and scores must have the same shape [docs × labels]; "
            f"received y_true {tuple(y.shape)} and scores {s.shape}"
        )
    n_docs, n_all = s.shape
    if n_docs == 0 or n_all == 0:
        raise ValueError(f"expected at least one document and one label; received shape {s.shape}")
    cols = _subset_columns(label_subset, n_all)
    n_labels = n_all if cols is None else cols.size
    if sp.issparse(y):
        y = y if cols is None else y[:, cols].tocsr()
        return Inputs(y, s, None, cols, n_docs, n_labels)
    return Inputs(y, s, cols, cols, n_docs, n_labels)


def exact_thresholds(thresholds: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Smallest values of ``dtype`` that are >= each float64 threshold.

    For scores ``s`` of ``dtype``, ``s >= result`` equals the exact ``s >= threshold``, and the
    comparison runs in ``dtype`` (no upcast of the score chunk).
    """
    t = np.asarray(thresholds, dtype=np.float64)
    if np.isnan(t).any():
        raise ValueError("threshold must not be NaN")
    with np.errstate(over="ignore"):
        cast = t.astype(dtype)
    low = cast.astype(np.float64) < t
    if low.any():
        cast[low] = np.nextafter(cast[low], np.asarray(np.inf, dtype=dtype))
    return cast


def label_chunk(inp: Inputs, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``start:stop`` of ``y_true`` (subset columns): dense bool block, flat positives."""
    m, n = stop - start, inp.n_labels
    if sp.issparse(inp.y):
        indptr = inp.y.indptr
        lo, hi = indptr[start], indptr[stop]
        rows = np.repeat(np.arange(m), np.diff(indptr[start : stop + 1]))
        flat = rows * n + inp.y.indices[lo:hi]
        flat = flat[inp.y.data[lo:hi] != 0]
        out = np.zeros((m, n), dtype=bool)
        out.ravel()[flat] = True
        return out, flat
    block = inp.y[start:stop]
    if inp.y_cols is not None:
        block = np.take(block, inp.y_cols, axis=1)
    flat = np.flatnonzero(block)
    if block.dtype != bool:
        values = block.ravel()[flat]
        if not np.all(values == 1):
            example = values[values != 1][0].item()
            raise ValueError(f"y_true must contain only 0/1 values; received e.g. {example!r}")
        block = block != 0
    return block, flat


def score_chunk(inp: Inputs, start: int, stop: int) -> np.ndarray:
    block = inp.s[start:stop]
    if inp.s_cols is not None:
        block = np.take(block, inp.s_cols, axis=1)
    _check_finite_scores(block, start)
    return block
