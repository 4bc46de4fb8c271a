"""Per-document-group metrics and confused label pairs (METHODS §3.1 error analysis).

* :func:`document_groups` bins the documents by their number of true labels (Reuters: 1 label
  vs several; PubMed: ≤ 9, 10-14, ≥ 15).
* :func:`evaluate_by_document_group` runs :func:`~longtail_mltc.evaluation.metrics.evaluate`
  (the single METHODS §4 implementation) on each group's rows over all labels.
* :func:`prediction_table`: one row per document with its true and predicted labels and its
  top-scored labels (the ``predictions/test_predictions.csv`` artifact of a run).
* :func:`confused_label_pairs` ranks the pairs (true label b, false-positive label a) by the
  number of documents that carry b and wrongly receive a, computed as the sparse product
  ``Yᵀ · FP`` (no loop over documents).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .metrics import DEFAULT_KS, LabelMatrix, evaluate

__all__ = [
    "confused_label_pairs",
    "document_groups",
    "evaluate_by_document_group",
    "prediction_table",
]

PAIR_COLUMNS = [
    "true_label",
    "predicted_label",
    "count",
    "share_of_false_positives",
    "true_label_docs",
]


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _binary_csr(matrix: LabelMatrix, name: str) -> sp.csr_matrix:
    """Canonical int64 CSR of a 2-D 0/1 (or bool) matrix, explicit zeros removed."""
    if sp.issparse(matrix):
        if matrix.ndim != 2:
            raise ValueError(f"{name} must be 2-D [docs × labels]; received shape {matrix.shape}")
        out = sp.csr_matrix(matrix, copy=True)
        out.sum_duplicates()
        values = out.data
    else:
        dense = np.asarray(matrix)
        if dense.ndim != 2:
            raise ValueError(f"{name} must be 2-D [docs × labels]; received shape {dense.shape}")
        out = sp.csr_matrix(dense)
        values = out.data
    if values.dtype != bool:
        bad = (values != 0) & (values != 1)
        if bad.any():
            example = values[bad][0].item()
            raise ValueError(f"{name} must contain only 0/1 values; received e.g. {example!r}")
    out.eliminate_zeros()
    return sp.csr_matrix(out, dtype=np.int64)


def _labels_per_document(y_true: LabelMatrix) -> np.ndarray:
    """Number of true labels of every document (int64)."""
    y = _binary_csr(y_true, "y_true")
    return np.diff(y.indptr).astype(np.int64)


def _check_bins(bins: Sequence[int]) -> list[int]:
    expected = (
        "bins must be a non-empty, strictly increasing sequence of integer lower edges >= 1 "
        "(e.g. [1, 2] or [1, 10, 15])"
    )
    try:
        edges = list(bins)
    except TypeError:
        raise ValueError(f"{expected}; received {bins!r}") from None
    if not edges:
        raise ValueError(f"{expected}; received an empty sequence")
    for edge in edges:
        if isinstance(edge, bool | np.bool_) or not isinstance(edge, int | np.integer):
            raise ValueError(f"{expected}; received non-integer {edge!r} in {edges!r}")
    out = [int(edge) for edge in edges]
    if out[0] < 1:
        raise ValueError(f"{expected}; received lowest edge {out[0]}")
    if any(b <= a for a, b in zip(out, out[1:], strict=False)):
        raise ValueError(f"{expected}; received {out!r}")
    return out


def _group_name(low: int, high: int | None) -> str:
    """``labels_<low>plus`` (open bin), ``labels_<low>`` (width 1), else ``labels_<low>_<hi>``."""
    if high is None:
        return f"labels_{low}plus"
    if high - low == 1:
        return f"labels_{low}"
    return f"labels_{low}_{high - 1}"


# --------------------------------------------------------------------------------------------
# document groups
# --------------------------------------------------------------------------------------------


def document_groups(y_true: LabelMatrix, bins: Sequence[int]) -> dict[str, np.ndarray]:
    """Documents grouped by their number of true labels (METHODS §3.1).

    Args:
        y_true: 0/1 matrix ``[docs × labels]``, dense or scipy.sparse.
        bins: strictly increasing integer lower edges ``>= 1``; bin ``i`` holds the documents
            with ``bins[i] <= n_labels < bins[i + 1]``, the last bin is open-ended. ``[1, 2]``
            gives ``labels_1`` and ``labels_2plus``; ``[1, 10, 15]`` gives ``labels_1_9``,
            ``labels_10_14`` and ``labels_15plus``.

    Returns:
        ``{group name: sorted int64 row indices}`` in bin order (possibly empty arrays). Names
        use only letters, digits and ``_`` (valid MLflow metric-key fragments). Documents with
        0 labels, or fewer than ``bins[0]``, belong to no group.

    Raises:
        ValueError: ``bins`` is empty, unsorted, has a repeated or non-integer edge, or an edge
            below 1.
    """
    edges = _check_bins(bins)
    counts = _labels_per_document(y_true)
    groups: dict[str, np.ndarray] = {}
    for i, low in enumerate(edges):
        high = edges[i + 1] if i + 1 < len(edges) else None
        inside = counts >= low if high is None else (counts >= low) & (counts < high)
        groups[_group_name(low, high)] = np.flatnonzero(inside).astype(np.int64)
    return groups


def evaluate_by_document_group(
    y_true: LabelMatrix,
    scores: np.ndarray,
    groups: Mapping[str, np.ndarray | Sequence[int]],
    threshold: float,
    ks: Sequence[int] = DEFAULT_KS,
    prefix: str = "test",
) -> dict[str, float]:
    """``evaluate`` on the rows of each non-empty document group, over all labels (METHODS §3.1).

    Keys are ``f"{prefix}/{group}/{metric}"`` for every metric of
    :func:`~longtail_mltc.evaluation.metrics.evaluate`; ``f"{prefix}/{group}/n_docs"`` is the
    number of documents in the group (the same as ``evaluate``'s ranking count when every
    document of the group has a label, as with :func:`document_groups`). Empty groups are left
    out rather than reported as zeros. ``y_true`` may be dense or scipy.sparse (rows are sliced
    from CSR, never densified whole).
    """
    if sp.issparse(scores):
        raise TypeError("scores must be a dense array [docs × labels]; received a sparse matrix")
    s = np.asarray(scores)
    y = y_true.tocsr() if sp.issparse(y_true) else np.asarray(y_true)
    if tuple(y.shape) != tuple(s.shape):
        raise ValueError(
            "y_true and scores must have the same shape [docs × labels]; "
            f"received y_true {tuple(y.shape)} and scores {tuple(s.shape)}"
        )
    n_docs = s.shape[0]
    out: dict[str, float] = {}
    for name, members in groups.items():
        rows = np.asarray(members)
        if rows.size == 0:
            continue
        if rows.ndim != 1 or not np.issubdtype(rows.dtype, np.integer):
            raise ValueError(
                f"group {name!r} must be a 1-D array of integer row indices; "
                f"received shape {rows.shape}, dtype {rows.dtype}"
            )
        if rows.min() < 0 or rows.max() >= n_docs:
            raise ValueError(
                f"group {name!r} row indices must lie in [0, {n_docs}); "
                f"received min {rows.min()}, max {rows.max()}"
            )
        metrics = evaluate(y[rows], s[rows], threshold=threshold, ks=tuple(ks))
        metrics["n_docs"] = float(rows.size)
        out.update({f"{prefix}/{name}/{key}": float(value) for key, value in metrics.items()})
    return out


# --------------------------------------------------------------------------------------------
# confused label pairs
# --------------------------------------------------------------------------------------------


def confused_label_pairs(
    y_true: LabelMatrix,
    y_pred: LabelMatrix,
    label_names: Sequence[str],
    top: int = 20,
) -> pd.DataFrame:
    """The most frequently confused label pairs (METHODS §3.1 error analysis).

    A confusion of label ``a`` with label ``b`` is counted once per document that carries true
    label ``b`` and gets a false positive on ``a`` (``a`` predicted, ``a`` not true):
    ``C[b, a] = Σ_d y_true[d, b] · fp[d, a]``, computed as the sparse product ``Yᵀ · FP``
    (memory bounded by the number of non-zero pairs; no loop over documents). A true positive
    is never a confusion, and ``C[b, b]`` is always 0.

    Args:
        y_true: 0/1 matrix ``[docs × labels]``, dense or scipy.sparse.
        y_pred: boolean / 0-1 decisions of the same shape, dense or scipy.sparse.
        label_names: one name per label column.
        top: number of pairs returned (the highest counts; ties by true label index, then
            predicted label index).

    Returns:
        DataFrame with columns ``true_label``, ``predicted_label`` (the false positive),
        ``count``, ``share_of_false_positives`` (``count`` / all false positives of the
        predicted label) and ``true_label_docs`` (documents carrying the true label). Pairs
        with count 0 never appear, so there may be fewer than ``top`` rows.
    """
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 1:
        raise ValueError(f"top must be a positive integer; received {top!r}")
    y = _binary_csr(y_true, "y_true")
    pred = _binary_csr(y_pred, "y_pred")
    if y.shape != pred.shape:
        raise ValueError(
            "y_true and y_pred must have the same shape [docs × labels]; "
            f"received y_true {tuple(y.shape)} and y_pred {tuple(pred.shape)}"
        )
    names = list(label_names)
    if len(names) != y.shape[1]:
        raise ValueError(
            f"label_names must have one name per label column: y_true has shape "
            f"{tuple(y.shape)} ({y.shape[1]} labels), received {len(names)} names"
        )
    fp = (pred - pred.multiply(y)).tocsr()  # 0/1: predicted and not true
    fp.eliminate_zeros()
    confusion = (y.T.tocsr() @ fp).tocoo()  # [true label b × predicted label a], int64
    keep = confusion.data > 0
    true_idx = confusion.row[keep].astype(np.int64)
    pred_idx = confusion.col[keep].astype(np.int64)
    counts = confusion.data[keep].astype(np.int64)
    order = np.lexsort((pred_idx, true_idx, -counts))[: int(top)]
    true_idx, pred_idx, counts = true_idx[order], pred_idx[order], counts[order]
    fp_per_label = np.asarray(fp.sum(axis=0)).ravel().astype(np.int64)
    docs_per_label = np.asarray(y.sum(axis=0)).ravel().astype(np.int64)
    label_array = np.asarray(names, dtype=object)
    return pd.DataFrame(
        {
            "true_label": label_array[true_idx],
            "predicted_label": label_array[pred_idx],
            "count": counts,
            "share_of_false_positives": counts / fp_per_label[pred_idx],
            "true_label_docs": docs_per_label[true_idx],
        },
        columns=PAIR_COLUMNS,
    )


def prediction_table(
    doc_ids: Sequence[Any],
    true_labels: Sequence[Sequence[str]],
    scores: np.ndarray,
    decisions: np.ndarray,
    label_index: Sequence[str],
    top: int = 5,
) -> pd.DataFrame:
    """Per document: ``doc_id``, ``true_labels`` and ``predicted_labels`` (``;``-joined; the
    predicted ones in label-index order), ``top<k>_labels`` and ``top<k>_scores`` (4 decimals)."""
    scores = np.asarray(scores)
    decisions = np.asarray(decisions, dtype=bool)
    n_docs = len(doc_ids)
    if scores.shape != decisions.shape or scores.shape != (n_docs, len(label_index)):
        raise ValueError(
            f"scores {scores.shape} and decisions {decisions.shape} must both be "
            f"({n_docs}, {len(label_index)}): documents × labels"
        )
    if len(true_labels) != n_docs:
        raise ValueError(f"{len(true_labels)} true label lists for {n_docs} documents")
    names = np.asarray(label_index, dtype=object)
    k = min(top, len(label_index))
    best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    best_scores = np.take_along_axis(scores, best, 1)
    return pd.DataFrame(
        {
            "doc_id": list(doc_ids),
            "true_labels": [";".join(labels) for labels in true_labels],
            "predicted_labels": [";".join(names[row]) for row in decisions],
            f"top{k}_labels": [";".join(names[row]) for row in best],
            f"top{k}_scores": [";".join(f"{v:.4f}" for v in row) for row in best_scores],
        }
    )
