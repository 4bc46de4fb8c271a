"""Encoders by name (LibMultiLabel-style registry): later issues add bilstm, altxml, transformer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from .classifier import MultiLabelClassifier
from .cnn import KimCNNEncoder

ENCODERS: dict[str, Callable[..., nn.Module]] = {
    "kim_cnn": KimCNNEncoder,
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
