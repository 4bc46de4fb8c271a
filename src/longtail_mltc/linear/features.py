"""TF-IDF features over already-tokenised documents (METHODS §2.3, §3.1 baselines).

Documents arrive as lists of tokens (English tokeniser, jieba for Chinese, or pre-tokenised
corpora: see :mod:`longtail_mltc.text`), so scikit-learn's ``TfidfVectorizer`` is told not to
preprocess or split anything: tokens are used exactly as given (no lowercasing, no token
pattern). The vectoriser is fitted on the training documents only; every output is a
``scipy.sparse.csr_matrix`` of float32 and is never densified.

Defaults are scikit-learn's, those of the published TF-IDF SVM baseline (METHODS §3.1): raw
term counts (``sublinear_tf=False``), smooth idf, l2 row normalisation, all tokens kept
(``min_df=1``, ``max_features=None``), unigrams. ``sublinear_tf=True`` (1 + log tf) flattens
the words a story repeats, which are often its topic, relative to the many words it uses
once; on Reuters-21578 it costs the one-vs-rest SVM macro-F1 (3–5 points on the validation
split, 1–2 on five validation draws from the training documents), mostly on labels with 9–50
training documents (docs/baselines.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = ["TokenisedDocuments", "make_tfidf_vectorizer", "tfidf_features"]

TokenisedDocuments = Iterable[Sequence[str]]
"""Documents as sequences of tokens, e.g. ``[["电影", "好看"], ["boring", "film"]]``."""


def _tokens(doc: Sequence[str]) -> list[str]:
    """Preprocessor: a document's tokens as a list; a raw string is rejected."""
    if isinstance(doc, str):
        raise TypeError(
            "TF-IDF features expect tokenised documents (lists of tokens); received the string "
            f"{doc[:40]!r}. Tokenise first (longtail_mltc.text)."
        )
    return list(doc)


def _identity(tokens: list[str]) -> list[str]:
    """Tokenizer: the tokens are already split."""
    return tokens


def make_tfidf_vectorizer(
    *,
    min_df: int | float = 1,
    max_df: int | float = 1.0,
    max_features: int | None = None,
    sublinear_tf: bool = False,
    ngram_range: tuple[int, int] = (1, 1),
    norm: str | None = "l2",
) -> TfidfVectorizer:
    """An unfitted ``TfidfVectorizer`` for pre-tokenised documents, float32 output.

    Module-level pre-processing functions (no lambda) keep the fitted vectoriser picklable.
    """
    return TfidfVectorizer(
        preprocessor=_tokens,
        tokenizer=_identity,
        token_pattern=None,
        lowercase=False,
        min_df=min_df,
        max_df=max_df,
        max_features=max_features,
        sublinear_tf=sublinear_tf,
        ngram_range=tuple(ngram_range),
        norm=norm,
        dtype=np.float32,
    )


def _csr32(matrix: sp.spmatrix) -> sp.csr_matrix:
    return sp.csr_matrix(matrix, dtype=np.float32)


def tfidf_features(
    train_tokens: TokenisedDocuments,
    *other_tokens: TokenisedDocuments,
    **params: object,
) -> tuple[TfidfVectorizer, list[sp.csr_matrix]]:
    """Fit TF-IDF on the training documents only and transform every given split.

    Args:
        train_tokens: tokenised training documents (vocabulary and idf come from these only).
        *other_tokens: further tokenised splits (validation, test, ...), transformed with the
            training vocabulary (unseen tokens are dropped).
        **params: keyword arguments of :func:`make_tfidf_vectorizer` (``min_df``, ``max_df``,
            ``max_features``, ``sublinear_tf``, ``ngram_range``, ``norm``).

    Returns:
        ``(vectorizer, [X_train, X_other_1, ...])``: the fitted vectoriser and one
        ``csr_matrix`` float32 ``[documents × vocabulary]`` per input, in input order.
    """
    vectorizer = make_tfidf_vectorizer(**params)
    matrices = [_csr32(vectorizer.fit_transform(train_tokens))]
    matrices += [_csr32(vectorizer.transform(tokens)) for tokens in other_tokens]
    return vectorizer, matrices
