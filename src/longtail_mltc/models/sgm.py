"""SGM: sequence generation model for multi-label classification (METHODS §2.3 baselines).

Yang et al. (2018), COLING: an LSTM decoder with attention over a BiLSTM encoding generates a
document's label set one label per step, with the paper's global embedding as decoder input and
already-emitted labels masked.

* :func:`label_sequence_targets` - teacher-forcing targets: labels by descending training
  frequency, then END, padded with :data:`TARGET_PAD`.
* :class:`SGM` - ``model(token_ids, target_sequences)`` → teacher-forced logits
  ``[B, S, |C| + 1]`` (END ``= |C|``); :meth:`SGM.decode` (greedy or beam search) →
  :class:`SGMDecoding` (a binary label matrix and per-label ranking scores).
* :func:`sequence_loss` - cross-entropy over the teacher-forced steps, padding ignored.

Equations and the choices where the paper leaves room: docs/altxml.md#sgm.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .rnn import make_embedding

__all__ = [
    "SGM",
    "TARGET_PAD",
    "SGMDecoding",
    "frequency_label_order",
    "label_sequence_targets",
    "sequence_loss",
]

TARGET_PAD = -100
"""Padding of target sequences (``F.cross_entropy``'s default ``ignore_index``)."""

_State = tuple[torch.Tensor, torch.Tensor]


def frequency_label_order(label_counts: np.ndarray) -> np.ndarray:
    """Label indices by descending training count, ties by ascending index (SGM §2.1)."""
    counts = np.asarray(label_counts, dtype=np.float64)
    if counts.ndim != 1:
        raise ValueError(f"label_counts must be 1-D, got shape {counts.shape}")
    return np.lexsort((np.arange(counts.size), -counts))


def label_sequence_targets(
    label_matrix: np.ndarray | sp.spmatrix | sp.sparray,
    label_counts: np.ndarray,
    max_labels: int | None = None,
) -> np.ndarray:
    """Teacher-forcing targets ``[N, S]`` int64 from a binary label matrix ``[N, |C|]``.

    Row ``n`` holds document ``n``'s labels by descending ``label_counts`` (ties by label
    index), then END ``= |C|``, then :data:`TARGET_PAD`; ``S = longest label set + 1``. With
    ``max_labels`` only the most frequent ``max_labels`` labels of a document are kept.
    """
    if not sp.issparse(label_matrix) and np.ndim(label_matrix) != 2:
        raise ValueError(f"label_matrix must be 2-D, got shape {np.shape(label_matrix)}")
    matrix = sp.csr_matrix(label_matrix, copy=True)  # the caller's matrix is left alone
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    if not np.all(matrix.data == 1):
        raise ValueError("label_matrix must be binary (0/1)")
    n_docs, n_labels = matrix.shape
    order = frequency_label_order(label_counts)
    if order.size != n_labels:
        raise ValueError(f"label_counts has {order.size} entries, expected {n_labels}")
    if max_labels is not None and max_labels < 1:
        raise ValueError(f"max_labels must be ≥ 1, got {max_labels}")
    rank = np.empty(n_labels, dtype=np.int64)
    rank[order] = np.arange(n_labels)

    per_doc = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(n_docs), per_doc)
    cols = matrix.indices.astype(np.int64)
    by_rank = np.lexsort((rank[cols], rows))  # rows stay grouped, labels by rank inside
    rows, cols = rows[by_rank], cols[by_rank]
    position = np.arange(rows.size) - matrix.indptr[rows]
    if max_labels is not None:
        keep = position < max_labels
        rows, cols, position = rows[keep], cols[keep], position[keep]
        per_doc = np.minimum(per_doc, max_labels)

    targets = np.full((n_docs, int(per_doc.max(initial=0)) + 1), TARGET_PAD, dtype=np.int64)
    targets[rows, position] = cols
    targets[np.arange(n_docs), per_doc] = n_labels
    return targets


def sequence_loss(logits: torch.Tensor, target_sequences: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over teacher-forced steps, :data:`TARGET_PAD` steps ignored.

    ``logits``: ``[B, S, |C| + 1]`` from :meth:`SGM.forward`; ``target_sequences``: ``[B, S]``.
    """
    return F.cross_entropy(
        logits.reshape(-1, logits.size(-1)),
        target_sequences.reshape(-1),
        ignore_index=TARGET_PAD,
    )


class SGMDecoding(NamedTuple):
    """Result of :meth:`SGM.decode` for a batch of ``B`` documents.

    ``labels``: bool ``[B, |C|]``, the decoded label sets. ``scores``: float ``[B, |C|]``, the
    highest probability each label got over the chosen sequence's steps (for ranking).
    ``sequences``: int64 ``[B, steps]``, the labels in emission order, :data:`TARGET_PAD` after
    the last one. ``stopped_at_end``: bool ``[B]``, False where ``max_labels`` stopped decoding.
    """

    labels: torch.Tensor
    scores: torch.Tensor
    sequences: torch.Tensor
    stopped_at_end: torch.Tensor


class _Memory(NamedTuple):
    states: torch.Tensor  # [B, T, 2·H_enc] encoder outputs
    keys: torch.Tensor  # [B, T, A] U_a h_i, computed once
    mask: torch.Tensor  # [B, T] True on real tokens

    def repeat_interleave(self, repeats: int) -> _Memory:
        return _Memory(*(t.repeat_interleave(repeats, dim=0) for t in self))


class SGM(nn.Module):
    """Sequence generation model over labels with global embedding (SGM paper §2; METHODS §2.3).

    word embedding → BiLSTM encoder → LSTM decoder with additive attention → ``|C| + 1`` logits
    per step (labels, END). See the module docstring for the exact equations and defaults.
    """

    def __init__(
        self,
        vocab_size: int,
        num_labels: int,
        embedding_dim: int = 256,
        encoder_hidden_dim: int = 128,
        decoder_hidden_dim: int = 256,
        label_embedding_dim: int = 128,
        attention_dim: int = 128,
        num_layers: int = 1,
        dropout: float = 0.2,
        global_embedding: bool = True,
        pretrained: np.ndarray | torch.Tensor | None = None,
        padding_idx: int = 0,
        freeze_embedding: bool = False,
    ) -> None:
        super().__init__()
        if vocab_size < 2:
            raise ValueError(f"vocab_size must be ≥ 2 (pad + unk), got {vocab_size}")
        if num_labels < 1:
            raise ValueError(f"num_labels must be ≥ 1, got {num_labels}")
        if num_layers < 1:
            raise ValueError(f"num_layers must be ≥ 1, got {num_layers}")
        self.num_labels = num_labels
        self.end_index = num_labels
        self.bos_index = num_labels + 1
        self.padding_idx = padding_idx
        self.num_layers = num_layers
        self.decoder_hidden_dim = decoder_hidden_dim
        self.global_embedding = global_embedding
        memory_dim = 2 * encoder_hidden_dim
        self.memory_dim = memory_dim

        self.embedding = make_embedding(
            vocab_size, embedding_dim, pretrained, padding_idx, freeze_embedding
        )
        self.dropout = nn.Dropout(dropout)
        inter_layer_dropout = dropout if num_layers > 1 else 0.0
        self.encoder = nn.LSTM(
            embedding_dim,
            encoder_hidden_dim,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=inter_layer_dropout,
        )
        self.bridge = nn.Linear(memory_dim, num_layers * decoder_hidden_dim)

        self.label_embedding = nn.Embedding(num_labels + 2, label_embedding_dim)
        self.gate_label = nn.Linear(label_embedding_dim, label_embedding_dim)  # W_1 (+ b)
        self.gate_average = nn.Linear(label_embedding_dim, label_embedding_dim, bias=False)  # W_2
        self.decoder = nn.LSTM(
            label_embedding_dim + memory_dim,
            decoder_hidden_dim,
            num_layers=num_layers,
            batch_first=True,
            dropout=inter_layer_dropout,
        )
        self.attention_query = nn.Linear(decoder_hidden_dim, attention_dim)  # W_a
        self.attention_key = nn.Linear(memory_dim, attention_dim, bias=False)  # U_a
        self.attention_score = nn.Linear(attention_dim, 1, bias=False)  # v
        self.readout_state = nn.Linear(decoder_hidden_dim, decoder_hidden_dim)  # W_d
        self.readout_context = nn.Linear(memory_dim, decoder_hidden_dim, bias=False)  # V_d
        self.output = nn.Linear(decoder_hidden_dim, num_labels + 1)  # W_o

    # -- building blocks ------------------------------------------------------------------------

    def encode(self, token_ids: torch.Tensor) -> tuple[_Memory, _State]:
        """Token ids ``[B, T]`` (right-padded) → attention memory and initial decoder state."""
        if token_ids.dim() != 2 or token_ids.size(1) < 1:
            raise ValueError(f"token_ids must be [B, T] with T ≥ 1, got {tuple(token_ids.shape)}")
        lengths = (token_ids != self.padding_idx).sum(dim=1).clamp(min=1)
        embedded = self.dropout(self.embedding(token_ids))
        packed = pack_padded_sequence(
            embedded, lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        outputs, (h_n, _) = self.encoder(packed)
        states, _ = pad_packed_sequence(outputs, batch_first=True)  # T = longest document
        mask = torch.arange(states.size(1), device=states.device) < lengths.unsqueeze(1)
        memory = _Memory(states, self.attention_key(states), mask)

        final = torch.cat([h_n[-2], h_n[-1]], dim=1)  # top layer: forward end, backward start
        batch = token_ids.size(0)
        h0 = torch.tanh(self.bridge(final)).view(batch, self.num_layers, -1).transpose(0, 1)
        return memory, (h0.contiguous(), torch.zeros_like(h0))

    def mix_global_embedding(
        self, label_embedding: torch.Tensor, average_embedding: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """SGM §2.3: ``H = σ(W_1 e + W_2 ē + b)``; returns ``((1 − H) ∘ e + H ∘ ē, H)``."""
        gate = torch.sigmoid(
            self.gate_label(label_embedding) + self.gate_average(average_embedding)
        )
        return (1.0 - gate) * label_embedding + gate * average_embedding, gate

    def decoder_input(
        self, previous_labels: torch.Tensor, previous_probs: torch.Tensor | None
    ) -> torch.Tensor:
        """``g(y_{t-1})``: the previous label's embedding, gated with ``ē`` (SGM §2.3).

        ``previous_probs`` ``[B, |C| + 1]`` is the previous step's (masked) output
        distribution, ``None`` at the first step or without global embedding.
        """
        embedded = self.label_embedding(previous_labels)
        if not self.global_embedding or previous_probs is None:
            return embedded
        average = previous_probs @ self.label_embedding.weight[: self.num_labels + 1]
        return self.mix_global_embedding(embedded, average)[0]

    def _step(
        self,
        previous_labels: torch.Tensor,
        previous_probs: torch.Tensor | None,
        state: _State,
        context: torch.Tensor,
        memory: _Memory,
    ) -> tuple[torch.Tensor, _State, torch.Tensor]:
        """One decoder step (SGM §2.2) → unmasked logits, new state, new context."""
        inputs = torch.cat([self.decoder_input(previous_labels, previous_probs), context], dim=1)
        output, state = self.decoder(self.dropout(inputs).unsqueeze(1), state)
        query = output[:, 0]  # s_t of the top layer
        energy = self.attention_score(
            torch.tanh(memory.keys + self.attention_query(query).unsqueeze(1))
        ).squeeze(2)
        weights = torch.softmax(energy.masked_fill(~memory.mask, float("-inf")), dim=1)
        context = torch.bmm(weights.unsqueeze(1), memory.states).squeeze(1)
        hidden = torch.tanh(self.readout_state(query) + self.readout_context(context))
        return self.output(self.dropout(hidden)), state, context

    def _initial_context(self, memory: _Memory) -> torch.Tensor:
        return memory.states.new_zeros(memory.states.size(0), self.memory_dim)

    # -- training -------------------------------------------------------------------------------

    def forward(self, token_ids: torch.Tensor, target_sequences: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits ``[B, S, |C| + 1]`` for :func:`label_sequence_targets` output.

        Step ``t`` is fed the gold label ``t − 1`` (BOS at ``t = 0``); the labels of the gold
        prefix are masked to −∞ at step ``t`` as at decoding (SGM's ``I_t``).
        """
        targets = target_sequences.to(device=token_ids.device, dtype=torch.long)
        if targets.dim() != 2 or targets.size(0) != token_ids.size(0) or targets.size(1) < 1:
            raise ValueError(
                f"target_sequences must be [B={token_ids.size(0)}, S ≥ 1], "
                f"got {tuple(targets.shape)}"
            )
        is_pad = targets == TARGET_PAD
        if ((targets < 0) & ~is_pad).any() or (targets > self.end_index).any():
            raise ValueError(
                f"target ids must be labels 0..{self.num_labels - 1}, END = {self.end_index} "
                f"or TARGET_PAD = {TARGET_PAD}"
            )
        is_label = (targets >= 0) & (targets < self.num_labels)
        label_ids = torch.where(is_label, targets, self.end_index)
        one_hot = F.one_hot(label_ids, self.num_labels + 1) & is_label.unsqueeze(2)
        emitted = one_hot.cumsum(dim=1)  # [B, S, |C| + 1]: labels up to and including step t
        if (emitted > 1).any():
            raise ValueError("a target sequence repeats a label")
        emitted_before = F.pad(emitted[:, :-1] > 0, (0, 0, 1, 0))  # labels before step t

        # Inputs: BOS, then the gold labels; END (also for padding: those steps are ignored).
        previous = torch.cat(
            [targets.new_full((targets.size(0), 1), self.bos_index), label_ids[:, :-1]], dim=1
        )

        memory, state = self.encode(token_ids)
        context = self._initial_context(memory)
        probs: torch.Tensor | None = None
        step_logits = []
        for t in range(targets.size(1)):
            logits, state, context = self._step(previous[:, t], probs, state, context, memory)
            logits = logits.masked_fill(emitted_before[:, t], float("-inf"))
            probs = torch.softmax(logits, dim=1)
            step_logits.append(logits)
        return torch.stack(step_logits, dim=1)

    # -- decoding -------------------------------------------------------------------------------

    def _check_max_labels(self, max_labels: int | None) -> int:
        if max_labels is None:
            return self.num_labels
        if max_labels < 1:
            raise ValueError(f"max_labels must be ≥ 1, got {max_labels}")
        return min(max_labels, self.num_labels)

    @torch.no_grad()
    def decode(
        self, token_ids: torch.Tensor, beam_size: int = 1, max_labels: int | None = None
    ) -> SGMDecoding:
        """Label sets and ranking scores: greedy for ``beam_size = 1``, else beam search.

        Call ``model.eval()`` first (dropout would otherwise make decoding random).
        """
        if beam_size < 1:
            raise ValueError(f"beam_size must be ≥ 1, got {beam_size}")
        if beam_size == 1:
            return self.greedy_decode(token_ids, max_labels)
        return self.beam_search(token_ids, beam_size, max_labels)

    @torch.no_grad()
    def greedy_decode(self, token_ids: torch.Tensor, max_labels: int | None = None) -> SGMDecoding:
        """Emit the most probable unmasked token at each step until END or ``max_labels``."""
        limit = self._check_max_labels(max_labels)
        memory, state = self.encode(token_ids)
        context = self._initial_context(memory)
        batch = token_ids.size(0)
        device = token_ids.device
        previous = torch.full((batch,), self.bos_index, dtype=torch.long, device=device)
        probs: torch.Tensor | None = None
        emitted = torch.zeros(batch, self.num_labels + 1, dtype=torch.bool, device=device)
        finished = torch.zeros(batch, dtype=torch.bool, device=device)
        scores = memory.states.new_zeros(batch, self.num_labels)
        sequence = []
        for _ in range(limit):
            logits, state, context = self._step(previous, probs, state, context, memory)
            probs = torch.softmax(logits.masked_fill(emitted, float("-inf")), dim=1)
            active = ~finished
            scores = torch.where(
                active.unsqueeze(1), torch.maximum(scores, probs[:, : self.num_labels]), scores
            )
            previous = probs.argmax(dim=1)
            new_label = active & (previous != self.end_index)
            emitted |= F.one_hot(previous, self.num_labels + 1).bool() & new_label.unsqueeze(1)
            sequence.append(torch.where(new_label, previous, TARGET_PAD))
            finished |= previous == self.end_index
            if bool(finished.all()):
                break
        return SGMDecoding(
            labels=emitted[:, : self.num_labels],
            scores=scores,
            sequences=torch.stack(sequence, dim=1),
            stopped_at_end=finished,
        )

    @torch.no_grad()
    def beam_search(
        self, token_ids: torch.Tensor, beam_size: int = 3, max_labels: int | None = None
    ) -> SGMDecoding:
        """Beam search over label sequences, batched as documents × beams (SGM §2.2)."""
        if beam_size < 1:
            raise ValueError(f"beam_size must be ≥ 1, got {beam_size}")
        limit = self._check_max_labels(max_labels)
        n_out = self.num_labels + 1
        beams = min(beam_size, n_out)  # more beams than first-step tokens would stay empty
        memory, state = self.encode(token_ids)
        memory = memory.repeat_interleave(beams)
        state = (state[0].repeat_interleave(beams, dim=1), state[1].repeat_interleave(beams, dim=1))
        context = self._initial_context(memory)
        batch = token_ids.size(0)
        flat = batch * beams
        device = token_ids.device

        # Only beam 0 is live at the start, so the first top-k does not pick copies of it.
        beam_logp = memory.states.new_zeros(batch, beams)
        beam_logp[:, 1:] = float("-inf")
        previous = torch.full((flat,), self.bos_index, dtype=torch.long, device=device)
        probs: torch.Tensor | None = None
        emitted = torch.zeros(flat, n_out, dtype=torch.bool, device=device)
        finished = torch.zeros(flat, dtype=torch.bool, device=device)
        scores = memory.states.new_zeros(flat, self.num_labels)
        history = torch.empty(flat, 0, dtype=torch.long, device=device)
        # A finished hypothesis has one continuation, END at no cost: it is carried unchanged.
        carry = memory.states.new_full((n_out,), float("-inf"))
        carry[self.end_index] = 0.0
        batch_offset = (torch.arange(batch, device=device) * beams).unsqueeze(1)

        for _ in range(limit):
            logits, state, context = self._step(previous, probs, state, context, memory)
            masked = logits.masked_fill(emitted, float("-inf"))
            step_probs = torch.softmax(masked, dim=1)
            step_logp = torch.where(finished.unsqueeze(1), carry, torch.log_softmax(masked, dim=1))
            candidates = (beam_logp.reshape(flat, 1) + step_logp).view(batch, beams * n_out)
            beam_logp, best = candidates.topk(beams, dim=1)
            source = (batch_offset + torch.div(best, n_out, rounding_mode="floor")).view(-1)
            previous = (best % n_out).view(-1)

            state = (state[0][:, source], state[1][:, source])
            context, probs = context[source], step_probs[source]
            emitted, scores, history = emitted[source], scores[source], history[source]
            active = ~finished[source]
            scores = torch.where(
                active.unsqueeze(1), torch.maximum(scores, probs[:, : self.num_labels]), scores
            )
            new_label = active & (previous != self.end_index)
            emitted |= F.one_hot(previous, n_out).bool() & new_label.unsqueeze(1)
            history = torch.cat(
                [history, torch.where(new_label, previous, TARGET_PAD).unsqueeze(1)], dim=1
            )
            finished = ~active | (previous == self.end_index)
            if bool(finished.all()):
                break

        chosen = (batch_offset.squeeze(1) + beam_logp.argmax(dim=1)).view(-1)
        return SGMDecoding(
            labels=emitted[chosen, : self.num_labels],
            scores=scores[chosen],
            sequences=history[chosen],
            stopped_at_end=finished[chosen],
        )
