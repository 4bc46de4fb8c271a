"""Text layer: tokenisers, vocabulary, id encoding and fastText vectors (DESIGN "text/")."""

from __future__ import annotations

from longtail_mltc.text.embeddings import train_fasttext_vectors
from longtail_mltc.text.tokenize import (
    TOKENIZERS,
    get_tokenizer,
    tokenize_english,
    tokenize_whitespace,
)
from longtail_mltc.text.vocab import (
    PAD,
    PAD_ID,
    UNK,
    UNK_ID,
    Vocabulary,
    build_vocabulary,
    encode,
)

__all__ = [
    "PAD",
    "PAD_ID",
    "TOKENIZERS",
    "UNK",
    "UNK_ID",
    "Vocabulary",
    "build_vocabulary",
    "encode",
    "get_tokenizer",
    "tokenize_english",
    "tokenize_whitespace",
    "train_fasttext_vectors",
]
