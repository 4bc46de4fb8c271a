"""fastText-style word vectors trained on the training text (METHODS §1.1).

The Single CNN's embedding layer is initialised from these vectors; the matrix returned here is
aligned row by row with a :class:`~longtail_mltc.text.vocab.Vocabulary`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from longtail_mltc.text.vocab import PAD_ID, UNK_ID, Vocabulary

if TYPE_CHECKING:
    from gensim.models.fasttext import FastTextKeyedVectors

__all__ = ["train_fasttext_vectors"]

logger = logging.getLogger(__name__)

# gensim's Cython routines silently truncate a sentence after this many tokens.
_GENSIM_MAX_SENTENCE_LEN = 10_000


def _chunk_long_documents(token_lists: Sequence[Sequence[str]]) -> Sequence[Sequence[str]]:
    """Split documents longer than gensim's sentence limit so no token is silently dropped."""
    if all(len(tokens) <= _GENSIM_MAX_SENTENCE_LEN for tokens in token_lists):
        return token_lists
    step = _GENSIM_MAX_SENTENCE_LEN
    return [list(t[i : i + step]) for t in token_lists for i in range(0, max(len(t), 1), step)]


def train_fasttext_vectors(
    token_lists: Sequence[Sequence[str]],
    vocab: Vocabulary,
    dim: int = 300,
    *,
    window: int = 5,
    min_count: int = 1,
    epochs: int = 5,
    bucket: int = 200_000,
    min_n: int = 3,
    max_n: int = 6,
    seed: int = 42,
    workers: int = 1,
) -> np.ndarray:
    """Train gensim fastText (CBOW, negative sampling) on ``token_lists``; return vocab vectors.

    Pass the *training* split only. Returns float32 ``[len(vocab), dim]``:

    - row ``PAD_ID`` (0) is all zeros;
    - every regular token gets ``model.wv[token]``: its trained vector, or for tokens fastText
      did not keep (rarer than ``min_count``) a vector composed from its character n-grams;
    - row ``UNK_ID`` (1) is the mean of the rows of the vocabulary tokens that are in the
      trained fastText vocabulary (zeros if there are none).

    ``bucket`` is the number of hashed n-gram rows (gensim's default 2,000,000 makes a 2.4 GB
    model at dim 300; 200,000 keeps it about 240 MB). ``workers=1`` is the default because
    gensim's multi-threaded training is not reproducible; with one worker the same inputs and
    ``seed`` give bit-identical vectors (gensim 4 seeds from ``seed`` only, not from
    ``PYTHONHASHSEED``). Documents longer than gensim's 10,000-token sentence limit are split
    into chunks rather than truncated.
    """
    from gensim.models import FastText  # local import: gensim is slow to import

    if dim < 1:
        raise ValueError(f"dim must be >= 1, got {dim}")
    if not any(len(tokens) for tokens in token_lists):
        raise ValueError("token_lists holds no tokens: cannot train fastText vectors")
    corpus = _chunk_long_documents(token_lists)
    start = time.perf_counter()
    model = FastText(
        sentences=corpus,
        vector_size=dim,
        window=window,
        min_count=min_count,
        epochs=epochs,
        bucket=bucket,
        min_n=min_n,
        max_n=max_n,
        seed=seed,
        workers=workers,
    )
    elapsed = time.perf_counter() - start
    logger.info(
        "fastText: trained %d-dim vectors for %d words on %d documents in %.1f s "
        "(epochs=%d, bucket=%d, workers=%d)",
        dim,
        len(model.wv.key_to_index),
        len(token_lists),
        elapsed,
        epochs,
        bucket,
        workers,
    )
    return _vocabulary_matrix(model.wv, vocab, dim)


def _vocabulary_matrix(wv: FastTextKeyedVectors, vocab: Vocabulary, dim: int) -> np.ndarray:
    """Rows of ``wv`` in vocabulary order; pad zeros, unk = mean of trained in-vocab rows."""
    matrix = np.zeros((len(vocab), dim), dtype=np.float32)
    regular = vocab.tokens[2:]
    if regular:
        matrix[2:] = np.stack([_token_vector(wv, token) for token in regular])
    trained = [i for i, token in enumerate(regular, start=2) if token in wv.key_to_index]
    if trained:
        matrix[UNK_ID] = matrix[trained].mean(axis=0)
    matrix[PAD_ID] = 0.0
    n_composed = len(regular) - len(trained)
    if n_composed:
        logger.info("fastText: %d vocabulary tokens composed from n-grams", n_composed)
    return matrix


def _token_vector(wv: FastTextKeyedVectors, token: str) -> np.ndarray:
    """``wv[token]``; zeros when fastText cannot compose it (no n-grams, e.g. ``bucket=0``)."""
    try:
        return wv[token]
    except KeyError:
        return np.zeros(wv.vector_size, dtype=np.float32)
