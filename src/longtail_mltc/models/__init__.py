"""Torch modules: encoders, heads and (later) the comparator, HSCNN, AltXML, SGM."""

from .classifier import MultiLabelClassifier, init_head_bias_from_priors
from .cnn import KimCNNEncoder
from .registry import ENCODERS, build_classifier, build_encoder

__all__ = [
    "ENCODERS",
    "KimCNNEncoder",
    "MultiLabelClassifier",
    "build_classifier",
    "build_encoder",
    "init_head_bias_from_priors",
]
