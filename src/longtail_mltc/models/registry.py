"""Encoders by name (LibMultiLabel-style registry): Kim CNN (§1.1), AltXML (§2.2), the
neural baselines of its study (§2.3) and the fine-tuned pretrained transformer (§3.1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from .altxml import AltXMLEncoder
from .classifier import MultiLabelClassifier
from .cnn import KimCNNEncoder
from .cnn_rnn import CNNRNNEncoder
from .rnn import RNNAttentionEncoder
from .transformer import TransformerEncoder

TRANSFORMER_ENCODER = "transformer"  # reads its own tokenizer's ids, not the vocabulary's

ENCODERS: dict[str, Callable[..., nn.Module]] = {
    "kim_cnn": KimCNNEncoder,
    "altxml": AltXMLEncoder,
    "rnn_att": RNNAttentionEncoder,
    "cnn_rnn": CNNRNNEncoder,
    TRANSFORMER_ENCODER: TransformerEncoder,
}


def build_encoder(name: str, **kwargs: Any) -> nn.Module:
    """Instantiate a registered encoder by name."""
    try:
        factory = ENCODERS[name]
    except KeyError:
        raise ValueError(f"unknown encoder {name!r}; available: {sorted(ENCODERS)}") from None
    return factory(**kwargs)


def build_classifier(encoder_name: str, num_labels: int, **encoder_kwargs: Any) -> nn.Module:
    """Encoder by name + linear multi-label head."""
    return MultiLabelClassifier(build_encoder(encoder_name, **encoder_kwargs), num_labels)
