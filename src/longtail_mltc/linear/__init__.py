"""Linear multi-label baselines over sparse TF-IDF features (METHODS §2.3, §3.1).

Library layer: scikit-learn, NumPy/SciPy and skops (fitted baselines stored without pickle:
:mod:`~longtail_mltc.linear.persistence`); no Kedro, no MLflow.
"""

from longtail_mltc.linear.base import LinearMultiLabelBase, as_label_matrix
from longtail_mltc.linear.features import make_tfidf_vectorizer, tfidf_features
from longtail_mltc.linear.persistence import FittedBaseline, dump_baseline, load_baseline
from longtail_mltc.linear.powerset import LabelPowerset, unique_label_sets
from longtail_mltc.linear.registry import (
    LINEAR_BASELINES,
    build_linear_baseline,
    fit_linear_baseline,
)
from longtail_mltc.linear.svm import BalancedLinearSVMOneVsRest, LinearSVMOneVsRest
from longtail_mltc.linear.transformation import BinaryRelevance, ClassifierChains

__all__ = [
    "LINEAR_BASELINES",
    "BalancedLinearSVMOneVsRest",
    "BinaryRelevance",
    "ClassifierChains",
    "FittedBaseline",
    "LabelPowerset",
    "LinearMultiLabelBase",
    "LinearSVMOneVsRest",
    "as_label_matrix",
    "build_linear_baseline",
    "dump_baseline",
    "fit_linear_baseline",
    "load_baseline",
    "make_tfidf_vectorizer",
    "tfidf_features",
    "unique_label_sets",
]
