"""Label Powerset over a multiclass logistic regression (METHODS §2.3).

Written here because no maintained library implements it for scikit-learn 1.9 (the usual
source, scikit-multilearn, is unmaintained), and it is small: every distinct training label set
is one class of a multinomial logistic regression; ``predict`` returns the label set of the most
probable class, so only label sets seen in training are ever predicted.

Ranking scores: the score of label ``l`` is the total probability of the classes whose label set
contains ``l``, i.e. the model's marginal ``P(y_l = 1 | x)`` (in [0, 1]; a label in no training
set scores 0). Note that ``predict`` is LP's own joint decision (arg-max label set), not
``scores >= 0.5``: to evaluate LP as LP, give ``evaluate`` the 0/1 predictions for the
classification metrics and ``label_scores`` for the ranking ones.

``min_set_count`` (default 1 = plain LP) optionally drops label sets seen fewer times from the
classes (their training documents are left out), which bounds the number of classes on corpora
with very many distinct label sets (the pruned variant of LP).

Progress: before fitting, the number of label sets, documents and features and the memory of the
solver's dense arrays are logged; with ``progress=True`` (default) and the ``lbfgs`` solver a tqdm
bar runs over the iterations and a time estimate is logged after the first three
(:mod:`~longtail_mltc.linear.progress`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from longtail_mltc.evaluation.metrics import resolve_chunk_size
from longtail_mltc.linear.base import FeatureMatrix, LinearMultiLabelBase, make_logistic_regression
from longtail_mltc.linear.progress import LbfgsProgress, format_bytes, solver_memory_estimate

logger = logging.getLogger(__name__)

__all__ = ["LabelPowerset", "unique_label_sets"]


def unique_label_sets(Y: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Distinct rows of a 0/1 CSR label matrix, without a loop over documents.

    Returns:
        ``(label_sets, inverse, counts)``: ``label_sets`` the distinct rows (CSR, sorted
        lexicographically by their sorted column indices), ``inverse[i]`` the row of
        ``label_sets`` equal to document ``i``, ``counts[k]`` how many documents have set ``k``.
    """
    Y = sp.csr_matrix(Y, copy=True)
    Y.sum_duplicates()  # canonical: sorted column indices per row
    lengths = np.diff(Y.indptr)
    rows = np.repeat(np.arange(Y.shape[0]), lengths)
    position = np.arange(Y.nnz) - np.repeat(Y.indptr[:-1], lengths)
    keys = np.full((Y.shape[0], lengths.max(initial=0) + 1), -1, dtype=np.int64)
    keys[rows, position] = Y.indices  # row = its label indices, padded with -1
    _, first, inverse, counts = np.unique(
        keys, axis=0, return_index=True, return_inverse=True, return_counts=True
    )
    return Y[first], inverse.ravel(), counts


class LabelPowerset(LinearMultiLabelBase):
    """Label Powerset: one class per distinct training label set (METHODS §2.3).

    Attributes (fitted): ``label_sets_`` CSR ``[classes × labels]`` (the label set of each
    class, constant labels included), ``classifier_`` the multiclass logistic regression
    (None when training holds a single label set).
    """

    def __init__(
        self,
        C: float = 1.0,
        class_weight: dict | str | None = None,
        max_iter: int = 1000,
        tol: float = 1e-4,
        solver: str = "lbfgs",
        min_set_count: int = 1,
        random_state: int | None = 0,
        progress: bool = True,
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver
        self.min_set_count = min_set_count
        self.random_state = random_state
        self.progress = progress

    def _fit_active(self, X: FeatureMatrix, Y: sp.csr_matrix) -> None:
        sets, inverse, counts = unique_label_sets(Y)
        kept = counts >= self.min_set_count
        if not kept.any():
            raise ValueError(
                f"min_set_count={self.min_set_count} leaves no label set (the most frequent set "
                f"occurs {counts.max()} times)"
            )
        self._active_sets = sp.csr_matrix(sets[kept], dtype=np.float64)
        classes = np.cumsum(kept) - 1  # old class -> new class (where kept)
        docs = kept[inverse]
        self.classifier_: LogisticRegression | None = None
        if self._active_sets.shape[0] > 1:
            self.classifier_ = make_logistic_regression(
                self.C, self.class_weight, self.max_iter, self.tol, self.solver, self.random_state
            )
            X_kept = X if docs.all() else X[docs]
            self._fit_classifier(X_kept, classes[inverse[docs]])
        self.label_sets_ = self._full_width_sets()

    def _fit_classifier(self, X: FeatureMatrix, classes: np.ndarray) -> None:
        """Fit the multiclass model, logging its size first and (lbfgs) drawing its progress."""
        n_docs, n_features = X.shape
        n_sets = self._active_sets.shape[0]
        memory = solver_memory_estimate(n_docs, n_sets, n_features, X.dtype.itemsize)
        logger.info(
            "label powerset: %d label sets (classes) over %d documents × %d features; solver "
            "memory ≈ %s (%s for the dense %d × %d arrays, %s for the L-BFGS history)",
            n_sets,
            n_docs,
            n_features,
            format_bytes(memory.total),
            format_bytes(memory.per_sample),
            n_docs,
            n_sets,
            format_bytes(memory.history),
        )
        assert self.classifier_ is not None
        watched = self.progress and self.solver == "lbfgs"  # sklearn's callbacks: lbfgs only
        if watched:
            self.classifier_.set_callbacks(
                LbfgsProgress(self.max_iter, desc=f"label powerset ({n_sets} sets)")
            )
        try:
            self.classifier_.fit(X, classes)
        finally:
            if watched:  # the fitted model keeps no callback (nor a tqdm bar in its file)
                self.classifier_.set_callbacks()

    def _full_width_sets(self) -> sp.csr_matrix:
        """The class label sets over all labels: active columns mapped back, constants added."""
        active = self._active_sets.tocoo()
        n_sets, always = self._active_sets.shape[0], self.always_labels_
        rows = np.concatenate([active.row, np.repeat(np.arange(n_sets), always.size)])
        cols = np.concatenate([self.active_labels_[active.col], np.tile(always, n_sets)])
        values = np.ones(rows.size, dtype=np.uint8)
        return sp.csr_matrix((values, (rows, cols)), shape=(n_sets, self.n_labels_))

    def _class_probabilities(self, X: FeatureMatrix) -> np.ndarray:
        if self.classifier_ is None:
            return np.ones((X.shape[0], 1))
        return self.classifier_.predict_proba(X)

    def _row_blocks(self, n_docs: int) -> Iterator[slice]:
        """Row blocks bounding the dense ``[docs × classes]`` probabilities (as ``metrics``)."""
        step = resolve_chunk_size(None, self._active_sets.shape[0])
        for start in range(0, n_docs, step):
            yield slice(start, start + step)

    def _active_scores(self, X: FeatureMatrix) -> np.ndarray:
        """Marginal label probabilities: class probabilities summed over each label's sets."""
        out = np.empty((X.shape[0], self._active_sets.shape[1]))
        for rows in self._row_blocks(X.shape[0]):
            proba = self._class_probabilities(X[rows])
            out[rows] = (self._active_sets.T @ proba.T).T
        return out

    def _predict_active(self, X: FeatureMatrix) -> np.ndarray:
        """The label set of the most probable class, per document."""
        out = np.empty((X.shape[0], self._active_sets.shape[1]), dtype=bool)
        for rows in self._row_blocks(X.shape[0]):
            best = self._class_probabilities(X[rows]).argmax(axis=1)
            out[rows] = self._active_sets[best].toarray() > 0
        return out

    def predict_proba(self, X: FeatureMatrix) -> np.ndarray:
        """Per-label marginal probabilities ``[docs × labels]`` (same as ``label_scores``)."""
        return self.label_scores(X)
