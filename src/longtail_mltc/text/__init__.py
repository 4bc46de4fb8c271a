"""Text layer: tokenisers, vocabulary, id encoding and fastText vectors (DESIGN "text/")."""

from __future__ import annotations

from longtail_mltc.text.chinese import segment_corpus, tokenize_jieba
from longtail_mltc.text.embeddings import train_fasttext_vectors
from longtail_mltc.text.subword import encode_with_pretrained_tokenizer
from longtail_mltc.text.tokenize import (
    TOKENIZERS,
    get_tokenizer,
    tokenize_english,
    tokenize_texts,
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
    "encode_with_pretrained_tokenizer",
    "get_tokenizer",
    "segment_corpus",
    "tokenize_english",
    "tokenize_jieba",
    "tokenize_texts",
    "tokenize_whitespace",
    "train_fasttext_vectors",
]
