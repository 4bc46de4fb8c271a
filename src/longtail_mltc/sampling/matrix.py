"""Per-label document lists of a binary training label matrix (METHODS §1.5, §1.7).

:func:`label_docs` turns a ``[documents × labels]`` 0/1 matrix (dense NumPy array or
``scipy.sparse``) into a :class:`LabelDocs`: the documents of every label (CSC layout), the
label counts ``N_c`` and a sorted key array for vectorised "does document d carry label c?"
look-ups. Every sampler of this package is built on it; pass a ``LabelDocs`` instead of a
matrix to skip the conversion when sampling several times from the same matrix.

Label classes used by the samplers (all derived from ``N_c`` and the number of documents that
carry at least one label, "labelled documents"):

* empty (``N_c = 0``): cannot be drawn; skipped and reported, never an error.
* single-document (``N_c = 1``): no similar pair (needs ``i ≠ j``); dissimilar pairs only.
* universal (``N_c`` = every labelled document, ``N_c ≥ 2``): every candidate partner document
  carries it, so it cannot be in a dissimilar pair; similar pairs only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["LabelDocs", "LabelMatrix", "label_docs", "log_label_report"]

logger = logging.getLogger(__name__)

LabelMatrix = np.ndarray | sp.spmatrix | sp.sparray


@dataclass(frozen=True, eq=False)
class LabelDocs:
    """Documents of every label: label ``c`` holds ``doc_ids[indptr[c]:indptr[c + 1]]``."""

    rows: sp.csr_matrix  # binary int8 CSR [documents × labels], sorted indices
    indptr: np.ndarray  # int64 [labels + 1]
    doc_ids: np.ndarray  # int64 [nnz], sorted within each label
    counts: np.ndarray  # int64 [labels], N_c
    keys: np.ndarray  # int64 [nnz], sorted doc · n_labels + label
    n_labelled_docs: int

    @property
    def n_docs(self) -> int:
        return int(self.rows.shape[0])

    @property
    def n_labels(self) -> int:
        return int(self.rows.shape[1])

    @property
    def empty_labels(self) -> np.ndarray:
        """Labels without any document (skipped by every sampler)."""
        return np.flatnonzero(self.counts == 0)

    @property
    def single_doc_labels(self) -> np.ndarray:
        """Labels with exactly one document (dissimilar pairs only)."""
        return np.flatnonzero(self.counts == 1)

    @property
    def universal_labels(self) -> np.ndarray:
        """Labels carried by every labelled document (similar pairs only)."""
        return np.flatnonzero((self.counts >= 2) & (self.counts == self.n_labelled_docs))

    @property
    def drawable_labels(self) -> np.ndarray:
        """Labels with at least one document."""
        return np.flatnonzero(self.counts >= 1)

    @property
    def similar_labels(self) -> np.ndarray:
        """Labels that can make a similar pair (``N_c ≥ 2``)."""
        return np.flatnonzero(self.counts >= 2)

    @property
    def dissimilar_labels(self) -> np.ndarray:
        """Labels that may enter a dissimilar pair: drawable and not universal."""
        universal = (self.counts >= 2) & (self.counts == self.n_labelled_docs)
        return np.flatnonzero((self.counts >= 1) & ~universal)

    def draw(self, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One uniformly random document of each label (labels must be drawable)."""
        offset = rng.integers(0, self.counts[labels])
        return self.doc_ids[self.indptr[labels] + offset]

    def draw_two(
        self, labels: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Two distinct uniformly random documents of each label (``N_c ≥ 2`` required)."""
        n = self.counts[labels]
        i = rng.integers(0, n)
        j = rng.integers(0, n - 1)
        j += j >= i
        start = self.indptr[labels]
        return self.doc_ids[start + i], self.doc_ids[start + j]

    def carries(self, docs: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Elementwise: does ``docs[k]`` carry ``labels[k]``? (binary search in ``keys``)."""
        query = np.asarray(docs, np.int64) * self.n_labels + np.asarray(labels, np.int64)
        if self.keys.size == 0:
            return np.zeros(query.shape, dtype=bool)
        pos = np.minimum(np.searchsorted(self.keys, query), self.keys.size - 1)
        return self.keys[pos] == query

    def share_label(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Elementwise: do documents ``first[k]`` and ``second[k]`` share at least one label?"""
        both = self.rows[first].multiply(self.rows[second]).tocsr()
        both.eliminate_zeros()
        return np.diff(both.indptr) > 0


def _binary_csr(label_matrix: LabelMatrix) -> sp.csr_matrix:
    """Validated 0/1 CSR copy (int8 ones, sorted indices, no duplicates or stored zeros)."""
    if sp.issparse(label_matrix):
        if len(label_matrix.shape) != 2:
            raise ValueError(f"label_matrix must be 2-D, got shape {label_matrix.shape}")
        csr = sp.csr_matrix(label_matrix, copy=True)
        csr.sum_duplicates()
        csr.eliminate_zeros()
        values = csr.data
    else:
        dense = np.asarray(label_matrix)
        if dense.ndim != 2:
            raise ValueError(f"label_matrix must be 2-D [documents × labels], got {dense.shape}")
        if not (dense.dtype == bool or np.issubdtype(dense.dtype, np.number)):
            raise ValueError(f"label_matrix must be numeric or boolean, got dtype {dense.dtype}")
        values = dense[dense != 0]
        csr = sp.csr_matrix(dense != 0)
    if values.size and not np.all(values == 1):
        bad = np.unique(values[values != 1])[:5]
        raise ValueError(f"label_matrix must hold only 0 and 1; found values such as {bad}")
    csr.sort_indices()
    ones = np.ones(csr.indices.size, dtype=np.int8)
    return sp.csr_matrix((ones, csr.indices, csr.indptr), shape=csr.shape)


def label_docs(label_matrix: LabelMatrix | LabelDocs) -> LabelDocs:
    """Validate a 0/1 label matrix and index its documents per label (a ``LabelDocs`` passes)."""
    if isinstance(label_matrix, LabelDocs):
        return label_matrix
    rows = _binary_csr(label_matrix)
    n_docs, n_labels = rows.shape
    csc = rows.tocsc()
    csc.sort_indices()
    per_doc = np.diff(rows.indptr)
    doc_of_entry = np.repeat(np.arange(n_docs, dtype=np.int64), per_doc)
    return LabelDocs(
        rows=rows,
        indptr=csc.indptr.astype(np.int64),
        doc_ids=csc.indices.astype(np.int64),
        counts=np.diff(csc.indptr).astype(np.int64),
        keys=doc_of_entry * n_labels + rows.indices.astype(np.int64),
        n_labelled_docs=int(np.count_nonzero(per_doc)),
    )


def log_label_report(docs: LabelDocs) -> None:
    """Warn about empty labels; note single-document and universal labels (never silent)."""
    empty = docs.empty_labels
    if empty.size:
        logger.warning(
            "%d of %d labels have no document in this split and are skipped (first ids: %s)",
            empty.size,
            docs.n_labels,
            empty[:10].tolist(),
        )
    single = docs.single_doc_labels
    if single.size:
        logger.info("%d single-document labels enter dissimilar pairs only", single.size)
    universal = docs.universal_labels
    if universal.size:
        logger.info("%d labels carried by every document enter similar pairs only", universal.size)
