"""Recurrent encoders: AltXML (METHODS §2.2), RNN+Att and CNN-RNN (§2.3)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from longtail_mltc.models import (
    ENCODERS,
    AltXMLEncoder,
    CNNRNNEncoder,
    MultiLabelClassifier,
    RNNAttentionEncoder,
    alternating_attention,
    build_classifier,
)

VOCAB = 40
SMALL: dict[str, tuple[str, dict]] = {  # variant → (registered name, small kwargs)
    "altxml": ("altxml", dict(embedding_dim=8, hidden_size=6)),
    "rnn_att": ("rnn_att", dict(embedding_dim=8, hidden_size=6)),
    "rnn_att_additive": ("rnn_att", dict(embedding_dim=8, hidden_size=6, attention_dim=5)),
    "cnn_rnn": ("cnn_rnn", dict(embedding_dim=8, hidden_size=6, num_filters=7)),
    "cnn_rnn_gru_max": (
        "cnn_rnn",
        dict(embedding_dim=8, hidden_size=6, num_filters=7, cell="gru", pooling="max"),
    ),
}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _encoder(variant: str, **kw) -> nn.Module:
    torch.manual_seed(0)
    name, small = SMALL[variant]
    return ENCODERS[name](vocab_size=VOCAB, **{**small, **kw}).eval()


# ---- alternating attention: hand computation ---------------------------------------------------


def test_alternating_attention_matches_a_hand_computation():
    """T = 5, last position padded; w_m reads coordinate 0, w_n coordinate 1."""
    ln2, ln3 = math.log(2.0), math.log(3.0)
    h = torch.tensor(
        [[[0.0, 5.0], [7.0, 0.0], [ln3, -1.0], [2.0, ln2], [100.0, 100.0]]]  # t = 4 is padding
    )
    mask = torch.tensor([[True, True, True, True, False]])
    w_m, w_n = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    a, m, n = alternating_attention(h, mask, w_m, w_n)
    # even valid t ∈ {0, 2}: scores 0, ln 3 → 1/4, 3/4; odd t ∈ {1, 3}: scores 0, ln 2 → 1/3, 2/3
    expected_m = torch.tensor([[0.25, 0.0, 0.75, 0.0, 0.0]])
    expected_n = torch.tensor([[0.0, 1 / 3, 0.0, 2 / 3, 0.0]])
    torch.testing.assert_close(m, expected_m)
    torch.testing.assert_close(n, expected_n)
    expected_a = (
        0.25 * torch.tensor([0.0, 5.0])
        + (1 / 3) * torch.tensor([7.0, 0.0])
        + 0.75 * torch.tensor([ln3, -1.0])
        + (2 / 3) * torch.tensor([2.0, ln2])
    )
    torch.testing.assert_close(a[0], expected_a)


def test_alternating_attention_on_a_one_token_document_has_an_empty_odd_head():
    h = torch.tensor([[[2.0, -3.0], [9.0, 9.0], [9.0, 9.0]]])
    mask = torch.tensor([[True, False, False]])
    h.requires_grad_(True)
    a, m, n = alternating_attention(h, mask, torch.ones(2), torch.ones(2))
    torch.testing.assert_close(m, torch.tensor([[1.0, 0.0, 0.0]]))
    torch.testing.assert_close(n, torch.zeros(1, 3))
    torch.testing.assert_close(a, torch.tensor([[2.0, -3.0]]))
    a.sum().backward()
    assert torch.isfinite(h.grad).all()


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(min_value=0, max_value=7), min_size=1, max_size=4),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_alternating_heads_are_distributions_over_their_own_positions(lengths, seed):
    gen = torch.Generator().manual_seed(seed)
    T, D = 7, 3
    h = torch.randn(len(lengths), T, D, generator=gen) * 3
    w_m, w_n = torch.randn(D, generator=gen), torch.randn(D, generator=gen)
    mask = torch.arange(T).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    a, m, n = alternating_attention(h, mask, w_m, w_n)
    even = torch.arange(T) % 2 == 0
    for row, length in enumerate(lengths):
        n_even, n_odd = (length + 1) // 2, length // 2
        assert (m[row][~(mask[row] & even)] == 0).all()
        assert (n[row][~(mask[row] & ~even)] == 0).all()
        assert (m[row] >= 0).all() and (n[row] >= 0).all()
        assert m[row].sum().item() == pytest.approx(1.0 if n_even else 0.0, abs=1e-5)
        assert n[row].sum().item() == pytest.approx(1.0 if n_odd else 0.0, abs=1e-5)
        expected = sum((m[row, t] + n[row, t]) * h[row, t] for t in range(T))
        torch.testing.assert_close(a[row], expected)


# ---- the AltXML encoder ------------------------------------------------------------------------


def test_altxml_defaults_follow_methods_2_2():
    torch.manual_seed(0)
    encoder = AltXMLEncoder(vocab_size=2000)
    assert encoder.embedding.embedding_dim == 256
    weights = encoder.embedding.weight.detach()[1:]  # row 0 = PAD
    assert abs(weights.mean().item()) < 0.01 and abs(weights.std().item() - 1.0) < 0.01
    assert encoder.dropout.p == 0.5
    lstm = encoder.lstm
    assert (lstm.num_layers, lstm.hidden_size, lstm.bidirectional) == (1, 100, True)
    assert encoder.output_dim == 200 and encoder.w_m.shape == encoder.w_n.shape == (200,)
    out = encoder.eval()(torch.tensor([[5, 6, 7, 0]]))
    assert out.shape == (1, 200)


def test_altxml_lstm_states_ignore_padding_and_feed_the_attention():
    """Independent check of the packing: run the LSTM on the unpadded document directly."""
    encoder = _encoder("altxml")
    ids = torch.tensor([[4, 9, 13, 0, 0, 0], [7, 8, 9, 10, 11, 12]])
    with torch.no_grad():
        h, mask = encoder.encode_sequence(ids)
        direct, _ = encoder.lstm(encoder.embedding(ids[:1, :3]))
        torch.testing.assert_close(h[0, :3], direct[0])
        assert (h[0, 3:] == 0).all()
        assert mask.tolist() == [[True] * 3 + [False] * 3, [True] * 6]
        a, m, n = alternating_attention(h, mask, encoder.w_m, encoder.w_n)
        torch.testing.assert_close(encoder(ids), a)
        m2, n2 = encoder.attention_weights(ids)
    torch.testing.assert_close(m2, m)
    torch.testing.assert_close(n2, n)
    assert (m2[:, 1::2] == 0).all() and (n2[:, 0::2] == 0).all()
    assert (m2[0, 3:] == 0).all() and (n2[0, 3:] == 0).all()
    torch.testing.assert_close(m2.sum(1), torch.ones(2))
    torch.testing.assert_close(n2.sum(1), torch.ones(2))


def test_rnn_attention_weights_mask_padding():
    for variant in ("rnn_att", "rnn_att_additive"):
        encoder = _encoder(variant)
        ids = torch.tensor([[4, 9, 13, 0, 0], [7, 8, 9, 10, 11]])
        with torch.no_grad():
            alpha = encoder.attention_weights(ids)
            h, _ = encoder.encode_sequence(ids)
            out = encoder(ids)
        assert (alpha[0, 3:] == 0).all() and (alpha > 0)[0, :3].all()
        torch.testing.assert_close(alpha.sum(1), torch.ones(2))
        torch.testing.assert_close(out, torch.einsum("bt,btd->bd", alpha, h))


# ---- all encoders: padding, edge cases, registry, training -------------------------------------


@pytest.mark.parametrize("variant", sorted(SMALL))
@settings(max_examples=12, deadline=None)
@given(
    docs=st.lists(
        st.lists(st.integers(min_value=1, max_value=VOCAB - 1), min_size=1, max_size=9),
        min_size=1,
        max_size=3,
    ),
    extra_padding=st.integers(min_value=1, max_value=6),
)
def test_outputs_do_not_depend_on_trailing_padding(variant, docs, extra_padding):
    encoder = _encoder(variant)
    width = max(map(len, docs))
    tight = torch.tensor([d + [0] * (width - len(d)) for d in docs])
    padded = nn.functional.pad(tight, (0, extra_padding))
    with torch.no_grad():
        out_tight, out_padded = encoder(tight), encoder(padded)
        alone = torch.cat([encoder(torch.tensor([d])) for d in docs])  # no padding at all
    torch.testing.assert_close(out_padded, out_tight)
    torch.testing.assert_close(out_tight, alone)


@pytest.mark.parametrize("variant", sorted(SMALL))
@pytest.mark.parametrize("train", [False, True])
def test_one_token_and_all_padding_documents_give_finite_outputs(variant, train):
    encoder = _encoder(variant).train(train)
    for ids in (
        torch.tensor([[5, 0, 0, 0], [0, 0, 0, 0], [3, 4, 5, 6]]),
        torch.tensor([[5]]),
        torch.tensor([[0]]),
        torch.zeros(2, 0, dtype=torch.long),
    ):
        encoder.zero_grad()
        out = encoder(ids)
        assert out.shape == (ids.size(0), encoder.output_dim)
        assert torch.isfinite(out).all()
        out.sum().backward()
        grads = [p.grad for p in encoder.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)


def test_all_padding_row_equals_a_single_pad_token():
    """The documented choice: an empty document is read as one PAD token."""
    for variant in SMALL:
        encoder = _encoder(variant)
        with torch.no_grad():
            batch = encoder(torch.tensor([[0, 0, 0], [2, 3, 4]]))
            single = encoder(torch.tensor([[0]]))
        torch.testing.assert_close(batch[:1], single)


@pytest.mark.parametrize("name", ["altxml", "rnn_att", "cnn_rnn"])
def test_registry_builds_classifiers_and_checks_pretrained_shapes(name):
    model = build_classifier(name, 5, vocab_size=VOCAB, embedding_dim=8, hidden_size=6)
    assert isinstance(model, MultiLabelClassifier)
    assert model.head.in_features == 12
    assert model.eval()(torch.tensor([[2, 3, 4, 0], [5, 0, 0, 0]])).shape == (2, 5)
    vectors = np.random.default_rng(0).normal(size=(VOCAB, 8)).astype(np.float32)
    encoder = ENCODERS[name](vocab_size=VOCAB, embedding_dim=8, pretrained=vectors)
    np.testing.assert_array_equal(encoder.embedding.weight.detach().numpy(), vectors)
    with pytest.raises(ValueError, match=rf"shape \({VOCAB}, 4\), expected \({VOCAB}, 8\)"):
        ENCODERS[name](vocab_size=VOCAB, embedding_dim=8, pretrained=vectors[:, :4])
    frozen = ENCODERS[name](vocab_size=VOCAB, embedding_dim=8, freeze_embedding=True)
    assert not frozen.embedding.weight.requires_grad


def test_encoder_types_and_invalid_options():
    assert ENCODERS["altxml"] is AltXMLEncoder
    assert ENCODERS["rnn_att"] is RNNAttentionEncoder
    assert ENCODERS["cnn_rnn"] is CNNRNNEncoder
    assert ENCODERS["kim_cnn"].__name__ == "KimCNNEncoder"
    with pytest.raises(ValueError, match="cell"):
        CNNRNNEncoder(vocab_size=VOCAB, cell="transformer")
    with pytest.raises(ValueError, match="pooling"):
        CNNRNNEncoder(vocab_size=VOCAB, pooling="mean")
    with pytest.raises(ValueError, match="vocab_size"):
        AltXMLEncoder(vocab_size=1)


def _micro_f1(pred: torch.Tensor, y: torch.Tensor) -> float:
    tp = (pred * y).sum().item()
    return 2 * tp / (pred.sum().item() + y.sum().item())


SIZES = {"kim_cnn": {"num_filters": 16, "hidden_dim": 32}}


@pytest.mark.parametrize("name", ["altxml", "rnn_att", "cnn_rnn", "kim_cnn"])
def test_each_encoder_overfits_a_tiny_batch(name):
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(2)
    lengths = torch.randint(2, 12, (8,), generator=gen)
    ids = torch.randint(1, VOCAB, (8, 12), generator=gen)
    ids[torch.arange(12).unsqueeze(0) >= lengths.unsqueeze(1)] = 0
    y = (torch.rand(8, 5, generator=gen) < 0.4).float()
    y[0, 0] = 1.0  # at least one positive
    sizes = SIZES.get(name, {"hidden_size": 16})
    model = build_classifier(name, 5, vocab_size=VOCAB, embedding_dim=16, **sizes)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.BCEWithLogitsLoss()
    model.train()
    for _ in range(150):
        optimiser.zero_grad()
        loss = loss_fn(model(ids), y)
        loss.backward()
        optimiser.step()
    model.eval()
    with torch.no_grad():
        logits = model(ids)
    assert loss_fn(logits, y).item() < 0.05
    assert _micro_f1((logits > 0).float(), y) == 1.0
