"""SGM training loop (METHODS §2.3): it learns a tiny corpus, keeps its best epoch, decodes."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from longtail_mltc.inference.scores import decode_split
from longtail_mltc.models import SGM
from longtail_mltc.training import (
    EncodedSplit,
    MetricLogger,
    SGMTrainConfig,
    fit_sgm,
    seed_everything,
)

# 4 labels; token 2+c marks label c; documents carry 1-3 labels, padded to width 6.
LABEL_SETS = [[0], [1], [2], [3], [0, 1], [1, 2], [2, 3], [0, 3], [0, 1, 2], [1, 2, 3]] * 2


def _split(sets: list[list[int]], seed: int) -> EncodedSplit:
    rng = np.random.default_rng(seed)
    ids = np.zeros((len(sets), 6), dtype=np.int64)
    lengths = np.zeros(len(sets), dtype=np.int64)
    for row, labels in enumerate(sets):
        tokens = [2 + c for c in labels] + list(rng.integers(6, 9, rng.integers(0, 3)))
        rng.shuffle(tokens)
        ids[row, : len(tokens)] = tokens
        lengths[row] = len(tokens)
    y = sp.csr_matrix(
        (
            np.ones(sum(map(len, sets))),
            (np.repeat(np.arange(len(sets)), [len(s) for s in sets]), np.concatenate(sets)),
        ),
        shape=(len(sets), 4),
    )
    return EncodedSplit(ids, lengths, y)


TRAIN = _split(LABEL_SETS, 0)
VALID = EncodedSplit(TRAIN.token_ids[:10], TRAIN.lengths[:10], TRAIN.labels[:10])  # memorised
COUNTS = np.asarray(TRAIN.labels.sum(axis=0)).ravel()


def _model() -> SGM:
    seed_everything(0)
    return SGM(
        9,
        4,
        embedding_dim=16,
        encoder_hidden_dim=16,
        decoder_hidden_dim=32,
        label_embedding_dim=8,
        attention_dim=16,
        dropout=0.0,
    )


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: threads only add overhead
    yield
    torch.set_num_threads(before)


def test_sgm_learns_a_tiny_corpus_and_restores_its_best_epoch():
    model = _model()
    logged = []
    config = SGMTrainConfig(
        batch_size=5, max_epochs=40, learning_rate=1e-2, patience=40, accelerator="cpu", seed=0
    )
    result = fit_sgm(
        model, TRAIN, VALID, COUNTS, config, [MetricLogger(lambda m, s: logged.append(s))]
    )
    f1s = [h["valid/epoch_micro_f1"] for h in result.history]
    assert logged == list(range(1, len(f1s) + 1))
    assert result.best_epoch == int(np.argmax(f1s)) + 1
    assert result.best_valid_micro_f1 == max(f1s) == 1.0
    assert f1s[0] < 1.0  # it learned, it did not start there
    decisions, scores = decode_split(model, VALID, batch_size=4)
    np.testing.assert_array_equal(decisions, VALID.labels.toarray() > 0)  # best weights loaded
    assert (scores[decisions] > 0).all() and scores.shape == decisions.shape
    beam, _ = decode_split(model, VALID, batch_size=4, beam_size=3)
    np.testing.assert_array_equal(beam, decisions)


def test_decode_split_keeps_document_order_and_respects_max_labels():
    model = _model()
    decisions, _ = decode_split(model, VALID, batch_size=3, max_labels=1)
    assert decisions.sum(axis=1).max() <= 1
    alone = [
        decode_split(
            model,
            EncodedSplit(
                VALID.token_ids[i : i + 1], VALID.lengths[i : i + 1], VALID.labels[i : i + 1]
            ),
            max_labels=1,
        )[0][0]
        for i in range(len(VALID))
    ]
    np.testing.assert_array_equal(decisions, np.stack(alone))


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="beam_size"):
        SGMTrainConfig(beam_size=0)
    with pytest.raises(ValueError, match="optimizer"):
        SGMTrainConfig(optimizer="sgd")
