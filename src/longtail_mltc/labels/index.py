"""Label index and sparse label matrices (METHODS §5 "label index").

A label index is a plain ``list[str]``: column ``j`` of every label matrix is label
``label_index[j]``. Label matrices are ``scipy.sparse.csr_matrix`` of dtype uint8 with shape
``[documents, labels]`` and canonical format (sorted column indices, no duplicates).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

__all__ = ["build_label_index", "label_lists_from_matrix", "to_label_matrix"]

logger = logging.getLogger(__name__)

_UNKNOWN_MODES = ("error", "ignore")


def _check_label_list(labels: Sequence[str], position: int) -> Sequence[str]:
    if isinstance(labels, str):
        raise TypeError(
            f"document {position}: labels must be a list of strings, got the string {labels!r}"
        )
    return labels


def build_label_index(label_lists: Iterable[Sequence[str]]) -> list[str]:
    """All distinct labels, sorted alphabetically (by Python string order).

    Sorting (rather than order of first appearance or frequency) makes the index independent of
    document order and of the split, so the same label set always gives the same columns.
    """
    seen: set[str] = set()
    for position, labels in enumerate(label_lists):
        seen.update(_check_label_list(labels, position))
    return sorted(seen)


def to_label_matrix(
    label_lists: Iterable[Sequence[str]],
    label_index: Sequence[str],
    *,
    unknown: str = "error",
) -> sp.csr_matrix:
    """Binary ``[documents, labels]`` CSR matrix (uint8) of ``label_lists`` over ``label_index``.

    A label repeated within a document counts once. Labels missing from ``label_index``:
    ``unknown="error"`` raises ValueError naming the first offending document position and
    label; ``unknown="ignore"`` drops them and logs a warning with their count (never silent).
    Built vectorised from flat index arrays, never a dense matrix.
    """
    if unknown not in _UNKNOWN_MODES:
        raise ValueError(f"unknown must be one of {_UNKNOWN_MODES}, got {unknown!r}")
    column = {label: j for j, label in enumerate(label_index)}
    if len(column) != len(label_index):
        raise ValueError("label_index holds duplicated labels")
    docs = [_check_label_list(labels, i) for i, labels in enumerate(label_lists)]
    n_docs, n_labels = len(docs), len(label_index)
    lengths = np.fromiter((len(labels) for labels in docs), dtype=np.int64, count=n_docs)
    cols = np.fromiter(
        (column.get(label, -1) for labels in docs for label in labels),
        dtype=np.int64,
        count=int(lengths.sum()),
    )
    rows = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    missing = cols < 0
    if missing.any():
        rows, cols = _handle_unknown(docs, rows, cols, missing, unknown)
    keys = np.unique(rows * max(n_labels, 1) + cols)  # sorts by (row, col) and de-duplicates
    rows, cols = np.divmod(keys, max(n_labels, 1))
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_docs), out=indptr[1:])
    data = np.ones(len(cols), dtype=np.uint8)
    matrix = sp.csr_matrix((data, cols, indptr), shape=(n_docs, n_labels))
    matrix.has_canonical_format = True
    return matrix


def _handle_unknown(
    docs: list[Sequence[str]],
    rows: np.ndarray,
    cols: np.ndarray,
    missing: np.ndarray,
    unknown: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Raise on, or drop and log, the labels absent from the index (``missing`` mask)."""
    if unknown == "error":
        first = int(np.flatnonzero(missing)[0])
        doc = int(rows[first])
        offset = first - int(np.searchsorted(rows, doc, side="left"))
        label = docs[doc][offset]
        raise ValueError(
            f"document at position {doc} has label {label!r} that is not in the label index "
            f"({int(missing.sum())} unknown label occurrences in total); "
            "pass unknown='ignore' to drop them"
        )
    n_docs_hit = len(np.unique(rows[missing]))
    logger.warning(
        "to_label_matrix: dropped %d label occurrences not in the label index (%d documents)",
        int(missing.sum()),
        n_docs_hit,
    )
    keep = ~missing
    return rows[keep], cols[keep]


def label_lists_from_matrix(
    Y: sp.spmatrix | np.ndarray, label_index: Sequence[str]
) -> list[list[str]]:
    """Inverse of :func:`to_label_matrix`: each row's labels, in label-index order."""
    Y = sp.csr_matrix(Y, copy=True)  # copy: eliminate_zeros/sort_indices work in place
    Y.sum_duplicates()
    Y.eliminate_zeros()
    Y.sort_indices()
    names = np.asarray(label_index, dtype=object)
    return [
        names[Y.indices[a:b]].tolist() for a, b in zip(Y.indptr[:-1], Y.indptr[1:], strict=True)
    ]
