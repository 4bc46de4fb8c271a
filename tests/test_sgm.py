"""SGM: targets, teacher forcing, global embedding, decoding (METHODS §2.3; Yang et al. 2018)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from longtail_mltc.models.sgm import (
    SGM,
    TARGET_PAD,
    frequency_label_order,
    label_sequence_targets,
    sequence_loss,
)

VOCAB = 30


def _tiny_sgm(num_labels: int = 5, seed: int = 0, weight_scale: float | None = None, **kw) -> SGM:
    """A small SGM in eval mode; ``weight_scale`` redraws every weight from N(0, scale²).

    Redrawn weights make an untrained model's decodings differ between documents and steps
    (the default initialisation gives nearly uniform, input-independent distributions).
    """
    torch.manual_seed(seed)
    args = dict(
        embedding_dim=8,
        encoder_hidden_dim=8,
        decoder_hidden_dim=16,
        label_embedding_dim=8,
        attention_dim=8,
        dropout=0.0,
    )
    model = SGM(VOCAB, num_labels, **{**args, **kw})
    if weight_scale is not None:
        with torch.no_grad():
            for param in model.parameters():
                param.normal_(0.0, weight_scale)
    return model.eval()


def _random_tokens(rng: np.random.Generator, n_docs: int, max_len: int = 9) -> torch.Tensor:
    """Right-padded token ids; lengths 0..max_len (an empty document included when n ≥ 3)."""
    lengths = rng.integers(1, max_len + 1, size=n_docs)
    if n_docs >= 3:
        lengths[2] = 0
    ids = np.zeros((n_docs, max_len), dtype=np.int64)
    for i, n in enumerate(lengths):  # test data only
        ids[i, :n] = rng.integers(1, VOCAB, size=n)
    return torch.as_tensor(ids)


# -- targets ------------------------------------------------------------------------------------


def test_targets_hand_example_in_frequency_order_then_end_then_padding():
    counts = np.array([5, 9, 5, 1])  # order: 1 (9), 0 (5, tie by index), 2 (5), 3 (1)
    labels = np.array(
        [
            [1, 1, 0, 1],  # {0, 1, 3} → 1, 0, 3
            [1, 0, 1, 0],  # {0, 2}    → 0, 2
            [0, 0, 0, 0],  # {}        → END only
        ]
    )
    end, pad = 4, TARGET_PAD
    expected = np.array(
        [
            [1, 0, 3, end],
            [0, 2, end, pad],
            [end, pad, pad, pad],
        ]
    )
    np.testing.assert_array_equal(label_sequence_targets(labels, counts), expected)
    np.testing.assert_array_equal(label_sequence_targets(sp.csr_matrix(labels), counts), expected)
    np.testing.assert_array_equal(label_sequence_targets(sp.csc_array(labels), counts), expected)
    np.testing.assert_array_equal(
        label_sequence_targets(labels, counts, max_labels=2),
        np.array([[1, 0, end], [0, 2, end], [end, pad, pad]]),
    )
    np.testing.assert_array_equal(frequency_label_order(counts), [1, 0, 2, 3])


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    n_docs=st.integers(min_value=1, max_value=6),
    n_labels=st.integers(min_value=1, max_value=6),
)
def test_targets_hold_each_label_set_in_descending_count_order(data, n_docs, n_labels):
    cells = st.lists(st.integers(0, 1), min_size=n_labels, max_size=n_labels)
    labels = np.array(data.draw(st.lists(cells, min_size=n_docs, max_size=n_docs)))
    counts = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n_labels, max_size=n_labels)))
    targets = label_sequence_targets(sp.csr_matrix(labels), counts)
    assert targets.shape == (n_docs, labels.sum(axis=1).max() + 1)
    for row, label_row in zip(targets, labels, strict=True):
        n = int(label_row.sum())
        emitted = [int(c) for c in row[:n]]
        assert set(emitted) == set(np.flatnonzero(label_row).tolist())
        keys = [(-counts[c], c) for c in emitted]
        assert keys == sorted(keys) and len(set(keys)) == n
        assert row[n] == n_labels
        assert (row[n + 1 :] == TARGET_PAD).all()


def test_target_building_rejects_bad_inputs():
    with pytest.raises(ValueError, match="expected 3"):
        label_sequence_targets(np.eye(3), np.ones(4))
    with pytest.raises(ValueError, match="binary"):
        label_sequence_targets(np.array([[2, 0], [0, 1]]), np.ones(2))
    with pytest.raises(ValueError, match="2-D"):
        label_sequence_targets(np.array([1, 0]), np.ones(2))


# -- global embedding ---------------------------------------------------------------------------


def test_global_embedding_gate_matches_a_hand_computation():
    model = _tiny_sgm(num_labels=3, label_embedding_dim=2)
    with torch.no_grad():
        model.gate_label.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
        model.gate_label.bias.copy_(torch.tensor([0.0, -1.0]))
        model.gate_average.weight.copy_(torch.tensor([[0.5, 0.0], [0.0, -1.0]]))
    e = torch.tensor([[1.0, 2.0]])
    e_bar = torch.tensor([[2.0, 0.0]])
    # H_1 = σ(1·1 + 0·2 + 0 + 0.5·2) = σ(2);  H_2 = σ(0·1 + 2·2 − 1 − 1·0) = σ(3)
    h1, h2 = 1 / (1 + math.exp(-2.0)), 1 / (1 + math.exp(-3.0))
    mixed, gate = model.mix_global_embedding(e, e_bar)
    torch.testing.assert_close(gate, torch.tensor([[h1, h2]]))
    expected = [(1 - h1) * 1.0 + h1 * 2.0, (1 - h2) * 2.0 + h2 * 0.0]
    torch.testing.assert_close(mixed, torch.tensor([expected]))


def test_decoder_input_averages_label_embeddings_by_the_previous_probabilities():
    model = _tiny_sgm(num_labels=4)
    previous = torch.tensor([2, 0])
    table = model.label_embedding.weight.detach()
    # A distribution concentrated on the previous label: ē = e, so any gate gives e back.
    one_hot = torch.nn.functional.one_hot(previous, 5).float()
    with torch.no_grad():
        torch.testing.assert_close(model.decoder_input(previous, one_hot), table[previous])
        # Concentrated elsewhere (on label 3): ē = e_3, the mix lies between e and e_3.
        elsewhere = torch.nn.functional.one_hot(torch.tensor([3, 3]), 5).float()
        _, gate = model.mix_global_embedding(table[previous], table[[3, 3]])
        torch.testing.assert_close(
            model.decoder_input(previous, elsewhere),
            (1 - gate) * table[previous] + gate * table[[3, 3]],
        )
        # Without global embedding the previous label's embedding is fed alone.
        model.global_embedding = False
        torch.testing.assert_close(model.decoder_input(previous, elsewhere), table[previous])


# -- teacher forcing and loss -------------------------------------------------------------------


def test_teacher_forced_logits_mask_the_gold_prefix_and_the_loss_ignores_padding():
    model = _tiny_sgm(num_labels=4, seed=1)
    tokens = _random_tokens(np.random.default_rng(0), 3)
    pad = TARGET_PAD
    targets = torch.tensor([[1, 0, 3, 4], [0, 2, 4, pad], [4, pad, pad, pad]])
    model.train()
    logits = model(tokens, targets)
    assert logits.shape == (3, 4, 5)
    masked = torch.isinf(logits)
    expected = torch.zeros(3, 4, 5, dtype=torch.bool)
    expected[0, 1, 1] = expected[0, 2, [1, 0]] = expected[0, 3, [1, 0, 3]] = True
    expected[1, 1, 0] = expected[1, 2, [0, 2]] = expected[1, 3, [0, 2]] = True
    assert torch.equal(masked, expected)

    loss = sequence_loss(logits, targets)
    log_p = torch.log_softmax(logits, dim=-1)
    steps = [(0, 0, 1), (0, 1, 0), (0, 2, 3), (0, 3, 4), (1, 0, 0), (1, 1, 2), (1, 2, 4), (2, 0, 4)]
    manual = -sum(log_p[b, t, c] for b, t, c in steps) / len(steps)
    torch.testing.assert_close(loss, manual)
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_forward_rejects_repeated_or_unknown_targets():
    model = _tiny_sgm(num_labels=4)
    tokens = torch.tensor([[3, 4, 5]])
    with pytest.raises(ValueError, match="repeats a label"):
        model(tokens, torch.tensor([[1, 1, 4]]))
    with pytest.raises(ValueError, match="END = 4"):
        model(tokens, torch.tensor([[5, 4]]))
    with pytest.raises(ValueError, match="END = 4"):
        model(tokens, torch.tensor([[-3, 4]]))


def test_pretrained_vectors_are_copied_and_shape_checked():
    vectors = np.random.default_rng(0).normal(size=(VOCAB, 8)).astype(np.float32)
    model = _tiny_sgm(pretrained=vectors)
    np.testing.assert_array_equal(model.embedding.weight.detach().numpy(), vectors)
    with pytest.raises(ValueError, match=r"expected \(30, 8\)"):
        _tiny_sgm(pretrained=vectors[:, :4])


# -- decoding -----------------------------------------------------------------------------------


def _assert_valid_decoding(decoding, n_docs: int, num_labels: int, max_labels: int) -> None:
    labels, scores, sequences, stopped = decoding
    assert labels.shape == scores.shape == (n_docs, num_labels) and labels.dtype == torch.bool
    assert sequences.shape[0] == n_docs and sequences.shape[1] <= max_labels
    for b in range(n_docs):
        emitted = [int(c) for c in sequences[b] if c != TARGET_PAD]
        # labels come first, then padding only; never END/BOS/PAD inside, never twice
        assert sequences[b, : len(emitted)].tolist() == emitted
        assert all(0 <= c < num_labels for c in emitted)
        assert len(set(emitted)) == len(emitted) <= max_labels
        assert set(np.flatnonzero(labels[b].numpy()).tolist()) == set(emitted)
        assert bool(stopped[b]) or len(emitted) == max_labels  # END or the limit
        assert (scores[b, labels[b]] > 0).all()
    assert ((scores >= 0) & (scores <= 1)).all()


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_docs=st.integers(1, 5),
    num_labels=st.integers(1, 6),
    max_labels=st.integers(1, 7),
    beam_size=st.integers(2, 5),
    end_bias=st.sampled_from([0.0, -3.0, -30.0, 3.0]),
    global_embedding=st.booleans(),
)
def test_decoding_yields_valid_label_sets_and_stops(
    seed, n_docs, num_labels, max_labels, beam_size, end_bias, global_embedding
):
    model = _tiny_sgm(num_labels, seed, weight_scale=0.7, global_embedding=global_embedding)
    with torch.no_grad():
        model.output.bias[num_labels] += end_bias  # from "END at once" to "never END"
    tokens = _random_tokens(np.random.default_rng(seed), n_docs)
    limit = min(max_labels, num_labels)

    greedy = model.decode(tokens, beam_size=1, max_labels=max_labels)
    _assert_valid_decoding(greedy, n_docs, num_labels, limit)
    beam = model.decode(tokens, beam_size=beam_size, max_labels=max_labels)
    _assert_valid_decoding(beam, n_docs, num_labels, limit)
    single_beam = model.beam_search(tokens, beam_size=1, max_labels=max_labels)
    for got, want in zip(single_beam, greedy, strict=True):
        torch.testing.assert_close(got, want)


@pytest.mark.parametrize("beam_size", [1, 3])
@pytest.mark.parametrize("seed", [3, 4])  # 3: some documents stop at the limit; 4: all at END
def test_decoding_agrees_with_teacher_forcing_on_its_own_output(seed, beam_size):
    """Decoding and ``forward`` are separate code paths. Fed the decoded sequence (+ END), the
    teacher-forced step distributions give the same scores (max over steps) and, for greedy
    decoding, pick the same token at every step."""
    num_labels = 6
    model = _tiny_sgm(num_labels, seed=seed, weight_scale=0.7)
    tokens = _random_tokens(np.random.default_rng(seed), 6)
    decoding = model.decode(tokens, beam_size=beam_size)
    sizes = decoding.labels.sum(dim=1)
    assert (sizes >= 2).sum() >= 3, sizes  # the check below is not vacuous
    for b in range(tokens.size(0)):
        emitted = [int(c) for c in decoding.sequences[b] if c != TARGET_PAD]
        end = [num_labels] if decoding.stopped_at_end[b] else []
        target = torch.tensor([emitted + end])
        with torch.no_grad():
            probs = torch.softmax(model(tokens[b : b + 1], target), dim=-1)[0]
        if beam_size == 1:
            assert probs.argmax(dim=-1).tolist() == target[0].tolist()
        torch.testing.assert_close(probs[:, :num_labels].amax(dim=0), decoding.scores[b])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), extra_padding=st.integers(1, 12), beam_size=st.integers(1, 3))
def test_decoding_does_not_depend_on_trailing_padding(seed, extra_padding, beam_size):
    model = _tiny_sgm(5, seed, weight_scale=0.7)
    tokens = _random_tokens(np.random.default_rng(seed), 4)
    padded = torch.nn.functional.pad(tokens, (0, extra_padding))
    short, long = model.decode(tokens, beam_size), model.decode(padded, beam_size)
    for a, b in zip(short, long, strict=True):
        torch.testing.assert_close(a, b)
    # Alone, without any padding, each document decodes as it does inside the padded batch.
    for b in range(tokens.size(0)):
        alone_ids = tokens[b : b + 1, : max(int((tokens[b] != 0).sum()), 1)]
        alone = model.decode(alone_ids, beam_size)
        torch.testing.assert_close(alone.labels[0], long.labels[b])
        torch.testing.assert_close(alone.scores[0], long.scores[b])


def test_invalid_decoding_arguments_are_rejected():
    model = _tiny_sgm()
    tokens = torch.tensor([[3, 4]])
    with pytest.raises(ValueError, match="beam_size"):
        model.decode(tokens, beam_size=0)
    with pytest.raises(ValueError, match="max_labels"):
        model.decode(tokens, max_labels=0)


# -- learning -----------------------------------------------------------------------------------


def test_overfits_a_tiny_batch_and_decodes_every_label_set_exactly():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    label_sets = [{0}, {1, 2}, {3}, {0, 4}, {2, 3, 4}, {1}, {0, 1, 4}, {2}]
    labels = np.zeros((len(label_sets), 5), dtype=np.int64)
    for i, s in enumerate(label_sets):  # test data only
        labels[i, sorted(s)] = 1
    tokens = torch.as_tensor(rng.integers(1, VOCAB, size=(len(label_sets), 6)))
    tokens[1, 4:] = 0  # some padding too
    targets = torch.as_tensor(label_sequence_targets(labels, labels.sum(axis=0)))

    model = _tiny_sgm(
        5, seed=0, embedding_dim=16, encoder_hidden_dim=16, decoder_hidden_dim=32
    ).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        optimiser.zero_grad()
        loss = sequence_loss(model(tokens, targets), targets)
        loss.backward()
        optimiser.step()
    assert loss.item() < 0.05
    model.eval()
    expected = torch.as_tensor(labels, dtype=torch.bool)
    for beam_size in (1, 3):
        decoding = model.decode(tokens, beam_size=beam_size)
        assert torch.equal(decoding.labels, expected), beam_size
        assert decoding.stopped_at_end.all()
        assert (decoding.scores[expected] > 0.5).all()
