"""Linear SVM one-vs-rest with a validation-shifted global threshold (METHODS §3.1).

One ``LinearSVC`` per label (``sklearn.multiclass.OneVsRestClassifier``), plain or with
``class_weight="balanced"`` (each binary problem reweighted by its own class frequencies). The
decision values are the scores (ranking metrics of METHODS §4 use them as they are). A label is
predicted when its decision value is ``>= threshold_``: 0.0 after ``fit`` alone, and after a
validation set is given, the one global threshold with the best validation micro-F1
(:func:`~longtail_mltc.evaluation.thresholds.search_global_threshold`): over every distinct
decision value (``threshold_grid=None``, exact) or over the given grid of decision values.

Labels never positive in training score ``-inf`` and are never predicted; labels positive in
every training document score ``+inf`` and are always predicted (whatever the threshold).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import LinearSVC

from longtail_mltc.evaluation.thresholds import search_global_threshold
from longtail_mltc.linear.base import (
    FeatureMatrix,
    LabelMatrix,
    LinearMultiLabelBase,
    as_label_matrix,
    one_vs_rest_target,
)

__all__ = ["BalancedLinearSVMOneVsRest", "LinearSVMOneVsRest"]


class LinearSVMOneVsRest(LinearMultiLabelBase):
    """Linear SVM one-vs-rest on TF-IDF, threshold shifted on validation (METHODS §3.1).

    Attributes (fitted): ``threshold_`` the decision threshold, ``validation_micro_f1_`` the
    validation micro-F1 at that threshold (None until a validation set is given).
    """

    _never_score: ClassVar[float] = -np.inf
    _always_score: ClassVar[float] = np.inf
    _default_threshold: ClassVar[float] = 0.0

    def __init__(
        self,
        C: float = 1.0,
        class_weight: dict | str | None = None,
        max_iter: int = 1000,
        tol: float = 1e-4,
        threshold_grid: Sequence[float] | None = None,
        random_state: int | None = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.threshold_grid = threshold_grid
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(
        self,
        X: FeatureMatrix,
        Y: LabelMatrix,
        X_val: FeatureMatrix | None = None,
        Y_val: LabelMatrix | None = None,
    ) -> LinearSVMOneVsRest:
        """Fit on ``(X, Y)``; with ``(X_val, Y_val)`` also shift the threshold on them."""
        if (X_val is None) != (Y_val is None):
            raise ValueError("give both X_val and Y_val (or neither)")
        super().fit(X, Y)
        self.validation_micro_f1_: float | None = None
        if X_val is not None:
            self.shift_threshold(X_val, Y_val)
        return self

    def shift_threshold(self, X_val: FeatureMatrix, Y_val: LabelMatrix) -> LinearSVMOneVsRest:
        """Set ``threshold_`` to the best validation micro-F1 threshold (METHODS §3.1)."""
        scores = self.decision_function(X_val)
        labels = as_label_matrix(Y_val, name="Y_val")
        if labels.shape != scores.shape:
            raise ValueError(
                f"Y_val must have shape {scores.shape} [validation docs × labels]; "
                f"received {labels.shape}"
            )
        grid = None if self.threshold_grid is None else np.asarray(self.threshold_grid, float)
        self.threshold_, self.validation_micro_f1_ = search_global_threshold(labels, scores, grid)
        return self

    def decision_function(self, X: FeatureMatrix) -> np.ndarray:
        """Decision values ``[docs × labels]`` (same as ``label_scores``)."""
        return self.label_scores(X)

    def _fit_active(self, X: FeatureMatrix, Y: sp.csr_matrix) -> None:
        svm = LinearSVC(
            C=self.C,
            class_weight=self.class_weight,
            max_iter=self.max_iter,
            tol=self.tol,
            random_state=self.random_state,
        )
        self.classifier_ = OneVsRestClassifier(svm, n_jobs=self.n_jobs)
        self.classifier_.fit(X, one_vs_rest_target(Y))

    def _active_scores(self, X: FeatureMatrix) -> np.ndarray:
        return self.classifier_.decision_function(X).reshape(X.shape[0], -1)


class BalancedLinearSVMOneVsRest(LinearSVMOneVsRest):
    """:class:`LinearSVMOneVsRest` with ``class_weight="balanced"`` by default (METHODS §3.1)."""

    def __init__(
        self,
        C: float = 1.0,
        class_weight: dict | str | None = "balanced",
        max_iter: int = 1000,
        tol: float = 1e-4,
        threshold_grid: Sequence[float] | None = None,
        random_state: int | None = 0,
        n_jobs: int | None = None,
    ) -> None:
        super().__init__(
            C=C,
            class_weight=class_weight,
            max_iter=max_iter,
            tol=tol,
            threshold_grid=threshold_grid,
            random_state=random_state,
            n_jobs=n_jobs,
        )
