"""Training loop, batching and the BCE seam."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from longtail_mltc.losses import bce_loss, build_loss
from longtail_mltc.models import build_classifier
from longtail_mltc.training import EncodedSplit, MetricLogger, TrainConfig, fit, seed_everything
from longtail_mltc.training.data import WIDTH_MULTIPLE, batch_width, bucketed_batches, collate


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=400),
    batch_size=st.integers(min_value=1, max_value=64),
    bucket_factor=st.integers(min_value=1, max_value=10),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_bucketed_batches_cover_every_document_once_and_are_seeded(
    lengths, batch_size, bucket_factor, seed
):
    arr = np.asarray(lengths)
    batches = bucketed_batches(arr, batch_size, np.random.default_rng(seed), bucket_factor)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(len(arr)))
    assert all(1 <= len(b) <= batch_size for b in batches)
    again = bucketed_batches(arr, batch_size, np.random.default_rng(seed), bucket_factor)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))


def test_collate_trims_to_the_longest_document_rounded_up_to_the_width_multiple():
    width = WIDTH_MULTIPLE + 4
    ids = np.zeros((3, 2 * WIDTH_MULTIPLE + 3), dtype=np.int64)
    lengths = np.array([2, width, 1])
    for row, n in enumerate(lengths):
        ids[row, :n] = np.arange(2, 2 + n)
    split = EncodedSplit(ids, lengths, sp.csr_matrix(np.eye(3, dtype=np.uint8)))
    tokens, targets = collate(split, np.array([0, 2]), torch.device("cpu"))
    assert tokens.tolist() == ids[[0, 2], :WIDTH_MULTIPLE].tolist()
    assert targets.tolist() == [[1, 0, 0], [0, 0, 1]]
    tokens, _ = collate(split, np.array([1]), torch.device("cpu"))
    assert tokens.shape == (1, 2 * WIDTH_MULTIPLE)  # 12 tokens → 16 columns
    assert batch_width(2 * WIDTH_MULTIPLE + 1, 2 * WIDTH_MULTIPLE + 3) == 2 * WIDTH_MULTIPLE + 3
    assert batch_width(0, 10) == 1


def test_bce_is_the_summed_per_label_formula_averaged_over_documents():
    logits = torch.tensor([[0.3, -1.2], [2.0, 0.0]])
    targets = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    p = torch.sigmoid(logits)
    manual = -(targets * p.log() + (1 - targets) * (1 - p).log()).sum() / 2
    torch.testing.assert_close(bce_loss(logits, targets), manual)
    module = build_loss("bce", label_counts=[1, 1], n_train=2)
    torch.testing.assert_close(module(logits, targets), manual)
    with pytest.raises(ValueError, match="unknown loss 'focl'"):
        build_loss("focl", label_counts=[1, 1], n_train=2)


def _learnable_split(n: int, seed: int) -> EncodedSplit:
    """Label j is present exactly when token 2 + j appears: a CNN can learn it."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, 30, size=(n, 12))
    labels = rng.random((n, 3)) < 0.3
    for j in range(3):  # label j's token lands anywhere in positions 4j..4j+3, never overwritten
        rows = np.flatnonzero(labels[:, j])
        ids[rows, 4 * j + rng.integers(0, 4, size=len(rows))] = 2 + j
    return EncodedSplit(ids, np.full(n, 12), sp.csr_matrix(labels.astype(np.uint8)))


def _model(**overrides):
    """A small CNN that learns _learnable_split quickly; keyword arguments override its settings."""
    settings = dict(
        vocab_size=30,
        embedding_dim=16,
        num_filters=8,
        hidden_dim=32,
        kernel_sizes=(1, 2),
        embedding_dropout=0.0,
        feature_dropout=0.0,
    )
    return build_classifier("kim_cnn", 3, **{**settings, **overrides})


def test_fit_learns_keeps_the_best_epoch_and_logs_each_epoch():
    seed_everything(0)
    train, valid = _learnable_split(300, 1), _learnable_split(100, 2)
    logged: list[tuple[int, dict]] = []
    model = _model()
    config = TrainConfig(batch_size=16, max_epochs=15, learning_rate=5e-3, patience=15, seed=0)
    result = fit(
        model,
        bce_loss,
        train,
        valid,
        config,
        [MetricLogger(lambda m, step: logged.append((step, dict(m))))],
    )
    f1s = [h["valid/epoch_micro_f1"] for h in result.history]
    assert result.best_valid_micro_f1 == max(f1s) > 0.9
    assert result.best_epoch == 1 + int(np.argmax(f1s))
    # step 0: the time estimate (after the first batches); then one entry per epoch
    assert set(logged[0][1]) == {"estimate/epoch_seconds", "estimate/run_seconds"}
    assert [step for step, _ in logged] == list(range(0, len(result.history) + 1))
    # the model ends with the best weights, which are a copy (not aliases of live tensors)
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(tensor, result.best_state[name])
        assert tensor.data_ptr() != result.best_state[name].data_ptr()


def test_fit_is_reproducible_with_the_same_seed():
    def once():
        seed_everything(3)
        config = TrainConfig(batch_size=16, max_epochs=2, patience=2, seed=3)
        result = fit(_model(), bce_loss, _learnable_split(120, 1), _learnable_split(40, 2), config)
        return [h["valid/loss"] for h in result.history]

    assert once() == once()


def test_fit_stops_early_when_validation_does_not_improve():
    seed_everything(0)
    config = TrainConfig(batch_size=32, max_epochs=50, learning_rate=1e-9, patience=2, seed=0)
    result = fit(_model(), bce_loss, _learnable_split(64, 1), _learnable_split(32, 2), config)
    assert result.stopped_early and len(result.history) == result.best_epoch + 2


def test_invalid_training_configuration_is_rejected():
    with pytest.raises(ValueError, match="batch_size must be ≥ 1"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="share the first dimension"):
        EncodedSplit(np.zeros((2, 3), dtype=np.int64), np.zeros(3), sp.csr_matrix((2, 1)))


def test_frozen_embedding_stays_fixed_while_the_rest_trains():
    seed_everything(0)
    vectors = np.random.default_rng(0).normal(size=(30, 16)).astype(np.float32)
    model = _model(pretrained=vectors, freeze_embedding=True)
    head_before = model.head.weight.detach().clone()
    config = TrainConfig(batch_size=32, max_epochs=2, patience=2, seed=0)
    fit(model, bce_loss, _learnable_split(96, 1), _learnable_split(32, 2), config)
    np.testing.assert_array_equal(model.encoder.embedding.weight.detach().numpy(), vectors)
    assert not torch.equal(model.head.weight, head_before)


def test_learning_rate_halves_after_each_epoch_without_gain():
    """With lr_decay_patience=0 every epoch without gain halves the rate (ReduceLROnPlateau).

    lr 1e-7 cannot move validation micro-F1, and its halvings stay above ReduceLROnPlateau's
    eps (1e-8). Epoch 1 improves on the initial -1 and no later epoch does, so the rates used
    are 1e-7, 1e-7, 5e-8, 2.5e-8 (each logged before that epoch's scheduler step).
    """
    seed_everything(0)
    config = TrainConfig(
        batch_size=32,
        max_epochs=4,
        learning_rate=1e-7,
        patience=10,
        seed=0,
        lr_decay_factor=0.5,
        lr_decay_patience=0,
    )
    result = fit(_model(), bce_loss, _learnable_split(64, 1), _learnable_split(32, 2), config)
    rates = [h["learning_rate"] for h in result.history]
    assert rates == pytest.approx([1e-7, 1e-7, 5e-8, 2.5e-8])
    constant = TrainConfig(
        batch_size=32, max_epochs=3, learning_rate=1e-7, patience=10, seed=0, lr_decay_factor=None
    )
    history = fit(
        _model(), bce_loss, _learnable_split(64, 1), _learnable_split(32, 2), constant
    ).history
    assert [h["learning_rate"] for h in history] == [1e-7] * 3


def test_adamw_decays_matrices_only_and_decoupled_from_the_gradient():
    from longtail_mltc.training.trainer import make_optimizer

    model = torch.nn.Sequential(
        torch.nn.Embedding(6, 3), torch.nn.LayerNorm(3), torch.nn.Linear(3, 2)
    )
    model[0].weight.requires_grad_(False)  # frozen: in no group
    config = TrainConfig(optimizer="adamw", learning_rate=0.1, weight_decay=0.5)
    optimizer, _ = make_optimizer(model, config)
    assert isinstance(optimizer, torch.optim.AdamW)
    decayed = {
        id(p) for g in optimizer.param_groups if g["weight_decay"] == 0.5 for p in g["params"]
    }
    plain = {id(p) for g in optimizer.param_groups if g["weight_decay"] == 0.0 for p in g["params"]}
    assert decayed == {id(model[2].weight)}
    assert plain == {id(model[1].weight), id(model[1].bias), id(model[2].bias)}
    # zero gradients: Adam's step is 0, so only the decoupled decay moves w: w ← w (1 − lr·wd)
    before = [p.detach().clone() for p in (model[2].weight, model[2].bias, model[1].weight)]
    for p in model.parameters():
        p.grad = torch.zeros_like(p) if p.requires_grad else None
    optimizer.step()
    torch.testing.assert_close(model[2].weight, before[0] * (1 - 0.1 * 0.5))
    torch.testing.assert_close(model[2].bias, before[1], rtol=0, atol=0)
    torch.testing.assert_close(model[1].weight, before[2], rtol=0, atol=0)
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="sgd")


def test_accumulation_weights_are_each_batchs_share_of_its_window():
    from longtail_mltc.training.engine import accumulation_weights

    batches = [np.arange(n) for n in (10, 30, 5, 5, 4)]
    # windows of 2: (10, 30) → 1/4, 3/4; (5, 5) → 1/2, 1/2; the short last window (4) → 1
    assert accumulation_weights(batches, 2) == pytest.approx([0.25, 0.75, 0.5, 0.5, 1.0])
    assert accumulation_weights(batches, 1) == [1.0] * 5
    assert accumulation_weights([], 3) == []


def test_accumulated_small_batches_take_the_step_of_one_large_batch():
    """10 equal-length documents: one batch of 10, or two of 5 accumulated, give one Adam step
    on the same mean loss, so the weights after the epoch agree to float rounding."""

    def one_epoch(batch_size: int, accumulate: int) -> dict[str, torch.Tensor]:
        seed_everything(0)
        model = _model()
        config = TrainConfig(
            batch_size=batch_size,
            accumulate_grad_batches=accumulate,
            max_epochs=1,
            learning_rate=1e-2,
            lr_decay_factor=None,
            seed=0,
        )
        fit(model, bce_loss, _learnable_split(10, 1), _learnable_split(8, 2), config)
        return model.state_dict()

    large, accumulated, plain = one_epoch(10, 1), one_epoch(5, 2), one_epoch(5, 1)
    for name, tensor in large.items():
        torch.testing.assert_close(accumulated[name], tensor, rtol=1e-5, atol=1e-6)
    # without accumulation the two batches take two steps: the weights differ
    assert any(not torch.allclose(plain[n], t, atol=1e-6) for n, t in large.items())


def test_warm_up_raises_the_rate_linearly_then_hands_over_to_the_plateau_schedule():
    """64 documents in batches of 32: two steps per epoch. With 6 warm-up steps the rate at the
    end of epochs 1, 2, 3 is 2/6, 4/6 and 6/6 of the base; lr 1e-7 never gains, and the plateau
    schedule (patience 0) halves it only after warm-up: epoch 4 runs at the full rate and is
    logged before its own halving, epoch 5 at half."""
    seed_everything(0)
    config = TrainConfig(
        batch_size=32,
        max_epochs=5,
        learning_rate=1e-7,
        warmup_steps=6,
        patience=10,
        lr_decay_factor=0.5,
        lr_decay_patience=0,
        seed=0,
    )
    result = fit(_model(), bce_loss, _learnable_split(64, 1), _learnable_split(32, 2), config)
    rates = [h["learning_rate"] for h in result.history]
    assert rates == pytest.approx([1e-7 / 3, 2e-7 / 3, 1e-7, 1e-7, 5e-8])
    with pytest.raises(ValueError, match="warmup_steps"):
        TrainConfig(warmup_steps=-1)
    with pytest.raises(ValueError, match="accumulate_grad_batches"):
        TrainConfig(accumulate_grad_batches=0)


def test_cosine_schedule_follows_the_warm_up_then_half_a_cosine_to_zero():
    """Two steps per epoch, 4 epochs = 8 steps, 2 of warm-up: the rate logged after epoch e is
    that of step 2e − 1 (0-based), i.e. 1, ½(1 + cos(π/6)), ½ and ½(1 + cos(5π/6)) of the
    base; the plateau schedule stays off although lr 1e-7 never gains."""
    seed_everything(0)
    config = TrainConfig(
        batch_size=32,
        max_epochs=4,
        learning_rate=1e-7,
        warmup_steps=2,
        lr_schedule="cosine",
        patience=10,
        lr_decay_patience=0,
        seed=0,
    )
    result = fit(_model(), bce_loss, _learnable_split(64, 1), _learnable_split(32, 2), config)
    expected = [1.0, 0.5 * (1 + np.cos(np.pi / 6)), 0.5, 0.5 * (1 + np.cos(5 * np.pi / 6))]
    rates = [h["learning_rate"] for h in result.history]
    assert rates == pytest.approx([1e-7 * e for e in expected], rel=1e-6)
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainConfig(lr_schedule="linear")


def test_time_estimate_reaches_callbacks_once_before_the_first_epoch_ends():
    seed_everything(0)
    events: list[tuple[str, dict]] = []

    class Recorder:
        def on_estimate(self, metrics):
            events.append(("estimate", dict(metrics)))

        def on_epoch_end(self, epoch, metrics):
            events.append(("epoch", {"epoch": epoch}))

    config = TrainConfig(batch_size=8, max_epochs=3, patience=5, estimate_batches=3, seed=0)
    fit(_model(), bce_loss, _learnable_split(64, 1), _learnable_split(16, 2), config, [Recorder()])
    kinds = [kind for kind, _ in events]
    assert kinds == ["estimate", "epoch", "epoch", "epoch"]
    estimate = events[0][1]
    assert estimate["estimate/epoch_seconds"] > 0
    assert estimate["estimate/run_seconds"] == pytest.approx(3 * estimate["estimate/epoch_seconds"])
    # MetricLogger writes the estimate at step 0, before epoch 1's metrics
    logged: list[int] = []
    fit(
        _model(),
        bce_loss,
        _learnable_split(64, 1),
        _learnable_split(16, 2),
        config,
        [MetricLogger(lambda m, step: logged.append(step))],
    )
    assert logged == [0, 1, 2, 3]
