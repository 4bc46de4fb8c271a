"""Tokenisers (text/tokenize.py)."""

from __future__ import annotations

import pytest

from longtail_mltc.text import get_tokenizer, tokenize_english, tokenize_whitespace


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, World!", ["hello", "world"]),
        # periods/apostrophes inside a token are kept, trailing/leading ones dropped
        ("U.S. can't pay $3.5bn.", ["u.s", "can't", "pay", "3.5bn"]),
        ("'quoted' -- end...", ["quoted", "end"]),
        # typographic apostrophe folded to ASCII; underscore and hyphen separate tokens
        ("don\u2019t snake_case well-known", ["don't", "snake", "case", "well", "known"]),
        ("Café 1,000 mln", ["café", "1", "000", "mln"]),
        ("", []),
        ("  \n\t ", []),
    ],
)
def test_tokenize_english_examples(text: str, expected: list[str]) -> None:
    assert tokenize_english(text) == expected


def test_whitespace_tokenizer_keeps_tokens_verbatim() -> None:
    assert tokenize_whitespace(" Brazils  stateowned\tOil\nU.S. ") == [
        "Brazils",
        "stateowned",
        "Oil",
        "U.S.",
    ]


def test_get_tokenizer_by_name() -> None:
    assert get_tokenizer("english") is tokenize_english
    assert get_tokenizer("whitespace") is tokenize_whitespace


def test_get_tokenizer_unknown_name_lists_known_names() -> None:
    with pytest.raises(ValueError, match="english, jieba, whitespace"):
        get_tokenizer("klingon")
