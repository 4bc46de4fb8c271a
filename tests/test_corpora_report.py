"""The ingestion report: per-split counts worked out by hand on a tiny corpus."""

from __future__ import annotations

import pandas as pd
import pytest

from longtail_mltc.corpora import ingestion_report, record_skips, skipped_records
from longtail_mltc.corpora.report import train_label_counts
from longtail_mltc.labels import DEFAULT_GROUP_RULE
from longtail_mltc.text import tokenize_whitespace


@pytest.fixture
def corpus() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "doc_id": ["a", "b", "c", "d"],
            "text": ["one two three", "four", "five six", "x y z w"],
            "labels": [["p", "q"], [], ["q"], ["r"]],
            "split": ["train", "train", "test", "test"],
            "lang": ["en"] * 4,
        }
    )


def _value(report: pd.DataFrame, statistic: str, split: str) -> float:
    rows = report[(report["statistic"] == statistic) & (report["split"] == split)]
    assert len(rows) == 1, (statistic, split)
    return float(rows["value"].iloc[0])


def test_counts_per_split_and_overall(corpus: pd.DataFrame) -> None:
    tokens = [tokenize_whitespace(text) for text in corpus["text"]]
    report = ingestion_report(corpus, {"no text": 3, "bad": 1}, tokens)
    assert _value(report, "documents", "train") == 2
    assert _value(report, "documents", "all") == 4
    assert _value(report, "labels", "train") == 2  # p, q
    assert _value(report, "labels", "all") == 3
    assert _value(report, "labels_per_doc_mean", "train") == 1.0  # (2 + 0) / 2
    assert _value(report, "labels_per_doc_mean", "all") == 1.0  # 4 / 4
    assert _value(report, "docs_without_labels", "train") == 1
    assert _value(report, "tokens_per_doc_mean", "train") == 2.0  # (3 + 1) / 2
    assert _value(report, "tokens_per_doc_median", "test") == 3.0  # median of 2, 4
    assert _value(report, "tokens_per_doc_max", "all") == 4
    assert _value(report, "test_labels_unseen_in_train", "test") == 1  # r
    assert _value(report, "skipped:no text", "all") == 3
    assert _value(report, "skipped_total", "all") == 4


def test_skip_counts_travel_with_the_table(corpus: pd.DataFrame) -> None:
    table = record_skips(corpus, {"no text": 2, "nothing": 0})
    assert skipped_records(table) == {"no text": 2}
    assert skipped_records(pd.DataFrame()) == {}


def test_label_group_rows_by_hand(corpus: pd.DataFrame) -> None:
    tokens = [tokenize_whitespace(text) for text in corpus["text"]]
    # training counts: p 1, q 1, r 0 (r is only in test)
    assert train_label_counts(corpus).tolist() == [1, 1, 0]
    report = ingestion_report(corpus, {}, tokens, group_rule={"head_min": 1, "tail_max": 0})
    assert _value(report, "label_group_head_min", "train") == 1
    assert _value(report, "label_group_tail_max", "train") == 0
    assert _value(report, "labels_in_group:head", "train") == 2  # p, q
    assert _value(report, "labels_in_group:medium", "train") == 0
    assert _value(report, "labels_in_group:tail", "train") == 1  # r
    assert _value(report, "empty_label_groups", "train") == 1
    assert _value(report, "empty_label_group:medium", "train") == 0
    assert not report["statistic"].str.startswith("empty_label_group:h").any()
    # two distinct counts under the quantile default: tail 0, head 1, medium empty
    default = ingestion_report(corpus, {}, tokens, group_rule=DEFAULT_GROUP_RULE)
    pd.testing.assert_frame_equal(default, report)
