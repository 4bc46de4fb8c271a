"""Linear baselines by name (METHODS §2.3, §3.1): one registry, one builder."""

from __future__ import annotations

from longtail_mltc.linear.base import FeatureMatrix, LabelMatrix, LinearMultiLabelBase
from longtail_mltc.linear.powerset import LabelPowerset
from longtail_mltc.linear.svm import BalancedLinearSVMOneVsRest, LinearSVMOneVsRest
from longtail_mltc.linear.transformation import BinaryRelevance, ClassifierChains

__all__ = ["LINEAR_BASELINES", "build_linear_baseline", "fit_linear_baseline"]

LINEAR_BASELINES: dict[str, type[LinearMultiLabelBase]] = {
    "br": BinaryRelevance,
    "cc": ClassifierChains,
    "lp": LabelPowerset,
    "svm_ovr": LinearSVMOneVsRest,
    "svm_ovr_balanced": BalancedLinearSVMOneVsRest,
}


def build_linear_baseline(name: str, **params: object) -> LinearMultiLabelBase:
    """An unfitted baseline by registry name, configured with ``params`` (its ``__init__``)."""
    if name not in LINEAR_BASELINES:
        raise ValueError(
            f"unknown linear baseline {name!r}; available: {', '.join(LINEAR_BASELINES)}"
        )
    cls = LINEAR_BASELINES[name]
    accepted = cls._get_param_names()
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {unknown} for linear baseline {name!r}; accepted: {accepted}"
        )
    return cls(**params)


def fit_linear_baseline(
    name: str,
    X: FeatureMatrix,
    Y: LabelMatrix,
    X_val: FeatureMatrix | None = None,
    Y_val: LabelMatrix | None = None,
    **params: object,
) -> LinearMultiLabelBase:
    """Build and fit a baseline; the validation split shifts the threshold of the SVMs (§3.1).

    Baselines without a validation-tuned threshold (BR, CC, LP) ignore ``X_val``/``Y_val``.
    """
    model = build_linear_baseline(name, **params)
    model.fit(X, Y)
    if X_val is not None and hasattr(model, "shift_threshold"):
        model.shift_threshold(X_val, Y_val)
    return model
