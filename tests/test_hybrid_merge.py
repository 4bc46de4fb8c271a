"""Hybrid merge of single-network and Siamese outputs (METHODS §1.8)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from longtail_mltc.evaluation import hybrid_merge, tail_label_mask

# labels:        0 head   1 tail  2 head (N_c == N_phi)  3 tail (N_phi − 1)  4 tail (unseen)
COUNTS = np.array([150, 5, 100, 99, 0])
SINGLE = np.array(
    [
        [0.90, 0.80, 0.30, 0.70, 0.60],
        [0.20, 0.10, 0.60, 0.05, 0.40],
    ]
)
SIAMESE = np.array(  # disagrees with SINGLE on every decision
    [
        [0.10, 0.20, 0.70, 0.30, 0.40],
        [0.80, 0.90, 0.40, 0.95, 0.60],
    ]
)


def test_each_label_takes_score_and_decision_from_its_model():
    scores, decisions, is_tail = hybrid_merge(SINGLE, SIAMESE, COUNTS, n_phi=100)
    assert is_tail.tolist() == [False, True, False, True, True]
    expected_scores = np.array(
        [
            [0.90, 0.20, 0.30, 0.30, 0.40],  # head from SINGLE, tail from SIAMESE
            [0.20, 0.90, 0.60, 0.95, 0.60],
        ]
    )
    np.testing.assert_array_equal(scores, expected_scores)
    np.testing.assert_array_equal(
        decisions, [[True, False, False, False, False], [False, True, True, True, True]]
    )
    assert decisions.dtype == bool and scores.shape == decisions.shape == (2, 5)


def test_boundary_count_equal_to_n_phi_is_head():
    for n_phi in (5, 99, 100, 150):
        is_tail = hybrid_merge(SINGLE, SIAMESE, COUNTS, n_phi=n_phi)[2]
        np.testing.assert_array_equal(is_tail, np.less(COUNTS, n_phi))
        assert not is_tail[np.equal(COUNTS, n_phi)].any()
    np.testing.assert_array_equal(tail_label_mask(COUNTS, 100), [0, 1, 0, 1, 1])
    assert not hybrid_merge(SINGLE, SIAMESE, COUNTS, n_phi=0)[2].any()  # all head


def test_default_n_phi_is_100():
    assert hybrid_merge(SINGLE, SIAMESE, COUNTS)[2].tolist() == [False, True, False, True, True]


def test_per_label_single_threshold_and_decision_rules_at_equality():
    thresholds = np.array([0.95, 0.0, 0.25, 0.0, 0.0])  # tail entries ignored
    _, decisions, _ = hybrid_merge(SINGLE, SIAMESE, COUNTS, single_threshold=thresholds)
    assert decisions[:, 0].tolist() == [False, False]  # 0.90, 0.20 < 0.95
    assert decisions[:, 2].tolist() == [True, True]  # 0.30, 0.60 ≥ 0.25
    assert decisions[:, 1].tolist() == [False, True]  # Siamese rule unchanged

    single = np.array([[0.5, 0.0, 0.5, 0.0, 0.0]])
    siamese = np.array([[0.0, 0.5, 0.0, 0.5, 0.5000001]])
    _, decisions, _ = hybrid_merge(single, siamese, COUNTS)
    # head: p ≥ threshold (the metrics' rule); tail: s > 0.5 strictly (§1.7)
    assert decisions.tolist() == [[True, False, True, False, True]]
    _, decisions, _ = hybrid_merge(single, siamese, COUNTS, siamese_threshold=0.4)
    assert decisions[0, [1, 3]].tolist() == [True, True]


def test_tail_only_columns_with_and_without_explicit_label_order():
    tail = np.flatnonzero(COUNTS < 100)  # [1, 3, 4]
    full = hybrid_merge(SINGLE, SIAMESE, COUNTS)
    ascending = hybrid_merge(SINGLE, SIAMESE[:, tail], COUNTS)
    order = np.array([4, 1, 3])
    permuted = hybrid_merge(SINGLE, SIAMESE[:, order], COUNTS, tail_labels=order)
    for got in (ascending, permuted):
        for a, b in zip(got, full, strict=True):
            np.testing.assert_array_equal(a, b)


def test_head_columns_of_a_full_width_siamese_matrix_are_ignored():
    siamese = SIAMESE.copy()
    siamese[:, COUNTS >= 100] = np.nan
    scores, decisions, _ = hybrid_merge(SINGLE, siamese, COUNTS)
    np.testing.assert_array_equal(scores, hybrid_merge(SINGLE, SIAMESE, COUNTS)[0])
    assert np.isfinite(scores).all() and decisions[0, 0]


def test_scores_are_kept_as_they_are_for_ranking():
    single = SINGLE.astype(np.float32)
    siamese = SIAMESE.astype(np.float32)
    scores, _, is_tail = hybrid_merge(single, siamese, COUNTS)
    assert scores.dtype == np.float32
    np.testing.assert_array_equal(scores[:, ~is_tail], single[:, ~is_tail])
    np.testing.assert_array_equal(scores[:, is_tail], siamese[:, is_tail])
    # inputs are not modified in place
    np.testing.assert_array_equal(single, SINGLE.astype(np.float32))
    np.testing.assert_array_equal(siamese, SIAMESE.astype(np.float32))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"siamese_scores": SIAMESE[:1]}, "rows"),
        ({"siamese_scores": SIAMESE[:, :2]}, "columns"),
        ({"siamese_scores": SIAMESE[0]}, "siamese_scores"),
        ({"single_probs": SINGLE[0]}, "2-D"),
        ({"label_counts": COUNTS[:4]}, "label_counts"),
        ({"single_threshold": np.full(4, 0.5)}, "single_threshold"),
        ({"single_threshold": np.full((2, 5), 0.5)}, "single_threshold"),
        ({"siamese_scores": SIAMESE[:, [1, 3, 4]], "tail_labels": [1, 3]}, "tail_labels"),
        ({"siamese_scores": SIAMESE[:, [1, 3, 0]], "tail_labels": [1, 3, 0]}, "tail labels"),
        ({"siamese_scores": SIAMESE[:, [1, 3, 3]], "tail_labels": [1, 3, 3]}, "tail labels"),
        ({"siamese_scores": SIAMESE[:, :3], "tail_labels": [1.0, 3.0, 4.0]}, "integer"),
        ({"n_phi": -1}, "n_phi"),
        ({"single_threshold": np.nan}, "NaN"),
    ],
)
def test_shape_and_value_errors(kwargs, match):
    args = {"single_probs": SINGLE, "siamese_scores": SIAMESE, "label_counts": COUNTS}
    n_phi = kwargs.pop("n_phi", 100)
    with pytest.raises(ValueError, match=match):
        hybrid_merge(**{**args, **kwargs}, n_phi=n_phi)


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    n_docs=st.integers(1, 6),
    n_labels=st.integers(1, 8),
    n_phi=st.integers(0, 12),
)
def test_merge_equals_a_per_cell_rule(data, n_docs, n_labels, n_phi):
    unit = st.floats(0.0, 1.0, width=32)
    single = data.draw(hnp.arrays(np.float32, (n_docs, n_labels), elements=unit))
    siamese = data.draw(hnp.arrays(np.float32, (n_docs, n_labels), elements=unit))
    counts = data.draw(hnp.arrays(np.int64, n_labels, elements=st.integers(0, 12)))
    thresholds = data.draw(hnp.arrays(np.float64, n_labels, elements=st.floats(0.0, 1.0)))
    scores, decisions, is_tail = hybrid_merge(
        single, siamese, counts, n_phi, single_threshold=thresholds
    )
    for d in range(n_docs):
        for c in range(n_labels):
            tail = counts[c] < n_phi
            assert is_tail[c] == tail
            if tail:
                assert scores[d, c] == siamese[d, c] and decisions[d, c] == (siamese[d, c] > 0.5)
            else:
                assert scores[d, c] == single[d, c]
                assert decisions[d, c] == (float(single[d, c]) >= thresholds[c])
