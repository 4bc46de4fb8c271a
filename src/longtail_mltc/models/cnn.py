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
    comparator consume; ``hidden_dim=None`` leaves Linear1 out (Kim's 2014 network, and
    LibMultiLabel's KimCNN): ``x`` is then the pooled features. Windows reaching past a
    document's end are left out of the max pooling, so a representation does not depend on how
    much padding its batch carries.

    Computed for speed on the CPU (``benchmarks/bench_cnn_libmultilabel.py``): the embeddings
    [B, T, E] are read as a channels-last [B, E, 1, T] image, so oneDNN convolves them without
    a transposed copy; the max is taken before bias and ReLU (both are monotone, so
    relu(max(z) + b) = max(relu(z + b))); and dropout draws uniform numbers instead of
    torch's CPU ``bernoulli_`` (:func:`embedding_dropout`). The parameters are the
    ``nn.Conv1d`` ones, so saved weights load unchanged.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 300,
        kernel_sizes: tuple[int, ...] = (3, 4, 5),
        num_filters: int = 128,
        hidden_dim: int | None = 1024,
        embedding_dropout: float = 0.25,
        feature_dropout: float = 0.5,
        pretrained: np.ndarray | torch.Tensor | None = None,
        padding_idx: int = 0,
        freeze_embedding: bool = False,
    ) -> None:
        super().__init__()
        if not kernel_sizes:
            raise ValueError("kernel_sizes must name at least one window size")
        if not 0.0 <= embedding_dropout < 1.0:
            raise ValueError(f"embedding_dropout must be in [0, 1), got {embedding_dropout}")
        self.padding_idx = padding_idx
        self.max_kernel = max(kernel_sizes)
        # freeze_embedding = Kim (2014) "CNN-static": keep the word vectors fixed. On small
        # corpora this curbs overfitting of the |V| × d embedding and skips its gradient and
        # optimiser update.
        self.embedding = make_embedding(
            vocab_size, embedding_dim, pretrained, padding_idx, freeze_embedding
        )
        self.embedding_dropout = embedding_dropout
        self.convs = nn.ModuleList(
            nn.Conv1d(embedding_dim, num_filters, kernel_size=k) for k in kernel_sizes
        )
        self.feature_dropout = nn.Dropout(feature_dropout)
        pooled_dim = num_filters * len(kernel_sizes)
        self.linear1 = None if hidden_dim is None else nn.Linear(pooled_dim, hidden_dim)
        self.output_dim = pooled_dim if hidden_dim is None else hidden_dim

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        if token_ids.size(1) < self.max_kernel:  # too short for the widest window: pad
            token_ids = nn.functional.pad(
                token_ids, (0, self.max_kernel - token_ids.size(1)), value=self.padding_idx
            )
        lengths = (token_ids != self.padding_idx).sum(dim=1)  # right-padded ids
        emb = embedding_dropout(self.embedding(token_ids), self.embedding_dropout, self.training)
        image = emb.unsqueeze(1).permute(0, 3, 1, 2)  # [B, E, 1, T], channels-last: no copy
        starts = torch.arange(token_ids.size(1), device=token_ids.device)
        pooled = []
        for conv in self.convs:
            width = conv.kernel_size[0]
            # [B, F, 1, S] in channels-last layout, read as [B, S, F] without a copy (masking
            # and pooling in this layout also hand the convolution's backward its gradient
            # without a reorder)
            feats = nn.functional.conv2d(image, conv.weight.unsqueeze(2)).permute(0, 2, 3, 1)[:, 0]
            # Valid windows start at s ≤ max(0, L − k): inside the document, or the single
            # window of a document shorter than k (its padding embeds to zeros). The set does
            # not depend on how much padding the batch adds.
            n_valid = (lengths - width + 1).clamp(min=1)
            invalid = starts[: feats.size(1)].unsqueeze(0) >= n_valid.unsqueeze(1)  # [B, S]
            feats = feats.masked_fill(invalid.unsqueeze(2), float("-inf"))
            pooled.append(torch.relu(feats.amax(dim=1) + conv.bias))
        features = self.feature_dropout(torch.cat(pooled, dim=1))
        return features if self.linear1 is None else torch.relu(self.linear1(features))


def embedding_dropout(emb: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout, as ``nn.functional.dropout``, from uniform draws.

    Hand-written because torch's CPU ``bernoulli_`` takes 2.3× as long as ``rand`` plus a
    comparison on a [100, 137, 300] batch of embeddings (36 vs 16 ms, 2 threads), about a
    tenth of a Kim CNN training step.
    """
    if not training or p == 0.0:
        return emb
    keep = torch.rand_like(emb) >= p
    return emb * keep * (1.0 / (1.0 - p))
