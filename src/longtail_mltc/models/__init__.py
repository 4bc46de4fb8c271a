"""Torch modules: encoders (Kim CNN, AltXML, RNN+Att, CNN-RNN, transformer), heads, the
comparator, HSCNN and SGM."""

from .altxml import AltXMLEncoder, alternating_attention
from .classifier import MultiLabelClassifier, init_head_bias, init_head_bias_from_priors
from .cnn import KimCNNEncoder
from .cnn_rnn import CNNRNNEncoder
from .registry import ENCODERS, build_classifier, build_encoder, embedding_rows, load_classifier
from .rnn import RNNAttentionEncoder, masked_softmax
from .sgm import SGM, SGMDecoding, label_sequence_targets, sequence_loss
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
from .transformer import TransformerEncoder

__all__ = [
    "AltXMLEncoder",
    "CNNRNNEncoder",
    "ComparisonHead",
    "ENCODERS",
    "HybridOutput",
    "HybridSiameseNetwork",
    "KimCNNEncoder",
    "MultiLabelClassifier",
    "MultiTaskLoss",
    "Prototypes",
    "RNNAttentionEncoder",
    "SGM",
    "SGMDecoding",
    "SupportRepresentations",
    "TransformerEncoder",
    "alternating_attention",
    "build_classifier",
    "build_encoder",
    "embedding_rows",
    "encode_documents",
    "init_head_bias",
    "init_head_bias_from_priors",
    "label_prototypes",
    "label_sequence_targets",
    "load_classifier",
    "masked_softmax",
    "multitask_loss",
    "score_labels",
    "score_labels_majority",
    "score_tail_labels",
    "sequence_loss",
    "support_representations",
]
