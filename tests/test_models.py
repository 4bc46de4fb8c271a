"""Kim CNN encoder and classifier (METHODS §1.1)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from longtail_mltc.models import (
    KimCNNEncoder,
    MultiLabelClassifier,
    build_classifier,
    init_head_bias_from_priors,
)


def _small_encoder(**kw) -> KimCNNEncoder:
    torch.manual_seed(0)
    args = dict(vocab_size=50, embedding_dim=8, num_filters=4, hidden_dim=16)
    return KimCNNEncoder(**{**args, **kw}).eval()


@settings(max_examples=30, deadline=None)
@given(
    tokens=st.lists(st.integers(min_value=2, max_value=49), min_size=1, max_size=20),
    extra_padding=st.integers(min_value=1, max_value=15),
)
def test_representation_does_not_depend_on_padding(tokens, extra_padding):
    encoder = _small_encoder()
    short = torch.tensor([tokens])
    padded = torch.tensor([tokens + [0] * extra_padding])
    with torch.no_grad():
        torch.testing.assert_close(encoder(short), encoder(padded))


def test_max_pooling_equals_a_direct_window_computation():
    """Independent formula: max over windows of ReLU(conv) written out with unfold."""
    encoder = _small_encoder(kernel_sizes=(3,), embedding_dropout=0.0, feature_dropout=0.0)
    ids = torch.tensor([[5, 6, 7, 8, 9, 0, 0]])  # 5 real tokens → 3 valid windows of width 3
    with torch.no_grad():
        emb = encoder.embedding(ids)[0, :5]  # [5, E]
        conv = encoder.convs[0]
        windows = emb.unfold(0, 3, 1)  # [3, E, 3]
        pre = torch.einsum("wek,fek->wf", windows, conv.weight) + conv.bias
        pooled = torch.relu(pre).max(dim=0).values
        expected = torch.relu(encoder.linear1(pooled))
        torch.testing.assert_close(encoder(ids)[0], expected)


def test_documents_shorter_than_the_widest_window_and_empty_documents_work():
    encoder = _small_encoder()
    with torch.no_grad():
        out = encoder(torch.tensor([[3, 4], [0, 0]]))
    assert out.shape == (2, 16) and torch.isfinite(out).all()


def test_pretrained_vectors_are_copied_and_shape_checked():
    vectors = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
    encoder = _small_encoder(pretrained=vectors)
    np.testing.assert_array_equal(encoder.embedding.weight.detach().numpy(), vectors)
    with pytest.raises(ValueError, match=r"expected \(50, 8\)"):
        _small_encoder(pretrained=vectors[:, :4])


def test_classifier_outputs_one_logit_per_label_and_registry_errors():
    model = build_classifier(
        "kim_cnn", 7, vocab_size=50, embedding_dim=8, num_filters=4, hidden_dim=16
    )
    assert isinstance(model, MultiLabelClassifier)
    assert model(torch.tensor([[2, 3, 4, 5]])).shape == (1, 7)
    with pytest.raises(ValueError, match="unknown encoder 'nope'.*kim_cnn"):
        build_classifier("nope", 3)


def test_prior_bias_init_makes_the_untrained_head_predict_the_priors():
    model = build_classifier(
        "kim_cnn", 3, vocab_size=50, embedding_dim=8, num_filters=4, hidden_dim=16
    )
    priors = np.array([0.5, 0.01, 0.2])
    init_head_bias_from_priors(model, priors)
    np.testing.assert_allclose(torch.sigmoid(model.head.bias).detach().numpy(), priors, rtol=1e-5)
    with pytest.raises(ValueError, match="expected \\(3,\\)"):
        init_head_bias_from_priors(model, np.array([0.1, 0.2]))


def test_without_hidden_layer_the_representation_is_the_pooled_features():
    """``hidden_dim=None`` (Kim 2014, LibMultiLabel's KimCNN): x = max-pooled ReLU features."""
    encoder = _small_encoder(kernel_sizes=(2, 3), hidden_dim=None, feature_dropout=0.0)
    assert encoder.linear1 is None and encoder.output_dim == 2 * 4
    ids = torch.tensor([[5, 6, 7, 8, 0]])
    emb = encoder.embedding(ids)[0, :4]
    expected = []
    for conv, k in zip(encoder.convs, (2, 3), strict=True):
        pre = torch.einsum("wek,fek->wf", emb.unfold(0, k, 1), conv.weight) + conv.bias
        expected.append(torch.relu(pre).max(dim=0).values)
    expected = torch.cat(expected)
    got = encoder(ids)[0]
    torch.testing.assert_close(got, expected)
    # gradients through the channels-last convolution equal those of the direct formula
    (grad_got,) = torch.autograd.grad(got.square().sum(), encoder.convs[1].weight)
    (grad_expected,) = torch.autograd.grad(expected.square().sum(), encoder.convs[1].weight)
    torch.testing.assert_close(grad_got, grad_expected, rtol=1e-5, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(min_value=1, max_value=5),
    length=st.integers(min_value=5, max_value=12),
    width=st.integers(min_value=1, max_value=5),
    maps=st.integers(min_value=1, max_value=6),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_sparse_window_max_gradients_equal_the_unfolded_formula(batch, length, width, maps, seed):
    """The sparse backward (only each map's winning window) against autograd on an independent
    formula: windows written out with unfold, invalid ones at -inf, max over windows (fp64)."""
    from longtail_mltc.models.cnn import window_max

    gen = torch.Generator().manual_seed(seed)
    emb = torch.randn(batch, length, 7, generator=gen, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(maps, 7, width, generator=gen, dtype=torch.float64, requires_grad=True)
    n_windows = length - width + 1
    n_valid = torch.randint(1, n_windows + 1, (batch,), generator=gen)
    invalid = torch.arange(n_windows).unsqueeze(0) >= n_valid.unsqueeze(1)
    upstream = torch.randn(batch, maps, generator=gen, dtype=torch.float64)

    got = window_max(emb, weight, invalid)
    grad_emb, grad_weight = torch.autograd.grad((got * upstream).sum(), (emb, weight))

    windows = emb.unfold(1, width, 1)  # [B, S, E, k]
    pre = torch.einsum("bsek,fek->bsf", windows, weight).masked_fill(
        invalid.unsqueeze(2), float("-inf")
    )
    expected = pre.max(dim=1).values
    want_emb, want_weight = torch.autograd.grad((expected * upstream).sum(), (emb, weight))
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(grad_emb, want_emb, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(grad_weight, want_weight, rtol=1e-10, atol=1e-10)


def test_embedding_dropout_keeps_the_expected_share_and_scales_the_kept_values():
    from longtail_mltc.models.cnn import embedding_dropout

    torch.manual_seed(0)
    x = torch.ones(200, 50, 30)
    out = embedding_dropout(x, 0.25, training=True)
    kept = out != 0
    # 300,000 Bernoulli(0.75) draws: the kept share is within 0.005 of 0.75 (~ 5 sd)
    assert abs(kept.float().mean().item() - 0.75) < 0.005
    torch.testing.assert_close(out[kept], torch.full_like(out[kept], 1 / 0.75))
    assert embedding_dropout(x, 0.25, training=False) is x
    assert embedding_dropout(x, 0.0, training=True) is x
    with pytest.raises(ValueError, match="embedding_dropout"):
        _small_encoder(embedding_dropout=1.0)
