"""RCV1-v2 readers: LYRL2004 token files + qrels (small files written here), the topic
hierarchy and the 2,316-document sample from the offline mirror."""

from __future__ import annotations

import gzip
import logging
import random
import re
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import mirror_path
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from longtail_mltc.corpora.acquisition import locate_raw_dir
from longtail_mltc.corpora.errors import CorpusError, CorruptRawFileError, RawDataNotFoundError
from longtail_mltc.corpora.rcv1 import (
    HIERARCHY_COLUMNS,
    RCV1,
    RCV1_FILES,
    RCV1_QRELS_FILE,
    RCV1_SAMPLE,
    RCV1_SAMPLE_FILE,
    RCV1_TEST_FILES,
    RCV1_TRAIN_FILE,
    RCV1_URLS,
    LyrlRecord,
    iter_lyrl2004_tokens,
    read_rcv1,
    read_rcv1_hierarchy,
    read_rcv1_qrels,
    read_rcv1_sample,
)
from longtail_mltc.corpora.rcv1_sample import sample_doc_id
from longtail_mltc.corpora.schema import CORPUS_COLUMNS
from longtail_mltc.corpora.splits import seeded_test_mask

LOGGER = "longtail_mltc.corpora.rcv1"


@pytest.fixture(scope="module")
def sample_mirror() -> Path:
    return mirror_path("rcv1v2_sample")


# --- writing LYRL2004-format files --------------------------------------------------------------

# Five token files in the LYRL2004 layout: ".I <id>", ".W", token lines, a blank line between.
TRAIN = ".I 2286\n.W\nrecov excit bring\neconom back track\n\n.I 2287\n.W\nmexic stock\n"
TEST_PARTS = (
    ".I 2288\n.W\nbond yield rise\n\n",
    ".I 2289\n.W\noil price\nopec meet\n",
    ".I 2290\n.W\nfootbal match\n\n\n",
    ".I 2291\n.W\nrain flood\n",
)
QRELS = (
    "E11 2286 1\nECAT 2286 1\nM11 2286 1\n"
    "CCAT 2287 1\n"
    "M13 2288 1\nMCAT 2288 1\n"
    "C11 2289 1\nCCAT 2289 1\n"
    "GSPO 2290 1\nGCAT 2290 1\n"
    "GDIS 2291 1\n"
)
EXPECTED = pd.DataFrame(
    {
        "doc_id": ["2286", "2287", "2288", "2289", "2290", "2291"],
        "text": [
            "recov excit bring econom back track",
            "mexic stock",
            "bond yield rise",
            "oil price opec meet",
            "footbal match",
            "rain flood",
        ],
        "labels": [
            ["E11", "ECAT", "M11"],
            ["CCAT"],
            ["M13", "MCAT"],
            ["C11", "CCAT"],
            ["GSPO", "GCAT"],
            ["GDIS"],
        ],
        "split": ["train", "train", "test", "test", "test", "test"],
        "lang": ["en"] * 6,
    }
)


def _write(path: Path, content: str | bytes, *, compress: bool = False) -> Path:
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def _write_raw(
    folder: Path,
    *,
    train: str = TRAIN,
    test_parts: tuple[str, ...] = TEST_PARTS,
    qrels: str = QRELS,
    compress: bool = False,
    suffix: str = "",
) -> Path:
    """The five token files and the qrels in ``folder`` (optionally gzip, named ``+suffix``)."""
    folder.mkdir(parents=True, exist_ok=True)
    contents = dict(zip(RCV1_FILES, (train, *test_parts, qrels), strict=True))
    for name, content in contents.items():
        _write(folder / f"{name}{suffix}", content, compress=compress)
    return folder


def _record_file(path: Path, n_docs: int, *, compress: bool) -> Path:
    """``n_docs`` records of 20 tokens on two lines each."""
    line = " ".join(f"tok{i}" for i in range(10))
    text = "".join(f".I {doc}\n.W\n{line}\n{line}\n\n" for doc in range(1, n_docs + 1))
    return _write(path, text, compress=compress)


# --- reading the small LYRL2004 files -----------------------------------------------------------


def test_reads_plain_files_into_the_expected_table(tmp_path: Path) -> None:
    corpus = read_rcv1(_write_raw(tmp_path / "raw"))
    assert list(corpus.columns) == list(CORPUS_COLUMNS)
    pd.testing.assert_frame_equal(corpus.reset_index(drop=True), EXPECTED)


@pytest.mark.parametrize("suffix", [".gz", ""], ids=["named .gz", "gzip bytes, plain name"])
def test_reads_gzip_files(tmp_path: Path, suffix: str) -> None:
    corpus = read_rcv1(_write_raw(tmp_path / "raw", compress=True, suffix=suffix))
    pd.testing.assert_frame_equal(corpus.reset_index(drop=True), EXPECTED)


def test_mixed_plain_and_gzip_files(tmp_path: Path) -> None:
    folder = _write_raw(tmp_path / "raw")
    (folder / RCV1_TRAIN_FILE).unlink()
    _write(folder / f"{RCV1_TRAIN_FILE}.gz", TRAIN, compress=True)
    pd.testing.assert_frame_equal(read_rcv1(folder).reset_index(drop=True), EXPECTED)


def test_crlf_tabs_and_repeated_spaces_are_token_separators(tmp_path: Path) -> None:
    train = ".I 2286\r\n.W\r\n  recov\texcit   bring \r\necon\r\n\r\n.I 2287\r\n.W\r\nmexic\r\n"
    corpus = read_rcv1(_write_raw(tmp_path / "raw", train=train))
    assert corpus["text"].tolist()[:2] == ["recov excit bring econ", "mexic"]


def test_header_without_blank_line_before_it_starts_a_new_record(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.dat", ".I 1\n.W\na b\n.I 02\n.W\nc\n")
    assert list(iter_lyrl2004_tokens(path)) == [LyrlRecord("1", "a b", 1), LyrlRecord("2", "c", 4)]


def test_max_documents_caps_each_split(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = _write_raw(tmp_path / "raw")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        corpus = read_rcv1(folder, max_documents=1)
    assert corpus["doc_id"].tolist() == ["2286", "2288"]
    assert corpus["split"].tolist() == ["train", "test"]
    assert "max_documents stopped reading early" in caplog.text
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert len(read_rcv1(folder, max_documents=2)) == 4  # 2 train (all) + 2 test


@pytest.mark.parametrize(("value", "error"), [(0, ValueError), (-3, ValueError), (True, TypeError)])
def test_max_documents_is_validated(tmp_path: Path, value: object, error: type) -> None:
    with pytest.raises(error, match="max_documents"):
        read_rcv1(_write_raw(tmp_path / "raw"), max_documents=value)  # type: ignore[arg-type]


# --- counted skips ------------------------------------------------------------------------------


def test_document_without_topics_is_skipped_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    qrels = QRELS.replace("CCAT 2287 1\n", "")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        corpus = read_rcv1(_write_raw(tmp_path / "raw", qrels=qrels))
    assert "2287" not in set(corpus["doc_id"])
    assert len(corpus) == 5
    assert "skipped 1 documents without any qrels topic" in caplog.text
    assert "2287" in caplog.text


def test_qrels_for_unknown_doc_ids_are_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    qrels = QRELS + "C11 9999 1\nCCAT 9999 1\nGCAT 8888 1\n"
    with caplog.at_level(logging.INFO, logger=LOGGER):
        corpus = read_rcv1(_write_raw(tmp_path / "raw", qrels=qrels))
    pd.testing.assert_frame_equal(corpus.reset_index(drop=True), EXPECTED)
    assert "skipped 3 qrels lines naming 2 doc ids that are in no token file" in caplog.text
    assert "3 qrels lines for unknown doc ids" in caplog.text


def test_record_without_tokens_is_skipped_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    train = TRAIN.replace(".W\nmexic stock\n", ".W\n")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        corpus = read_rcv1(_write_raw(tmp_path / "raw", train=train))
    assert corpus["doc_id"].tolist()[:2] == ["2286", "2288"]
    assert "skipped 1 records without tokens" in caplog.text


def test_repeated_qrels_lines_are_counted_and_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path / "q", "C11 5 1\nCCAT 5 1\nC11 5 1\n\nGCAT 6 1\n")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert read_rcv1_qrels(path) == {"5": ["C11", "CCAT"], "6": ["GCAT"]}
    assert "ignored 1 repeated (topic, doc id) lines" in caplog.text


# --- corrupt input: errors name file, line and what was expected --------------------------------

BAD_TOKEN_FILES = {
    "truncated record at end of file": (".I 1\n.W\na\n\n.I 2\n", r"line 5: the file ends after "),
    ".I followed by .I": (".I 1\n.I 2\n.W\na\n", r"line 2: expected '\.W' right after"),
    "blank line between .I and .W": (".I 1\n\n.W\na\n", r"line 2: expected '\.W'.*empty line"),
    ".I without id": (".I\n.W\na\n", r"line 1: malformed record header '\.I'"),
    ".I with two ids": (".I 1 2\n.W\na\n", r"line 1: malformed record header"),
    "glued .I": (".I7\n.W\na\n", r"line 1: expected a record header '\.I <doc id>', found '\.I7'"),
    "non-numeric id": (".I 1\n.W\na\n\n.I 12a\n.W\n", r"line 5: doc id '12a'.*not a number"),
    "text before the first record": ("hello\n.I 1\n.W\n", r"line 1: expected a record header"),
    "second .W": (".I 1\n.W\na\n.W\nb\n", r"line 4: a second '\.W' line"),
    "empty file": ("", r"no records \(0 lines\)"),
    "blank lines only": ("\n \n\n", r"no records \(3 lines\)"),
    "latin-1 byte": (b".I 1\n.W\ncaf\xe9 au lait\n", r"line 3: byte 0xe9 at column 4 is not"),
    "utf-16": (".I 1\n.W\na\n".encode("utf-16"), r"line 1: byte 0xff at column 1 is not"),
}


@pytest.mark.parametrize("case", list(BAD_TOKEN_FILES), ids=list(BAD_TOKEN_FILES))
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_corrupt_token_file_raises_naming_file_and_line(
    tmp_path: Path, case: str, compress: bool
) -> None:
    content, message = BAD_TOKEN_FILES[case]
    path = _write(tmp_path / "tokens.dat", content, compress=compress)
    with pytest.raises(CorruptRawFileError, match=message) as raised:
        list(iter_lyrl2004_tokens(path))
    assert str(raised.value).startswith(str(path))


def test_truncated_gzip_stream_raises(tmp_path: Path) -> None:
    data = gzip.compress(("".join(f".I {i}\n.W\nabc def\n\n" for i in range(1, 3000))).encode())
    path = _write(tmp_path / "tokens.dat.gz", data[: len(data) // 2])
    with pytest.raises(CorruptRawFileError, match=r"gzip stream is corrupt or truncated after"):
        list(iter_lyrl2004_tokens(path))
    # The message names the last complete line (the shared line reader, issue 21 item 10).
    read: list[LyrlRecord] = []
    with pytest.raises(CorruptRawFileError, match=r"truncated after line (\d+):") as raised:
        read.extend(iter_lyrl2004_tokens(path))
    last = int(re.search(r"after line (\d+)", str(raised.value)).group(1))
    assert str(raised.value).startswith(str(path))
    assert 4 * len(read) <= last < 4 * 2999  # at or past the records read, before the end


def test_repeated_sample_records_get_numbered_ids(tmp_path: Path) -> None:
    line, other = _sample_line(["C15"], ["a", "b"]), _sample_line(["GCAT"], ["c"])
    corpus = read_rcv1_sample(_sample_file(tmp_path / "s", [line, other, line, line]))
    first = sample_doc_id("a b", ["C15"])
    assert corpus["doc_id"].tolist() == [
        first,
        sample_doc_id("c", ["GCAT"]),
        f"{first}-2",
        f"{first}-3",
    ]


def test_corrupt_test_part_is_named_by_read_rcv1(tmp_path: Path) -> None:
    parts = (TEST_PARTS[0], TEST_PARTS[1], ".I 2290\n.W\nok\n\n.I x\n", TEST_PARTS[3])
    folder = _write_raw(tmp_path / "raw", test_parts=parts)
    with pytest.raises(CorruptRawFileError, match=r"test_pt2\.dat: line 5: doc id 'x'"):
        read_rcv1(folder)


def test_duplicate_doc_id_across_files_raises(tmp_path: Path) -> None:
    parts = (TEST_PARTS[0], ".I 2286\n.W\nagain\n", *TEST_PARTS[2:])
    folder = _write_raw(tmp_path / "raw", test_parts=parts)
    with pytest.raises(CorruptRawFileError, match=r"test_pt1\.dat: line 1: doc id 2286 was"):
        read_rcv1(folder)


BAD_QRELS = {
    "two fields": ("C11 1 1\nC11 2\n", r"line 2: 2 fields in 'C11 2'; expected 3"),
    "four fields": ("C11 1 1 x\n", r"line 1: 4 fields"),
    "non-numeric id": ("C11 1 1\n\nC11 a1 1\n", r"line 3: doc id 'a1' is not a number"),
    "relevance not 1": ("C11 1 0\n", r"line 1: third field '0'; expected '1'"),
    "empty file": ("", r"no qrels lines"),
    "non-UTF-8": (b"C11 1 1\nC\xa311 2 1\n", r"line 2: byte 0xa3 at column 2"),
}


@pytest.mark.parametrize("case", list(BAD_QRELS), ids=list(BAD_QRELS))
def test_corrupt_qrels_raises_naming_file_and_line(tmp_path: Path, case: str) -> None:
    content, message = BAD_QRELS[case]
    path = _write(tmp_path / RCV1_QRELS_FILE, content)
    with pytest.raises(CorruptRawFileError, match=message) as raised:
        read_rcv1_qrels(path)
    assert str(raised.value).startswith(str(path))


def test_missing_files_are_listed_with_their_addresses(tmp_path: Path) -> None:
    folder = _write_raw(tmp_path / "raw")
    (folder / RCV1_QRELS_FILE).unlink()
    (folder / RCV1_TEST_FILES[3]).unlink()
    with pytest.raises(RawDataNotFoundError) as raised:
        read_rcv1(folder)
    message = str(raised.value)
    assert "lacks 2 of the 6" in message
    assert f"{RCV1_TEST_FILES[3]}, {RCV1_QRELS_FILE}" in message
    assert RCV1_URLS[RCV1_QRELS_FILE] in message
    assert RCV1_URLS[RCV1_TEST_FILES[3]] in message


# --- streaming -----------------------------------------------------------------------------------


def _peak_while_iterating(path: Path) -> tuple[int, int]:
    """(records, peak traced bytes) while iterating the record generator, keeping nothing."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        records = sum(1 for _ in iter_lyrl2004_tokens(path))
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    return records, peak


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_parsing_memory_does_not_grow_with_the_file(tmp_path: Path, compress: bool) -> None:
    small = _record_file(tmp_path / "small.dat", 12_500, compress=compress)
    large = _record_file(tmp_path / "large.dat", 50_000, compress=compress)
    n_small, peak_small = _peak_while_iterating(small)
    n_large, peak_large = _peak_while_iterating(large)
    assert (n_small, n_large) == (12_500, 50_000)
    uncompressed_large = 50_000 * len(".I 50000\n.W\n" + 2 * (10 * "tok0 ") + "\n")
    # One record plus file buffers: the same for 4x the documents, and far below the file size.
    assert peak_large <= 1.25 * peak_small + 32 * 1024, (peak_small, peak_large)
    assert peak_large < 512 * 1024 < uncompressed_large / 4, (peak_large, uncompressed_large)


# --- round trip -----------------------------------------------------------------------------------

_TOKEN = st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)
_TOPIC = st.sampled_from(["CCAT", "C11", "C151", "ECAT", "E11", "GCAT", "GSPO", "MCAT", "M13"])
_DOC = st.tuples(
    st.lists(st.lists(_TOKEN, min_size=1, max_size=6), min_size=1, max_size=3),  # token lines
    st.lists(_TOPIC, min_size=1, max_size=4, unique=True),
    st.sampled_from([" ", "  ", "\t"]),  # token separator within a line
    st.integers(0, 4),  # file: 0 train, 1..4 test parts
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    docs=st.lists(_DOC, min_size=5, max_size=25),
    ids=st.lists(st.integers(1, 10**7), min_size=25, max_size=25, unique=True),
    compress=st.lists(st.booleans(), min_size=6, max_size=6),
    blank_lines=st.integers(1, 2),
)
def test_round_trip(
    docs: list[tuple[list[list[str]], list[str], str, int]],
    ids: list[int],
    compress: list[bool],
    blank_lines: int,
) -> None:
    files: list[list[str]] = [[] for _ in range(5)]
    qrels: list[str] = []
    expected: list[list[tuple[str, str, list[str]]]] = [[] for _ in range(5)]
    for index, (lines, topics, separator, file) in enumerate(docs):
        file = index if index < 5 else file  # every file holds at least one record
        doc_id = str(ids[index])
        body = "".join(separator.join(tokens) + "\n" for tokens in lines)
        files[file].append(f".I {doc_id}\n.W\n{body}" + "\n" * blank_lines)
        qrels.extend(f"{topic} {doc_id} 1\n" for topic in topics)
        text = " ".join(token for tokens in lines for token in tokens)
        expected[file].append((doc_id, text, topics))
    with tempfile.TemporaryDirectory() as folder:
        for name, records, gz in zip(RCV1_FILES, [*files, qrels], compress, strict=True):
            _write(Path(folder) / (name + (".gz" if gz else "")), "".join(records), compress=gz)
        corpus = read_rcv1(folder)
    rows = [row for part in expected for row in part]
    assert corpus["doc_id"].tolist() == [row[0] for row in rows]
    assert corpus["text"].tolist() == [row[1] for row in rows]
    assert corpus["labels"].tolist() == [row[2] for row in rows]
    assert corpus["split"].tolist() == ["train"] * len(expected[0]) + ["test"] * (
        len(rows) - len(expected[0])
    )
    assert set(corpus["lang"]) == {"en"}


# --- topic hierarchy ------------------------------------------------------------------------------


def test_real_hierarchy_files_agree(sample_mirror: Path) -> None:
    orig = read_rcv1_hierarchy(sample_mirror / "yqsong_rcv1.topics.hier.orig")
    taxonomy = read_rcv1_hierarchy(sample_mirror / "neuralclassifier_rcv1.taxonomy")
    for hierarchy in (orig, taxonomy):
        assert list(hierarchy.columns) == list(HIERARCHY_COLUMNS)
        assert len(hierarchy) == 103
        assert hierarchy["topic"].is_unique
        top = hierarchy.loc[hierarchy["parent"].isna(), "topic"].tolist()
        assert top == ["CCAT", "ECAT", "GCAT", "MCAT"]
    pd.testing.assert_frame_equal(orig[["topic", "parent"]], taxonomy[["topic", "parent"]])
    parents = dict(zip(orig["topic"], orig["parent"], strict=True))
    assert (parents["C1511"], parents["C151"], parents["C15"]) == ("C151", "C15", "CCAT")
    assert parents["G159"] == "G15"
    assert taxonomy["description"].isna().all()
    assert orig.set_index("topic").loc["C151", "description"] == "ACCOUNTS EARNINGS"
    # A folder: its first hierarchy file in RCV1_HIERARCHY_FILES order (the .orig copy).
    pd.testing.assert_frame_equal(read_rcv1_hierarchy(sample_mirror), orig)


def test_sample_labels_are_hierarchy_topics(sample_mirror: Path) -> None:
    topics = set(read_rcv1_hierarchy(sample_mirror)["topic"])
    labels = set(read_rcv1_sample(sample_mirror)["labels"].explode())
    assert labels <= topics


ORIG = (
    "parent: None        child: Root        child-description: Root\n"
    "parent: Root        child: CCAT        child-description: CORPORATE/INDUSTRIAL\n"
    "parent: CCAT        child: C15         child-description: PERFORMANCE\n"
    "parent: C15         child: C151        child-description: ACCOUNTS/EARNINGS\n"
    "parent: Root        child: GCAT        child-description: GOVERNMENT/SOCIAL\n"
)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_orig_hierarchy_format(tmp_path: Path, compress: bool) -> None:
    path = _write(tmp_path / "rcv1.topics.hier.orig", ORIG, compress=compress)
    expected = pd.DataFrame(
        {
            "topic": ["C15", "C151", "CCAT", "GCAT"],
            "parent": ["CCAT", "C15", None, None],
            "description": [
                "PERFORMANCE",
                "ACCOUNTS/EARNINGS",
                "CORPORATE/INDUSTRIAL",
                "GOVERNMENT/SOCIAL",
            ],
        },
        dtype=object,
    )
    pd.testing.assert_frame_equal(read_rcv1_hierarchy(path), expected)


def test_hierarchy_found_in_folder_under_its_lyrl_name(tmp_path: Path) -> None:
    _write(tmp_path / "rcv1.topics.hier.orig.gz", ORIG, compress=True)
    assert len(read_rcv1_hierarchy(tmp_path)) == 4
    (tmp_path / "empty").mkdir()
    with pytest.raises(RawDataNotFoundError, match="no RCV1 topic hierarchy in .*empty"):
        read_rcv1_hierarchy(tmp_path / "empty")
    with pytest.raises(RawDataNotFoundError, match="hierarchy file .*elsewhere does not exist"):
        read_rcv1_hierarchy(tmp_path / "elsewhere")


BAD_HIERARCHIES = {
    "child twice": ("Root\tCCAT\tGCAT\nCCAT\tC11\nGCAT\tC11\n", r"line 3: topic 'C11' already"),
    "unknown parent": ("Root\tCCAT\nXCAT\tX11\n", r"line 2: parent 'XCAT' of 'X11' is neither"),
    "cycle": ("Root\tCCAT\nA\tB\nB\tA\n", r"never reaches 'Root' \(cycle\)"),
    "empty field": ("Root\tCCAT\t\tGCAT\n", r"line 1: .*no empty field"),
    "no children": ("Root\n", r"line 1: .*expected 'parent<TAB>child"),
    "malformed orig": (ORIG + "parent: CCAT child C11\n", r"line 6: .*expected 'parent: <topic>"),
    "empty file": ("", r"no hierarchy lines"),
}


@pytest.mark.parametrize("case", list(BAD_HIERARCHIES), ids=list(BAD_HIERARCHIES))
def test_corrupt_hierarchy_raises(tmp_path: Path, case: str) -> None:
    content, message = BAD_HIERARCHIES[case]
    path = _write(tmp_path / "rcv1.taxonomy", content)
    with pytest.raises(CorruptRawFileError, match=message) as raised:
        read_rcv1_hierarchy(path)
    assert str(raised.value).startswith(str(path))


# --- the 2,316-document sample --------------------------------------------------------------------


def test_real_sample_counts(sample_mirror: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=LOGGER):
        corpus = read_rcv1_sample(sample_mirror)
    assert list(corpus.columns) == list(CORPUS_COLUMNS)
    assert len(corpus) == 2316
    assert corpus["split"].value_counts().to_dict() == {"train": 1853, "test": 463}
    assert corpus["labels"].explode().nunique() == 98
    assert round(corpus["labels"].map(len).mean(), 2) == 3.20
    assert round(corpus["text"].str.split().map(len).mean(), 1) == 135.3
    assert corpus["doc_id"].is_unique and set(corpus["lang"]) == {"en"}
    assert (
        "2316 records (9 repeat an earlier record, kept); skipped none; kept 1853 train / 463 test"
        in caplog.text
    )
    first = corpus.iloc[0]
    assert first["labels"] == ["C152", "C15", "CCAT"]
    assert first["text"].startswith("Brazils stateowned oil giant Petrobras")
    assert first["doc_id"] == sample_doc_id(first["text"], first["labels"])
    # The 9 repeated records (8 records twice, 1 three times): the first one's id with -2 or -3
    # appended, and the same text and labels.
    repeats = corpus[corpus["doc_id"].str.fullmatch(r"sample-[0-9a-f]{16}-[0-9]+")]
    assert sorted(repeats["doc_id"].str.rsplit("-", n=1).str[1]) == ["2"] * 8 + ["3"]
    originals = corpus.set_index("doc_id").loc[repeats["doc_id"].str.rsplit("-", n=1).str[0]]
    assert originals["text"].tolist() == repeats["text"].tolist()
    assert originals["labels"].tolist() == repeats["labels"].tolist()


def test_sample_split_is_seeded(sample_mirror: Path) -> None:
    first = read_rcv1_sample(sample_mirror)
    again = read_rcv1_sample(sample_mirror)
    other = read_rcv1_sample(sample_mirror, seed=1)
    quarter = read_rcv1_sample(sample_mirror, test_fraction=0.25, seed=1)
    assert first["split"].tolist() == again["split"].tolist()
    assert first["split"].tolist() != other["split"].tolist()
    assert (quarter["split"] == "test").sum() == 579  # 0.25 * 2316
    # The split is the shared draw over the (sorted) ids.
    mask = seeded_test_mask(first["doc_id"].tolist(), 0.2, 0, where="sample")
    assert (first["split"] == "test").tolist() == mask.tolist()


@pytest.mark.parametrize("order", ["reversed", "shuffled"])
def test_sample_split_does_not_depend_on_line_order(
    sample_mirror: Path, tmp_path: Path, order: str
) -> None:
    """Issue 21, item 10: the old draw took file positions, so reordering moved documents."""
    data = (sample_mirror / RCV1_SAMPLE_FILE).read_bytes().splitlines(keepends=True)
    if order == "reversed":
        data.reverse()
    else:
        random.Random(5).shuffle(data)
    (tmp_path / RCV1_SAMPLE_FILE).write_bytes(b"".join(data))
    corpus = read_rcv1_sample(sample_mirror)
    moved = read_rcv1_sample(tmp_path)
    assert set(moved.loc[moved["split"] == "test", "doc_id"]) == set(
        corpus.loc[corpus["split"] == "test", "doc_id"]
    )

    def test_documents(table: pd.DataFrame) -> list[tuple[str, tuple[str, ...]]]:
        chosen = table[table["split"] == "test"]
        return sorted(zip(chosen["text"], map(tuple, chosen["labels"]), strict=True))

    assert test_documents(moved) == test_documents(corpus)


def test_sample_source_is_found_in_the_mirror(sample_mirror: Path, tmp_path: Path) -> None:
    folder = locate_raw_dir(
        RCV1_SAMPLE.name,
        RCV1_SAMPLE.expected_files,
        raw_root=tmp_path,
        mirror=sample_mirror.parent,
        mirror_folder=RCV1_SAMPLE.mirror_folder,
    )
    assert folder == sample_mirror
    assert len(RCV1_SAMPLE.read(folder)) == 2316


def test_rcv1_source_describes_the_lyrl2004_files(tmp_path: Path) -> None:
    assert RCV1.name == "rcv1" and RCV1.expected_files == RCV1_FILES
    assert RCV1_FILES[0] == RCV1_TRAIN_FILE and RCV1.download is None
    assert set(RCV1_URLS) >= set(RCV1_FILES)
    assert all(
        re.match(r"http://jmlr\.csail\.mit\.edu/papers/volume5/lewis04a/a", u)
        for u in RCV1_URLS.values()
    )
    with pytest.raises(RawDataNotFoundError, match="lyrl2004_tokens_train.dat") as raised:
        locate_raw_dir(
            RCV1.name,
            RCV1.expected_files,
            raw_root=tmp_path,
            mirror=tmp_path / "mirror",
            mirror_folder=RCV1.mirror_folder,
            download_note=RCV1.download_note,
        )
    assert RCV1_URLS[RCV1_QRELS_FILE] in str(raised.value)
    assert "as they are (.gz)" in str(raised.value)
    pd.testing.assert_frame_equal(
        RCV1.read(_write_raw(tmp_path / "raw")).reset_index(drop=True), EXPECTED
    )


def _sample_file(folder: Path, lines: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / RCV1_SAMPLE_FILE, "".join(line + "\n" for line in lines))
    return folder


def _sample_line(labels: list[str], tokens: list[str]) -> str:
    return (
        '{"doc_label": ['
        + ", ".join(f'"{x}"' for x in labels)
        + '], "doc_token": ['
        + ", ".join(f'"{x}"' for x in tokens)
        + '], "doc_keyword": [], "doc_topic": []}'
    )


def test_small_sample_table_and_skips(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    lines = [
        _sample_line(["C15", "CCAT", "C15"], ["Oil", "price"]),
        _sample_line([], ["orphan"]),
        _sample_line(["GCAT"], []),
        "",
        _sample_line(["MCAT"], ["Bonds", "rise"]),
        _sample_line(["E11", "ECAT"], ["growth"]),
    ]
    with caplog.at_level(logging.INFO, logger=LOGGER):
        corpus = read_rcv1_sample(_sample_file(tmp_path / "s", lines), test_fraction=0.34, seed=3)
    assert corpus["text"].tolist() == ["Oil price", "Bonds rise", "growth"]
    assert corpus["labels"].tolist() == [["C15", "CCAT"], ["MCAT"], ["E11", "ECAT"]]
    assert corpus["doc_id"].tolist() == [
        sample_doc_id(text, labels)
        for text, labels in zip(corpus["text"], corpus["labels"], strict=True)
    ]
    # round(0.34 * 3) = 1 test document: the documented draw over the sorted ids.
    ids = sorted(corpus["doc_id"])
    chosen = ids[np.random.default_rng(3).permutation(3)[0]]
    assert corpus["split"].tolist() == [
        "test" if doc_id == chosen else "train" for doc_id in corpus["doc_id"]
    ]
    assert (
        "5 records (0 repeat an earlier record, kept); skipped 1 no labels, 1 no tokens; kept 2 "
        "train / 1 test" in caplog.text
    )


BAD_SAMPLES = {
    "not JSON": (
        ['{"doc_label": ["C15"], "doc_token": ["a"]}', '{"doc_label": ['],
        r"line 2: cannot be read as jsonl: .* \(truncated line\?\); expected one object",
    ),
    "JSON list": (
        ["[1, 2]"],
        r"line 1: a JSON array \(list\); expected one object per line with 'doc_label'",
    ),
    "missing key": (['{"doc_label": ["C15"]}'], r"line 1: 'doc_token' is missing"),
    "label not str": (['{"doc_label": [1], "doc_token": ["a"]}'], r"'doc_label' is a list hold"),
    "tokens a string": (['{"doc_label": ["C1"], "doc_token": "a b"}'], r"'doc_token' is a str;"),
    "empty file": ([], r"no records"),
}


@pytest.mark.parametrize("case", list(BAD_SAMPLES), ids=list(BAD_SAMPLES))
def test_corrupt_sample_raises(tmp_path: Path, case: str) -> None:
    lines, message = BAD_SAMPLES[case]
    folder = _sample_file(tmp_path / "s", lines)
    with pytest.raises(CorruptRawFileError, match=message) as raised:
        read_rcv1_sample(folder)
    assert str(raised.value).startswith(str(folder / RCV1_SAMPLE_FILE))


def test_sample_arguments_are_checked(tmp_path: Path) -> None:
    folder = _sample_file(tmp_path / "s", [_sample_line(["C15"], ["a"])])
    with pytest.raises(CorpusError, match="1 document.* too few for a test fraction of 0.2"):
        read_rcv1_sample(folder)
    for fraction in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="test_fraction"):
            read_rcv1_sample(folder, test_fraction=fraction)
    with pytest.raises(RawDataNotFoundError, match=RCV1_SAMPLE_FILE):
        read_rcv1_sample(tmp_path / "nowhere")


def test_load_corpus_finds_a_raw_folder_of_gzip_files(tmp_path: Path) -> None:
    from longtail_mltc.corpora import load_corpus

    _write_raw(tmp_path / "raw" / "rcv1", compress=True, suffix=".gz")
    table = load_corpus("rcv1", raw_root=tmp_path / "raw", mirror=tmp_path / "no-mirror")
    pd.testing.assert_frame_equal(table.reset_index(drop=True), EXPECTED)
    explicit = load_corpus("rcv1", raw_dir=tmp_path / "raw" / "rcv1")
    pd.testing.assert_frame_equal(explicit.reset_index(drop=True), EXPECTED)


# --- sample text fields are Unicode text, nesting is bounded (issue 20, item 4) -----------------


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('{"doc_label": ["C15"], "doc_token": ["oil", "pri\\ud800ce"]}', r'"doc_token\[2\]"'),
        ('{"doc_label": ["\\udc00"], "doc_token": ["oil"]}', r'"doc_label\[1\]"'),
    ],
)
def test_sample_lone_surrogate_names_file_line_and_field(
    tmp_path: Path, line: str, field: str
) -> None:
    good = _sample_line(["C15"], ["oil", "price"])
    folder = _sample_file(tmp_path / "s", [good, good, line, good])
    with pytest.raises(
        CorruptRawFileError,
        match=rf"^{re.escape(str(folder / RCV1_SAMPLE_FILE))}: line 3, field {field}: lone "
        r"surrogate \\ud[8c]00 \(at character \d\) is not valid Unicode text",
    ):
        read_rcv1_sample(folder)


@pytest.mark.parametrize(("depth", "found"), [(100_000, ""), (100, r" \(101 levels\)")])
def test_sample_deep_nesting_names_file_and_line(tmp_path: Path, depth: int, found: str) -> None:
    good = _sample_line(["C15"], ["oil", "price"])
    deep = '{"doc_label": ["C15"], "doc_token": ["a"], "doc_topic": ' + "[" * depth + "]" * depth
    folder = _sample_file(tmp_path / "s", [good, deep + "}"])
    with pytest.raises(
        CorruptRawFileError,
        match=rf"^{re.escape(str(folder / RCV1_SAMPLE_FILE))}: line 2: JSON nested deeper "
        rf"than 100 levels{found}",
    ):
        read_rcv1_sample(folder)
    # 99 levels inside the object (100 in all) are within the limit: read as usual.
    shallow = deep.replace("[" * depth + "]" * depth, "[" * 99 + "]" * 99)
    table = read_rcv1_sample(
        _sample_file(tmp_path / "ok", [good, shallow + "}"]), test_fraction=0.5
    )
    assert table["text"].tolist() == ["oil price", "a"]
