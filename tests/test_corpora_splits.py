"""split_validation: sizes, determinism, row-order independence, test rows untouched."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from longtail_mltc.corpora import CorpusError, read_reuters21578, split_validation, validate_corpus


@pytest.fixture(scope="module")
def reuters(reuters_mirror: Path) -> pd.DataFrame:
    return read_reuters21578(reuters_mirror)


def _frame(train_ids: list[str], test_ids: list[str]) -> pd.DataFrame:
    ids = train_ids + test_ids
    return pd.DataFrame(
        {
            "doc_id": ids,
            "text": [f"text of {i}" for i in ids],
            "labels": [["a"] for _ in ids],
            "split": ["train"] * len(train_ids) + ["test"] * len(test_ids),
            "lang": ["en"] * len(ids),
        }
    )


def test_reuters_protocol_holds_out_1000(reuters: pd.DataFrame) -> None:
    before = reuters.copy()
    result = split_validation(reuters, 1000, seed=13)
    assert result["split"].value_counts().to_dict() == {"train": 6770, "test": 3019, "valid": 1000}
    pd.testing.assert_frame_equal(reuters, before)  # input not modified
    is_test = reuters["split"] == "test"
    pd.testing.assert_frame_equal(result[is_test], reuters[is_test])
    assert set(result.loc[result["split"] == "valid", "doc_id"]) <= set(
        reuters.loc[reuters["split"] == "train", "doc_id"]
    )
    validate_corpus(result, "split reuters", splits=("train", "valid", "test"))


def test_fraction_rounds_half_up(reuters: pd.DataFrame) -> None:
    result = split_validation(reuters, 0.25, seed=0)
    assert (result["split"] == "valid").sum() == math.floor(0.25 * 7770 + 0.5) == 1943


def test_same_seed_same_split_other_seed_other_split(reuters: pd.DataFrame) -> None:
    first = split_validation(reuters, 1000, seed=7)
    again = split_validation(reuters, 1000, seed=7)
    other = split_validation(reuters, 1000, seed=8)
    pd.testing.assert_frame_equal(first, again)
    assert not first["split"].equals(other["split"])


def test_tiny_fraction_gives_at_least_one() -> None:
    frame = _frame([f"d{i}" for i in range(10)], ["t0"])
    assert (split_validation(frame, 0.01, seed=0)["split"] == "valid").sum() == 1


@given(
    n_train=st.integers(min_value=2, max_value=40),
    n_test=st.integers(min_value=0, max_value=5),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    shuffle_seed=st.integers(min_value=0, max_value=1000),
    data=st.data(),
)
@settings(max_examples=60, deadline=None)
def test_row_order_does_not_matter(
    n_train: int, n_test: int, seed: int, shuffle_seed: int, data: st.DataObject
) -> None:
    validation = data.draw(st.integers(min_value=1, max_value=n_train - 1), label="validation")
    frame = _frame([f"doc-{i:03d}" for i in range(n_train)], [f"test-{i}" for i in range(n_test)])
    shuffled = frame.sample(frac=1.0, random_state=shuffle_seed).reset_index(drop=True)
    a = split_validation(frame, validation, seed)
    b = split_validation(shuffled, validation, seed)
    valid = {str(d) for d in a.loc[a["split"] == "valid", "doc_id"]}
    assert valid == {str(d) for d in b.loc[b["split"] == "valid", "doc_id"]}
    assert len(valid) == validation
    assert (b.loc[b["doc_id"].str.startswith("test-"), "split"] == "test").all()
    pd.testing.assert_series_equal(b["doc_id"], shuffled["doc_id"])  # rows keep their order


@pytest.mark.parametrize(
    ("validation", "error"),
    [
        (0, ValueError),
        (-3, ValueError),
        (10, ValueError),
        (11, ValueError),
        (0.0, ValueError),
        (1.0, ValueError),
        (-0.1, ValueError),
        (float("nan"), ValueError),
        (True, TypeError),
        ("5", TypeError),
    ],
)
def test_invalid_sizes(validation: object, error: type[Exception]) -> None:
    frame = _frame([f"d{i}" for i in range(10)], ["t0"])
    with pytest.raises(error):
        split_validation(frame, validation, seed=0)  # type: ignore[arg-type]


def test_numpy_integer_count_is_accepted() -> None:
    frame = _frame([f"d{i}" for i in range(10)], ["t0"])
    assert (split_validation(frame, np.int64(3), seed=0)["split"] == "valid").sum() == 3


def test_runs_once() -> None:
    frame = split_validation(_frame([f"d{i}" for i in range(10)], ["t0"]), 2, seed=0)
    with pytest.raises(CorpusError, match="already has a 'valid' split"):
        split_validation(frame, 2, seed=0)
