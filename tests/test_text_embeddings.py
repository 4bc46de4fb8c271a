"""fastText vectors (text/embeddings.py): small corpus, dim 16, bucket 1000 to stay fast."""

from __future__ import annotations

import numpy as np
import pytest

from longtail_mltc.text import PAD_ID, UNK_ID, build_vocabulary, train_fasttext_vectors

CORPUS = [
    ["the", "cat", "sat", "on", "the", "mat"],
    ["the", "dog", "sat", "on", "the", "log"],
    ["a", "cat", "and", "a", "dog", "played"],
    ["stocks", "fell", "as", "markets", "closed"],
    ["markets", "rose", "and", "stocks", "gained"],
] * 4
SMALL = {"dim": 16, "bucket": 1000, "epochs": 2}


@pytest.fixture(scope="module")
def vocab():
    # "catlike" is not in the training text: its row must be composed from n-grams
    return build_vocabulary([*CORPUS, ["catlike"]])


@pytest.fixture(scope="module")
def vectors(vocab) -> np.ndarray:
    return train_fasttext_vectors(CORPUS, vocab, seed=7, **SMALL)


def test_shape_dtype_and_pad_row(vectors: np.ndarray, vocab) -> None:
    assert vectors.shape == (len(vocab), 16)
    assert vectors.dtype == np.float32
    assert np.all(vectors[PAD_ID] == 0)
    assert np.all(np.isfinite(vectors))
    # every real token (trained or composed) has a non-zero vector
    assert np.all(np.linalg.norm(vectors[2:], axis=1) > 0)


def test_unk_row_is_mean_of_trained_vocab_rows(vectors: np.ndarray, vocab) -> None:
    trained = [vocab.lookup(t) for t in {t for doc in CORPUS for t in doc}]
    np.testing.assert_allclose(vectors[UNK_ID], vectors[trained].mean(axis=0), rtol=1e-5)
    assert vocab.lookup("catlike") not in trained


def test_same_seed_is_bit_identical(vectors: np.ndarray, vocab) -> None:
    again = train_fasttext_vectors(CORPUS, vocab, seed=7, **SMALL)
    np.testing.assert_array_equal(again, vectors)


def test_different_seed_gives_different_vectors(vectors: np.ndarray, vocab) -> None:
    other = train_fasttext_vectors(CORPUS, vocab, seed=8, **SMALL)
    assert not np.allclose(other[2:], vectors[2:])


def test_empty_corpus_is_rejected(vocab) -> None:
    with pytest.raises(ValueError, match="no tokens"):
        train_fasttext_vectors([[], []], vocab, **SMALL)


def test_documents_over_gensim_sentence_limit_are_chunked_not_truncated() -> None:
    from longtail_mltc.text.embeddings import _chunk_long_documents

    short = [["a", "b"]]
    assert _chunk_long_documents(short) is short  # nothing to do: passed through
    long_doc = [f"w{i}" for i in range(25_000)]
    chunks = _chunk_long_documents([long_doc, ["x"]])
    assert [len(c) for c in chunks] == [10_000, 10_000, 5_000, 1]
    assert [t for c in chunks[:3] for t in c] == long_doc


def test_identical_across_processes_with_different_hash_seeds(vectors: np.ndarray) -> None:
    """gensim 4 seeds from ``seed`` only: PYTHONHASHSEED must not change the vectors."""
    import os
    import subprocess
    import sys

    script = (
        "import sys, numpy as np\n"
        "from longtail_mltc.text import build_vocabulary, train_fasttext_vectors\n"
        f"corpus = {CORPUS!r}\n"
        "vocab = build_vocabulary([*corpus, ['catlike']])\n"
        f"v = train_fasttext_vectors(corpus, vocab, seed=7, **{SMALL!r})\n"
        "sys.stdout.write(v.tobytes().hex())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert bytes.fromhex(out) == vectors.tobytes()
