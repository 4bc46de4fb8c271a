"""Vocabulary and encoding (text/vocab.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from longtail_mltc.text import PAD_ID, UNK_ID, Vocabulary, build_vocabulary, encode

DOCS = [["b", "a", "c", "a"], ["c", "b", "d"], ["a", "e"]]
# counts: a=3, b=2, c=2, d=1, e=1


def test_vocabulary_orders_by_frequency_then_token() -> None:
    vocab = build_vocabulary(DOCS)
    # a(3) first; b, c tie at 2 → alphabetical; d, e tie at 1 → alphabetical
    assert vocab.tokens == ("<pad>", "<unk>", "a", "b", "c", "d", "e")
    assert len(vocab) == 7
    assert vocab.lookup("a") == 2
    assert vocab.lookup("zzz") == UNK_ID


def test_vocabulary_min_freq_and_max_size() -> None:
    assert build_vocabulary(DOCS, min_freq=2).tokens == ("<pad>", "<unk>", "a", "b", "c")
    # max_size counts regular tokens only
    assert build_vocabulary(DOCS, max_size=2).tokens == ("<pad>", "<unk>", "a", "b")
    assert build_vocabulary(DOCS, min_freq=3, max_size=10).tokens == ("<pad>", "<unk>", "a")
    assert build_vocabulary(DOCS, max_size=0).tokens == ("<pad>", "<unk>")


def test_vocabulary_is_independent_of_document_order() -> None:
    assert build_vocabulary(DOCS[::-1]) == build_vocabulary(DOCS)


def test_literal_special_tokens_are_not_duplicated() -> None:
    vocab = build_vocabulary([["<unk>", "<pad>", "x"]])
    assert vocab.tokens == ("<pad>", "<unk>", "x")


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="min_freq"):
        build_vocabulary(DOCS, min_freq=0)
    with pytest.raises(ValueError, match="max_len"):
        encode(DOCS, build_vocabulary(DOCS), max_len=0)
    with pytest.raises(ValueError, match="start with"):
        Vocabulary(("a", "<pad>", "<unk>"))
    with pytest.raises(ValueError, match="unique"):
        Vocabulary(("<pad>", "<unk>", "a", "a"))
    with pytest.raises(TypeError):
        build_vocabulary(["a string, not a token list"])
    with pytest.raises(TypeError):
        encode(["a string"], build_vocabulary(DOCS), max_len=3)


def test_vocabulary_json_round_trip() -> None:
    vocab = build_vocabulary(DOCS)
    restored = Vocabulary.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert restored == vocab
    assert restored.index == vocab.index


def test_encode_pads_truncates_and_reports_lengths() -> None:
    vocab = build_vocabulary(DOCS)  # a=2 b=3 c=4 d=5 e=6
    ids, lengths = encode([["a", "b", "c", "d"], ["e", "zzz"], []], vocab, max_len=3)
    assert ids.dtype == np.int64 and lengths.dtype == np.int64
    np.testing.assert_array_equal(
        ids,
        [
            [2, 3, 4],  # truncated to the first 3 tokens
            [6, UNK_ID, PAD_ID],  # OOV → 1, then right padding
            [PAD_ID, PAD_ID, PAD_ID],  # empty document: all pad, length 0
        ],
    )
    np.testing.assert_array_equal(lengths, [3, 2, 0])


def test_encode_empty_corpus_and_generator_input() -> None:
    vocab = build_vocabulary(DOCS)
    ids, lengths = encode([], vocab, max_len=4)
    assert ids.shape == (0, 4) and lengths.shape == (0,)
    ids, lengths = encode((d for d in DOCS), vocab, max_len=2)
    assert ids.shape == (3, 2)
    np.testing.assert_array_equal(lengths, [2, 2, 2])


tokens = st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "<unk>"])
token_lists = st.lists(st.lists(tokens, max_size=12), max_size=8)


@settings(max_examples=150, deadline=None)
@given(train=token_lists, docs=token_lists, max_len=st.integers(1, 10), min_freq=st.integers(1, 3))
def test_encode_round_trip(
    train: list[list[str]], docs: list[list[str]], max_len: int, min_freq: int
) -> None:
    vocab = build_vocabulary(train, min_freq=min_freq)
    ids, lengths = encode(docs, vocab, max_len=max_len)
    assert ids.shape == (len(docs), max_len)
    for row, length, doc in zip(ids, lengths, docs, strict=True):
        expected = [t if t in vocab else "<unk>" for t in doc[:max_len]]
        assert length == len(expected)
        assert vocab.decode(row[:length]) == expected
        assert np.all(row[length:] == PAD_ID)
