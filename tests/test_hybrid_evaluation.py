"""Metrics of merged predictions (evaluation/hybrid.py) and the §1.9 variant table."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from longtail_mltc.evaluation.calibration import paper_rule, single_rule
from longtail_mltc.evaluation.hybrid import (
    evaluate_decisions,
    evaluate_hybrid,
    evaluate_hybrid_splits,
    head_threshold,
)
from longtail_mltc.training import HSCNNTrainConfig
from longtail_mltc.training.variants import VARIANTS, get_variant

# 4 documents × 3 labels; label 2 is the tail label in the tests below.
Y = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0], [0, 0, 0]])
DECISIONS = np.array(
    [[True, False, True], [False, True, False], [True, False, False], [False, False, True]]
)
SCORES = np.array(
    [[0.9, 0.2, 0.6], [0.1, 0.8, 0.4], [0.7, 0.3, 0.2], [0.4, 0.1, 0.7]], dtype=np.float32
)


def test_f1_comes_from_decisions_and_ranking_from_scores_by_hand():
    out = evaluate_decisions(Y, DECISIONS, SCORES, ks=(1,))
    # decisions: TP = (0,0) (1,1) (2,0) = 3; FP = (0,2) (3,2) = 2; FN = (1,2) (2,1) = 2
    assert out["micro_precision"] == pytest.approx(3 / 5)
    assert out["micro_recall"] == pytest.approx(3 / 5)
    assert out["micro_f1"] == pytest.approx(3 / 5)
    # P@1 over the 3 documents with a label: top scores 0.9 (label 0 ✓), 0.8 (1 ✓), 0.7 (0 ✓)
    assert out["p_at_1"] == pytest.approx(1.0)
    # other decisions, same scores: F1 changes, ranking does not
    flipped = evaluate_decisions(Y, ~DECISIONS, SCORES, ks=(1,))
    assert flipped["micro_f1"] != out["micro_f1"] and flipped["p_at_1"] == out["p_at_1"]


def test_tail_group_counts_only_documents_carrying_a_tail_label():
    is_tail = np.array([False, False, True])
    out = evaluate_hybrid(Y, DECISIONS, SCORES, is_tail, ks=(1,))
    # Only document 1 carries label 2: TP 0, FP 0 (doc 0 and doc 3 are not counted), FN 1.
    assert out["test/hybrid_tail/micro_f1"] == 0.0
    assert out["test/hybrid_tail/n_docs"] == 1.0
    # Had documents 0 and 3 counted, the two false positives would show in the precision:
    all_rows = evaluate_decisions(Y, DECISIONS, SCORES, ks=(1,), label_subset=np.array([2]))
    assert all_rows["micro_precision"] == 0.0 and all_rows["micro_recall"] == 0.0
    head = evaluate_decisions(Y, DECISIONS, SCORES, ks=(1,), label_subset=np.array([0, 1]))
    assert out["test/hybrid_head/micro_f1"] == pytest.approx(head["micro_f1"])
    assert out["test/all/micro_f1"] == pytest.approx(3 / 5)


def test_empty_groups_are_left_out_and_sparse_labels_give_the_same_figures():
    none_tail = evaluate_hybrid(Y, DECISIONS, SCORES, np.zeros(3, bool), ks=(1,))
    assert not any(k.startswith("test/hybrid_tail/") for k in none_tail)
    all_tail = evaluate_hybrid(Y, DECISIONS, SCORES, np.ones(3, bool), ks=(1,))
    assert not any(k.startswith("test/hybrid_head/") for k in all_tail)
    dense = evaluate_hybrid(Y, DECISIONS, SCORES, np.array([False, False, True]), ks=(1, 2))
    sparse = evaluate_hybrid(
        sp.csr_matrix(Y), DECISIONS, SCORES, np.array([False, False, True]), ks=(1, 2)
    )
    assert dense == pytest.approx(sparse)


def test_decisions_must_be_boolean_and_shaped_like_scores():
    with pytest.raises(ValueError, match="boolean"):
        evaluate_decisions(Y, DECISIONS.astype(float), SCORES)
    with pytest.raises(ValueError, match="differ"):
        evaluate_decisions(Y, DECISIONS[:, :2], SCORES)


def _splits(rng, n_docs, n_labels):
    labels = {s: (rng.random((n_docs, n_labels)) < 0.3).astype(np.int8) for s in ("valid", "test")}
    probs = {s: rng.random((n_docs, n_labels)).astype(np.float32) for s in labels}
    siamese = {s: rng.random((n_docs, n_labels)).astype(np.float32) for s in labels}
    return labels, probs, siamese


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_phi=st.integers(0, 12))
def test_merged_metrics_equal_an_independent_per_cell_rule(seed, n_phi):
    rng = np.random.default_rng(seed)
    labels, probs, siamese = _splits(rng, 12, 6)
    counts = rng.integers(0, 12, size=6)
    tail = counts < n_phi
    t = head_threshold(labels["valid"], probs["valid"], np.flatnonzero(~tail))
    rule = paper_rule(counts, n_phi, t)
    out = evaluate_hybrid_splits(labels, probs, siamese, rule, tail, ks=(1,))
    assert out["single_threshold"] == t
    # independent rule: head cells p ≥ t, tail cells s > 0.5, micro-F1 from the counts
    decided = np.where(tail, siamese["test"] > 0.5, probs["test"] >= np.float32(t))
    y = labels["test"].astype(bool)
    tp, fp, fn = (decided & y).sum(), (decided & ~y).sum(), (~decided & y).sum()
    expected = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    assert out["test/all/micro_f1"] == pytest.approx(expected)
    assert out["n_hybrid_tail_labels"] == tail.sum()


def test_head_threshold_is_the_best_validation_point_over_head_columns_only():
    rng = np.random.default_rng(3)
    labels, probs, siamese = _splits(rng, 30, 4)
    threshold = head_threshold(labels["valid"], probs["valid"], np.array([0, 1]))
    y, p = labels["valid"][:, :2].astype(bool), probs["valid"][:, :2]

    def f1(t):
        d = p >= np.float32(t)
        tp, fp, fn = (d & y).sum(), (d & ~y).sum(), (~d & y).sum()
        return 2 * tp / (2 * tp + fp + fn)

    best = max(f1(t) for t in np.unique(p))
    assert f1(threshold) == pytest.approx(best)


def test_single_rule_uses_one_threshold_over_all_labels_and_the_same_groups():
    rng = np.random.default_rng(5)
    labels, probs, _ = _splits(rng, 20, 5)
    counts = np.array([40, 30, 5, 2, 1])
    threshold = head_threshold(labels["valid"], probs["valid"], np.arange(5))
    out = evaluate_hybrid_splits(labels, probs, None, single_rule(threshold), counts < 10, (1,))
    decided = probs["test"] >= np.float32(out["single_threshold"])
    y = labels["test"].astype(bool)
    tp, fp, fn = (decided & y).sum(), (decided & ~y).sum(), (~decided & y).sum()
    assert out["test/all/micro_f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert out["n_hybrid_tail_labels"] == 3 and "test/hybrid_tail/micro_f1" in out
    assert out["n_siamese_labels"] == 0


def test_variant_table_matches_methods_1_9():
    assert list(VARIANTS) == ["single", "naive", "no_css", "no_mt", "hscnn"]
    assert [VARIANTS[v].examples for v in VARIANTS] == [
        "none",
        "pairs",
        "pairs",
        "triplets",
        "triplets",
    ]
    assert [VARIANTS[v].gated for v in ("naive", "no_css", "no_mt", "hscnn")] == [
        False,
        False,
        True,
        True,
    ]
    base = HSCNNTrainConfig()
    for name in ("naive", "no_mt"):
        config = get_variant(name).configure(base)
        assert (config.lambda_s, config.lambda_m1, config.lambda_m2) == (1.0, 0.0, 0.0)
    for name in ("no_css", "hscnn"):
        assert get_variant(name).configure(base) == base
    with pytest.raises(ValueError, match="no_css"):
        get_variant("nocss")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), cut=st.sampled_from([0.2, 0.5, 0.8]))
def test_decisions_by_group_equal_thresholded_scores_by_group(seed, cut):
    from longtail_mltc.evaluation.reporting import evaluate_by_group, evaluate_decisions_by_group

    rng = np.random.default_rng(seed)
    y = (rng.random((12, 6)) < 0.3).astype(np.int8)
    scores = rng.random((12, 6)).astype(np.float32)
    groups = {"head": np.array([0, 1]), "medium": np.array([], dtype=int), "tail": np.arange(2, 6)}
    by_decisions = evaluate_decisions_by_group(y, scores >= cut, scores, groups, ks=(1, 3))
    by_threshold = evaluate_by_group(y, scores, groups, cut, ks=(1, 3))
    assert by_decisions.keys() == by_threshold.keys()  # the empty group is left out of both
    assert not any(k.startswith("test/medium/") for k in by_decisions)
    for key, value in by_threshold.items():
        assert by_decisions[key] == pytest.approx(value, abs=1e-12), key
