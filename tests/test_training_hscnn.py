"""HSCNN training and hybrid prediction (METHODS §1.4, §1.6-§1.9)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from longtail_mltc.inference.scores import predict_scores
from longtail_mltc.losses import bce_loss, build_loss
from longtail_mltc.models import (
    HybridSiameseNetwork,
    build_classifier,
    encode_documents,
    label_prototypes,
    score_labels,
    score_labels_majority,
    support_representations,
)
from longtail_mltc.sampling import sample_pairs, sample_triplets
from longtail_mltc.training import (
    EncodedSplit,
    HSCNNTrainConfig,
    MetricLogger,
    TrainConfig,
    fit,
    fit_hscnn,
    seed_everything,
)
from longtail_mltc.training.hybrid_prediction import hybrid_micro_f1s, predict_hybrid, tail_support

N_LABELS = 6
RATES = (0.35, 0.35, 0.35, 0.07, 0.07, 0.07)  # labels 0-2 head, 3-5 tail at N_phi = 40
N_PHI = 40


def _split(n: int, seed: int) -> EncodedSplit:
    """Label j is present exactly when token 2 + j appears; documents of 24-28 tokens."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(8, 30, size=(n, 28))
    labels = rng.random((n, N_LABELS)) < np.array(RATES)
    for j in range(N_LABELS):  # label j's token lands in positions 4j..4j+3
        rows = np.flatnonzero(labels[:, j])
        ids[rows, 4 * j + rng.integers(0, 4, size=len(rows))] = 2 + j
    lengths = rng.integers(24, 29, size=n)
    ids[np.arange(28)[None, :] >= lengths[:, None]] = 0
    return EncodedSplit(ids, lengths, sp.csr_matrix(labels.astype(np.uint8)))


TRAIN, VALID = _split(240, 1), _split(80, 2)
COUNTS = np.asarray(TRAIN.labels.sum(axis=0)).ravel()


def _classifier():
    return build_classifier(
        "kim_cnn",
        N_LABELS,
        vocab_size=30,
        embedding_dim=12,
        num_filters=8,
        hidden_dim=24,
        kernel_sizes=(1, 2),
        embedding_dropout=0.0,
        feature_dropout=0.0,
    )


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny tensors: one thread is ~20x faster than two contending with a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def single_state(_one_thread) -> dict[str, torch.Tensor]:
    """The trained single network HSCNN starts from (METHODS §1.6 step 1)."""
    seed_everything(0)
    model = _classifier()
    config = TrainConfig(batch_size=32, max_epochs=8, learning_rate=5e-3, patience=8, seed=0)
    fit(model, bce_loss, TRAIN, VALID, config)
    return model.state_dict()


def _hscnn(state, gated: bool = True, seed: int = 1) -> HybridSiameseNetwork:
    seed_everything(seed)
    classifier = _classifier()
    classifier.load_state_dict(state)
    return HybridSiameseNetwork.from_classifier(classifier, gated=gated)


def _config(**overrides) -> HSCNNTrainConfig:
    settings = dict(
        batch_size=32,
        max_epochs=4,
        learning_rate=5e-3,
        patience=4,
        min_delta=0.0,
        n_phi=N_PHI,
        seed=0,
        accelerator="cpu",
        eval_batch_size=32,
        monitor="hybrid_micro_f1",
        validation_examples=200,
    )
    return HSCNNTrainConfig(**{**settings, **overrides})


def _fit(model, config, triplets=None, callbacks=()):
    if triplets is None:
        triplets = sample_triplets(TRAIN.labels, 300, seed=0)
    loss = build_loss("bce", label_counts=COUNTS, n_train=len(TRAIN))
    return fit_hscnn(model, triplets, TRAIN, VALID, loss, COUNTS, config, callbacks)


def test_the_synthetic_problem_has_head_and_tail_labels():
    assert (COUNTS[:3] >= N_PHI).all() and (COUNTS[3:] < N_PHI).all() and (COUNTS[3:] > 5).all()


def test_training_lowers_the_loss_records_epoch_zero_and_restores_the_best_state(single_state):
    model = _hscnn(single_state)
    logged: list[tuple[int, dict]] = []
    result = _fit(model, _config(), callbacks=[MetricLogger(lambda m, s: logged.append((s, m)))])
    history = result.history
    assert [h["epoch"] for h in history] == list(range(5))
    assert [step for step, _ in logged] == list(range(5))
    for key in (
        "hscnn/train_similarity_loss",
        "valid/hybrid_head_micro_f1",
        "valid/hybrid_tail_micro_f1",
    ):
        assert key in logged[0][1]
    losses = [h["hscnn/train_loss"] for h in history]
    assert min(losses[1:]) < losses[0]
    f1s = [h["valid/hybrid_micro_f1"] for h in history]
    assert result.best_epoch == int(np.argmax(f1s))
    assert result.best_valid_micro_f1 == max(f1s) > 0.5
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(tensor, result.best_state[name], rtol=0, atol=0)
    again = hybrid_micro_f1s(VALID.labels, predict_hybrid(model, TRAIN, VALID, COUNTS, _config()))
    assert again["hybrid_micro_f1"] == result.best_valid_micro_f1


def test_without_gain_training_stops_after_patience_and_keeps_the_initial_weights(single_state):
    model = _hscnn(single_state)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    moved = []

    class WeightsMoved:
        def on_epoch_end(self, epoch, metrics):
            weight = model.comparison.output.weight
            moved.append(not torch.equal(weight, initial["comparison.output.weight"]))

    # min_delta = 1: no epoch can beat epoch 0 (F1 ≤ 1), while the weights do train
    config = _config(min_delta=1.0, patience=2, max_epochs=20)
    result = _fit(model, config, callbacks=[WeightsMoved()])
    assert result.stopped_early and result.best_epoch == 0
    assert len(result.history) == 1 + config.patience
    assert moved == [False, True, True]
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, initial[name]), name


def test_without_multitask_the_loss_is_the_similarity_loss(single_state):
    mt = _fit(_hscnn(single_state), _config(lambda_m1=0.0, lambda_m2=0.0, max_epochs=1))
    for h in mt.history:
        assert h["hscnn/train_loss"] == h["hscnn/train_similarity_loss"]
        assert h["hscnn/train_first_loss"] > 0  # still computed for logging
    full = _fit(_hscnn(single_state), _config(max_epochs=1))
    first = full.history[0]
    expected = sum(first[f"hscnn/train_{p}_loss"] for p in ("similarity", "first", "second"))
    assert first["hscnn/train_loss"] == pytest.approx(expected, rel=1e-6)
    assert first["hscnn/train_loss"] > first["hscnn/train_similarity_loss"]


def test_pairs_train_a_vanilla_head_and_are_refused_by_a_gated_one(single_state):
    pairs = sample_pairs(TRAIN.labels, 200, seed=0)
    result = _fit(_hscnn(single_state, gated=False), _config(max_epochs=2), pairs)
    assert len(result.history) == 3
    assert all(np.isfinite(h["hscnn/train_loss"]) for h in result.history)
    with pytest.raises(ValueError, match="Pairs carry no label.*gated=False"):
        _fit(_hscnn(single_state, gated=True), _config(max_epochs=1), pairs)


@pytest.mark.parametrize("majority", [False, True])
def test_predict_hybrid_merges_single_probabilities_and_tail_similarities(single_state, majority):
    model = _hscnn(single_state)
    with torch.no_grad():  # spread the gates so that labels differ
        model.comparison.gate_weight.weight.normal_(0.0, 3.0)
    config = _config(majority_vote=majority, eval_batch_size=16, max_score_elements=100)
    support = tail_support(TRAIN, config)
    pred = predict_hybrid(model, TRAIN, VALID, COUNTS, config)

    tail = np.flatnonzero(COUNTS < N_PHI)
    head = np.flatnonzero(COUNTS >= N_PHI)
    assert pred.is_tail.tolist() == (COUNTS < N_PHI).tolist()
    single, _ = predict_scores(model.classifier, VALID, 64)
    np.testing.assert_allclose(pred.single_probs, single, rtol=0, atol=1e-6)
    train_reps = encode_documents(model, TRAIN.token_ids)
    docs = encode_documents(model, VALID.token_ids)
    if majority:
        reps = support_representations(train_reps, support[tail])
        expected = score_labels_majority(model.comparison, docs, reps, tail)
    else:
        protos = label_prototypes(train_reps, support[tail])
        expected = score_labels(model.comparison, docs, protos, tail)
    np.testing.assert_allclose(pred.siamese_scores[:, tail], expected.numpy(), rtol=0, atol=1e-5)
    assert np.isnan(pred.siamese_scores[:, head]).all()
    np.testing.assert_array_equal(pred.scores[:, head], pred.single_probs[:, head])
    np.testing.assert_array_equal(pred.scores[:, tail], pred.siamese_scores[:, tail])
    np.testing.assert_array_equal(pred.decisions[:, head], pred.single_probs[:, head] >= 0.5)
    np.testing.assert_array_equal(pred.decisions[:, tail], pred.siamese_scores[:, tail] > 0.5)

    # precomputed single-network probabilities (Naive, /MT) replace the head part only
    fixed = predict_hybrid(model, TRAIN, VALID, COUNTS, config, support, single_probs=single * 0)
    assert not fixed.decisions[:, head].any()
    np.testing.assert_array_equal(fixed.siamese_scores[:, tail], pred.siamese_scores[:, tail])


def test_same_seed_gives_identical_histories_and_weights(single_state):
    def once():
        model = _hscnn(single_state, seed=5)
        result = _fit(model, _config(max_epochs=2, seed=5))
        history = [{k: v for k, v in h.items() if k != "epoch_seconds"} for h in result.history]
        return history, model.state_dict()

    (h1, s1), (h2, s2) = once(), once()
    assert h1 == h2
    for name in s1:
        assert torch.equal(s1[name], s2[name]), name


def test_invalid_configuration_and_inputs_are_rejected(single_state):
    with pytest.raises(ValueError, match="not all 0"):
        HSCNNTrainConfig(lambda_s=0.0, lambda_m1=0.0, lambda_m2=0.0)
    with pytest.raises(ValueError, match="batch_size must be ≥ 1"):
        HSCNNTrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="label_counts"):
        predict_hybrid(_hscnn(single_state), TRAIN, VALID, COUNTS[:3], _config())


def test_encode_rows_equals_encoding_each_document_alone_and_shares_duplicates(single_state):
    """Length-sorted chunks with repeated rows give each row its own document's representation
    (the Kim CNN ignores padding), and a repeated document receives the gradient of every use."""
    from longtail_mltc.training.hscnn import ENCODE_CHUNK, encode_rows

    model = _hscnn(single_state).eval()
    rng = np.random.default_rng(0)
    rows = rng.integers(0, len(TRAIN), size=3 * ENCODE_CHUNK)  # duplicates, several chunks
    rows[:5] = rows[-5:]
    reps = encode_rows(model, TRAIN, rows, torch.device("cpu"))
    with torch.no_grad():
        alone = torch.cat(
            [model.represent(torch.as_tensor(TRAIN.token_ids[r : r + 1, : TRAIN.lengths[r]]))
             for r in rows]
        )  # fmt: skip
    torch.testing.assert_close(reps.detach(), alone, rtol=1e-5, atol=1e-6)

    weight = model.classifier.encoder.embedding.weight
    weight.grad = None
    (reps[:5].sum() + reps[-5:].sum()).backward()  # the same five documents, used twice
    both_uses = weight.grad.clone()
    weight.grad = None
    encode_rows(model, TRAIN, rows[:5], torch.device("cpu")).sum().backward()
    torch.testing.assert_close(both_uses, 2 * weight.grad)


def test_epoch_zero_loss_on_a_seeded_sample_leaves_the_training_epochs_unchanged(single_state):
    from longtail_mltc.sampling import Triplets
    from longtail_mltc.training.hscnn import _epoch0_order

    triplets = sample_triplets(TRAIN.labels, 300, seed=0)

    def run(cap, data=triplets):
        config = _config(max_epochs=2, epoch0_loss_triplets=cap)
        history = _fit(_hscnn(single_state), config, data).history
        return [{k: v for k, v in h.items() if k != "epoch_seconds"} for h in history]

    full, capped, roomy = run(None), run(50), run(300)
    assert roomy == full  # a cap ≥ the triplet count changes nothing
    assert capped[1:] == full[1:]  # training epochs: every triplet, same shuffles
    sample = _epoch0_order(len(triplets), _config(epoch0_loss_triplets=50))
    assert len(np.unique(sample)) == 50 and (np.diff(sample) > 0).all() and sample.max() < 300
    subset = Triplets(*(getattr(triplets, c)[sample] for c in Triplets.COLUMNS))
    on_subset = run(None, subset)[0]
    for key in ("hscnn/train_loss", "hscnn/train_similarity_loss", "valid/hybrid_micro_f1"):
        assert capped[0][key] == pytest.approx(on_subset[key], rel=1e-6)
    assert capped[0]["hscnn/train_loss"] != pytest.approx(full[0]["hscnn/train_loss"], rel=1e-6)
    with pytest.raises(ValueError, match="epoch0_loss_triplets"):
        _config(epoch0_loss_triplets=0)


@pytest.mark.parametrize("reduction", ["label_mean", "label_sum"])
def test_epoch_zero_loss_equals_a_hand_computation(single_state, reduction):
    """METHODS §1.4: L = L_s + L_m1 + L_m2, L_s one BCE per triplet, L_m averaged over labels
    (label_mean) or summed (label_sum); each document encoded alone, the formulas written out."""
    model = _hscnn(single_state)
    triplets = sample_triplets(TRAIN.labels, 40, min_per_label=2, seed=3)
    result = _fit(model.eval(), _config(max_epochs=1, classification_reduction=reduction), triplets)
    model = _hscnn(single_state).eval()  # the initial weights, as epoch 0 saw them

    def represent(row: int) -> torch.Tensor:
        ids = torch.as_tensor(TRAIN.token_ids[row, : TRAIN.lengths[row]][None])
        return model.classifier.represent(ids)[0]

    head, comparison = model.classifier.head, model.comparison
    total = 0.0
    with torch.no_grad():
        for i, j, c, t in zip(
            triplets.first, triplets.second, triplets.label, triplets.target, strict=True
        ):
            x_i, x_j = represent(int(i)), represent(int(j))
            gate = torch.relu(
                (comparison.gate_weight.weight[c] + comparison.gate_bias) / np.sqrt(N_LABELS)
            )
            logit = float((x_i - x_j).abs() @ (gate * comparison.output.weight[0]))
            logit += float(comparison.output.bias[0])
            l_s = np.logaddexp(0.0, -logit) if t == 1 else np.logaddexp(0.0, logit)
            parts = []
            for row, x in ((int(i), x_i), (int(j), x_j)):
                z = (head(x)).double().numpy()
                y = TRAIN.labels[row].toarray().ravel()
                per_label = np.logaddexp(0.0, z) - y * z  # BCE with logits, per label
                parts.append(per_label.mean() if reduction == "label_mean" else per_label.sum())
            total += l_s + sum(parts)
    expected = total / len(triplets)
    assert result.history[0]["hscnn/train_loss"] == pytest.approx(expected, rel=1e-5)


def test_pair_loss_and_hybrid_tail_map_monitors_choose_their_best_epochs(single_state):
    for monitor, key, best in (
        ("pair_loss", "valid/pair_loss", np.argmin),
        ("hybrid_tail_map", "valid/hybrid_tail_siamese_map", np.argmax),
    ):
        result = _fit(_hscnn(single_state), _config(monitor=monitor, max_epochs=3))
        values = [h[key] for h in result.history]
        assert result.best_epoch == int(best(values)), monitor
        assert all(0.0 <= h["valid/hybrid_tail_siamese_map"] <= 1.0 for h in result.history)
    with pytest.raises(ValueError, match="monitor"):
        _config(monitor="accuracy")
