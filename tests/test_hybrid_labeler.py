"""HybridTextLabeler: raw text → the HSCNN's merged scores and hybrid decisions (METHODS §1.7,
§1.8), the same as the evaluation path, and an independent per-pair computation."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from longtail_mltc.evaluation.merge import hybrid_merge
from longtail_mltc.inference import HybridTextLabeler, InvalidInput, Preprocessing, TextLabeler
from longtail_mltc.inference.scores import predict_scores
from longtail_mltc.models import HybridSiameseNetwork, build_classifier, label_prototypes
from longtail_mltc.models.support import SupportSet, select_labels
from longtail_mltc.text import build_vocabulary, encode, tokenize_texts
from longtail_mltc.training import EncodedSplit, HSCNNTrainConfig
from longtail_mltc.training.hybrid_prediction import (
    encode_tail_support,
    predict_hybrid,
    tail_support,
)

torch.set_num_threads(1)  # the machine is shared: keep the tiny models on one core

LABELS = ["acq", "earn", "grain", "trade", "ship"]
TRAIN = [
    ("The company agreed to acquire the shares of its rival.", ["acq"]),
    ("Quarterly earnings rose and the dividend was raised.", ["earn"]),
    ("The rival reported earnings after it bought a stake.", ["acq", "earn"]),
    ("Shares of the bidder fell after the takeover offer.", ["acq"]),
    ("Net profit and revenue per share were up.", ["earn"]),
    ("Wheat and corn exports fell as grain prices rose.", ["grain"]),
    ("The trade deficit widened as imports of grain rose.", ["trade", "grain"]),
    ("Tankers were delayed at the port by the strike.", ["ship"]),
]
TEXTS = [
    "The rival company raised its dividend after strong earnings.",
    "Grain exports and the trade deficit.",
    "Ships and tankers at the port.",
    "zzz qqq unknownword",  # every token out of vocabulary
    "!!! ??? ...",  # no token at all: length 0
    "Wheat " * 40,  # longer than max_length
]
MAX_LENGTH = 16
KIM_PARAMS = {"embedding_dim": 8, "num_filters": 4, "hidden_dim": 8, "kernel_sizes": [1, 2]}
N_PHI = 3  # counts acq 3, earn 3, grain 2, trade 1, ship 1: tail = grain, trade, ship
CONFIG = HSCNNTrainConfig(n_phi=N_PHI, support_k=2, seed=3, accelerator="cpu", eval_batch_size=4)
HEAD_THRESHOLD = 0.45
MODEL_CONFIG = {"encoder": "kim_cnn", "encoder_params": KIM_PARAMS}


def _labels(rows: list[list[str]]) -> sp.csr_matrix:
    dense = np.array([[name in row for name in LABELS] for row in rows], dtype=np.float32)
    return sp.csr_matrix(dense)


@pytest.fixture(scope="module")
def vocabulary():
    return build_vocabulary(tokenize_texts([t for t, _ in TRAIN], "english"))


@pytest.fixture(scope="module")
def train(vocabulary) -> EncodedSplit:
    ids, lengths = encode(tokenize_texts([t for t, _ in TRAIN], "english"), vocabulary, MAX_LENGTH)
    return EncodedSplit(ids, lengths, _labels([labels for _, labels in TRAIN]))


@pytest.fixture(scope="module")
def counts(train) -> np.ndarray:
    return np.asarray(train.labels.sum(axis=0)).ravel().astype(np.int64)


def _hscnn(vocab_size: int, gated: bool = True, seed: int = 0) -> HybridSiameseNetwork:
    torch.manual_seed(seed)
    classifier = build_classifier("kim_cnn", len(LABELS), vocab_size=vocab_size, **KIM_PARAMS)
    model = HybridSiameseNetwork(classifier, gated=gated)
    with torch.no_grad():  # spread the similarities away from 0.5 (a trained-looking gate)
        model.comparison.output.weight.mul_(8.0)
    return model.eval()


def _labeler(model, vocabulary, train, counts, config=CONFIG, **kwargs) -> HybridTextLabeler:
    """Built as the pipeline builds it: the support set of every label, then the tail's rows."""
    every_label = replace(config, n_phi=int(counts.max()) + 1)
    labels, encoded = encode_tail_support(model, train, counts, every_label)
    assert np.array_equal(labels, np.arange(len(LABELS)))
    tail = np.flatnonzero(counts < config.n_phi)
    return HybridTextLabeler(
        model,
        Preprocessing("english", MAX_LENGTH),
        LABELS,
        HEAD_THRESHOLD,
        counts,
        config.n_phi,
        select_labels(encoded, tail),
        vocabulary,
        batch_size=config.eval_batch_size,
        majority_vote=config.majority_vote,
        model_config=MODEL_CONFIG,
        **kwargs,
    )


def _evaluation_path(model, vocabulary, train, counts, config=CONFIG, single_probs=None):
    """What the pipeline's predict + evaluate nodes compute for these texts."""
    ids, lengths = encode(tokenize_texts(TEXTS, "english"), vocabulary, MAX_LENGTH)
    split = EncodedSplit(ids, lengths, sp.csr_matrix((len(TEXTS), len(LABELS))))
    every_label = replace(config, n_phi=int(counts.max()) + 1)
    support = encode_tail_support(model, train, counts, every_label)
    prediction = predict_hybrid(
        model, train, split, counts, config, encoded_support=support, single_probs=single_probs
    )
    return hybrid_merge(
        prediction.single_probs,
        prediction.siamese_scores,
        counts,
        config.n_phi,
        single_threshold=HEAD_THRESHOLD,
    )


@pytest.mark.parametrize("majority", [False, True])
@pytest.mark.parametrize("gated", [True, False])
def test_labeler_equals_the_evaluation_path(vocabulary, train, counts, majority, gated):
    config = replace(CONFIG, majority_vote=majority)
    model = _hscnn(len(vocabulary), gated=gated)
    labeler = _labeler(model, vocabulary, train, counts, config)
    scores, decisions = labeler.decide(TEXTS)
    expected_scores, expected_decisions, is_tail = _evaluation_path(
        model, vocabulary, train, counts, config
    )
    np.testing.assert_array_equal(scores, expected_scores)
    np.testing.assert_array_equal(decisions, expected_decisions)
    assert is_tail.tolist() == [False, False, True, True, True]
    assert decisions[:, is_tail].any() and decisions[:, ~is_tail].any()  # both rules decide


def test_labeler_equals_a_per_pair_computation(vocabulary, train, counts):
    """Head columns: the classifier's sigmoid ≥ threshold; tail columns: s(x_d, x̄_c, c) > 0.5
    with x̄_c the mean representation of c's support documents, one pair at a time."""
    model = _hscnn(len(vocabulary))
    labeler = _labeler(model, vocabulary, train, counts)
    scores, decisions = labeler.decide(TEXTS)
    ids, lengths = encode(tokenize_texts(TEXTS, "english"), vocabulary, MAX_LENGTH)
    support = tail_support(train, CONFIG)
    with torch.no_grad():
        for d in range(len(TEXTS)):
            x_d = model.represent(torch.as_tensor(ids[d : d + 1, : max(1, lengths[d])]))
            probs = torch.sigmoid(model.classifier.head(x_d))[0]
            for c in range(len(LABELS)):
                if counts[c] >= N_PHI:
                    assert scores[d, c] == pytest.approx(float(probs[c]), abs=1e-6)
                    assert decisions[d, c] == (float(probs[c]) >= HEAD_THRESHOLD)
                    continue
                rows = [r for r in support[c] if r >= 0]
                reps = [
                    model.represent(torch.as_tensor(train.token_ids[r : r + 1, : train.lengths[r]]))
                    for r in rows
                ]
                prototype = torch.cat(reps).mean(dim=0, keepdim=True)
                s = torch.sigmoid(model.comparison(x_d, prototype, torch.tensor([c])))[0]
                assert scores[d, c] == pytest.approx(float(s), abs=1e-5)
                if abs(float(s) - 0.5) > 1e-5:
                    assert decisions[d, c] == (float(s) > 0.5)


def test_head_labels_come_from_the_head_model_when_given(vocabulary, train, counts):
    """Naive and /MT (§1.9): head labels are the untouched single network's."""
    model = _hscnn(len(vocabulary))
    single = _hscnn(len(vocabulary), seed=7).classifier
    labeler = _labeler(model, vocabulary, train, counts, head_model=single)
    scores, decisions = labeler.decide(TEXTS)
    ids, lengths = encode(tokenize_texts(TEXTS, "english"), vocabulary, MAX_LENGTH)
    empty = sp.csr_matrix((len(TEXTS), len(LABELS)))
    single_probs, _ = predict_scores(single, EncodedSplit(ids, lengths, empty), 4)
    expected_scores, expected_decisions, _ = _evaluation_path(
        model, vocabulary, train, counts, single_probs=single_probs
    )
    np.testing.assert_array_equal(scores, expected_scores)
    np.testing.assert_array_equal(decisions, expected_decisions)
    head = counts >= N_PHI
    np.testing.assert_array_equal(scores[:, head], single_probs[:, head])


@pytest.mark.parametrize("with_head_model", [False, True])
def test_save_and_load_round_trip(vocabulary, train, counts, tmp_path, with_head_model):
    model = _hscnn(len(vocabulary), gated=False)
    head_model = _hscnn(len(vocabulary), seed=7).classifier if with_head_model else None
    labeler = _labeler(
        model, vocabulary, train, counts, replace(CONFIG, majority_vote=True), head_model=head_model
    )
    target = labeler.save_directory(tmp_path / "labeler")
    files = sorted(p.name for p in target.iterdir())
    assert ("head_model.safetensors" in files) == with_head_model
    assert {"model.safetensors", "support.safetensors", "model_config.json"} <= set(files)
    config = json.loads((target / "model_config.json").read_text())
    assert config["kind"] == "hscnn" and config["n_phi"] == N_PHI and config["gated"] is False
    assert config["majority_vote"] is True and config["head_from_single"] is with_head_model
    loaded = TextLabeler.from_directory(target, batch_size=CONFIG.eval_batch_size)
    assert isinstance(loaded, HybridTextLabeler)
    (scores, decisions), (expected_scores, expected) = loaded.decide(TEXTS), labeler.decide(TEXTS)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-5, atol=1e-7)  # across calls
    np.testing.assert_array_equal(decisions, expected)
    assert config["rule"]["name"] == "paper" and config["bound"] == "none"
    got, want = loaded.predict(TEXTS[:2]), labeler.predict(TEXTS[:2])
    assert [p["labels"] for p in got] == [p["labels"] for p in want]


def test_loading_the_wrong_kind_or_a_damaged_directory_names_the_problem(
    vocabulary, train, counts, tmp_path
):
    labeler = _labeler(_hscnn(len(vocabulary)), vocabulary, train, counts)
    target = labeler.save_directory(tmp_path / "hybrid")
    (target / "support.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="support.safetensors"):
        TextLabeler.from_directory(target)
    config = json.loads((target / "model_config.json").read_text())
    (target / "model_config.json").write_text(json.dumps({**config, "kind": "svm"}))
    with pytest.raises(ValueError, match="unknown labeler kind 'svm'"):
        TextLabeler.from_directory(target)
    single = TextLabeler(
        labeler.model.classifier,
        labeler.preprocessing,
        LABELS,
        0.5,
        vocabulary,
        model_config=MODEL_CONFIG,
    ).save_directory(tmp_path / "single")
    with pytest.raises(ValueError, match="holds a 'single' labeler, not a HybridTextLabeler"):
        HybridTextLabeler.from_directory(single)


def test_constructor_rejects_a_support_set_for_another_tail(vocabulary, train, counts):
    labeler = _labeler(_hscnn(len(vocabulary)), vocabulary, train, counts)
    message = r"one row per Siamese-decided label \(paper rule, N_c < 2"
    with pytest.raises(ValueError, match=message):
        HybridTextLabeler(
            labeler.model,
            labeler.preprocessing,
            LABELS,
            0.5,
            counts,
            2,  # tail = trade, ship: 2 labels, the support set has 3 rows
            labeler.support,
            vocabulary,
        )


def test_bad_requests_raise_invalid_input(vocabulary, train, counts):
    labeler = _labeler(_hscnn(len(vocabulary)), vocabulary, train, counts)
    with pytest.raises(InvalidInput, match="record 2: empty text"):
        labeler.predict(["grain", "  "])
    with pytest.raises(InvalidInput, match="record 1: expected a string, got int"):
        labeler.predict([5])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.integers(-1, 9), min_size=3, max_size=3), min_size=1, max_size=6).flatmap(
        lambda index: st.tuples(
            st.just(index), st.lists(st.integers(0, len(index) - 1), min_size=1, unique=True)
        )
    )
)
def test_select_labels_keeps_the_prototypes_of_the_chosen_labels(case):
    index, rows = case
    reps = torch.randn(10, 4, generator=torch.Generator().manual_seed(len(rows)))
    full = SupportSet(reps, torch.tensor(index))
    chosen = select_labels(full, np.array(rows))
    assert chosen.representations.shape[0] == len({i for r in rows for i in index[r] if i >= 0})
    expected = label_prototypes(full.representations, full.index)
    got = label_prototypes(chosen.representations, chosen.index)
    assert torch.equal(got.means, expected.means[rows])
    assert torch.equal(got.valid, expected.valid[rows])


def test_a_sigmoid_bounded_labeler_compares_means_of_sigmoids_pair_by_pair(
    vocabulary, train, counts
):
    """bound="sigmoid" (the reference's compared space): s = σ(w·(|σ(x_d) − mean_k σ(x_k)| ∘ h_c)
    + b'), one pair at a time, written out."""
    torch.manual_seed(0)
    classifier = build_classifier("kim_cnn", len(LABELS), vocab_size=len(vocabulary), **KIM_PARAMS)
    model = HybridSiameseNetwork(classifier, bound="sigmoid").eval()
    with torch.no_grad():
        model.comparison.output.weight.mul_(40.0)  # σ(x) differences are small: spread s
    labeler = _labeler(model, vocabulary, train, counts)
    scores, _ = labeler.decide(TEXTS)
    ids, lengths = encode(tokenize_texts(TEXTS, "english"), vocabulary, MAX_LENGTH)
    support = tail_support(train, CONFIG)
    head = model.comparison
    with torch.no_grad():
        for d in range(len(TEXTS)):
            x_d = torch.sigmoid(
                model.represent(torch.as_tensor(ids[d : d + 1, : max(1, lengths[d])]))
            )
            for c in np.flatnonzero(counts < N_PHI):
                rows = [r for r in support[c] if r >= 0]
                reps = [
                    torch.sigmoid(
                        model.represent(
                            torch.as_tensor(train.token_ids[r : r + 1, : train.lengths[r]])
                        )
                    )
                    for r in rows
                ]
                prototype = torch.cat(reps).mean(dim=0)
                gate = torch.relu((head.gate_weight.weight[c] + head.gate_bias) * head.scale)
                logit = (x_d[0] - prototype).abs() @ (
                    gate * head.output.weight[0]
                ) + head.output.bias[0]
                assert scores[d, c] == pytest.approx(float(torch.sigmoid(logit)), abs=1e-5)


def test_a_calibrated_rule_decides_with_the_single_network_the_joint_head_and_the_siamese_part(
    vocabulary, train, counts
):
    from longtail_mltc.evaluation.calibration import HybridRule

    model = _hscnn(len(vocabulary))
    single = _hscnn(len(vocabulary), seed=7).classifier
    # trade (3) to the Siamese part at 0.3, ship (4) to the joint head at 0.4, the rest single
    rule = HybridRule(np.array([3]), np.array([0.3]), 0.45, 3, "calibrated", {}, [4], 0.4)
    every_label = replace(CONFIG, n_phi=int(counts.max()) + 1)
    _, encoded = encode_tail_support(model, train, counts, every_label)
    labeler = HybridTextLabeler(
        model,
        Preprocessing("english", MAX_LENGTH),
        LABELS,
        0.45,
        counts,
        3,
        select_labels(encoded, rule.siamese_labels),
        vocabulary,
        batch_size=CONFIG.eval_batch_size,
        head_model=single,
        model_config=MODEL_CONFIG,
        rule=rule,
    )
    scores, decisions = labeler.decide(TEXTS)
    ids, lengths = encode(tokenize_texts(TEXTS, "english"), vocabulary, MAX_LENGTH)
    split = EncodedSplit(ids, lengths, sp.csr_matrix((len(TEXTS), len(LABELS))))
    single_probs, _ = predict_scores(single, split, 4)
    prediction = predict_hybrid(
        model, train, split, counts, every_label, encoded_support=(np.arange(5), encoded)
    )
    expected_scores, expected = rule.merge(
        single_probs, prediction.siamese_scores, prediction.single_probs
    )
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(decisions, expected)
    np.testing.assert_allclose(scores[:, 4], prediction.single_probs[:, 4], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(scores[:, :3], single_probs[:, :3], rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="differs from the rule"):
        HybridTextLabeler(
            model, Preprocessing("english", MAX_LENGTH), LABELS, 0.5, counts, 3,
            select_labels(encoded, rule.siamese_labels), vocabulary, rule=rule,
        )  # fmt: skip
