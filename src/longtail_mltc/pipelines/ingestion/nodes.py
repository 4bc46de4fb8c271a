"""Nodes of the ingestion pipeline."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from longtail_mltc.corpora import (
    ingestion_report,
    load_corpus,
    register_chosen_corpus,
    skipped_records,
)
from longtail_mltc.corpora.report import train_label_counts
from longtail_mltc.labels.groups import empty_group_message, label_group_rule
from longtail_mltc.pipelines.features.nodes import segmentation_options
from longtail_mltc.text import tokenize_texts

logger = logging.getLogger(__name__)


def load_raw_corpus(
    corpus: str,
    corpus_options: Mapping[str, Mapping[str, Any]],
    user_corpora: Mapping[str, Mapping[str, Any]] | None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Read the chosen corpus from its raw files (DESIGN "Raw data acquisition").

    A corpus declared under ``user_corpora`` (docs/corpora.md "Your own corpus") is registered first
    (:func:`~longtail_mltc.corpora.user.register_chosen_corpus`). Returns the Corpus table and
    the reader's skip counts.
    """
    register_chosen_corpus(corpus, user_corpora)
    options = dict(corpus_options.get(corpus) or {})
    table = load_corpus(corpus, **options)
    skipped = skipped_records(table)
    # Skip counts leave as their own output; parquet need not carry them in its metadata.
    table.attrs.clear()
    counts = table["split"].value_counts().to_dict()
    n_labels = len({label for labels in table["labels"] for label in labels})
    logger.info(
        "corpus %r: %s documents, %d labels; skipped %s",
        corpus,
        counts,
        n_labels,
        skipped or "nothing",
    )
    return table, skipped


def report_ingestion(
    corpus_table: pd.DataFrame,
    skipped: Mapping[str, int],
    features: Mapping[str, Any],
    label_stats: Mapping[str, Any] | None = None,
    corpus: str = "?",
) -> pd.DataFrame:
    """Documents, labels, labels/doc, tokens/doc per split and skipped records by reason, and
    the label groups that ``label_stats``' rule gives on the train split (an empty group is
    logged as a WARNING and named in an ``empty_label_group:<group>`` row)."""
    tokens = tokenize_texts(
        corpus_table["text"].tolist(), features["tokenizer"], **segmentation_options(features)
    )
    rule = label_group_rule(label_stats) if label_stats is not None else None
    report = ingestion_report(corpus_table, skipped, tokens, group_rule=rule)
    if rule is not None:
        _warn_empty_groups(report, corpus_table, corpus)
    return report


def _warn_empty_groups(report: pd.DataFrame, corpus_table: pd.DataFrame, corpus: str) -> None:
    values = dict(zip(report["statistic"], report["value"], strict=False))
    head_min, tail_max = int(values["label_group_head_min"]), int(values["label_group_tail_max"])
    counts = train_label_counts(corpus_table)
    for statistic in report["statistic"]:
        if statistic.startswith("empty_label_group:"):
            group = statistic.split(":", 1)[1]
            message = empty_group_message(group, corpus, counts, head_min, tail_max)
            logger.warning("%s (ingestion train split, before validation is held out)", message)
