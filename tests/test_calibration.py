"""The hybrid rules and the calibrated merge chosen on validation (evaluation/calibration.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from longtail_mltc.evaluation.calibration import (
    CalibrationSettings,
    HybridRule,
    calibrate_hybrid,
    paper_rule,
    single_rule,
)
from longtail_mltc.evaluation.hybrid import evaluate_hybrid_splits, tail_diagnostics
from longtail_mltc.evaluation.merge import hybrid_merge


def _micro(y: np.ndarray, d: np.ndarray) -> float:
    tp, fp, fn = (d & y).sum(), (d & ~y).sum(), (~d & y).sum()
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def _macro(y: np.ndarray, d: np.ndarray) -> float:
    return float(np.mean([_micro(y[:, [j]], d[:, [j]]) for j in range(y.shape[1])]))


def _known_case():
    """40 validation documents, 3 labels (training counts 500, 10, 20).

    Label 0 (head): the single network is perfect. Label 1 (tail): the single network ranks it
    backwards; the Siamese part separates it, but below 0.5 (positives 0.30, negatives 0.10),
    so the paper's s > 0.5 never fires and a calibrated threshold does. Label 2 (tail): the
    single network is perfect and the Siamese part is noise.
    """
    y = np.zeros((40, 3), dtype=bool)
    y[:20, 0] = True
    y[::5, 1] = True  # 8 positives
    y[1::4, 2] = True  # 10 positives
    single = np.where(y, 0.9, 0.1).astype(np.float32)
    single[:, 1] = np.where(y[:, 1], 0.05, 0.6)  # backwards: F1 0 at any useful threshold
    siamese = np.random.default_rng(0).uniform(0.0, 1.0, (40, 3)).astype(np.float32)  # noise
    siamese[:, 1] = np.where(y[:, 1], 0.30, 0.10)
    counts = np.array([500, 10, 20])
    return y, single, siamese, counts


def test_routing_sends_only_the_label_the_siamese_part_does_better_at_its_own_threshold():
    y, single, siamese, counts = _known_case()
    settings_ = CalibrationSettings(
        n_phi_grid=(15, 50, 1000), per_label_min_positives=5, route=True, sources=("siamese",)
    )
    rule = calibrate_hybrid(y, single, siamese, counts, 0.5, settings_)
    # N_φ = 15 makes label 1 the only candidate; 50 adds label 2, which is not routed (the
    # single network is perfect on it), so both give the same validation macro-F1: the smaller
    # N_φ wins the tie. 1000 would add label 0, also perfect under the single network.
    assert rule.n_phi == 15
    assert rule.siamese_labels.tolist() == [1]
    # label 1 has 8 ≥ 5 validation positives: its own threshold, between the two score levels
    # (strict s > τ keeps the positives at 0.30 and drops the negatives at 0.10)
    (tau,) = rule.siamese_thresholds
    assert 0.10 <= tau < 0.30
    scores, decisions = rule.merge(single, siamese)
    assert np.array_equal(decisions[:, 1], y[:, 1])
    assert np.array_equal(decisions[:, [0, 2]], single[:, [0, 2]] >= 0.5)
    assert _micro(y, decisions) == pytest.approx(1.0)
    assert rule.details["search"]["siamese@50"]["candidates"] == 2  # label 2: not routed


def test_the_group_goes_to_the_siamese_part_only_where_validation_micro_f1_holds():
    y, single, siamese, counts = _known_case()
    siamese[:, 2] = np.where(y[:, 2], 0.05, 0.95)  # backwards on label 2
    rule = calibrate_hybrid(y, single, siamese, counts, 0.5, CalibrationSettings((15, 50)))
    # N_φ = 50 hands labels 1 and 2 to the Siamese part at one threshold: label 2 (perfect
    # under the single network) is lost, so the guard refuses it; N_φ = 15 (label 1 alone)
    # passes and wins
    assert rule.details["search"]["siamese@50"]["guard"] == "fail"
    assert rule.details["search"]["siamese@15"]["guard"] == "pass"
    assert rule.n_phi == 15 and rule.siamese_labels.tolist() == [1]
    assert rule.details["source"] == "siamese" and rule.joint_labels.size == 0


def test_the_joint_head_takes_the_group_when_it_does_better_on_validation():
    y, single, siamese, counts = _known_case()
    siamese[:, 1] = np.random.default_rng(1).uniform(0, 1, 40)  # now noise on label 1 too
    joint = single.copy()
    joint[:, 1] = np.where(y[:, 1], 0.7, 0.2)  # the jointly trained head learned label 1
    rule = calibrate_hybrid(
        y, single, siamese, counts, 0.5, CalibrationSettings((15, 50)), joint_probs=joint
    )
    assert rule.details["source"] == "joint" and rule.n_phi == 15
    assert rule.joint_labels.tolist() == [1] and rule.siamese_labels.size == 0
    scores, decisions = rule.merge(single, siamese, joint)
    assert np.array_equal(decisions, y)  # label 1 by the joint head, 0 and 2 by the single
    assert np.array_equal(scores[:, 1], joint[:, 1])
    with pytest.raises(ValueError, match="joint_probs"):
        rule.merge(single, siamese)


def test_the_paper_rule_never_fires_where_the_calibrated_one_does():
    y, single, siamese, counts = _known_case()
    paper = paper_rule(counts, 100, 0.5)
    assert paper.siamese_labels.tolist() == [1, 2]
    _, decisions = paper.merge(single, siamese)
    assert not decisions[:, 1].any()  # s = 0.30 is never > 0.5


def test_the_guard_returns_a_label_whose_routing_would_lower_micro_f1():
    # 200 documents: label 0 carries most cells and the single network is perfect there; label
    # 1 (tail) has one positive that the single network misses (F1 0); the Siamese part finds
    # it only together with six false positives (F1 2/9 > 0): a per-label gain that costs
    # micro-F1 (1 TP bought with 6 FP), so the guard must send label 1 back.
    y = np.zeros((200, 2), dtype=bool)
    y[:100, 0] = True
    y[7, 1] = True
    single = np.where(y, 0.9, 0.1).astype(np.float32)
    single[7, 1] = 0.1
    siamese = np.zeros((200, 2), dtype=np.float32)
    siamese[[7, 20, 21, 22, 23, 24, 25], 1] = 0.8
    counts = np.array([300, 3])
    unguarded = single >= 0.5
    unguarded[:, 1] = siamese[:, 1] > 0.5
    assert _micro(y, unguarded) < _micro(y, single >= 0.5)  # what routing label 1 would cost
    settings_ = CalibrationSettings((10,), route=True, sources=("siamese",))
    guarded = calibrate_hybrid(y, single, siamese, counts, 0.5, settings_)
    assert guarded.siamese_labels.size == 0  # returned by the guard: nothing beats the base
    assert guarded.details["source"] == "single"
    assert guarded.details["search"]["siamese@10"]["valid_micro_f1"] == pytest.approx(
        _micro(y, single >= 0.5)
    )


def test_the_guard_tolerates_a_micro_f1_loss_within_its_tolerance_only():
    # 400 documents: label 0 (head, 200 positives) is perfect under the single network; label 1
    # (tail, 4 positives) is missed by it (F1 0). The joint head finds 2 of the 4 with 3 false
    # positives: TP +2, FP +3, FN -2, so micro-F1 goes 400/404 -> 404/409 (-0.0023) while
    # macro-F1 goes 1/2 -> (1 + 4/9)/2.
    y = np.zeros((400, 2), dtype=bool)
    y[:200, 0] = True
    y[[300, 301, 302, 303], 1] = True
    single = np.where(y, 0.9, 0.1).astype(np.float32)
    single[:, 1] = 0.1
    joint = single.copy()
    joint[[300, 301, 310, 311, 312], 1] = 0.9
    counts = np.array([500, 5])
    micro_loss = 400 / 404 - 404 / 409
    assert 0 < micro_loss < 0.005

    def calibrate(tolerance: float):
        settings_ = CalibrationSettings((10,), sources=("joint",), micro_tolerance=tolerance)
        return calibrate_hybrid(y, single, None, counts, 0.5, settings_, joint_probs=joint)

    tolerant = calibrate(0.005)
    assert tolerant.details["source"] == "joint" and tolerant.joint_labels.tolist() == [1]
    assert tolerant.details["valid_micro_f1"] == pytest.approx(404 / 409, abs=1e-12)
    assert tolerant.details["valid_macro_f1"] == pytest.approx((1 + 4 / 9) / 2, abs=1e-12)
    strict = calibrate(0.0)
    assert strict.details["source"] == "single" and strict.joint_labels.size == 0
    assert strict.details["search"]["joint@10"]["guard"] == "fail"
    assert calibrate(micro_loss * 0.99).details["source"] == "single"  # just short of the loss
    with pytest.raises(ValueError, match="micro_tolerance"):
        CalibrationSettings(micro_tolerance=-0.1)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), tolerance=st.sampled_from([0.0, 0.005, 0.05]))
def test_calibrated_rule_is_never_worse_than_the_single_network_on_validation(seed, tolerance):
    rng = np.random.default_rng(seed)
    n_docs, n_labels = 60, 8
    y = rng.random((n_docs, n_labels)) < rng.uniform(0.02, 0.4, n_labels)
    single = np.clip(y * rng.uniform(0.2, 0.6) + rng.random((n_docs, n_labels)) * 0.6, 0, 1)
    siamese = np.clip(y * rng.uniform(0.0, 0.6) + rng.random((n_docs, n_labels)) * 0.7, 0, 1)
    single, siamese = single.astype(np.float32), siamese.astype(np.float32)
    counts = rng.integers(1, 120, n_labels)
    threshold = float(rng.uniform(0.2, 0.8))
    joint = np.clip(single + rng.normal(0, 0.2, single.shape), 0, 1).astype(np.float32)
    settings_ = CalibrationSettings(micro_tolerance=tolerance)
    rule = calibrate_hybrid(y, single, siamese, counts, threshold, settings_, joint_probs=joint)
    _, decisions = rule.merge(single, siamese, joint)
    base = single >= np.float32(threshold)
    assert _micro(y, decisions) >= _micro(y, base) - tolerance - 1e-12
    assert _macro(y, decisions) >= _macro(y, base) - 1e-12
    assert rule.details["valid_micro_f1"] == pytest.approx(_micro(y, decisions), abs=1e-12)
    assert rule.details["valid_macro_f1"] == pytest.approx(_macro(y, decisions), abs=1e-12)
    assert np.all(counts[rule.siamese_labels] < rule.n_phi)
    assert np.all(counts[rule.joint_labels] < rule.n_phi)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n_phi=st.integers(0, 12))
def test_paper_rule_merge_equals_hybrid_merge(seed, n_phi):
    rng = np.random.default_rng(seed)
    single = rng.random((9, 6)).astype(np.float32)
    siamese = rng.random((9, 6)).astype(np.float32)
    counts = rng.integers(0, 12, 6)
    rule = paper_rule(counts, n_phi, 0.4)
    scores, decisions = rule.merge(single, siamese)
    expected_scores, expected, _ = hybrid_merge(
        single, siamese, counts, n_phi, single_threshold=0.4
    )
    assert np.array_equal(decisions, expected) and np.array_equal(scores, expected_scores)


def test_rule_round_trips_through_json_and_rejects_bad_input():
    rule = HybridRule(
        np.array([1, 4]), np.array([0.2, 0.35]), 0.45, 50, "calibrated", {"a": 1}, [2], 0.6
    )
    back = HybridRule.from_dict(rule.to_dict())
    assert back.siamese_labels.tolist() == [1, 4] and back.single_threshold == 0.45
    assert back.joint_labels.tolist() == [2] and back.joint_threshold == 0.6
    assert back.siamese_thresholds.tolist() == [0.2, 0.35] and back.details == {"a": 1}
    with pytest.raises(ValueError, match="ascending"):
        HybridRule(np.array([4, 1]), np.array([0.2, 0.3]), 0.5, 10)
    with pytest.raises(ValueError, match="one threshold per label"):
        HybridRule(np.array([1]), np.array([0.2, 0.3]), 0.5, 10)
    with pytest.raises(ValueError, match="both"):
        HybridRule(np.array([1]), np.array([0.2]), 0.5, 10, joint_labels=np.array([1]))
    with pytest.raises(ValueError, match="pass siamese_scores"):
        rule.merge(np.zeros((2, 5), np.float32), None)
    no_siamese = single_rule(0.3)
    _, decisions = no_siamese.merge(np.array([[0.2, 0.3]], np.float32), None)
    assert decisions.tolist() == [[False, True]]


def test_tail_diagnostics_by_hand():
    # 4 documents × 3 labels; labels 1 and 2 are tail. Tail cells: 8, positives 2 ((1,1), (2,2)).
    y = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]])
    decisions = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 0], [1, 0, 1]], dtype=bool)
    single = np.array([[0.9, 0.1, 0.2], [0.1, 0.8, 0.3], [0.2, 0.1, 0.4], [0.7, 0.2, 0.9]])
    siamese = np.array([[0, 0.7, 0.1], [0, 0.6, 0.2], [0, 0.1, 0.9], [0, 0.2, 0.3]])
    is_tail = np.array([False, True, True])
    out = tail_diagnostics(y, decisions, is_tail, single, siamese)
    # decided tail cells: (0,1) FP, (1,1) TP, (3,2) FP → FP 2 of 6 negatives
    assert out["test/hybrid_tail/false_positive_rate"] == pytest.approx(2 / 6)
    assert out["test/hybrid_tail/positive_rate"] == pytest.approx(3 / 8)
    assert out["test/hybrid_tail/label_rate"] == pytest.approx(2 / 8)
    # single: label 1 ranks its positive first (AP 1); label 2's positive (0.4) is 2nd of
    # 0.9, 0.4, 0.3, 0.2 (AP 1/2) → mean 0.75. Siamese: label 1's positive 0.6 is 2nd (1/2),
    # label 2's 0.9 is 1st (1) → 0.75
    assert out["test/hybrid_tail/single_map"] == pytest.approx(0.75)
    assert out["test/hybrid_tail/siamese_map"] == pytest.approx(0.75)


def test_hybrid_splits_report_frequency_and_hybrid_groups_under_distinct_names():
    y, single, siamese, counts = _known_case()
    labels = {"valid": y, "test": y}
    probs = {"valid": single, "test": single}
    sims = {"valid": siamese, "test": siamese}
    rule = paper_rule(counts, 100, 0.5)
    groups = {"head": np.array([0]), "medium": np.array([], dtype=int), "tail": np.array([1, 2])}
    out = evaluate_hybrid_splits(labels, probs, sims, rule, counts < 100, (1,), groups)
    assert "test/head/micro_f1" in out and "test/tail/micro_f1" in out
    assert not any(k.startswith("test/medium/") for k in out)  # empty group left out
    assert "test/hybrid_tail/micro_f1" in out and "test/hybrid_head/micro_f1" in out
    # the frequency tail counts every document; the hybrid tail only those carrying label 1 or 2
    assert out["test/hybrid_tail/n_docs"] < 40 and out["test/tail/n_labels"] == 2
    assert out["n_siamese_labels"] == 2 and out["single_threshold"] == 0.5
