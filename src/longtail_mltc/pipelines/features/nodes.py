"""Nodes of the features pipeline."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from longtail_mltc.corpora import split_validation
from longtail_mltc.text import (
    Vocabulary,
    build_vocabulary,
    encode,
    tokenize_texts,
    train_fasttext_vectors,
)

logger = logging.getLogger(__name__)


def split_train_validation(
    corpus: pd.DataFrame, features: Mapping[str, Any], seed: int
) -> pd.DataFrame:
    """The validation split: a declared validation file's documents when the corpus has them
    (``split == "valid"``, e.g. GoEmotions' dev.tsv), else a seeded draw from the training ones.
    """
    if (corpus["split"] == "valid").any():
        logger.info(
            "declared validation file: %d documents; features.validation (%s) is not used",
            int((corpus["split"] == "valid").sum()),
            features["validation"],
        )
        return corpus
    table = split_validation(corpus, features["validation"], seed)
    logger.info("splits: %s", table["split"].value_counts().to_dict())
    return table


def tokenize_documents(corpus_split: pd.DataFrame, features: Mapping[str, Any]) -> pd.DataFrame:
    """One token list per document, in corpus order."""
    tokens = tokenize_texts(
        corpus_split["text"].tolist(), features["tokenizer"], **segmentation_options(features)
    )
    return pd.DataFrame(
        {
            "doc_id": corpus_split["doc_id"].to_numpy(),
            "split": corpus_split["split"].to_numpy(),
            "tokens": tokens,
        }
    )


def segmentation_options(features: Mapping[str, Any]) -> dict[str, Any]:
    """``workers`` and ``cache_dir`` for jieba segmentation (``features.segmentation``)."""
    segmentation = features.get("segmentation") or {}
    return {
        "workers": int(segmentation.get("workers", 1)),
        "cache_dir": segmentation.get("cache_dir"),
    }


def _training_tokens(tokenized_documents: pd.DataFrame) -> list[list[str]]:
    rows = tokenized_documents[tokenized_documents["split"] == "train"]
    return [list(tokens) for tokens in rows["tokens"]]


def build_training_vocabulary(
    tokenized_documents: pd.DataFrame, features: Mapping[str, Any]
) -> dict[str, Any]:
    """Vocabulary from the training split only (validation and test stay unseen)."""
    settings = features["vocabulary"]
    vocab = build_vocabulary(
        _training_tokens(tokenized_documents),
        min_freq=settings["min_freq"],
        max_size=settings.get("max_size"),
    )
    logger.info("vocabulary: %d entries (incl. pad and unk)", len(vocab))
    return vocab.to_dict()


def encode_documents(
    tokenized_documents: pd.DataFrame, vocabulary: dict[str, Any], features: Mapping[str, Any]
) -> dict[str, np.ndarray]:
    """Padded token ids and true lengths for every document, in corpus order."""
    vocab = Vocabulary.from_dict(vocabulary)
    token_lists = [list(tokens) for tokens in tokenized_documents["tokens"]]
    ids, lengths = encode(token_lists, vocab, max_len=features["max_length"])
    return {"token_ids": ids, "lengths": lengths}


def train_word_vectors(
    tokenized_documents: pd.DataFrame,
    vocabulary: dict[str, Any],
    features: Mapping[str, Any],
    seed: int,
) -> dict[str, np.ndarray]:
    """fastText-style vectors trained on the training text (METHODS §1.1)."""
    settings = dict(features["fasttext"])
    dim = settings.pop("dim")
    vectors = train_fasttext_vectors(
        _training_tokens(tokenized_documents),
        Vocabulary.from_dict(vocabulary),
        dim,
        seed=seed,
        **settings,
    )
    return {"vectors": vectors}
