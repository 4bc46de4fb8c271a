"""Problem-transformation baselines: Binary Relevance and Classifier Chains (METHODS §2.3).

Both train one L2 logistic regression per label over (sparse) TF-IDF features; scores are the
per-label probabilities and a label is predicted when its probability is >= 0.5 (the project's
``score >= threshold`` rule of :mod:`longtail_mltc.evaluation.metrics`). Labels that are
constant in training are handled by :class:`~longtail_mltc.linear.base.LinearMultiLabelBase`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.multioutput import ClassifierChain

from longtail_mltc.linear.base import (
    FeatureMatrix,
    LinearMultiLabelBase,
    make_logistic_regression,
    one_vs_rest_target,
)

__all__ = ["BinaryRelevance", "ClassifierChains"]


class _LogisticMultiLabel(LinearMultiLabelBase):
    """Probability scores from per-label logistic regressions."""

    def predict_proba(self, X: FeatureMatrix) -> np.ndarray:
        """Per-label probabilities ``[docs × labels]`` (same as ``label_scores``)."""
        return self.label_scores(X)

    def _logistic(self) -> LogisticRegression:
        return make_logistic_regression(
            self.C, self.class_weight, self.max_iter, self.tol, self.solver, self.random_state
        )


class BinaryRelevance(_LogisticMultiLabel):
    """Binary Relevance: one logistic regression per label, one-vs-rest (METHODS §2.3).

    Wraps ``sklearn.multiclass.OneVsRestClassifier``; ``n_jobs`` fits labels in parallel.
    ``predict_proba`` equals the one-vs-rest probabilities (``expit`` of the decision values).
    """

    def __init__(
        self,
        C: float = 1.0,
        class_weight: dict | str | None = None,
        max_iter: int = 1000,
        tol: float = 1e-4,
        solver: str = "liblinear",
        random_state: int | None = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _fit_active(self, X: FeatureMatrix, Y: sp.csr_matrix) -> None:
        self.classifier_ = OneVsRestClassifier(self._logistic(), n_jobs=self.n_jobs)
        self.classifier_.fit(X, one_vs_rest_target(Y))

    def _active_scores(self, X: FeatureMatrix) -> np.ndarray:
        return expit(self.classifier_.decision_function(X).reshape(X.shape[0], -1))


class ClassifierChains(_LogisticMultiLabel):
    """Classifier Chains of logistic regressions (METHODS §2.3).

    Wraps ``sklearn.multioutput.ClassifierChain`` (sparse ``X`` is kept sparse; the chain's
    label features are appended as extra sparse columns). ``order="random"`` draws the chain
    order from ``random_state``; a sequence gives the order over all labels (constant labels are
    skipped). The chain is sequential: no ``n_jobs``. Constant labels are left out of the chain:
    as features they would be constant columns, and as targets they crash the binary learner.
    """

    def __init__(
        self,
        C: float = 1.0,
        class_weight: dict | str | None = None,
        max_iter: int = 1000,
        tol: float = 1e-4,
        solver: str = "liblinear",
        order: Literal["random"] | Sequence[int] | None = "random",
        random_state: int | None = 0,
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver
        self.order = order
        self.random_state = random_state

    def _active_order(self) -> Literal["random"] | np.ndarray | None:
        """``order`` restricted to the active labels, as positions among them."""
        if self.order is None or isinstance(self.order, str):
            if self.order not in (None, "random"):
                raise ValueError(f"order must be 'random', None or a sequence; got {self.order!r}")
            return self.order
        order = np.asarray(self.order)
        if not np.array_equal(np.sort(order), np.arange(self.n_labels_)):
            raise ValueError(
                f"order must be a permutation of range({self.n_labels_}); received {self.order!r}"
            )
        kept = order[np.isin(order, self.active_labels_)]
        return np.searchsorted(self.active_labels_, kept)

    def _fit_active(self, X: FeatureMatrix, Y: sp.csr_matrix) -> None:
        self.classifier_ = ClassifierChain(
            self._logistic(), order=self._active_order(), random_state=self.random_state
        )
        self.classifier_.fit(X, Y.toarray())  # label matrix only (the chain needs it dense)

    def _active_scores(self, X: FeatureMatrix) -> np.ndarray:
        return self.classifier_.predict_proba(X)
