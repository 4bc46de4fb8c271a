"""BiLSTM building blocks and the RNN+Att baseline encoder (METHODS §2.2, §2.3).

The helpers here are shared by the recurrent encoders (``rnn_att``, ``altxml``, ``cnn_rnn``):
an embedding with checked pretrained vectors, document lengths of right-padded id batches,
a packed (padding-free) run of a recurrent layer, and a softmax restricted to a mask.

Padding conventions, common to all three encoders:
- a document's length is the position after its last non-padding id (for right-padded ids this
  is the number of real tokens);
- recurrent layers run on packed sequences, so padding never enters a state and an output does
  not depend on how much padding its batch carries;
- an all-padding row (length 0) is read as one PAD token (its embedding, zero unless pretrained
  vectors say otherwise), as the Kim CNN does: the output is finite and padding-independent,
  and the classifier still sees a (constant) representation for an empty document.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def make_embedding(
    vocab_size: int,
    embedding_dim: int,
    pretrained: np.ndarray | torch.Tensor | None = None,
    padding_idx: int = 0,
    freeze: bool = False,
) -> nn.Embedding:
    """A |V| × d embedding: N(0, 1) init (torch's default, PAD row zero) or ``pretrained``."""
    if vocab_size < 2:
        raise ValueError(f"vocab_size must be ≥ 2 (pad + unk), got {vocab_size}")
    if embedding_dim < 1:
        raise ValueError(f"embedding_dim must be ≥ 1, got {embedding_dim}")
    embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
    if pretrained is not None:
        weights = torch.as_tensor(np.asarray(pretrained), dtype=torch.float32)
        if tuple(weights.shape) != (vocab_size, embedding_dim):
            raise ValueError(
                f"pretrained vectors have shape {tuple(weights.shape)}, "
                f"expected ({vocab_size}, {embedding_dim})"
            )
        with torch.no_grad():
            embedding.weight.copy_(weights)
    embedding.weight.requires_grad_(not freeze)
    return embedding


def document_lengths(token_ids: torch.Tensor, padding_idx: int = 0) -> torch.Tensor:
    """[B, T] right-padded ids → [B] lengths (position after the last non-PAD id, at least 1)."""
    positions = torch.arange(1, token_ids.size(1) + 1, device=token_ids.device)
    last = ((token_ids != padding_idx) * positions).amax(dim=1)
    return last.clamp(min=1)  # all-padding rows are read as one PAD token (module docstring)


def length_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """[B] lengths → [B, max_len] bool, True at positions t < length."""
    return torch.arange(max_len, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


def run_packed(
    rnn: nn.LSTM | nn.GRU, inputs: torch.Tensor, lengths: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run a batch-first recurrent layer on [B, T, E] inputs of the given [B] lengths (≥ 1).

    Returns the per-step outputs [B, T, H·dirs] (zeros past each length) and the final states
    of the last layer [B, H·dirs] (forward state at t = L − 1, backward state at t = 0).
    """
    packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, state = rnn(packed)
    h_n = state[0] if isinstance(state, tuple) else state  # LSTM: (h_n, c_n); GRU: h_n
    outputs, _ = pad_packed_sequence(out, batch_first=True, total_length=inputs.size(1))
    dirs = 2 if rnn.bidirectional else 1
    final = torch.cat([h_n[-dirs + d] for d in range(dirs)], dim=1)
    return outputs, final


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Softmax of ``scores`` over the positions where ``mask`` is True, 0 elsewhere.

    A slice with no True position gives all zeros (not NaN), and so does its gradient.
    """
    filled = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return torch.softmax(filled, dim=dim) * mask


def _bilstm(embedding_dim: int, hidden_size: int) -> nn.LSTM:
    if hidden_size < 1:
        raise ValueError(f"hidden_size must be ≥ 1, got {hidden_size}")
    return nn.LSTM(embedding_dim, hidden_size, batch_first=True, bidirectional=True)


def scoring_vector(dim: int) -> nn.Parameter:
    """A scoring vector w ∈ R^dim, U(−1/√dim, 1/√dim) like a Linear(dim, 1) weight."""
    bound = dim**-0.5
    return nn.Parameter(torch.empty(dim).uniform_(-bound, bound))


class BiLSTMBase(nn.Module):
    """embedding → dropout → one-layer BiLSTM on packed sequences (METHODS §2.2).

    ``encode_sequence`` returns the per-step states h [B, T, 2·hidden_size] (zero past each
    document's end) and the mask of valid positions [B, T]; subclasses pool them.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 256,
        hidden_size: int = 100,
        dropout: float = 0.5,
        pretrained: np.ndarray | torch.Tensor | None = None,
        padding_idx: int = 0,
        freeze_embedding: bool = False,
    ) -> None:
        super().__init__()
        self.padding_idx = padding_idx
        self.embedding = make_embedding(
            vocab_size, embedding_dim, pretrained, padding_idx, freeze_embedding
        )
        self.dropout = nn.Dropout(dropout)
        self.lstm = _bilstm(embedding_dim, hidden_size)
        self.output_dim = 2 * hidden_size

    def encode_sequence(self, token_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[B, T] ids → (h [B, T', 2·hidden], mask [B, T']) with T' = max(T, 1)."""
        if token_ids.size(1) == 0:  # no columns at all: one PAD column (all rows empty)
            token_ids = nn.functional.pad(token_ids, (0, 1), value=self.padding_idx)
        lengths = document_lengths(token_ids, self.padding_idx)
        emb = self.dropout(self.embedding(token_ids))
        h, _ = run_packed(self.lstm, emb, lengths)
        return h, length_mask(lengths, token_ids.size(1))


class RNNAttentionEncoder(BiLSTMBase):
    """RNN+Att baseline (METHODS §2.3): BiLSTM + one attention head over valid positions.

    Same embedding, dropout and BiLSTM as AltXML (§2.2: dim 256, N(0,1), dropout 0.5, 100
    units per direction). Scoring, chosen by ``attention_dim``:
    - ``None`` (default): α = softmax_t(h_t · w), one scoring vector, i.e. AltXML's head
      without the even/odd split, so the two models differ only in the alternation;
    - an int d: additive attention of Yang et al. (2016, HAN word level),
      α = softmax_t(tanh(W h_t + b) · u) with W ∈ R^{d × 2·hidden}.
    Padding is masked out of the softmax. Output a = Σ_t α_t h_t ∈ R^{2·hidden}.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 256,
        hidden_size: int = 100,
        dropout: float = 0.5,
        attention_dim: int | None = None,
        pretrained: np.ndarray | torch.Tensor | None = None,
        padding_idx: int = 0,
        freeze_embedding: bool = False,
    ) -> None:
        super().__init__(
            vocab_size,
            embedding_dim,
            hidden_size,
            dropout,
            pretrained,
            padding_idx,
            freeze_embedding,
        )
        if attention_dim is not None and attention_dim < 1:
            raise ValueError(f"attention_dim must be ≥ 1 or None, got {attention_dim}")
        self.projection = (
            nn.Linear(self.output_dim, attention_dim) if attention_dim is not None else None
        )
        self.w = scoring_vector(attention_dim or self.output_dim)

    def _weights(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        keys = torch.tanh(self.projection(h)) if self.projection is not None else h
        return masked_softmax(keys @ self.w, mask)

    def attention_weights(self, token_ids: torch.Tensor) -> torch.Tensor:
        """α [B, T]: attention over positions (0 at padding), in the module's current mode."""
        h, mask = self.encode_sequence(token_ids)
        return self._weights(h, mask)

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        h, mask = self.encode_sequence(token_ids)
        alpha = self._weights(h, mask)
        return torch.einsum("bt,btd->bd", alpha, h)
