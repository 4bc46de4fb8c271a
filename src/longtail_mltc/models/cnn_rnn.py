"""CNN-RNN baseline encoder: convolutional window features fed to a BiRNN (METHODS §2.3)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import nn

from .rnn import document_lengths, length_mask, make_embedding, run_packed


class CNNRNNEncoder(nn.Module):
    """Token ids [B, T] → document vector [B, 2·hidden_size] (METHODS §2.3, "CNN-RNN").

    Follows C-LSTM (Zhou et al., 2015, "A C-LSTM Neural Network for Text Classification"):
    embedding → dropout → one 1-D convolution (window ``kernel_size``) + ReLU, whose window
    features, in text order and *without* pooling (pooling would break the sequence the RNN
    reads), are the RNN's input sequence → one-layer bidirectional LSTM (or GRU, ``cell``).
    The document vector is, by ``pooling``:
    - ``"last"`` (default, as C-LSTM): the final forward state ⊕ the final backward state;
    - ``"max"``: the element-wise max of the per-step outputs over valid steps.
    Embedding and RNN sizes default to the AltXML study's (§2.2: dim 256, N(0,1) init,
    dropout 0.5, 100 units per direction); 128 feature maps of width 3, as in §1.1.

    Padding: a document of length L has the windows starting at s ≤ max(0, L − k), as in the
    Kim CNN (a document shorter than the window has one window, its padding embedding as it
    is); the RNN reads them as a packed sequence, so the output does not depend on how much
    padding its batch carries. An all-padding row is read as one PAD token (``models.rnn``).
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 256,
        kernel_size: int = 3,
        num_filters: int = 128,
        hidden_size: int = 100,
        dropout: float = 0.5,
        cell: Literal["lstm", "gru"] = "lstm",
        pooling: Literal["last", "max"] = "last",
        pretrained: np.ndarray | torch.Tensor | None = None,
        padding_idx: int = 0,
        freeze_embedding: bool = False,
    ) -> None:
        super().__init__()
        if kernel_size < 1 or num_filters < 1 or hidden_size < 1:
            raise ValueError(
                "kernel_size, num_filters and hidden_size must be ≥ 1, got "
                f"{kernel_size}, {num_filters}, {hidden_size}"
            )
        rnn_classes = {"lstm": nn.LSTM, "gru": nn.GRU}
        if cell not in rnn_classes:
            raise ValueError(f"cell must be one of {sorted(rnn_classes)}, got {cell!r}")
        if pooling not in ("last", "max"):
            raise ValueError(f"pooling must be 'last' or 'max', got {pooling!r}")
        self.padding_idx = padding_idx
        self.kernel_size = kernel_size
        self.pooling = pooling
        self.embedding = make_embedding(
            vocab_size, embedding_dim, pretrained, padding_idx, freeze_embedding
        )
        self.dropout = nn.Dropout(dropout)
        self.conv = nn.Conv1d(embedding_dim, num_filters, kernel_size=kernel_size)
        self.rnn = rnn_classes[cell](num_filters, hidden_size, batch_first=True, bidirectional=True)
        self.output_dim = 2 * hidden_size

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        if token_ids.size(1) < self.kernel_size:  # too short for one window: pad
            token_ids = nn.functional.pad(
                token_ids, (0, self.kernel_size - token_ids.size(1)), value=self.padding_idx
            )
        lengths = document_lengths(token_ids, self.padding_idx)
        n_windows = (lengths - self.kernel_size + 1).clamp(min=1)
        emb = self.dropout(self.embedding(token_ids)).transpose(1, 2)  # [B, E, T]
        features = torch.relu(self.conv(emb)).transpose(1, 2)  # [B, T − k + 1, F]
        outputs, final = run_packed(self.rnn, features, n_windows)
        if self.pooling == "last":
            return final
        valid = length_mask(n_windows, outputs.size(1)).unsqueeze(2)
        return outputs.masked_fill(~valid, torch.finfo(outputs.dtype).min).amax(dim=1)
