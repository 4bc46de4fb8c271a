"""Shared machinery of the linear multi-label baselines (METHODS §2.3, §3.1).

Every baseline is a scikit-learn estimator: configured in ``__init__``, trained by
``fit(X, Y)`` with ``X`` a (sparse) feature matrix ``[docs × features]`` and ``Y`` a 0/1 label
matrix ``[docs × labels]`` (dense or scipy.sparse), used through ``predict(X)`` (0/1 matrix,
sparse CSR uint8 when ``Y`` was sparse, else a dense uint8 array) and ``label_scores(X)``
(dense float ``[docs × labels]`` ranking scores for METHODS §4). Feature matrices are never
densified.

Constant labels. A label with no positive training document (``never_labels_``) or with only
positive ones (``always_labels_``) gives nothing to learn and would crash or warn inside the
binary learners, so only the other labels (``active_labels_``) are passed to the learner.
Never-seen labels are never predicted and get the lowest possible score (0.0 for probability
scores, ``-inf`` for decision values); always-seen labels are always predicted with the highest
score (1.0 or ``+inf``). ``-inf``/``+inf`` are valid inputs of :mod:`~longtail_mltc.evaluation`.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, MultiOutputMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = [
    "FeatureMatrix",
    "LabelMatrix",
    "LinearMultiLabelBase",
    "as_label_matrix",
    "make_logistic_regression",
    "one_vs_rest_target",
]

FeatureMatrix = sp.spmatrix | sp.sparray | np.ndarray
LabelMatrix = sp.spmatrix | sp.sparray | np.ndarray

_FLOAT_DTYPES = (np.float64, np.float32)


def as_label_matrix(Y: LabelMatrix, name: str = "Y") -> sp.csr_matrix:
    """A 0/1 label matrix as canonical ``csr_matrix`` uint8; raises on other values or shapes."""
    if sp.issparse(Y):
        if Y.ndim != 2:
            raise ValueError(f"{name} must be 2-D [docs × labels]; received shape {Y.shape}")
        labels = sp.csr_matrix(Y, copy=True)  # the caller's matrix is never modified
        labels.sum_duplicates()
        labels.eliminate_zeros()
        values = labels.data
    else:
        dense = np.asarray(Y)
        if dense.ndim != 2:
            raise ValueError(f"{name} must be 2-D [docs × labels]; received shape {dense.shape}")
        values = dense[dense != 0]
        labels = sp.csr_matrix(dense != 0)
    if values.size and not np.all(values == 1):
        example = values[values != 1][0].item()
        raise ValueError(f"{name} must contain only 0/1 values; received e.g. {example!r}")
    return sp.csr_matrix(labels, dtype=np.uint8)


def make_logistic_regression(
    C: float,
    class_weight: dict | str | None,
    max_iter: int,
    tol: float,
    solver: str,
    seed: int | None,
) -> LogisticRegression:
    """The L2 logistic regression shared by BR, CC and LP (METHODS §2.3)."""
    return LogisticRegression(
        C=C,
        class_weight=class_weight,
        max_iter=max_iter,
        tol=tol,
        solver=solver,
        random_state=seed,
    )


def one_vs_rest_target(Y: sp.csr_matrix) -> sp.csr_matrix | np.ndarray:
    """``Y`` for ``OneVsRestClassifier``: a single column as a 1-D vector, else the matrix.

    (Given one column, one-vs-rest fits a binary problem and returns 1-D decision values; the
    callers reshape them to ``[docs × 1]``.)
    """
    return Y if Y.shape[1] > 1 else Y.toarray().ravel()


class LinearMultiLabelBase(MultiOutputMixin, ClassifierMixin, BaseEstimator):
    """Validation, constant labels and output format; subclasses fit the active labels.

    Subclasses implement ``_fit_active(X, Y_active)`` and ``_active_scores(X)``; the default
    prediction rule is ``label_scores(X) >= threshold_``.
    """

    _never_score: ClassVar[float] = 0.0
    _always_score: ClassVar[float] = 1.0
    _default_threshold: ClassVar[float] = 0.5

    def _fit_active(self, X: FeatureMatrix, Y: sp.csr_matrix) -> None:
        raise NotImplementedError

    def _active_scores(self, X: FeatureMatrix) -> np.ndarray:
        raise NotImplementedError

    def _predict_active(self, X: FeatureMatrix) -> np.ndarray:
        return self._active_scores(X) >= self.threshold_

    def _check_features(self, X: FeatureMatrix, *, reset: bool) -> FeatureMatrix:
        return validate_data(self, X, accept_sparse="csr", dtype=_FLOAT_DTYPES, reset=reset)

    def fit(self, X: FeatureMatrix, Y: LabelMatrix) -> LinearMultiLabelBase:
        """Fit on features ``X [docs × features]`` and 0/1 labels ``Y [docs × labels]``."""
        X = self._check_features(X, reset=True)
        labels = as_label_matrix(Y)
        if labels.shape[0] != X.shape[0]:
            raise ValueError(
                f"X and Y must have the same number of documents; received {X.shape[0]} and "
                f"{labels.shape[0]}"
            )
        counts = np.asarray(labels.sum(axis=0, dtype=np.int64)).ravel()
        self.label_counts_ = counts
        self.n_labels_ = labels.shape[1]
        self.never_labels_ = np.flatnonzero(counts == 0)
        self.always_labels_ = np.flatnonzero(counts == X.shape[0])
        self.active_labels_ = np.flatnonzero((counts > 0) & (counts < X.shape[0]))
        self.sparse_output_ = sp.issparse(Y)
        self.threshold_ = self._default_threshold
        if self.active_labels_.size:
            self._fit_active(X, labels[:, self.active_labels_])
        return self

    def label_scores(self, X: FeatureMatrix) -> np.ndarray:
        """Dense per-label scores ``[docs × labels]`` for ranking metrics (METHODS §4)."""
        check_is_fitted(self, "active_labels_")
        X = self._check_features(X, reset=False)
        scores = np.full((X.shape[0], self.n_labels_), self._never_score, dtype=np.float64)
        scores[:, self.always_labels_] = self._always_score
        if self.active_labels_.size:
            scores[:, self.active_labels_] = self._active_scores(X)
        return scores

    def predict(self, X: FeatureMatrix) -> np.ndarray | sp.csr_matrix:
        """0/1 predictions ``[docs × labels]`` (CSR uint8 if ``Y`` was sparse, else dense)."""
        check_is_fitted(self, "active_labels_")
        X = self._check_features(X, reset=False)
        pred = np.zeros((X.shape[0], self.n_labels_), dtype=np.uint8)
        pred[:, self.always_labels_] = 1
        if self.active_labels_.size:
            pred[:, self.active_labels_] = self._predict_active(X)
        return sp.csr_matrix(pred) if self.sparse_output_ else pred
