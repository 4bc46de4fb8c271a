"""Tokenisers: text → list of tokens (DESIGN "text/"; METHODS §1.1, §3.1 English corpora).

Every tokeniser is a plain function ``str -> list[str]``; :func:`get_tokenizer` picks one by
name so that pipelines can configure it as a string parameter.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from longtail_mltc.text.chinese import segment_corpus, tokenize_jieba

__all__ = [
    "TOKENIZERS",
    "get_tokenizer",
    "tokenize_english",
    "tokenize_texts",
    "tokenize_whitespace",
]

Tokenizer = Callable[[str], list[str]]

# A token is a run of letters/digits (any script: ``[^\W_]`` is "word character but not _"),
# optionally joined by single internal apostrophes or periods: "don't", "3.5", "u.s" stay one
# token; leading/trailing punctuation is dropped ("u.s." → "u.s", "'quoted'" → "quoted").
_ENGLISH_TOKEN = re.compile(r"[^\W_]+(?:['.][^\W_]+)*")
# Typographic apostrophes are folded to ASCII so "don’t" and "don't" are the same token.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def tokenize_english(text: str) -> list[str]:
    """Lowercase ``text`` and return its word tokens.

    Tokens are maximal runs of letters/digits (Unicode-aware), with internal apostrophes and
    periods kept inside a token (``"U.S. can't pay $3.5bn"`` → ``["u.s", "can't", "pay",
    "3.5bn"]``). All other characters (punctuation, symbols, whitespace, underscores) separate
    tokens and are dropped. No stemming and no stop-word removal.
    """
    return _ENGLISH_TOKEN.findall(text.lower().translate(_APOSTROPHES))


def tokenize_whitespace(text: str) -> list[str]:
    """Split pre-tokenised text (tokens joined by whitespace) back into its tokens, unchanged.

    Used for corpora that ship tokens (RCV1 token files, Delicious bags of words, DESIGN
    "The canonical Corpus"); no lowercasing, so the published tokens are kept as they are.
    """
    return text.split()


TOKENIZERS: dict[str, Tokenizer] = {
    "english": tokenize_english,
    "whitespace": tokenize_whitespace,
    "jieba": tokenize_jieba,  # Chinese (METHODS §2.1), text/chinese.py
}


def get_tokenizer(name: str) -> Tokenizer:
    """The tokeniser registered under ``name``: ``"english"``, ``"whitespace"`` or ``"jieba"``."""
    try:
        return TOKENIZERS[name]
    except KeyError:
        known = ", ".join(sorted(TOKENIZERS))
        raise ValueError(f"unknown tokenizer {name!r}; known tokenizers: {known}") from None


def tokenize_texts(
    texts: list[str],
    tokenizer: str,
    *,
    workers: int = 1,
    cache_dir: str | None = None,
) -> list[list[str]]:
    """Token lists of ``texts`` with the tokeniser named ``tokenizer``, in order.

    ``jieba`` (the slow one) goes through :func:`~longtail_mltc.text.chinese.segment_corpus`:
    ``workers`` processes and an on-disk cache in ``cache_dir``, so the ingestion report and
    the features pipeline segment a corpus once. The others are fast and ignore both.
    """
    if tokenizer == "jieba":
        return segment_corpus(texts, workers=workers, cache_dir=cache_dir)
    tokenize = get_tokenizer(tokenizer)
    return [tokenize(text) for text in texts]
