"""Nodes of the ingestion pipeline."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from longtail_mltc.corpora import load_corpus

logger = logging.getLogger(__name__)


def load_raw_corpus(corpus: str, corpus_options: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Read the chosen corpus from its raw files (DESIGN "Raw data acquisition")."""
    options = dict(corpus_options.get(corpus) or {})
    table = load_corpus(corpus, **options)
    counts = table["split"].value_counts().to_dict()
    n_labels = len({label for labels in table["labels"] for label in labels})
    logger.info("corpus %r: %s documents, %d labels", corpus, counts, n_labels)
    return table
