"""Douban readers: douban_movies (CSV) and imcm (JSON lines, METHODS §2.1) on the real mirror,
on hand-written files, and on broken input."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATASETS, mirror_path
from log_capture import logged_call

from longtail_mltc.corpora import (
    CorpusError,
    CorruptRawFileError,
    RawDataNotFoundError,
    load_corpus,
    register_corpus,
    skipped_records,
    split_validation,
)
from longtail_mltc.corpora.douban import (
    DOUBAN_MOVIES,
    IMCM,
    IMCM_VALIDATION_FRACTION,
    read_douban_movies,
    read_imcm,
    split_genres,
)
from longtail_mltc.corpora.schema import CORPUS_COLUMNS
from longtail_mltc.corpora.splits import seeded_test_mask
from longtail_mltc.text.chinese import tokenize_jieba

LOGGER = "longtail_mltc.corpora.douban"
HEADER = "movie_id,title,genres,summary\n"
# 52 words: 13 × "我 爱 北京 天安门" (punctuation does not count).
LONG_TEXT = "我爱北京天安门。" * 13


def _mirror(folder: str) -> Path:
    return mirror_path(folder)


def _read_logged(
    reader: Callable[..., pd.DataFrame], *args: object, **kwargs: object
) -> tuple[pd.DataFrame, str]:
    """Run a reader and return its table and the INFO log it wrote."""
    return logged_call(LOGGER, reader, *args, **kwargs)


def _write(folder: Path, name: str, data: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return folder


def _jsonl(*records: dict) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def _label_stats(corpus: pd.DataFrame) -> pd.Series:
    return corpus["labels"].explode().value_counts()


# --- douban_movies on the mirror ----------------------------------------------------------------


@pytest.fixture(scope="module")
def movies() -> tuple[pd.DataFrame, str]:
    return _read_logged(read_douban_movies, _mirror("douban_movies"))


def test_movies_counts(movies: tuple[pd.DataFrame, str]) -> None:
    corpus, log = movies
    assert list(corpus.columns) == list(CORPUS_COLUMNS)
    assert len(corpus) == 2049
    assert corpus["doc_id"].is_unique and set(corpus["lang"]) == {"zh"}
    counts = _label_stats(corpus)
    assert len(counts) == 28
    assert counts.sum() == 5422
    assert round(counts.sum() / len(corpus), 2) == 2.65
    assert (counts.index[0], counts.iloc[0]) == ("剧情", 1100)
    assert counts.min() == 7 and set(counts[counts == 7].index) == {"纪录片", "短片"}
    assert corpus["labels"].map(len).max() == 8
    assert corpus["text"].map(lambda text: text == text.strip() and len(text) > 0).all()
    # The 16 skipped rows, by reason; SOURCES.txt's 2.63 genres/movie and 剧情 1,101 count all
    # 2,065 rows: the 2 skipped rows that have genres but no summary carry 4 more assignments.
    assert "2065 records" in log and "kept 2049" in log
    assert "skipped 16 (no labels: 1, no text: 2, no text and no labels: 13)" in log
    assert skipped_records(corpus) == {"no labels": 1, "no text": 2, "no text and no labels": 13}


def test_movies_spot_check(movies: tuple[pd.DataFrame, str]) -> None:
    corpus = movies[0].set_index("doc_id")
    assert corpus.loc["26752088", "labels"] == ["剧情", "喜剧"]  # 我不是药神
    assert corpus.loc["26752088", "text"].startswith("普通中年男子程勇（徐峥 饰）经营着")
    assert corpus.loc["26266893", "labels"] == ["科幻", "冒险", "灾难"]  # 流浪地球


def test_movies_default_split(movies: tuple[pd.DataFrame, str]) -> None:
    corpus, log = movies
    assert corpus["split"].value_counts().to_dict() == {"train": 1639, "test": 410}
    assert "1639 train / 410 test documents, 28 labels" in log
    train_labels = set(corpus.loc[corpus["split"] == "train", "labels"].explode())
    assert len(train_labels) == 28


def test_movies_split_is_seeded_and_order_free(
    movies: tuple[pd.DataFrame, str], tmp_path: Path
) -> None:
    corpus = movies[0]
    again = read_douban_movies(_mirror("douban_movies"))
    pd.testing.assert_frame_equal(again, corpus)
    other = read_douban_movies(_mirror("douban_movies"), seed=7, test_fraction=0.1)
    assert (other["split"] == "test").sum() == 205
    assert not other["split"].equals(corpus["split"])
    # Reversed row order: the same documents are test.
    lines = (_mirror("douban_movies") / "douban_all_movies.csv").read_bytes().splitlines(True)
    folder = _write(tmp_path, "douban_all_movies.csv", lines[0] + b"".join(reversed(lines[1:])))
    reversed_corpus = read_douban_movies(folder)
    assert dict(zip(reversed_corpus["doc_id"], reversed_corpus["split"], strict=True)) == dict(
        zip(corpus["doc_id"], corpus["split"], strict=True)
    )


# sha256 of the sorted test ids ("\n"-joined) that the reader gave before it used the shared
# splits.seeded_test_mask (issue 21, item 10): the shared draw must not move a single document.
MOVIES_TEST_IDS_SHA256 = "cf09011d82aa2bdb75b6f75c29fad2b6ec2e1416732e6f7e60b950e2dabc8597"
BOOKS_TEST_IDS = [
    "1000008",
    "1000010",
    "1000076",
    "1000101",
    "1000110",
    "1000140",
    "1000153",
    "1000158",
    "1000217",
]


def test_movies_split_is_unchanged_and_is_the_shared_draw(
    movies: tuple[pd.DataFrame, str],
) -> None:
    corpus = movies[0]
    test_ids = sorted(corpus.loc[corpus["split"] == "test", "doc_id"])
    assert len(test_ids) == 410
    assert hashlib.sha256("\n".join(test_ids).encode()).hexdigest() == MOVIES_TEST_IDS_SHA256
    mask = seeded_test_mask(corpus["doc_id"].tolist(), 0.2, 42, where="movies")
    assert (corpus["split"] == "test").tolist() == mask.tolist()


def test_books_split_is_unchanged_and_is_the_shared_draw(books: tuple[pd.DataFrame, str]) -> None:
    corpus = books[0]
    assert sorted(corpus.loc[corpus["split"] == "test", "doc_id"]) == BOOKS_TEST_IDS
    mask = seeded_test_mask(corpus["doc_id"].tolist(), 0.1, 42, where="books")
    assert (corpus["split"] == "test").tolist() == mask.tolist()


def test_movies_through_load_corpus(tmp_path: Path) -> None:
    register_corpus(DOUBAN_MOVIES)  # the same object corpora/__init__ registers: a no-op there
    corpus = load_corpus("douban_movies", raw_root=tmp_path, mirror=SHARED_DATASETS)
    assert len(corpus) == 2049
    assert sum(skipped_records(corpus).values()) == 16


# --- douban_movies on hand-written files --------------------------------------------------------


def test_split_genres() -> None:
    assert split_genres("剧情, 喜剧") == ["剧情", "喜剧"]
    assert split_genres(" 剧情，喜剧 / 爱情、犯罪,剧情 ") == ["剧情", "喜剧", "爱情", "犯罪"]
    assert split_genres("") == [] and split_genres(" , ") == []


def test_small_csv_expected_table(tmp_path: Path) -> None:
    data = (
        "\ufeff"
        + HEADER
        + (
            '1,甲,"剧情, 喜剧",第一部电影的简介。\n'
            "2,乙,科幻，冒险/灾难,  第二部电影的简介  \n"
            '3,丙,"剧情",\n'  # no summary
            "4,丁,,第四部电影的简介。\n"  # no genre
            "5,戊,,\n"  # neither
            '6,己,"爱情, 爱情","多行的\n简介"\n'  # a quoted field over two lines
        )
    )
    table, log = _read_logged(
        read_douban_movies, _write(tmp_path, "douban_all_movies.csv", data), test_fraction=0.34
    )
    expected = pd.DataFrame(
        {
            "doc_id": ["1", "2", "6"],
            "text": ["第一部电影的简介。", "第二部电影的简介", "多行的\n简介"],
            "labels": [["剧情", "喜剧"], ["科幻", "冒险", "灾难"], ["爱情"]],
        }
    )
    pd.testing.assert_frame_equal(table[["doc_id", "text", "labels"]], expected)
    assert set(table["lang"]) == {"zh"}
    # The documented rule: round(0.34 × 3) = 1 test document, drawn over the sorted ids.
    chosen = sorted(["1", "2", "6"])[np.random.default_rng(42).permutation(3)[0]]
    assert table.set_index("doc_id")["split"].to_dict() == {
        doc_id: "test" if doc_id == chosen else "train" for doc_id in ["1", "2", "6"]
    }
    assert "6 records" in log and "kept 3" in log
    assert "skipped 3 (no labels: 1, no text: 1, no text and no labels: 1)" in log


def test_csv_without_bom_and_with_blank_lines(tmp_path: Path) -> None:
    data = "\n" + HEADER + "1,甲,剧情,简介一。\n\n2,乙,喜剧,简介二。\n\n"
    table = read_douban_movies(_write(tmp_path, "douban_all_movies.csv", data), test_fraction=0.5)
    assert table["doc_id"].tolist() == ["1", "2"]
    assert sorted(table["split"]) == ["test", "train"]


def test_malformed_csv_row_names_file_and_line(tmp_path: Path) -> None:
    data = HEADER + '1,甲,剧情,简介一。\n2,乙,"喜剧"x,简介二。\n'
    folder = _write(tmp_path, "douban_all_movies.csv", data)
    with pytest.raises(CorruptRawFileError, match=r"douban_all_movies\.csv: line 3: malformed CSV"):
        read_douban_movies(folder)


def test_unterminated_quote_names_file_and_line(tmp_path: Path) -> None:
    data = HEADER + '1,甲,剧情,简介一。\n2,乙,喜剧,"简介二。\n'
    folder = _write(tmp_path, "douban_all_movies.csv", data)
    with pytest.raises(CorruptRawFileError, match=r"csv: line 3: malformed CSV \(unexpected end"):
        read_douban_movies(folder)


def test_wrong_field_count_names_file_and_line(tmp_path: Path) -> None:
    data = HEADER + "1,甲,剧情,简介一。\n2,乙,喜剧,简介二,多余\n"
    folder = _write(tmp_path, "douban_all_movies.csv", data)
    with pytest.raises(CorruptRawFileError, match=r"csv: line 3: 5 fields, expected 4"):
        read_douban_movies(folder)
    # After a quoted two-line summary the next record starts on physical line 4 (issue 21 item 7).
    data = HEADER + '1,甲,剧情,"多行的\n简介"\n2,乙,喜剧,简介二,多余\n'
    folder = _write(tmp_path, "douban_all_movies.csv", data)
    with pytest.raises(CorruptRawFileError, match=r"csv: line 4: 5 fields, expected 4"):
        read_douban_movies(folder)


def test_gbk_bytes_in_csv_name_line_and_byte(tmp_path: Path) -> None:
    good = (HEADER + "1,甲,剧情,简介一。\n").encode("utf-8")
    bad = "2,乙,喜剧,简介二。\n".encode("gbk")
    folder = _write(tmp_path, "douban_all_movies.csv", good + bad)
    column = bad.index("乙".encode("gbk")) + 1
    with pytest.raises(
        CorruptRawFileError,
        match=rf"douban_all_movies\.csv: line 3: byte 0x{bad[column - 1]:02x} at column {column} "
        r"is not valid UTF-8; expected UTF-8 text \(GBK or GB18030 text must be converted",
    ):
        read_douban_movies(folder)


@pytest.mark.parametrize(
    ("name", "reader"), [("douban_all_movies.csv", "movies"), ("post.dat", "imcm")]
)
def test_gzip_bytes_are_refused_naming_the_file(tmp_path: Path, name: str, reader: str) -> None:
    data = gzip.compress((HEADER + "1,甲,剧情,简介一。\n").encode("utf-8"))
    folder = _write(tmp_path, name, data)
    read = read_douban_movies if reader == "movies" else read_imcm
    with pytest.raises(
        CorruptRawFileError,
        match=rf"{re.escape(name)}: holds gzip-compressed bytes; expected plain",
    ):
        read(folder)


@pytest.mark.parametrize("data", ["", "\ufeff", "\n\n"])
def test_empty_csv(tmp_path: Path, data: str) -> None:
    folder = _write(tmp_path, "douban_all_movies.csv", data)
    with pytest.raises(CorruptRawFileError, match=r"csv: the file is empty; expected a CSV header"):
        read_douban_movies(folder)


def test_header_only_and_missing_columns(tmp_path: Path) -> None:
    folder = _write(tmp_path, "douban_all_movies.csv", HEADER)
    with pytest.raises(CorruptRawFileError, match="a header but no records"):
        read_douban_movies(folder)
    folder = _write(tmp_path, "douban_all_movies.csv", "movie_id,title,summary\n1,甲,简介\n")
    with pytest.raises(
        CorruptRawFileError, match=r"line 1: the header .* lacks column\(s\) \['genres'\]"
    ):
        read_douban_movies(folder)


def test_duplicate_or_empty_movie_id(tmp_path: Path) -> None:
    folder = _write(tmp_path, "douban_all_movies.csv", HEADER + "1,甲,剧情,一。\n1,乙,喜剧,二。\n")
    with pytest.raises(CorruptRawFileError, match=r"line 3: id '1' already used on line 2"):
        read_douban_movies(folder)
    folder = _write(tmp_path, "douban_all_movies.csv", HEADER + " ,甲,剧情,一。\n")
    with pytest.raises(CorruptRawFileError, match=r"csv: line 2: empty movie_id"):
        read_douban_movies(folder)


def test_all_records_skipped_or_too_few(tmp_path: Path) -> None:
    folder = _write(tmp_path, "douban_all_movies.csv", HEADER + "1,甲,,一。\n2,乙,剧情,\n")
    with pytest.raises(CorpusError, match="all 2 records were skipped"):
        read_douban_movies(folder)
    folder = _write(tmp_path, "douban_all_movies.csv", HEADER + "1,甲,剧情,一。\n")
    with pytest.raises(CorpusError, match="too few for a test fraction"):
        read_douban_movies(folder)
    with pytest.raises(ValueError, match=r"test_fraction must lie in \(0, 1\)"):
        read_douban_movies(folder, test_fraction=1.0)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RawDataNotFoundError, match="lacks the file douban_all_movies.csv"):
        read_douban_movies(tmp_path)


def test_missing_imcm_says_the_corpus_needs_a_request(tmp_path: Path) -> None:
    with pytest.raises(RawDataNotFoundError) as caught:
        load_corpus("imcm", raw_root=tmp_path / "raw", mirror=tmp_path / "mirror")
    message = str(caught.value)
    assert "post.dat" in message and "no public download" in message
    assert "authors on request" in message and str(tmp_path / "raw") in message


# --- imcm on the books sample -------------------------------------------------------------------


@pytest.fixture(scope="module")
def books() -> tuple[pd.DataFrame, str]:
    return _read_logged(read_imcm, _mirror("douban_books_sample"))


def test_books_sample_raw_counts() -> None:
    lines = (_mirror("douban_books_sample") / "post.dat").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 100
    assert len({tag for record in records for tag in record["tags"]}) == 1178
    assert sum(len(record["tags"]) for record in records) == 1496  # 14.96 tags per book
    # min_words=0: only the record whose content is blank is skipped; its 2 tags occur nowhere
    # else.
    corpus, log = _read_logged(read_imcm, _mirror("douban_books_sample"), min_words=0)
    assert len(corpus) == 99 and "skipped 1 (no text: 1)" in log
    assert len(set(corpus["labels"].explode())) == 1176
    assert corpus["labels"].map(len).sum() == 1494


def test_imcm_protocol_on_books_sample(books: tuple[pd.DataFrame, str]) -> None:
    corpus, log = books
    assert list(corpus.columns) == list(CORPUS_COLUMNS)
    assert len(corpus) == 85
    assert "100 records" in log and "kept 85" in log
    assert "skipped 15 (fewer than 50 words: 14, no text: 1)" in log
    assert skipped_records(corpus) == {"fewer than 50 words": 14, "no text": 1}
    assert corpus["split"].value_counts().to_dict() == {"train": 76, "test": 9}
    assert len(set(corpus["labels"].explode())) == 1062
    assert set(corpus["lang"]) == {"zh"}
    assert corpus["text"].map(lambda text: len(tokenize_jieba(text)) >= 50).all()
    first = corpus.set_index("doc_id").loc["1000001"]
    assert first["text"].startswith("“枪杆子里面出政权”，毛泽东的这句名言")
    assert first["labels"][:3] == ["军衔", "传记", "中共无衔军事家"]


def test_imcm_80_10_10_with_the_validation_node(books: tuple[pd.DataFrame, str]) -> None:
    corpus = read_imcm(_mirror("douban_books_sample"), min_words=0)  # 99 documents
    three = split_validation(corpus, IMCM_VALIDATION_FRACTION, seed=42)
    assert three["split"].value_counts().to_dict() == {"train": 79, "test": 10, "valid": 10}


def test_imcm_workers_cache_and_segmented_text(tmp_path: Path) -> None:
    folder = _mirror("douban_books_sample")
    plain = read_imcm(folder)
    cached, _ = _read_logged(read_imcm, folder, workers=2, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(cached, plain)
    assert len(list(tmp_path.glob("jieba-*.jsonl"))) == 1
    segmented = read_imcm(folder, segmented_text=True, cache_dir=tmp_path)
    assert segmented["doc_id"].tolist() == plain["doc_id"].tolist()
    assert segmented["text"].tolist() == [" ".join(tokenize_jieba(t)) for t in plain["text"]]


def test_imcm_max_labels(books: tuple[pd.DataFrame, str]) -> None:
    corpus, log = _read_logged(read_imcm, _mirror("douban_books_sample"), max_labels=50)
    counts = _label_stats(books[0])
    top = set(sorted(counts.index, key=lambda tag: (-counts[tag], tag))[:50])
    assert set(corpus["labels"].explode()) <= top and len(set(corpus["labels"].explode())) == 50
    assert len(corpus) == 51
    assert "no label among the 50 most frequent: 34" in log


def test_imcm_through_load_corpus(tmp_path: Path) -> None:
    register_corpus(IMCM)
    corpus = load_corpus("imcm", raw_root=tmp_path, mirror=SHARED_DATASETS, min_words=60)
    assert 0 < len(corpus) < 85


# --- imcm on hand-written files -----------------------------------------------------------------


def test_small_jsonl_expected_table(tmp_path: Path) -> None:
    data = _jsonl(
        {"id": "b1", "title": "一", "content": f"  {LONG_TEXT}  ", "tags": [" 小说", "小说", ""]},
        {"id": 2, "content": "我爱北京天安门。" * 12 + "北京，上海。", "tags": ["历史", "传记"]},
        {"id": "b3", "content": "我爱北京天安门。" * 12 + "北京。", "tags": ["短"]},  # 49 words
        {"id": "b4", "content": "   ", "tags": ["无文"]},
        {"id": "b5", "content": LONG_TEXT, "tags": []},
        {"id": "b6", "content": LONG_TEXT},  # no tags field
        {"id": "b7", "content": LONG_TEXT, "doubanTags": {"科幻": 12, "外国文学": 3}},
    )
    folder = _write(tmp_path, "post.dat", data + "\n  \n")
    table, log = _read_logged(read_imcm, folder, test_fraction=0.25, seed=3)
    expected = pd.DataFrame(
        {
            "doc_id": ["b1", "2", "b7"],
            "text": [LONG_TEXT, "我爱北京天安门。" * 12 + "北京，上海。", LONG_TEXT],
            "labels": [["小说"], ["历史", "传记"], ["科幻", "外国文学"]],
        }
    )
    pd.testing.assert_frame_equal(table[["doc_id", "text", "labels"]], expected)
    assert sorted(table["split"]) == ["test", "train", "train"]
    assert "7 records" in log and "kept 3" in log
    assert "skipped 4 (fewer than 50 words: 1, no labels: 2, no text: 1)" in log


def test_min_words_parameter(tmp_path: Path) -> None:
    data = _jsonl(
        {"id": "a", "content": "我爱北京天安门", "tags": ["x"]},  # 4 words
        {"id": "b", "content": "他来到了网易杭研大厦。", "tags": ["y"]},  # 6 words
        {"id": "c", "content": LONG_TEXT, "tags": ["z"]},
    )
    folder = _write(tmp_path, "post.dat", data)
    assert read_imcm(folder, min_words=0)["doc_id"].tolist() == ["a", "b", "c"]
    assert read_imcm(folder, min_words=5)["doc_id"].tolist() == ["b", "c"]
    with pytest.raises(CorpusError, match=r"all 3 records were skipped \(\{'fewer than 99 words'"):
        read_imcm(folder, min_words=99)
    with pytest.raises(ValueError, match="min_words must be a non-negative int"):
        read_imcm(folder, min_words=-1)


def test_released_split(tmp_path: Path) -> None:
    data = _jsonl(
        {"id": "a", "content": LONG_TEXT, "tags": ["x"], "split": "train"},
        {"id": "b", "content": LONG_TEXT, "tags": ["y"], "split": "valid"},
        {"id": "c", "content": LONG_TEXT, "tags": ["x"], "split": "test"},
    )
    table = read_imcm(_write(tmp_path, "post.dat", data))
    assert table["split"].tolist() == ["train", "train", "test"]
    mixed = data + _jsonl({"id": "d", "content": LONG_TEXT, "tags": ["x"]})
    with pytest.raises(CorruptRawFileError, match=r"post\.dat: line 4 \(id d\): no 'split' field"):
        read_imcm(_write(tmp_path, "post.dat", mixed))
    wrong = _jsonl({"id": "a", "content": LONG_TEXT, "tags": ["x"], "split": "dev"})
    with pytest.raises(CorruptRawFileError, match=r"line 1 \(id a\): 'split' is 'dev'"):
        read_imcm(_write(tmp_path, "post.dat", wrong))


def test_truncated_json_line_names_file_and_line(tmp_path: Path) -> None:
    good = _jsonl({"id": "a", "content": LONG_TEXT, "tags": ["x"]})
    truncated = _jsonl({"id": "b", "content": LONG_TEXT, "tags": ["y"]})[:40]
    folder = _write(tmp_path, "post.dat", good + good.replace('"a"', '"c"') + truncated)
    with pytest.raises(
        CorruptRawFileError, match=r"post\.dat: line 3: cannot be read as jsonl: .* at column"
    ):
        read_imcm(folder)


def test_gbk_bytes_in_jsonl_name_line_and_byte(tmp_path: Path) -> None:
    good = _jsonl({"id": "a", "content": LONG_TEXT, "tags": ["x"]}).encode("utf-8")
    bad = _jsonl({"id": "b", "content": "简介", "tags": ["小说"]}).encode("gbk")
    folder = _write(tmp_path, "post.dat", good + bad)
    column = bad.index("简介".encode("gbk")) + 1
    with pytest.raises(
        CorruptRawFileError,
        match=rf"post\.dat: line 2: byte 0x{bad[column - 1]:02x} at column {column} is not valid "
        r"UTF-8; expected UTF-8 text \(GBK or GB18030",
    ):
        read_imcm(folder)


@pytest.mark.parametrize("data", ["", "\n  \n"])
def test_empty_jsonl(tmp_path: Path, data: str) -> None:
    with pytest.raises(CorruptRawFileError, match=r"post\.dat: the file is empty"):
        read_imcm(_write(tmp_path, "post.dat", data))


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ("[1, 2]", r"line 1: a JSON array \(list\); expected one JSON object per line"),
        ('{"content": "x", "tags": ["y"]}', r"line 1: 'id' is None; expected a non-empty"),
        ('{"id": "a", "content": 5, "tags": ["y"]}', r"line 1 \(id a\): 'content' is a int"),
        ('{"id": "a", "content": "x", "tags": "y"}', r"line 1 \(id a\): 'tags' is 'y'; expected"),
        ('{"id": "a", "content": "x", "tags": [1]}', r"'tags' is \[1\]; expected a list of str"),
    ],
)
def test_wrong_record_shapes(tmp_path: Path, record: str, message: str) -> None:
    with pytest.raises(CorruptRawFileError, match=message):
        read_imcm(_write(tmp_path, "post.dat", record + "\n"))


def test_duplicate_book_ids(tmp_path: Path) -> None:
    data = _jsonl(
        {"id": "a", "content": LONG_TEXT, "tags": ["x"]},
        {"id": "a", "content": LONG_TEXT, "tags": ["y"]},
    )
    with pytest.raises(CorruptRawFileError, match=r"line 2: id 'a' already used on line 1"):
        read_imcm(_write(tmp_path, "post.dat", data))


# --- text fields are Unicode text, nesting is bounded (issue 20, item 4) ------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"content": LONG_TEXT + "\ud800"}, r'line 2 \(id b\), field "content"'),
        ({"tags": ["小说", "\udc00"]}, r'line 2 \(id b\), field "tags\[2\]"'),
        ({"tags": None, "doubanTags": {"小说": 3, "\udfff": 1}}, r'field "doubanTags\[2\]"'),
        ({"id": "b\ud800"}, r'line 2, field "id"'),
    ],
)
def test_imcm_lone_surrogate_names_file_line_and_field(
    tmp_path: Path, change: dict, field: str
) -> None:
    changed = {"id": "b", "content": LONG_TEXT, "tags": ["y"], **change}
    records = [
        {"id": "a", "content": LONG_TEXT, "tags": ["x"]},
        {key: value for key, value in changed.items() if value is not None},  # None: no key
        {"id": "c", "content": LONG_TEXT, "tags": ["x"]},
    ]
    # ensure_ascii: the surrogate is written as the escape "\udxxx", which json.loads accepts.
    data = "".join(json.dumps(record) + "\n" for record in records)
    folder = _write(tmp_path / "raw", "post.dat", data)
    cache = tmp_path / "cache"
    with pytest.raises(CorruptRawFileError, match=field) as raised:
        read_imcm(folder, cache_dir=cache)
    message = str(raised.value)
    assert message.startswith(f"{folder / 'post.dat'}: line 2")
    assert "lone surrogate \\ud" in message and "is not valid Unicode text" in message
    assert not cache.exists()  # refused before anything (the segmentation cache) is written


@pytest.mark.parametrize(("depth", "found"), [(100_000, ""), (150, r" \(151 levels\)")])
def test_imcm_deep_nesting_names_file_and_line(tmp_path: Path, depth: int, found: str) -> None:
    good = _jsonl({"id": "a", "content": LONG_TEXT, "tags": ["x"]})
    deep = '{"id": "b", "content": "x", "tags": ' + "[" * depth + "]" * depth + "}\n"
    folder = _write(tmp_path, "post.dat", good + deep)
    with pytest.raises(
        CorruptRawFileError,
        match=rf"post\.dat: line 2: JSON nested deeper than 100 levels{found}",
    ):
        read_imcm(folder)
