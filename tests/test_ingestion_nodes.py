"""The ingestion node's configuration errors (issue 21, item 7)."""

from __future__ import annotations

import pytest

from longtail_mltc.pipelines.ingestion.nodes import load_raw_corpus


def test_an_unknown_corpus_names_the_built_in_and_the_declared_ones():
    declared = {"go_emotions": {"files": "train.tsv"}, "bibtex": {"files": "bibtex.csv"}}
    with pytest.raises(ValueError) as err:
        load_raw_corpus("goemotions", {}, declared)
    message = str(err.value)
    assert "unknown corpus 'goemotions' (parameter `corpus`)" in message
    assert "reuters" in message and "delicious" in message  # built-in
    assert "declared under `user_corpora`: bibtex, go_emotions." in message
    assert "conf/local/" in message


def test_an_unknown_corpus_without_declared_ones_says_none():
    with pytest.raises(ValueError, match="declared under `user_corpora`: none"):
        load_raw_corpus("nope", {}, None)
