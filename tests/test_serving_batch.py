"""The predict pipeline's table (issue 22, item 3: the node's logic as a library function):
refused texts keep their row, empty, with the reason; the others are labelled in one call."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from longtail_mltc.serving import label_table


class _Labeler:
    """Refuses blank texts and texts over 5 characters; labels a text by its letters."""

    max_chars = 5

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def text_problem(self, text: str) -> str:
        if not text.strip():
            return "empty text"
        return "too long" if len(text) > self.max_chars else ""

    def predict(self, texts: list[str], top_k: int) -> list[dict[str, Any]]:
        self.calls.append(list(texts))
        return [
            {
                "labels": sorted(set(t)),
                "scores": [0.5 + i / 8 for i in range(len(set(t)))],
                "top_k": [[c, 0.9] for c in sorted(set(t))[:top_k]],
            }
            for t in texts
        ]


def test_refused_texts_keep_their_row_and_reason_and_are_counted_one_based():
    labeler = _Labeler()
    ids = pd.Series(["d0", "d1", "d2", "d3"])
    table, skipped = label_table(labeler, ids, ["ba", "   ", "toolong", "c"], top_k=1)
    assert labeler.calls == [["ba", "c"]]  # one batch of the accepted texts
    assert skipped == [2, 3]
    assert table.columns.tolist() == ["id", "predicted_labels", "scores", "top_k", "skipped"]
    assert table["id"].tolist() == ["d0", "d1", "d2", "d3"]
    assert table["predicted_labels"].tolist() == ["a;b", "", "", "c"]
    assert table["scores"].tolist() == ["0.5000;0.6250", "", "", "0.5000"]
    assert [json.loads(t) for t in table["top_k"]] == [[["a", 0.9]], [], [], [["c", 0.9]]]
    assert table["skipped"].tolist() == ["", "empty text", "too long", ""]


def test_nothing_to_label_calls_no_model():
    labeler = _Labeler()
    table, skipped = label_table(labeler, [7], [""])
    assert labeler.calls == [] and skipped == [1]
    assert table.to_dict("records") == [
        {"id": 7, "predicted_labels": "", "scores": "", "top_k": "[]", "skipped": "empty text"}
    ]
