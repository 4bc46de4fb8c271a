"""jieba segmentation (METHODS §2.1): known sentences, token rules, corpus segmentation in
parallel and its on-disk cache."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import pytest
from conftest import mirror_path

from longtail_mltc.text.chinese import (
    JIEBA_VERSION,
    segment_corpus,
    segmentation_cache_key,
    tokenize_jieba,
)

LOGGER = "longtail_mltc.text.chinese"


@pytest.fixture(scope="module")
def summaries() -> list[str]:
    """300 real movie summaries (about 80,000 characters), read with plain csv."""
    path = mirror_path("douban_movies", "douban_all_movies.csv")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        texts = [row["summary"] for row in csv.DictReader(handle) if row["summary"].strip()]
    return texts[:300]


# --- tokenize_jieba -----------------------------------------------------------------------------

# Outputs verified by running jieba 0.42.1 (precise mode, HMM on, bundled dictionary).
KNOWN = [
    ("我爱北京天安门", ["我", "爱", "北京", "天安门"]),
    ("他来到了网易杭研大厦。", ["他", "来到", "了", "网易", "杭研", "大厦"]),
    (
        "小明硕士毕业于中国科学院计算所，后在日本京都大学深造",
        ["小明", "硕士", "毕业", "于", "中国科学院", "计算所", "后", "在", "日本京都大学", "深造"],
    ),
    ("我用iPhone12和Python 3.5写代码！", ["我用", "iphone12", "和", "python", "3.5", "写", "代码"]),
    ("  第一行\n第二行……《三体》", ["第一行", "第二行", "三体"]),
    ("", []),
    (" \n\t\u3000", []),
]


def test_jieba_version_is_the_one_verified() -> None:
    assert JIEBA_VERSION == "0.42.1"


@pytest.mark.parametrize(("text", "expected"), KNOWN)
def test_known_segmentations(text: str, expected: list[str]) -> None:
    assert tokenize_jieba(text) == expected


def test_hmm_finds_unknown_words_and_can_be_switched_off() -> None:
    assert "杭研" in tokenize_jieba("他来到了网易杭研大厦")
    assert tokenize_jieba("他来到了网易杭研大厦", hmm=False) == [
        "他", "来到", "了", "网易", "杭", "研", "大厦"
    ]  # fmt: skip


def test_keep_punctuation_keeps_symbols_but_never_whitespace() -> None:
    tokens = tokenize_jieba("北京，上海。\n  《三体》", keep_punctuation=True)
    assert tokens == ["北京", "，", "上海", "。", "《", "三体", "》"]
    assert all(token.strip() == token and token for token in tokens)


def test_tokens_are_lowercase_and_whitespace_free() -> None:
    tokens = tokenize_jieba("NASA 与 ESA 合作，Hello World\r\n新的 T恤")
    assert tokens == [token.lower() for token in tokens]
    assert "nasa" in tokens and "esa" in tokens and "hello" in tokens
    assert not any(any(ch.isspace() for ch in token) for token in tokens)


def test_deterministic_and_jieba_logging_silenced() -> None:
    text = (
        "近未来，科学家们发现太阳急速衰老膨胀，短时间内包括地球在内的整个太阳系都将被太阳所吞没。"
    )
    assert tokenize_jieba(text) == tokenize_jieba(text)
    assert logging.getLogger("jieba").level == logging.WARNING


# --- segment_corpus -----------------------------------------------------------------------------


def test_segment_corpus_equals_tokenize_per_text(summaries: list[str]) -> None:
    texts = summaries[:20]
    assert segment_corpus(texts) == [tokenize_jieba(text) for text in texts]
    assert segment_corpus(texts, hmm=False, keep_punctuation=True) == [
        tokenize_jieba(text, hmm=False, keep_punctuation=True) for text in texts
    ]
    assert segment_corpus([]) == []


def test_one_and_two_workers_give_identical_results(
    summaries: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    single = segment_corpus(summaries, workers=1)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        parallel = segment_corpus(summaries, workers=2, min_parallel_chars=0)
    assert "with 2 process(es)" in caplog.text  # the pool really ran
    assert parallel == single
    assert len(single) == len(summaries) and sum(map(len, single)) > 10_000


def test_small_corpora_stay_in_process(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=LOGGER):
        tokens = segment_corpus(["我爱北京天安门"] * 3, workers=2)
    assert tokens == [["我", "爱", "北京", "天安门"]] * 3
    assert "with 1 process(es)" in caplog.text


def test_cache_round_trip(
    summaries: list[str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    texts = summaries[:30]
    with caplog.at_level(logging.INFO, logger=LOGGER):
        first = segment_corpus(texts, cache_dir=tmp_path)
    assert "reused cache" not in caplog.text
    files = list(tmp_path.glob("jieba-*.jsonl"))
    assert len(files) == 1
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        second = segment_corpus(texts, cache_dir=tmp_path, workers=2, min_parallel_chars=0)
    assert "reused cache" in caplog.text and str(files[0]) in caplog.text
    assert second == first == [tokenize_jieba(text) for text in texts]
    # Other options or other texts: another cache entry, not a stale reuse.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        other = segment_corpus(texts, cache_dir=tmp_path, keep_punctuation=True)
        segment_corpus(texts[:-1], cache_dir=tmp_path)
    assert "reused cache" not in caplog.text
    assert other != first
    assert len(list(tmp_path.glob("jieba-*.jsonl"))) == 3


def test_corrupt_cache_is_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    texts = ["我爱北京天安门", "他来到了网易杭研大厦"]
    expected = segment_corpus(texts, cache_dir=tmp_path)
    (path,) = tmp_path.glob("jieba-*.jsonl")
    content = path.read_text(encoding="utf-8")
    path.write_text(content[: len(content) - 8], encoding="utf-8")  # truncated last line
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert segment_corpus(texts, cache_dir=tmp_path) == expected
    assert "ignored and rebuilt" in caplog.text
    assert path.read_text(encoding="utf-8") == content


def test_cache_key_depends_on_texts_order_and_options() -> None:
    key = segmentation_cache_key(["ab", "c"])
    assert key == segmentation_cache_key(["ab", "c"])
    assert len(key) == 64
    assert key != segmentation_cache_key(["a", "bc"])  # texts are length-prefixed
    assert key != segmentation_cache_key(["c", "ab"])
    assert key != segmentation_cache_key(["ab", "c"], hmm=False)
    assert key != segmentation_cache_key(["ab", "c"], keep_punctuation=True)


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match=r"texts\[1\] is a int"):
        segment_corpus(["我", 3])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="workers must be >= 1"):
        segment_corpus(["我"], workers=0)
    with pytest.raises(TypeError, match="workers must be an int"):
        segment_corpus(["我"], workers=2.0)  # type: ignore[arg-type]
    assert segment_corpus(["我爱北京天安门"], workers=-1) == [["我", "爱", "北京", "天安门"]]
