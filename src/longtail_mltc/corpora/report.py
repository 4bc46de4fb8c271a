"""Ingestion report: what a reader produced and what it skipped (issue "All corpora", item 7).

Readers record skipped records by reason in ``table.attrs["skipped_records"]`` (a
``{reason: count}`` dict, also logged when they skip); :func:`ingestion_report` turns a Corpus
table and those counts into one long table (statistic, split, value) that is saved as CSV,
previewed by kedro-viz and logged to MLflow. Given a label-group rule it also reports the
head/medium/tail group sizes on the training split and names the empty groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from longtail_mltc.labels.groups import GroupRule, parse_group_rule, resolve_group_cuts
from longtail_mltc.labels.stats import label_groups

__all__ = [
    "SKIPPED_RECORDS_ATTR",
    "ingestion_report",
    "label_group_rows",
    "record_skips",
    "skipped_records",
    "train_label_counts",
]

SKIPPED_RECORDS_ATTR = "skipped_records"


def record_skips(table: pd.DataFrame, skips: Mapping[str, int]) -> pd.DataFrame:
    """Attach ``{reason: count}`` skip counts to ``table`` (only reasons with a count > 0)."""
    table.attrs[SKIPPED_RECORDS_ATTR] = {
        str(reason): int(count) for reason, count in skips.items() if int(count) > 0
    }
    return table


def skipped_records(table: pd.DataFrame) -> dict[str, int]:
    """The skip counts a reader attached to ``table`` (empty when it skipped nothing)."""
    return dict(table.attrs.get(SKIPPED_RECORDS_ATTR, {}))


def ingestion_report(
    corpus: pd.DataFrame,
    skipped: Mapping[str, int],
    token_lists: Sequence[Sequence[str]],
    group_rule: GroupRule | Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Documents, labels, labels/doc and tokens/doc per split (and overall), plus skips.

    ``token_lists``: each document's tokens, as the features pipeline will cut them.
    ``group_rule``: when given, :func:`label_group_rows` are added. Returns columns
    ``statistic``, ``split``, ``value`` (float).
    """
    rows: list[tuple[str, str, float]] = []
    label_counts = corpus["labels"].map(len).to_numpy()
    if len(token_lists) != len(corpus):
        raise ValueError(f"{len(token_lists)} token lists for {len(corpus)} documents")
    token_counts = np.fromiter((len(tokens) for tokens in token_lists), dtype=np.int64)
    splits = [s for s in ("train", "valid", "test") if (corpus["split"] == s).any()]
    for split in [*splits, "all"]:
        mask = (
            np.ones(len(corpus), bool) if split == "all" else (corpus["split"] == split).to_numpy()
        )
        labels = corpus.loc[mask, "labels"]
        rows += [
            ("documents", split, float(mask.sum())),
            ("labels", split, float(len({label for cell in labels for label in cell}))),
            ("labels_per_doc_mean", split, float(label_counts[mask].mean())),
            ("docs_without_labels", split, float((label_counts[mask] == 0).sum())),
            ("tokens_per_doc_mean", split, float(token_counts[mask].mean())),
            ("tokens_per_doc_median", split, float(np.median(token_counts[mask]))),
            ("tokens_per_doc_max", split, float(token_counts[mask].max())),
        ]
    train_labels = {
        label for cell in corpus.loc[corpus["split"] == "train", "labels"] for label in cell
    }
    test_labels = {
        label for cell in corpus.loc[corpus["split"] == "test", "labels"] for label in cell
    }
    rows.append(("test_labels_unseen_in_train", "test", float(len(test_labels - train_labels))))
    rows += [
        (f"skipped:{reason}", "all", float(count)) for reason, count in sorted(skipped.items())
    ]
    rows.append(("skipped_total", "all", float(sum(skipped.values()))))
    if group_rule is not None:
        rows += label_group_rows(corpus, group_rule)
    return pd.DataFrame(rows, columns=["statistic", "split", "value"])


def train_label_counts(corpus: pd.DataFrame) -> np.ndarray:
    """Training count of every label of the corpus (all splits; 0 for labels never in train)."""
    counts = dict.fromkeys(sorted({label for cell in corpus["labels"] for label in cell}), 0)
    for cell in corpus.loc[corpus["split"] == "train", "labels"]:
        for label in set(cell):
            counts[label] += 1
    return np.fromiter(counts.values(), dtype=np.int64, count=len(counts))


def label_group_rows(
    corpus: pd.DataFrame, group_rule: GroupRule | Mapping[str, Any]
) -> list[tuple[str, str, float]]:
    """Rows (split ``train``) of the label groups the rule gives on the training counts.

    ``label_group_head_min`` / ``label_group_tail_max`` (the resolved cut points),
    ``labels_in_group:<group>`` for head, medium and tail, ``empty_label_groups`` (how many are
    empty) and one ``empty_label_group:<group>`` row (value 0) naming each empty group. The
    train split here still holds the documents that the features pipeline later keeps for
    validation, so the sizes can differ slightly from ``label_statistics.json``.
    """
    counts = train_label_counts(corpus)
    rule = group_rule if isinstance(group_rule, GroupRule) else parse_group_rule(group_rule)
    head_min, tail_max = resolve_group_cuts(counts, rule)
    sizes = {name: len(cols) for name, cols in label_groups(counts, head_min, tail_max).items()}
    empty = [name for name, size in sizes.items() if size == 0]
    rows = [
        ("label_group_head_min", "train", float(head_min)),
        ("label_group_tail_max", "train", float(tail_max)),
        *((f"labels_in_group:{name}", "train", float(size)) for name, size in sizes.items()),
        ("empty_label_groups", "train", float(len(empty))),
    ]
    return rows + [(f"empty_label_group:{name}", "train", 0.0) for name in empty]
