"""Tests for longtail_mltc.evaluation.analysis (METHODS §3.1: document groups, confusions)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from longtail_mltc.evaluation.analysis import (
    confused_label_pairs,
    document_groups,
    evaluate_by_document_group,
    prediction_table,
)
from longtail_mltc.evaluation.metrics import evaluate

# ----------------------------------------------------------------------------------------------
# document_groups
# ----------------------------------------------------------------------------------------------

# number of true labels of each row of the hand example (20 labels)
LABELS_PER_DOC = [0, 1, 2, 3, 9, 10, 14, 15, 16, 1, 0]


def matrix_with_counts(counts: list[int], n_labels: int = 20) -> np.ndarray:
    """Row i carries labels 0 .. counts[i]-1 (rotated so that columns vary)."""
    y = np.zeros((len(counts), n_labels), dtype=np.int8)
    for i, c in enumerate(counts):
        y[i, (np.arange(c) + i) % n_labels] = 1
    return y


@pytest.mark.parametrize("to_matrix", [np.asarray, sp.csr_matrix, sp.csc_array])
def test_document_groups_reuters_bins(to_matrix) -> None:
    y = to_matrix(matrix_with_counts(LABELS_PER_DOC))
    groups = document_groups(y, [1, 2])
    assert list(groups) == ["labels_1", "labels_2plus"]
    np.testing.assert_array_equal(groups["labels_1"], [1, 9])
    np.testing.assert_array_equal(groups["labels_2plus"], [2, 3, 4, 5, 6, 7, 8])
    assert all(v.dtype == np.int64 for v in groups.values())
    # rows 0 and 10 have no label: in no group
    assert not {0, 10} & set(np.concatenate(list(groups.values())).tolist())


@pytest.mark.parametrize("to_matrix", [np.asarray, sp.csr_array])
def test_document_groups_pubmed_bins_hit_boundaries(to_matrix) -> None:
    y = to_matrix(matrix_with_counts(LABELS_PER_DOC))
    groups = document_groups(y, [1, 10, 15])
    assert list(groups) == ["labels_1_9", "labels_10_14", "labels_15plus"]
    np.testing.assert_array_equal(groups["labels_1_9"], [1, 2, 3, 4, 9])  # 1, 2, 3, 9, 1
    np.testing.assert_array_equal(groups["labels_10_14"], [5, 6])  # 10, 14
    np.testing.assert_array_equal(groups["labels_15plus"], [7, 8])  # 15, 16


def test_document_groups_width_one_bins_and_empty_groups() -> None:
    groups = document_groups(matrix_with_counts(LABELS_PER_DOC), np.array([2, 3, 4, 17]))
    assert list(groups) == ["labels_2", "labels_3", "labels_4_16", "labels_17plus"]
    np.testing.assert_array_equal(groups["labels_2"], [2])
    np.testing.assert_array_equal(groups["labels_3"], [3])
    np.testing.assert_array_equal(groups["labels_4_16"], [4, 5, 6, 7, 8])
    assert groups["labels_17plus"].size == 0 and groups["labels_17plus"].dtype == np.int64
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", name) for name in groups)


@pytest.mark.parametrize(
    "bins",
    [[], [2, 1], [1, 1, 2], [0, 2], [-1], [1, 2.5], [1.0, 2.0], [True, 2], "12", None],
)
def test_document_groups_invalid_bins(bins) -> None:
    with pytest.raises(ValueError, match="strictly increasing sequence of integer lower edges"):
        document_groups(np.eye(3, dtype=int), bins)


def test_document_groups_rejects_non_binary_labels() -> None:
    with pytest.raises(ValueError, match="0/1"):
        document_groups(np.array([[0, 2]]), [1])


# ----------------------------------------------------------------------------------------------
# evaluate_by_document_group
# ----------------------------------------------------------------------------------------------


def random_problem(seed: int = 0, n_docs: int = 60, n_labels: int = 12):
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, min(6, n_labels + 1), size=n_docs)
    y = np.zeros((n_docs, n_labels), dtype=np.int8)
    for i, c in enumerate(counts):
        y[i, rng.choice(n_labels, size=c, replace=False)] = 1
    scores = rng.random((n_docs, n_labels)).astype(np.float32)
    return y, scores


@pytest.mark.parametrize("to_matrix", [np.asarray, sp.csr_matrix, sp.coo_array])
def test_evaluate_by_document_group_equals_evaluate_on_sliced_rows(to_matrix) -> None:
    y, scores = random_problem()
    groups = document_groups(y, [1, 2, 4])
    assert all(v.size > 0 for v in groups.values())
    groups_with_empty = {**groups, "labels_none": np.array([], dtype=np.int64)}
    out = evaluate_by_document_group(
        to_matrix(y), scores, groups_with_empty, threshold=0.6, ks=(1, 3), prefix="val"
    )
    assert not any(key.startswith("val/labels_none/") for key in out)
    for name, rows in groups.items():
        # independent slicing: one row at a time, from the dense matrix
        y_rows = np.stack([y[i] for i in rows.tolist()])
        s_rows = np.stack([scores[i] for i in rows.tolist()])
        expected = evaluate(y_rows, s_rows, threshold=0.6, ks=(1, 3))
        got = {k.split("/", 2)[2]: v for k, v in out.items() if k.startswith(f"val/{name}/")}
        assert got.keys() == expected.keys()
        for key, value in expected.items():
            assert got[key] == pytest.approx(value, abs=0, rel=1e-12), (name, key)
        assert got["n_docs"] == float(rows.size)
        assert got["n_labels"] == 12.0


def test_evaluate_by_document_group_sparse_equals_dense() -> None:
    y, scores = random_problem(seed=3)
    groups = document_groups(y, [1, 10, 15])
    dense = evaluate_by_document_group(y, scores, groups, threshold=0.5)
    sparse = evaluate_by_document_group(sp.csr_array(y), scores, groups, threshold=0.5)
    assert dense == sparse
    assert "test/labels_1_9/micro_f1" in dense and "test/labels_1_9/macro_f1" in dense
    assert not any("labels_15plus" in key for key in dense)  # at most 5 labels per doc: empty


def test_evaluate_by_document_group_n_docs_counts_group_members() -> None:
    y = np.array([[0, 0], [1, 0], [0, 1]])
    scores = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]])
    out = evaluate_by_document_group(y, scores, {"g": np.array([0, 1])}, threshold=0.5)
    assert out["test/g/n_docs"] == 2.0  # the label-less row 0 is still a member


def test_evaluate_by_document_group_input_errors() -> None:
    y, scores = random_problem(n_docs=5, n_labels=3)
    with pytest.raises(ValueError, match=r"received y_true \(5, 3\) and scores \(4, 3\)"):
        evaluate_by_document_group(y, scores[:4], {"g": [0]}, threshold=0.5)
    with pytest.raises(ValueError, match=r"must lie in \[0, 5\)"):
        evaluate_by_document_group(y, scores, {"g": [0, 5]}, threshold=0.5)
    with pytest.raises(ValueError, match="integer row indices"):
        evaluate_by_document_group(y, scores, {"g": [0.5]}, threshold=0.5)
    with pytest.raises(TypeError, match="dense"):
        evaluate_by_document_group(y, sp.csr_matrix(scores), {"g": [0]}, threshold=0.5)


# ----------------------------------------------------------------------------------------------
# confused_label_pairs
# ----------------------------------------------------------------------------------------------

NAMES = ["A", "B", "C", "D"]
#                    A  B  C  D
Y_HAND = np.array(
    [
        [1, 1, 0, 0],  # d0 true {A, B}
        [1, 0, 0, 0],  # d1 true {A}
        [0, 0, 1, 0],  # d2 true {C}
        [0, 1, 0, 0],  # d3 true {B}
        [0, 0, 0, 0],  # d4 true {}
    ]
)
P_HAND = np.array(
    [
        [1, 0, 1, 1],  # d0 pred {A, C, D}: TP A (never a confusion); FP C, D
        #                 -> pairs (A,C) (A,D) (B,C) (B,D): two true × two FP = 4 pairs
        [1, 0, 1, 0],  # d1 pred {A, C}: FP C -> (A,C)
        [0, 0, 0, 1],  # d2 pred {D}: FP D -> (C,D); the missed C is not a confusion
        [0, 1, 0, 0],  # d3 pred {B}: TP only -> nothing
        [0, 0, 0, 1],  # d4 pred {D}: FP D but no true label -> nothing
    ],
    dtype=bool,
)
# counts: (A,C)=2 [d0,d1], (A,D)=1, (B,C)=1, (B,D)=1, (C,D)=1; total 6 = 2·2 + 1·1 + 1·1
# false positives per predicted label: C 2 (d0, d1), D 3 (d0, d2, d4)
# documents per true label: A 2 (d0, d1), B 2 (d0, d3), C 1 (d2)
EXPECTED_HAND = pd.DataFrame(
    {
        "true_label": ["A", "A", "B", "B", "C"],
        "predicted_label": ["C", "D", "C", "D", "D"],
        "count": np.array([2, 1, 1, 1, 1], dtype=np.int64),
        "share_of_false_positives": [2 / 2, 1 / 3, 1 / 2, 1 / 3, 1 / 3],
        "true_label_docs": np.array([2, 2, 2, 2, 1], dtype=np.int64),
    }
)


@pytest.mark.parametrize(
    ("to_true", "to_pred"),
    [
        (np.asarray, np.asarray),
        (sp.csr_matrix, sp.csr_matrix),
        (sp.csc_array, np.asarray),
        (np.asarray, lambda p: sp.coo_matrix(p.astype(np.int8))),
    ],
)
def test_confused_label_pairs_hand_example(to_true, to_pred) -> None:
    got = confused_label_pairs(to_true(Y_HAND), to_pred(P_HAND), NAMES)
    pd.testing.assert_frame_equal(got, EXPECTED_HAND, check_dtype=False)
    assert got["count"].dtype == np.int64
    assert got["count"].sum() == 6


def test_confused_label_pairs_top_and_ties() -> None:
    got = confused_label_pairs(Y_HAND, P_HAND, NAMES, top=3)
    # (A,C) first by count; the ties at count 1 ordered by true label then predicted label
    assert list(zip(got["true_label"], got["predicted_label"], strict=True)) == [
        ("A", "C"),
        ("A", "D"),
        ("B", "C"),
    ]


def test_confused_label_pairs_no_false_positive_gives_empty_frame() -> None:
    got = confused_label_pairs(Y_HAND, Y_HAND, NAMES)
    assert got.empty
    assert list(got.columns) == list(EXPECTED_HAND.columns)


def test_confused_label_pairs_input_errors() -> None:
    with pytest.raises(ValueError, match=r"y_true \(5, 4\) and y_pred \(4, 4\)"):
        confused_label_pairs(Y_HAND, P_HAND[:4], NAMES)
    with pytest.raises(ValueError, match=r"shape \(5, 4\) \(4 labels\), received 3 names"):
        confused_label_pairs(Y_HAND, P_HAND, NAMES[:3])
    with pytest.raises(ValueError, match="y_pred must contain only 0/1"):
        confused_label_pairs(Y_HAND, P_HAND * 2, NAMES)
    with pytest.raises(ValueError, match="top must be a positive integer"):
        confused_label_pairs(Y_HAND, P_HAND, NAMES, top=0)


@st.composite
def label_and_prediction_matrices(draw):
    n_docs = draw(st.integers(1, 8))
    n_labels = draw(st.integers(1, 6))
    y = draw(hnp.arrays(np.bool_, (n_docs, n_labels)))
    p = draw(hnp.arrays(np.bool_, (n_docs, n_labels)))
    sparse = draw(st.booleans())
    return y, p, sparse


@settings(max_examples=200, deadline=None)
@given(label_and_prediction_matrices())
def test_confused_label_pairs_match_brute_force(data) -> None:
    y, p, sparse = data
    n_docs, n_labels = y.shape
    names = [f"L{j}" for j in range(n_labels)]
    brute = np.zeros((n_labels, n_labels), dtype=np.int64)
    for d in range(n_docs):
        for b in range(n_labels):
            for a in range(n_labels):
                if y[d, b] and p[d, a] and not y[d, a]:
                    brute[b, a] += 1
    fp_total = (p & ~y).sum(axis=0)
    args = (sp.csr_matrix(y), sp.csr_array(p)) if sparse else (y.astype(int), p)
    got = confused_label_pairs(*args, names, top=n_labels * n_labels)
    found = np.zeros_like(brute)
    for row in got.itertuples(index=False):
        b, a = names.index(row.true_label), names.index(row.predicted_label)
        found[b, a] = row.count
        assert row.share_of_false_positives == pytest.approx(row.count / fp_total[a])
        assert row.true_label_docs == y[:, b].sum()
    np.testing.assert_array_equal(found, brute)  # includes: zero pairs never listed
    assert (got["count"] > 0).all()
    assert got["count"].sum() == int((y.sum(axis=1) * (p & ~y).sum(axis=1)).sum())
    # descending count, ties by (true, predicted) index
    keys = [(-c, names.index(t), names.index(q)) for t, q, c in got.iloc[:, :3].values]
    assert keys == sorted(keys)


def test_prediction_table_hand_example() -> None:
    scores = np.array([[0.9, 0.2, 0.6], [0.1, 0.3, 0.3]], dtype=np.float32)
    decisions = np.array([[True, False, False], [False, True, True]])  # not a threshold rule
    table = prediction_table(
        ["d1", "d2"], [["a"], ["b", "c"]], scores, decisions, ["a", "b", "c"], 2
    )
    assert table.columns.tolist() == [
        "doc_id", "true_labels", "predicted_labels", "top2_labels", "top2_scores"
    ]  # fmt: skip
    assert table.to_dict("list") == {
        "doc_id": ["d1", "d2"],
        "true_labels": ["a", "b;c"],
        "predicted_labels": ["a", "b;c"],
        "top2_labels": ["a;c", "b;c"],  # ties keep label order
        "top2_scores": ["0.9000;0.6000", "0.3000;0.3000"],
    }
    with pytest.raises(ValueError, match=r"must both be \(2, 3\)"):
        prediction_table(["d1", "d2"], [[], []], scores, decisions[:, :2], ["a", "b", "c"])
