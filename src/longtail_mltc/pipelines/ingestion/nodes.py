"""Nodes of the ingestion pipeline."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from longtail_mltc.config_errors import ConfigurationError
from longtail_mltc.corpora import (
    available_corpora,
    ingestion_report,
    load_corpus,
    skipped_records,
)
from longtail_mltc.corpora.table import register_table_corpus
from longtail_mltc.pipelines.features.nodes import segmentation_options
from longtail_mltc.text import tokenize_texts

logger = logging.getLogger(__name__)


def load_raw_corpus(
    corpus: str,
    corpus_options: Mapping[str, Mapping[str, Any]],
    user_corpora: Mapping[str, Mapping[str, Any]] | None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Read the chosen corpus from its raw files (DESIGN "Raw data acquisition").

    A corpus declared under ``user_corpora`` (README "Your own corpus") is registered first
    with the generic table reader. Returns the Corpus table and the reader's skip counts.
    """
    user_corpora = user_corpora or {}
    if corpus in user_corpora:
        register_table_corpus(corpus, **dict(user_corpora[corpus]))
    elif corpus not in available_corpora():
        raise ConfigurationError(
            f"unknown corpus {corpus!r} (parameter `corpus`): the built-in corpora are "
            f"{', '.join(available_corpora())}; declared under `user_corpora`: "
            f"{', '.join(sorted(user_corpora)) or 'none'}. Declare a corpus of your own under "
            "`user_corpora` in conf/base/parameters_ingestion.yml or conf/local/ "
            '(README "Your own corpus")'
        )
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
    corpus_table: pd.DataFrame, skipped: Mapping[str, int], features: Mapping[str, Any]
) -> pd.DataFrame:
    """Documents, labels, labels/doc, tokens/doc per split and skipped records by reason."""
    tokens = tokenize_texts(
        corpus_table["text"].tolist(), features["tokenizer"], **segmentation_options(features)
    )
    return ingestion_report(corpus_table, skipped, tokens)
