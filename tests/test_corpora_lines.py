"""The shared line reader (corpora/lines.py) and the seeded test split (corpora/splits.py)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from longtail_mltc.corpora.errors import CorpusError, CorruptRawFileError
from longtail_mltc.corpora.lines import utf8_lines
from longtail_mltc.corpora.splits import seeded_test_mask


def test_bom_dropped_and_line_endings_removed(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("\ufeffeins\r\nzwei\n\ndrei".encode())
    assert list(utf8_lines(path, expected="text")) == [
        (1, "eins"),
        (2, "zwei"),
        (3, ""),
        (4, "drei"),
    ]
    assert [line for _, line in utf8_lines(path, expected="text", keep_ends=True)][:2] == [
        "eins\r\n",
        "zwei\n",
    ]


def test_bad_byte_names_file_line_column_and_expectation(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"ok\nab\xffc\n")
    with pytest.raises(CorruptRawFileError) as caught:
        list(utf8_lines(path, expected="an ASCII file"))
    message = str(caught.value)
    assert str(path) in message
    assert "line 2" in message and "0xff" in message and "column 3" in message
    assert "an ASCII file" in message


def test_gzip_read_by_magic_bytes_and_truncation_names_last_line(tmp_path):
    text = "".join(f"line {i}\n" for i in range(1, 4))
    plain = tmp_path / "plain_name.txt"
    plain.write_bytes(gzip.compress(text.encode()))
    assert [line for _, line in utf8_lines(plain, expected="text")] == [
        "line 1",
        "line 2",
        "line 3",
    ]
    with pytest.raises(CorruptRawFileError, match="gzip-compressed"):
        list(utf8_lines(plain, expected="text", gzip_ok=False))
    body = "".join(f"{i} " + "x" * 200 + "\n" for i in range(2000)).encode()
    truncated = tmp_path / "t.gz"
    truncated.write_bytes(gzip.compress(body)[:-40])
    with pytest.raises(CorruptRawFileError, match=r"truncated after line \d+"):
        list(utf8_lines(truncated, expected="text"))


def test_seeded_test_mask_known_draw():
    ids = ["c", "a", "b", "e", "d"]
    # Independent computation: 2 of 5 (0.3 * 5 = 1.5 rounds half up to 2), drawn over sorted ids.
    order = np.random.default_rng(7).permutation(5)[:2]
    expected = {sorted(ids)[i] for i in order}
    mask = seeded_test_mask(ids, 0.3, 7, where="corpus x")
    assert {doc for doc, test in zip(ids, mask, strict=True) if test} == expected


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.text(min_size=1, max_size=5), min_size=3, max_size=40, unique=True),
    st.floats(0.05, 0.5),
    st.integers(0, 2**31 - 1),
    st.randoms(use_true_random=False),
)
def test_seeded_test_mask_ignores_row_order(ids, fraction, seed, shuffler):
    shuffled = list(ids)
    shuffler.shuffle(shuffled)
    try:
        first = seeded_test_mask(ids, fraction, seed, where="x")
    except CorpusError:
        return
    second = seeded_test_mask(shuffled, fraction, seed, where="x")
    chosen = {doc for doc, test in zip(ids, first, strict=True) if test}
    assert chosen == {doc for doc, test in zip(shuffled, second, strict=True) if test}
    assert 1 <= len(chosen) < len(ids)


def test_seeded_test_mask_too_few_documents_names_where():
    with pytest.raises(CorpusError, match="corpus x: 1 document"):
        seeded_test_mask(["a"], 0.5, 0, where="corpus x")
    with pytest.raises(ValueError, match="test_fraction"):
        seeded_test_mask(["a", "b"], 1.5, 0, where="x")


def test_configuration_error_names_key_expectation_and_declared():
    from longtail_mltc.config_errors import ConfigurationError, configuration_error

    error = configuration_error(
        "user_corpora.x.format", "one of arff, csv", "mulan", declared=["b", "a"]
    )
    assert isinstance(error, ConfigurationError) and isinstance(error, ValueError)
    assert str(error) == (
        "user_corpora.x.format: expected one of arff, csv, got 'mulan'; declared: a, b"
    )
    assert "the key is missing" in str(configuration_error("k", "a file name"))
