"""AltXML encoder: BiLSTM + alternating attention (METHODS §2.2)."""

from __future__ import annotations

import numpy as np
import torch

from .rnn import BiLSTMBase, masked_softmax, scoring_vector


def alternating_attention(
    h: torch.Tensor, mask: torch.Tensor, w_m: torch.Tensor, w_n: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Alternating attention (METHODS §2.2) on states h [B, T, D] with valid-position mask [B, T].

    m_t = softmax over even valid t of h_t · w_m (0 at odd t and padding),
    n_t = softmax over odd valid t of h_t · w_n (0 at even t and padding),
    a = Σ_t ReLU(m_t + n_t) h_t. Positions t are 0-based. A head with no valid position (n for
    a one-token document) is all zeros rather than NaN. Since m, n ≥ 0 and never overlap, the
    ReLU is the identity; it is kept to match the specification. Returns (a [B, D], m, n).
    """
    even = torch.arange(h.size(1), device=h.device) % 2 == 0
    m = masked_softmax(h @ w_m, mask & even)
    n = masked_softmax(h @ w_n, mask & ~even)
    a = torch.einsum("bt,btd->bd", torch.relu(m + n), h)
    return a, m, n


class AltXMLEncoder(BiLSTMBase):
    """Token ids [B, T] → document vector a [B, 2·hidden_size] (METHODS §2.2).

    embedding (dim 256, N(0, 1) init unless ``pretrained``) → dropout 0.5 → one-layer BiLSTM,
    100 units per direction, on packed sequences → alternating attention with scoring vectors
    ``w_m`` (even positions) and ``w_n`` (odd positions). The Linear → sigmoid of §2.2 is the
    classifier head. An all-padding row is read as one PAD token (see ``models.rnn``), so its
    n head is all zeros and a = h_0.
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
        super().__init__(
            vocab_size,
            embedding_dim,
            hidden_size,
            dropout,
            pretrained,
            padding_idx,
            freeze_embedding,
        )
        self.w_m = scoring_vector(self.output_dim)
        self.w_n = scoring_vector(self.output_dim)

    def attention_weights(self, token_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(m, n), each [B, T]: the two heads' weights, in the module's current mode."""
        h, mask = self.encode_sequence(token_ids)
        _, m, n = alternating_attention(h, mask, self.w_m, self.w_n)
        return m, n

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        h, mask = self.encode_sequence(token_ids)
        return alternating_attention(h, mask, self.w_m, self.w_n)[0]
