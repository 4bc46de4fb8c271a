"""Kim-style CNN text encoder (METHODS.md §1.1)."""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np
import torch
from torch import nn
from torch.autograd.function import once_differentiable

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
    relu(max(z) + b) = max(relu(z + b))); the backward touches only the windows that won the
    max (:func:`window_max`); and dropout draws uniform numbers instead of torch's CPU
    ``bernoulli_`` (:func:`embedding_dropout`). The parameters are the ``nn.Conv1d`` ones, so
    saved weights load unchanged.
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
        starts = torch.arange(token_ids.size(1), device=token_ids.device)
        pooled = []
        for conv in self.convs:
            width = conv.kernel_size[0]
            # Valid windows start at s ≤ max(0, L − k): inside the document, or the single
            # window of a document shorter than k (its padding embeds to zeros). The set does
            # not depend on how much padding the batch adds.
            n_valid = (lengths - width + 1).clamp(min=1)
            invalid = starts[: token_ids.size(1) - width + 1].unsqueeze(0) >= n_valid.unsqueeze(1)
            pooled.append(torch.relu(window_max(emb, conv.weight, invalid) + conv.bias))
        features = self.feature_dropout(torch.cat(pooled, dim=1))
        return features if self.linear1 is None else torch.relu(self.linear1(features))


def embedding_dropout(emb: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout, as ``nn.functional.dropout``, from cheaper random draws.

    Hand-written because torch's CPU generator is the cost: ``bernoulli_`` on a [100, 137, 300]
    batch of embeddings took 36 ms and ``rand`` 16 ms (2 threads), a tenth of a Kim CNN step.
    On the CPU one 63-bit ``random_`` draw gives three uniform 16-bit numbers
    (:func:`keep_mask`), ~5× cheaper than ``rand``; ``p`` is then rounded to a multiple of
    1/65536 (0.25 and 0.5 exactly), and the kept values are scaled by the rounded share.
    """
    if not training or p == 0.0:
        return emb
    keep, kept_share = keep_mask(emb.shape, p, emb.device)
    return emb.mul(keep).mul_(1.0 / kept_share)  # in place: mul's backward keeps only ``keep``


def keep_mask(shape: torch.Size, p: float, device: torch.device) -> tuple[torch.Tensor, float]:
    """A bool mask keeping each entry with probability ≈ 1 − ``p``, and that probability."""
    if device.type != "cpu" or sys.byteorder != "little":
        return torch.rand(shape, device=device) >= p, 1.0 - p
    dropped = min(round(p * 65536), 65535)  # of the 65536 equally likely 16-bit draws
    count = math.prod(shape)
    words = torch.empty((count + 2) // 3, dtype=torch.int64).random_()  # [0, 2**63): 63 bits
    # the three low 16-bit parts of each word are uniform (the top one has its sign bit clear)
    keep = words.view(torch.int16).view(-1, 4)[:, :3] >= dropped - 32768
    return keep.view(-1)[:count].view(shape), 1.0 - dropped / 65536


def window_features(emb: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Convolution of embeddings [B, T, E] with ``nn.Conv1d`` weights [F, E, k] → [B, S, F].

    The embeddings are read as a channels-last [B, E, 1, T] image and the [B, F, 1, S] result
    as [B, S, F], both without a copy: oneDNN convolves that layout directly.
    """
    image = emb.unsqueeze(1).permute(0, 3, 1, 2)
    return nn.functional.conv2d(image, weight.unsqueeze(2)).permute(0, 2, 3, 1)[:, 0]


def window_max(emb: torch.Tensor, weight: torch.Tensor, invalid: torch.Tensor) -> torch.Tensor:
    """Max over the windows not ``invalid`` [B, S] of :func:`window_features` → [B, F].

    With a gradient on the CPU (fp32/fp64, no autocast) the backward is sparse
    (:class:`_SparseWindowMax`); elsewhere autograd's dense one. Both give the same parameter
    gradients: ties between windows need identical window contents, so identical token ids.
    """
    sparse = (
        torch.is_grad_enabled()
        and (emb.requires_grad or weight.requires_grad)
        and emb.device.type == "cpu"
        and emb.dtype in (torch.float32, torch.float64)
        and weight.dtype == emb.dtype
        and not torch.is_autocast_enabled("cpu")
    )
    if sparse:
        return _SparseWindowMax.apply(emb.contiguous(), weight, invalid)
    feats = window_features(emb, weight).masked_fill(invalid.unsqueeze(2), float("-inf"))
    return feats.amax(dim=1)


class _SparseWindowMax(torch.autograd.Function):
    """:func:`window_max` whose backward reads only the winning window of each map.

    Max-over-time pooling passes gradient to one window per (document, map), so the dense
    convolution backward (weight and input gradients, twice the forward's FLOPs) multiplies
    mostly zeros. Here both gradients are products with one sparse [F·k, B·T] matrix holding
    the pooled gradient at (map f, offset j) × (document b, position argmax + j): B·F·k
    non-zeros, ~1/S of the dense work. No library offers this (autograd cannot see that the
    max's gradient is one-hot); it makes a Kim CNN training step ~1.5× faster on 2 CPU cores
    and keeps no [B, S, F] activation for the backward.
    """

    @staticmethod
    def forward(ctx, emb: torch.Tensor, weight: torch.Tensor, invalid: torch.Tensor):
        feats = window_features(emb, weight).masked_fill(invalid.unsqueeze(2), float("-inf"))
        values, winner = feats.max(dim=1)
        ctx.save_for_backward(emb, weight, winner)
        return values

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor):
        emb, weight, winner = ctx.saved_tensors
        batch, length, dim = emb.shape
        maps, _, width = weight.shape
        device = emb.device
        # Row (f, j) of the [F·k, B·T] matrix holds, for each document b, the pooled gradient
        # at column b·T + winner[b, f] + j: B entries per row, already in column order (CSR).
        offsets = torch.arange(width, device=device).view(1, width, 1)
        doc_starts = (torch.arange(batch, device=device) * length).view(1, 1, batch)
        columns = winner.t().unsqueeze(1) + offsets + doc_starts  # [F, k, B]
        values = grad.t().unsqueeze(1).expand(maps, width, batch)
        rows = torch.arange(0, maps * width * batch + 1, batch, device=device)
        with warnings.catch_warnings():  # "sparse CSR support is in beta": used as documented
            warnings.simplefilter("ignore", UserWarning)
            windows = torch.sparse_csr_tensor(
                rows,
                columns.reshape(-1),
                values.reshape(-1).to(emb.dtype),
                size=(maps * width, batch * length),
            )
        grad_emb = grad_weight = None
        if ctx.needs_input_grad[0]:
            taps = weight.permute(0, 2, 1).reshape(maps * width, dim)  # [F·k, E]
            grad_emb = (windows.t() @ taps).view(batch, length, dim)
        if ctx.needs_input_grad[1]:
            grad_weight = (windows @ emb.view(batch * length, dim)).view(maps, width, dim)
            grad_weight = grad_weight.permute(0, 2, 1).contiguous()
        return grad_emb, grad_weight, None
