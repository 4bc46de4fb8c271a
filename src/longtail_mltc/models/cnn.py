"""Kim-style CNN text encoder (METHODS.md §1.1)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .rnn import make_embedding


class KimCNNEncoder(nn.Module):
    """Token ids [B, T] → document representation x [B, hidden] (METHODS §1.1).

    embedding → dropout → parallel 1-D convolutions (one per window size) + ReLU →
    max-over-time pooling, concatenated → dropout → Linear1 + ReLU. The output of Linear1
    (after ReLU) is the representation ``x`` that the classifier head and, later, the Siamese
    comparator consume. Windows reaching past a document's end are left out of the max
    pooling, so a representation does not depend on how much padding its batch carries.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 300,
        kernel_sizes: tuple[int, ...] = (3, 4, 5),
        num_filters: int = 128,
        hidden_dim: int = 1024,
        embedding_dropout: float = 0.25,
        feature_dropout: float = 0.5,
        pretrained: np.ndarray | torch.Tensor | None = None,
        padding_idx: int = 0,
        freeze_embedding: bool = False,
    ) -> None:
        super().__init__()
        if not kernel_sizes:
            raise ValueError("kernel_sizes must name at least one window size")
        self.padding_idx = padding_idx
        self.max_kernel = max(kernel_sizes)
        # freeze_embedding = Kim (2014) "CNN-static": keep the word vectors fixed. On small
        # corpora this curbs overfitting of the |V| × d embedding and skips its gradient and
        # optimiser update.
        self.embedding = make_embedding(
            vocab_size, embedding_dim, pretrained, padding_idx, freeze_embedding
        )
        self.embedding_dropout = nn.Dropout(embedding_dropout)
        self.convs = nn.ModuleList(
            nn.Conv1d(embedding_dim, num_filters, kernel_size=k) for k in kernel_sizes
        )
        self.feature_dropout = nn.Dropout(feature_dropout)
        self.linear1 = nn.Linear(num_filters * len(kernel_sizes), hidden_dim)
        self.output_dim = hidden_dim

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        if token_ids.size(1) < self.max_kernel:  # too short for the widest window: pad
            token_ids = nn.functional.pad(
                token_ids, (0, self.max_kernel - token_ids.size(1)), value=self.padding_idx
            )
        lengths = (token_ids != self.padding_idx).sum(dim=1, keepdim=True)  # right-padded ids
        emb = self.embedding_dropout(self.embedding(token_ids)).transpose(1, 2)  # [B, E, T]
        pooled = []
        for conv in self.convs:
            feats = torch.relu(conv(emb))  # [B, F, T - k + 1]
            # Valid windows start at s ≤ max(0, L − k): inside the document, or the single
            # window of a document shorter than k (its padding embeds to zeros). The set does
            # not depend on how much padding the batch adds.
            n_valid = (lengths - conv.kernel_size[0] + 1).clamp(min=1)
            starts = torch.arange(feats.size(2), device=feats.device).unsqueeze(0)
            valid = (starts < n_valid).unsqueeze(1)  # [B, 1, T - k + 1]
            # ReLU output ≥ 0, so filling invalid windows with 0 leaves the max of valid ones.
            pooled.append(feats.masked_fill(~valid, 0.0).amax(dim=2))
        features = self.feature_dropout(torch.cat(pooled, dim=1))
        return torch.relu(self.linear1(features))
