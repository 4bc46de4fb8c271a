"""Label index and label matrices (labels/index.py)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from longtail_mltc.labels import build_label_index, label_lists_from_matrix, to_label_matrix

LABEL_LISTS = [["earn"], ["grain", "wheat", "grain"], [], ["acq", "earn"]]


def test_build_label_index_is_sorted_and_order_independent() -> None:
    assert build_label_index(LABEL_LISTS) == ["acq", "earn", "grain", "wheat"]
    assert build_label_index(LABEL_LISTS[::-1]) == ["acq", "earn", "grain", "wheat"]
    assert build_label_index([]) == []


def test_bare_string_label_list_is_rejected() -> None:
    with pytest.raises(TypeError, match="document 1"):
        build_label_index([["a"], "abc"])


def test_to_label_matrix_hand_example() -> None:
    Y = to_label_matrix(LABEL_LISTS, ["acq", "earn", "grain", "wheat"])
    assert sp.issparse(Y) and Y.format == "csr"
    assert Y.dtype == np.uint8
    assert Y.shape == (4, 4)
    np.testing.assert_array_equal(
        Y.toarray(),
        [
            [0, 1, 0, 0],  # earn
            [0, 0, 1, 1],  # grain twice → counted once, wheat
            [0, 0, 0, 0],  # no labels
            [1, 1, 0, 0],  # acq, earn
        ],
    )
    np.testing.assert_array_equal(Y.indptr, [0, 1, 3, 3, 5])


def test_unknown_labels_error_names_document_and_label() -> None:
    with pytest.raises(ValueError, match=r"position 2 has label 'corn'"):
        to_label_matrix([["earn"], [], ["earn", "corn"], ["rice"]], ["earn"])


def test_unknown_labels_ignore_drops_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="longtail_mltc.labels.index"):
        Y = to_label_matrix([["earn", "corn"], ["rice"]], ["earn"], unknown="ignore")
    np.testing.assert_array_equal(Y.toarray(), [[1], [0]])
    assert "dropped 2 label occurrences" in caplog.text
    assert "(2 documents)" in caplog.text


def test_invalid_unknown_mode_and_duplicate_index() -> None:
    with pytest.raises(ValueError, match="unknown must be"):
        to_label_matrix([["a"]], ["a"], unknown="skip")
    with pytest.raises(ValueError, match="duplicated"):
        to_label_matrix([["a"]], ["a", "a"])


def test_empty_inputs() -> None:
    assert to_label_matrix([], ["a", "b"]).shape == (0, 2)
    assert to_label_matrix([[], []], []).shape == (2, 0)


def test_label_lists_from_matrix_does_not_modify_input() -> None:
    Y = sp.csr_matrix(np.array([[0, 1], [1, 0]], dtype=np.uint8))
    Y.data[0] = 0  # explicit zero stays stored in the caller's matrix
    assert label_lists_from_matrix(Y, ["a", "b"]) == [[], ["a"]]
    assert Y.nnz == 2


names = st.sampled_from([f"L{i}" for i in range(12)])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(names, max_size=6), max_size=15))
def test_matrix_round_trip(label_lists: list[list[str]]) -> None:
    index = build_label_index(label_lists)
    Y = to_label_matrix(label_lists, index)
    assert Y.shape == (len(label_lists), len(index))
    assert Y.has_canonical_format
    back = label_lists_from_matrix(Y, index)
    assert [set(b) for b in back] == [set(labels) for labels in label_lists]
    assert all(b == sorted(b) for b in back)  # label-index order
    # brute force: dense matrix from Python loops
    dense = np.zeros(Y.shape, dtype=np.uint8)
    for i, labels in enumerate(label_lists):
        for label in labels:
            dense[i, index.index(label)] = 1
    np.testing.assert_array_equal(Y.toarray(), dense)
