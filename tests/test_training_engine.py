"""The Lightning engine: batches, checkpoints and an exact resume."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from longtail_mltc.losses import bce_loss
from longtail_mltc.models import build_classifier
from longtail_mltc.training import EncodedSplit, MetricLogger, TrainConfig, fit, seed_everything
from longtail_mltc.training.data import bucketed_batches
from longtail_mltc.training.engine import (
    LAST_CHECKPOINT,
    BucketedBatchSampler,
    inference_device,
    resolve_accelerator,
    resolve_precision,
)


def _split(n: int, seed: int) -> EncodedSplit:
    """Label j is present exactly when token 2 + j appears; lengths vary (bucketing matters)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, 30, size=(n, 12))
    labels = rng.random((n, 3)) < 0.3
    for j in range(3):
        rows = np.flatnonzero(labels[:, j])
        ids[rows, 4 * j + rng.integers(0, 4, size=len(rows))] = 2 + j
    return EncodedSplit(ids, rng.integers(3, 13, size=n), sp.csr_matrix(labels.astype(np.uint8)))


def _model():
    seed_everything(0)
    return build_classifier(
        "kim_cnn", 3, vocab_size=30, embedding_dim=16, num_filters=8, hidden_dim=32,
        kernel_sizes=(1, 2),
    )  # fmt: skip


# dropout on, accumulation over uneven batches, warm-up then a plateau that halves the rate
CONFIG = TrainConfig(
    batch_size=16,
    max_epochs=6,
    learning_rate=5e-3,
    patience=6,
    min_delta=0.01,  # a gain under 0.01 counts as none, so the plateau acts on a steady climb
    seed=0,
    accumulate_grad_batches=2,
    warmup_steps=5,
    lr_decay_patience=0,
    estimate_batches=0,
)


class _InterruptAfter:
    """A callback that stops the training at the end of epoch ``epoch`` (like a kill there)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, epoch: int, metrics) -> None:
        if epoch == self.epoch:
            raise RuntimeError("interrupted")


def test_a_resumed_training_ends_exactly_as_the_uninterrupted_one(tmp_path):
    train, valid = _split(300, 1), _split(100, 2)
    logged: list[tuple[int, dict]] = []
    full = fit(_model(), bce_loss, train, valid, CONFIG, checkpoint_dir=tmp_path / "full")

    with pytest.raises(RuntimeError, match="interrupted"):
        fit(_model(), bce_loss, train, valid, CONFIG, [_InterruptAfter(3)],
            checkpoint_dir=tmp_path / "cut")  # fmt: skip
    assert (tmp_path / "cut" / LAST_CHECKPOINT).exists()  # written after epoch 2

    tracker = MetricLogger(lambda m, step: logged.append((step, dict(m))))
    model = _model()
    resumed = fit(model, bce_loss, train, valid, CONFIG, [tracker],
                  checkpoint_dir=tmp_path / "cut", resume=True)  # fmt: skip

    assert [step for step, _ in logged] == [3, 4, 5, 6]  # continues after the checkpoint's epoch
    assert len(resumed.history) == len(full.history) == 6
    for ours, theirs in zip(resumed.history, full.history, strict=True):
        assert ours.keys() == theirs.keys()
        for key in ("train/loss", "valid/loss", "valid/epoch_micro_f1", "learning_rate"):
            assert ours[key] == pytest.approx(theirs[key], rel=1e-5, abs=1e-7), key
    assert full.history[2]["learning_rate"] < CONFIG.learning_rate  # the plateau did act
    assert resumed.best_epoch == full.best_epoch
    for name, tensor in full.best_state.items():
        torch.testing.assert_close(resumed.best_state[name], tensor, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(model.state_dict()[name], tensor, rtol=1e-5, atol=1e-6)


def test_without_resume_an_old_checkpoint_is_removed_and_training_starts_over(tmp_path):
    train, valid = _split(120, 1), _split(40, 2)
    config = TrainConfig(batch_size=16, max_epochs=2, patience=2, seed=0, estimate_batches=0)
    first = fit(_model(), bce_loss, train, valid, config, checkpoint_dir=tmp_path)
    assert (tmp_path / LAST_CHECKPOINT).exists()
    again = fit(_model(), bce_loss, train, valid, config, checkpoint_dir=tmp_path)
    assert [h["epoch"] for h in again.history] == [1.0, 2.0]
    assert again.history[0]["train/loss"] == pytest.approx(first.history[0]["train/loss"])


def test_resume_without_a_checkpoint_trains_from_the_start(tmp_path):
    train, valid = _split(120, 1), _split(40, 2)
    config = TrainConfig(batch_size=16, max_epochs=2, patience=2, seed=0, estimate_batches=0)
    result = fit(_model(), bce_loss, train, valid, config, checkpoint_dir=tmp_path, resume=True)
    assert [h["epoch"] for h in result.history] == [1.0, 2.0]


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 50), min_size=1, max_size=300),
    batch_size=st.integers(1, 40),
    bucket_factor=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_the_sampler_draws_the_plain_batching_stream_and_knows_its_length(
    lengths, batch_size, bucket_factor, seed
):
    """Epoch after epoch the same batches as ``bucketed_batches`` on one generator; ``len`` is
    exact before the first draw (Lightning reads it first); restoring its state mid-way
    continues the stream."""
    arr = np.asarray(lengths)
    sampler = BucketedBatchSampler(arr, batch_size, seed, bucket_factor)
    reference = np.random.default_rng(seed)
    expected_len = len(bucketed_batches(arr, batch_size, np.random.default_rng(0), bucket_factor))
    assert len(sampler) == expected_len
    state = None
    for epoch in range(3):
        sampler.set_epoch(epoch)
        sampler.set_epoch(epoch)  # a repeated call does not draw again
        expected = bucketed_batches(arr, batch_size, reference, bucket_factor)
        assert [b.tolist() for b in sampler] == [b.tolist() for b in expected]
        assert len(sampler) == len(expected)
        if epoch == 0:
            state = sampler.state_dict()
    restored = BucketedBatchSampler(arr, batch_size, seed, bucket_factor)
    restored.load_state_dict(state)
    restored.set_epoch(0)  # Lightning calls earlier epochs while restoring: ignored
    restored.set_epoch(1)
    again = np.random.default_rng(seed)
    bucketed_batches(arr, batch_size, again, bucket_factor)
    expected = bucketed_batches(arr, batch_size, again, bucket_factor)
    assert [b.tolist() for b in restored] == [b.tolist() for b in expected]


def test_device_settings_have_lightnings_meanings_and_bad_ones_are_refused():
    cuda = torch.cuda.is_available()
    assert resolve_accelerator("auto") == ("gpu" if cuda else "cpu")
    assert resolve_accelerator("cpu") == "cpu"
    assert inference_device("cpu") == torch.device("cpu")
    assert inference_device("auto").type == ("cuda" if cuda else "cpu")
    # precision auto: fp32 on the CPU (bf16 measured slower there), bf16 only on a bf16 GPU
    assert resolve_precision("auto", "cpu") == "32"
    bf16_gpu = cuda and torch.cuda.is_bf16_supported()
    assert resolve_precision("auto", "auto") == ("bf16-mixed" if bf16_gpu else "32")
    assert resolve_precision("16-mixed", "cpu") == "16-mixed"  # an explicit choice stays
    assert TrainConfig().precision == "auto"
    with pytest.raises(ValueError, match="precision must be one of"):
        TrainConfig(precision="bf16")
    with pytest.raises(ValueError, match=r"TrainConfig.accelerator must be one of .*'tpu'"):
        TrainConfig(accelerator="tpu")
    for devices in (0, 1.5, True):
        with pytest.raises(ValueError, match="devices must be an integer ≥ 1"):
            TrainConfig(devices=devices)
    with pytest.raises(ValueError, match="precision must be one of"):
        TrainConfig(precision="64")


def _assert_same_training(resumed, full, keys, rel=1e-5) -> None:
    assert len(resumed.history) == len(full.history)
    for ours, theirs in zip(resumed.history, full.history, strict=True):
        for key in keys:
            assert ours[key] == pytest.approx(theirs[key], rel=rel, abs=1e-7), key
    assert resumed.best_epoch == full.best_epoch
    for name, tensor in full.best_state.items():
        torch.testing.assert_close(resumed.best_state[name], tensor, rtol=rel, atol=1e-6)


def test_hscnn_resumed_after_an_interruption_ends_as_the_uninterrupted_training(tmp_path):
    """Epoch 0 is not repeated, the triplet order and plateau continue where they stopped."""
    import test_training_hscnn as case

    seed_everything(0)
    single = case._classifier()
    fit(single, bce_loss, case.TRAIN, case.VALID, TrainConfig(batch_size=32, max_epochs=3, seed=0))
    state = single.state_dict()
    config = case._config(max_epochs=4, monitor="hybrid_tail_map", lr_decay_patience=0)
    full = case._fit(case._hscnn(state), config)

    def fit_hscnn_in(directory, callbacks=(), resume=False):
        from longtail_mltc.losses import build_loss
        from longtail_mltc.sampling import sample_triplets
        from longtail_mltc.training import fit_hscnn

        triplets = sample_triplets(case.TRAIN.labels, 300, seed=0)
        loss = build_loss("bce", label_counts=case.COUNTS, n_train=len(case.TRAIN))
        return fit_hscnn(case._hscnn(state), triplets, case.TRAIN, case.VALID, loss,
                         case.COUNTS, config, callbacks, checkpoint_dir=directory,
                         resume=resume)  # fmt: skip

    with pytest.raises(RuntimeError, match="interrupted"):
        fit_hscnn_in(tmp_path, [_InterruptAfter(3)])
    logged: list[int] = []
    resumed = fit_hscnn_in(tmp_path, [MetricLogger(lambda m, step: logged.append(step))], True)
    assert logged == [3, 4]
    keys = (
        "hscnn/train_loss",
        "valid/hybrid_tail_siamese_map",
        "valid/hybrid_micro_f1",
        "learning_rate",
    )
    _assert_same_training(resumed, full, keys)


def test_sgm_resumed_after_an_interruption_ends_as_the_uninterrupted_training(tmp_path):
    import test_training_sgm as case

    from longtail_mltc.training import SGMTrainConfig, fit_sgm

    config = SGMTrainConfig(batch_size=5, max_epochs=5, learning_rate=1e-2, patience=5, seed=0,
                            lr_decay_factor=0.5, lr_decay_patience=0)  # fmt: skip
    args = (case.TRAIN, case.VALID, case.COUNTS, config)
    full = fit_sgm(case._model(), *args)
    with pytest.raises(RuntimeError, match="interrupted"):
        fit_sgm(case._model(), *args, [_InterruptAfter(2)], checkpoint_dir=tmp_path)
    resumed = fit_sgm(case._model(), *args, checkpoint_dir=tmp_path, resume=True)
    _assert_same_training(resumed, full, ("train/loss", "valid/epoch_micro_f1", "learning_rate"))
