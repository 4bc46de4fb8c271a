"""Several devices: DDP over gloo on CPU, launched from inside the calling process
(``training/distributed.py``), against one process with the same global batches."""

from __future__ import annotations

import numpy as np
import pytest
import test_training_hscnn as hscnn_case  # the synthetic HSCNN problem
import test_training_sgm as sgm_case
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from longtail_mltc.losses import bce_loss
from longtail_mltc.training import (
    SGMTrainConfig,
    TrainConfig,
    fit,
    fit_sgm,
    seed_everything,
)
from longtail_mltc.training.engine import ShuffledBatchSampler, accumulation_weights

pytestmark = pytest.mark.slow  # each DDP training spawns a Python process (a few seconds)


def _weights_close(a: dict, b: dict, atol: float) -> None:
    for name, tensor in a.items():
        torch.testing.assert_close(b[name], tensor, rtol=0, atol=atol)


@pytest.fixture(scope="module")
def single_state() -> dict[str, torch.Tensor]:
    """The trained single network HSCNN starts from (as in test_training_hscnn)."""
    seed_everything(0)
    model = hscnn_case._classifier()
    config = TrainConfig(batch_size=32, max_epochs=4, learning_rate=5e-3, seed=0)
    fit(model, bce_loss, hscnn_case.TRAIN, hscnn_case.VALID, config)
    return model.state_dict()


def _single(devices: int, checkpoint_dir=None):
    seed_everything(0)
    model = hscnn_case._classifier()  # no dropout: every rank computes what one process would
    config = TrainConfig(
        batch_size=32,
        max_epochs=3,
        learning_rate=5e-3,
        seed=0,
        accelerator="cpu",
        devices=devices,
        accumulate_grad_batches=2,
    )
    result = fit(
        model, bce_loss, hscnn_case.TRAIN, hscnn_case.VALID, config, checkpoint_dir=checkpoint_dir
    )
    return result, model.state_dict()


def test_the_single_network_on_two_devices_trains_as_one_process(tmp_path):
    """With per-epoch checkpoints: every rank takes part in the save (it ends in a barrier)."""
    (one, weights_one), (two, weights_two) = _single(1), _single(2, tmp_path)
    assert (tmp_path / "last.ckpt").exists()
    assert len(one.history) == len(two.history) == 3
    for a, b in zip(one.history, two.history, strict=True):
        for key in ("train/loss", "valid/loss", "valid/epoch_micro_f1", "learning_rate"):
            assert b[key] == pytest.approx(a[key], abs=1e-5), key
    _weights_close(weights_one, weights_two, atol=1e-5)


def test_hscnn_on_two_devices_trains_as_one_process(single_state):
    def run(devices: int):
        model = hscnn_case._hscnn(single_state)
        config = hscnn_case._config(max_epochs=3, accelerator="cpu", devices=devices)
        return hscnn_case._fit(model, config), model.state_dict()

    (one, weights_one), (two, weights_two) = run(1), run(2)
    assert [h["epoch"] for h in two.history] == [0.0, 1.0, 2.0, 3.0]
    for a, b in zip(one.history, two.history, strict=True):
        for key in ("hscnn/train_loss", "valid/hybrid_micro_f1", "valid/hybrid_tail_siamese_map"):
            assert b[key] == pytest.approx(a[key], abs=1e-5), key
    _weights_close(weights_one, weights_two, atol=1e-5)


def test_sgm_on_two_devices_trains_as_one_process():
    """SGM's loss is a mean over label steps, so each rank's share is its share of the steps
    (an uneven split of documents would otherwise weigh documents, not steps)."""

    def run(devices: int):
        model = sgm_case._model()
        config = SGMTrainConfig(
            batch_size=6, max_epochs=4, learning_rate=1e-2, seed=0, accelerator="cpu",
            devices=devices,
        )  # fmt: skip
        result = fit_sgm(model, sgm_case.TRAIN, sgm_case.VALID, sgm_case.COUNTS, config)
        return result, model.state_dict()

    (one, weights_one), (two, weights_two) = run(1), run(2)
    for a, b in zip(one.history, two.history, strict=True):
        for key in ("train/loss", "valid/epoch_micro_f1"):
            assert b[key] == pytest.approx(a[key], abs=1e-5), key
    _weights_close(weights_one, weights_two, atol=1e-4)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 40),
    batch_size=st.integers(1, 9),
    world=st.integers(1, 4),
    window=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_ranks_share_every_global_batch_and_their_weights_add_up_to_its_share(
    n, batch_size, world, window, seed
):
    """Over the ranks, each global batch is split without loss or overlap, and the ranks'
    loss weights add up to ``world × window ×`` the batch's share of its window (what makes
    DDP's average of the accumulated gradients one step on the window as a batch)."""
    sizes = np.random.default_rng(seed).integers(1, 5, size=n)
    samplers = []
    for rank in range(world):
        sampler = ShuffledBatchSampler(n, batch_size, seed)
        sampler.shard(rank, world)
        sampler.set_epoch(0)
        samplers.append(sampler)
    batches = samplers[0].batches
    shares = accumulation_weights(batches, window, sizes)
    weights = [s.loss_weights(window, sizes) for s in samplers]
    for b, batch in enumerate(batches):
        parts = [s.local(batch) for s in samplers]
        used = [p for p, w in zip(parts, weights, strict=True) if w[b] > 0]
        assert sorted(np.concatenate(used).tolist()) == sorted(batch.tolist())
        total = sum(w[b] for w in weights)
        assert total == pytest.approx(shares[b] * window * world, rel=1e-12)
