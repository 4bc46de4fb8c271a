"""Encoders by name (LibMultiLabel-style registry): Kim CNN (§1.1), AltXML (§2.2), the
neural baselines of its study (§2.3) and the fine-tuned pretrained transformer (§3.1)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
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


def embedding_rows(state: Mapping[str, torch.Tensor], prefix: str = "") -> int:
    """Rows of a saved classifier's word embedding (its vocabulary size); 0 for an encoder
    that brings its own (a transformer ignores ``vocab_size``). ``prefix``: where the
    classifier sits in ``state`` (e.g. ``classifier.`` in an HSCNN)."""
    weight = state.get(f"{prefix}encoder.embedding.weight")
    return 0 if weight is None else int(weight.shape[0])


def load_classifier(
    encoder_name: str,
    num_labels: int,
    state: Mapping[str, torch.Tensor],
    **encoder_kwargs: Any,
) -> nn.Module:
    """:func:`build_classifier` sized for a saved ``state`` (vocabulary from its embedding),
    with ``state`` loaded strictly."""
    model = build_classifier(
        encoder_name, num_labels, vocab_size=embedding_rows(state), **encoder_kwargs
    )
    model.load_state_dict(state, strict=True)
    return model
