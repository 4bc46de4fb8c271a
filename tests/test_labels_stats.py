"""Label statistics (labels/stats.py), against hand values and brute-force loops."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from longtail_mltc.labels import (
    LabelStatistics,
    compute_label_statistics,
    cooccurrence,
    hybrid_split,
    label_counts,
    label_groups,
    label_priors,
    label_statistics_from_matrix,
    labels_per_document,
    to_label_matrix,
    wce_weights,
)

INDEX = ["a", "b", "c", "d"]
DOCS = [["a", "b"], ["a"], ["a", "b", "c"], [], ["b"]]
# N = 5; N_a = 3, N_b = 3, N_c = 1, N_d = 0
# pairs: C_ab = 2 (docs 0, 2), C_ac = 1, C_bc = 1
Y = to_label_matrix(DOCS, INDEX)


def test_counts_and_priors_hand_values() -> None:
    counts = label_counts(Y)
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts, [3, 3, 1, 0])
    np.testing.assert_allclose(label_priors(counts, 5), [0.6, 0.6, 0.2, 0.0])
    # dense input and explicit zeros give the same counts
    np.testing.assert_array_equal(label_counts(Y.toarray()), [3, 3, 1, 0])


def test_priors_validation() -> None:
    with pytest.raises(ValueError, match="n_docs"):
        label_priors(np.array([1]), 0)
    with pytest.raises(ValueError, match="exceeds"):
        label_priors(np.array([6]), 5)
    with pytest.raises(ValueError, match="non-negative"):
        label_priors(np.array([-1]), 5)


def test_groups_boundaries_follow_methods_reuters_cut_points() -> None:
    counts = np.array([100, 35, 34, 9, 8, 0, 20])
    groups = label_groups(counts, head_min=35, tail_max=8)
    np.testing.assert_array_equal(groups["head"], [0, 1])  # N_c >= 35
    np.testing.assert_array_equal(groups["medium"], [2, 3, 6])  # 8 < N_c < 35
    np.testing.assert_array_equal(groups["tail"], [4, 5])  # N_c <= 8
    with pytest.raises(ValueError, match="tail_max"):
        label_groups(counts, head_min=8, tail_max=8)


def test_hybrid_split_hand_values() -> None:
    split = hybrid_split(np.array([100, 99, 150, 0]), n_phi=100)
    np.testing.assert_array_equal(split["hybrid_head"], [0, 2])  # N_c >= N_phi
    np.testing.assert_array_equal(split["hybrid_tail"], [1, 3])  # N_c < N_phi


def test_cooccurrence_hand_values() -> None:
    C, P = cooccurrence(Y)
    np.testing.assert_array_equal(
        C,
        [
            [3, 2, 1, 0],
            [2, 3, 1, 0],
            [1, 1, 1, 0],
            [0, 0, 0, 0],
        ],
    )
    # p(i | j) = C_ij / N_j; column d (N_d = 0) is all zero
    np.testing.assert_allclose(
        P,
        [
            [1, 2 / 3, 1, 0],
            [2 / 3, 1, 1, 0],
            [1 / 3, 1 / 3, 1, 0],
            [0, 0, 0, 0],
        ],
    )


def test_cooccurrence_does_not_overflow_uint8() -> None:
    big = sp.csr_matrix(np.ones((300, 2), dtype=np.uint8))
    C, _ = cooccurrence(big)
    np.testing.assert_array_equal(C, [[300, 300], [300, 300]])


def test_labels_per_document_hand_values() -> None:
    # label counts per doc: 2, 1, 3, 0, 1 → h[0]=1, h[1]=2, h[2]=1, h[3]=1
    np.testing.assert_array_equal(labels_per_document(Y), [1, 2, 1, 1])
    np.testing.assert_array_equal(labels_per_document(sp.csr_matrix((0, 3))), [0])


def test_wce_weights_hand_values_and_clamp() -> None:
    counts = np.array([1, 10, 50, 60, 100, 0])
    # N = 100: log(99/1)=4.5951, log(90/10)=2.1972, log(50/50)=0 → floor,
    # log(40/60)<0 → floor, N_c = N → floor, N_c = 0 → floor
    expected = [math.log(99), math.log(9), 0.01, 0.01, 0.01, 0.01]
    np.testing.assert_allclose(wce_weights(counts, 100), expected)
    np.testing.assert_allclose(wce_weights(counts, 100, floor=0.5)[2:], 0.5)


def test_label_statistics_bundle_and_json_round_trip() -> None:
    stats = compute_label_statistics(DOCS, INDEX, head_min=3, tail_max=1, n_phi=2)
    assert stats.n_docs == 5 and stats.n_labels == 4
    np.testing.assert_array_equal(stats.counts, [3, 3, 1, 0])
    np.testing.assert_allclose(stats.priors, [0.6, 0.6, 0.2, 0.0])
    assert stats.group_labels("head") == ["a", "b"]
    assert stats.group_labels("medium") == []
    assert stats.group_labels("tail") == ["c", "d"]
    np.testing.assert_array_equal(stats.hybrid["hybrid_head"], [0, 1])
    with pytest.raises(ValueError):  # arrays are read-only
        stats.counts[0] = 7
    restored = LabelStatistics.from_dict(json.loads(json.dumps(stats.to_dict())))
    assert restored == stats
    assert restored.to_dict() == stats.to_dict()
    assert stats == label_statistics_from_matrix(Y, INDEX, head_min=3, tail_max=1, n_phi=2)
    assert stats != compute_label_statistics(DOCS, INDEX, head_min=3, tail_max=1, n_phi=3)


def test_label_statistics_resolve_and_record_the_group_rule() -> None:
    # counts 3 3 1 0; linear quantiles: 0.333 → 0.999 (floor 0), 0.667 → 3.0 (ceil 3)
    stats = compute_label_statistics(DOCS, INDEX, n_phi=2)
    assert (stats.head_min, stats.tail_max) == (3, 0)
    assert stats.group_rule == {"head_quantile": 0.667, "tail_quantile": 0.333}
    assert [stats.group_labels(g) for g in ("head", "medium", "tail")] == [["a", "b"], ["c"], ["d"]]
    assert stats.empty_groups == []
    data = json.loads(json.dumps(stats.to_dict()))
    assert data["group_rule"] == stats.group_rule and data["empty_groups"] == []
    assert LabelStatistics.from_dict(data) == stats
    absolute = compute_label_statistics(DOCS, INDEX, n_phi=2, groups={"head_min": 3, "tail_max": 1})
    assert absolute == compute_label_statistics(DOCS, INDEX, head_min=3, tail_max=1, n_phi=2)
    assert absolute.empty_groups == ["medium"]
    assert absolute.to_dict()["group_rule"] == {"head_min": 3, "tail_max": 1}


def test_label_statistics_rejects_inconsistent_input() -> None:
    data = compute_label_statistics(DOCS, INDEX, head_min=3, tail_max=1, n_phi=2).to_dict()
    data["groups"]["head"] = [0]
    with pytest.raises(ValueError, match="groups"):
        LabelStatistics.from_dict(data)
    data = compute_label_statistics(DOCS, INDEX, head_min=3, tail_max=1, n_phi=2).to_dict()
    data["empty_groups"] = []
    with pytest.raises(ValueError, match="empty_groups"):
        LabelStatistics.from_dict(data)
    with pytest.raises(ValueError, match="not in the label index"):
        compute_label_statistics([["zzz"]], INDEX, head_min=3, tail_max=1, n_phi=2)
    with pytest.raises(ValueError, match="counts for"):
        LabelStatistics(("a",), np.array([1, 2]), 2, head_min=2, tail_max=1, n_phi=1)


label_matrices = arrays(
    np.uint8, st.tuples(st.integers(1, 12), st.integers(1, 7)), elements=st.integers(0, 1)
)


@settings(max_examples=100, deadline=None)
@given(
    dense=label_matrices, head_min=st.integers(1, 8), gap=st.integers(1, 4), n_phi=st.integers(0, 8)
)
def test_statistics_match_brute_force(
    dense: np.ndarray, head_min: int, gap: int, n_phi: int
) -> None:
    n_docs, n_labels = dense.shape
    tail_max = head_min - gap
    Ys = sp.csr_matrix(dense)
    loop_counts = [sum(int(dense[d, c]) for d in range(n_docs)) for c in range(n_labels)]
    counts = label_counts(Ys)
    assert counts.tolist() == loop_counts
    assert label_priors(counts, n_docs).tolist() == [n / n_docs for n in loop_counts]

    groups = label_groups(counts, head_min, tail_max)
    assert groups["head"].tolist() == [c for c, n in enumerate(loop_counts) if n >= head_min]
    assert groups["tail"].tolist() == [c for c, n in enumerate(loop_counts) if n <= tail_max]
    assert groups["medium"].tolist() == [
        c for c, n in enumerate(loop_counts) if tail_max < n < head_min
    ]
    split = hybrid_split(counts, n_phi)
    assert split["hybrid_head"].tolist() == [c for c, n in enumerate(loop_counts) if n >= n_phi]
    assert split["hybrid_tail"].tolist() == [c for c, n in enumerate(loop_counts) if n < n_phi]

    C, P = cooccurrence(Ys)
    for i in range(n_labels):
        for j in range(n_labels):
            both = sum(1 for d in range(n_docs) if dense[d, i] and dense[d, j])
            assert C[i, j] == both
            expected = both / loop_counts[j] if loop_counts[j] else 0.0
            assert P[i, j] == pytest.approx(expected)

    per_doc = [int(dense[d].sum()) for d in range(n_docs)]
    hist = labels_per_document(Ys)
    assert hist.tolist() == [per_doc.count(k) for k in range(max(per_doc) + 1)]
