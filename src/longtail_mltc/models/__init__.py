"""Torch modules: encoders, heads and (later) the comparator, HSCNN, AltXML, SGM."""

from .classifier import MultiLabelClassifier, init_head_bias_from_priors
from .cnn import KimCNNEncoder
from .registry import ENCODERS, build_classifier, build_encoder
from .siamese import (
    ComparisonHead,
    HybridOutput,
    HybridSiameseNetwork,
    MultiTaskLoss,
    multitask_loss,
)
from .support import (
    Prototypes,
    SupportRepresentations,
    encode_documents,
    label_prototypes,
    score_labels,
    score_labels_majority,
    score_tail_labels,
    support_representations,
)

__all__ = [
    "ComparisonHead",
    "ENCODERS",
    "HybridOutput",
    "HybridSiameseNetwork",
    "KimCNNEncoder",
    "MultiLabelClassifier",
    "MultiTaskLoss",
    "Prototypes",
    "SupportRepresentations",
    "build_classifier",
    "build_encoder",
    "encode_documents",
    "init_head_bias_from_priors",
    "label_prototypes",
    "multitask_loss",
    "score_labels",
    "score_labels_majority",
    "score_tail_labels",
    "support_representations",
]
