"""A diverging training stops at the step where it diverges, with an error that says why."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from longtail_mltc.losses import bce_loss
from longtail_mltc.models import build_classifier
from longtail_mltc.training import EncodedSplit, TrainConfig, fit, seed_everything
from longtail_mltc.training.guards import (
    StepPlace,
    TrainingDiverged,
    check_finite_loss,
    clip_and_check_gradients,
)
from longtail_mltc.training.hscnn import HSCNNTrainConfig
from longtail_mltc.training.sgm import SGMTrainConfig

PLACE = StepPlace("KimCNN", epoch=2, step=7, learning_rate=1e8)


def _split(n: int, seed: int) -> EncodedSplit:
    rng = np.random.default_rng(seed)
    labels = sp.csr_matrix((rng.random((n, 3)) < 0.3).astype(np.uint8))
    return EncodedSplit(rng.integers(2, 30, size=(n, 10)), np.full(n, 10), labels)


def _model():
    return build_classifier(
        "kim_cnn", 3, vocab_size=30, embedding_dim=8, num_filters=4, hidden_dim=8,
        kernel_sizes=(1, 2),
    )  # fmt: skip


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_a_non_finite_loss_names_the_model_epoch_step_and_learning_rate(value):
    with pytest.raises(TrainingDiverged) as info:
        check_finite_loss(value, PLACE)
    message = str(info.value)
    assert "KimCNN diverged at epoch 2, step 7" in message
    assert "learning rate (1e+08)" in message and "training.learning_rate" in message
    check_finite_loss(1e30, PLACE)  # large but finite is not divergence


def test_during_a_warm_up_the_message_names_the_configured_rate_and_the_scheduled_one():
    warming = StepPlace("KimCNN", epoch=1, step=3, learning_rate=1e8, step_learning_rate=3e6)
    with pytest.raises(TrainingDiverged) as info:
        check_finite_loss(math.nan, warming)
    message = str(info.value)
    assert "learning rate (1e+08) is too high" in message
    assert "the schedule had it at 3e+06 at this step" in message
    same = StepPlace("KimCNN", epoch=1, step=3, learning_rate=1e8, step_learning_rate=1e8)
    with pytest.raises(TrainingDiverged) as info:
        check_finite_loss(math.nan, same)
    assert "schedule" not in str(info.value)


def test_fit_stops_at_the_batch_whose_loss_is_not_finite():
    calls = []

    def loss_going_inf_at_call_3(logits, targets):
        calls.append(1)
        loss = bce_loss(logits, targets)
        return loss * math.inf if len(calls) == 3 else loss

    seed_everything(0)
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    config = TrainConfig(batch_size=8, max_epochs=3, estimate_batches=0, seed=0)
    with pytest.raises(TrainingDiverged, match="diverged at epoch 1, step 3: the training loss"):
        fit(model, loss_going_inf_at_call_3, _split(64, 1), _split(16, 2), config)
    assert len(calls) == 3  # stopped at that step: no further batch, no validation pass
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert changed, "the two good steps trained"
    assert all(torch.isfinite(v).all() for v in model.state_dict().values())


def test_fit_stops_before_a_non_finite_gradient_reaches_the_weights():
    def loss_with_nan_gradient(logits, targets):
        # sqrt at 0 is finite, its derivative is not: a finite loss with a NaN gradient
        return bce_loss(logits, targets) + (logits * 0).sum().sqrt()

    seed_everything(0)
    model = _model()
    config = TrainConfig(batch_size=8, max_epochs=2, estimate_batches=0, seed=0)
    with pytest.raises(TrainingDiverged, match="epoch 1, step 1: the gradient norm is nan"):
        fit(model, loss_with_nan_gradient, _split(32, 1), _split(16, 2), config)
    assert all(torch.isfinite(v).all() for v in model.state_dict().values())


@settings(max_examples=30, deadline=None)
@given(
    shapes=st.lists(st.integers(1, 6), min_size=1, max_size=4),
    scale=st.floats(1e-3, 1e3),
    max_norm=st.one_of(st.none(), st.floats(1e-2, 10.0)),
    seed=st.integers(0, 2**16),
)
def test_the_checked_clip_equals_torchs_clip_grad_norm(shapes, scale, max_norm, seed):
    """Same norm and same clipped gradients as ``nn.utils.clip_grad_norm_`` (tolerance 1e-5
    relative), computed independently on a copy."""
    generator = torch.Generator().manual_seed(seed)
    params = [torch.nn.Parameter(torch.zeros(n, 3)) for n in shapes]
    for p in params:
        p.grad = torch.randn(p.shape, generator=generator) * scale
    reference = [torch.nn.Parameter(torch.zeros_like(p)) for p in params]
    for r, p in zip(reference, params, strict=True):
        r.grad = p.grad.clone()
    expected = float(torch.nn.utils.clip_grad_norm_(reference, max_norm or math.inf))
    norm = clip_and_check_gradients(params, max_norm, PLACE)
    assert norm == pytest.approx(expected, rel=1e-5)
    for r, p in zip(reference, params, strict=True):
        torch.testing.assert_close(p.grad, r.grad, rtol=1e-5, atol=1e-7)


def test_an_infinite_gradient_raises_and_leaves_the_gradients_unclipped():
    params = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))]
    params[0].grad = torch.tensor([1.0, 2.0])
    params[1].grad = torch.tensor([0.0, math.inf, 1.0])
    with pytest.raises(TrainingDiverged, match="the gradient norm is inf"):
        clip_and_check_gradients(params, 1.0, PLACE)
    assert params[0].grad.tolist() == [1.0, 2.0]
    assert clip_and_check_gradients([torch.nn.Parameter(torch.zeros(1))], 1.0, PLACE) == 0.0


@pytest.mark.parametrize("config", [TrainConfig, HSCNNTrainConfig, SGMTrainConfig])
@pytest.mark.parametrize("rate", [math.inf, math.nan, 0.0, -1e-3])
def test_a_learning_rate_that_is_not_finite_and_positive_is_rejected_up_front(config, rate):
    with pytest.raises(ValueError, match="learning_rate must be finite and > 0"):
        config(learning_rate=rate)
