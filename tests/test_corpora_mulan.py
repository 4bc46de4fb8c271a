"""Mulan reader: the real Delicious mirror, hand-written dense / labels-first files, bad input,
and a sparse/dense round trip."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from conftest import SHARED_DATASETS, mirror_path
from hypothesis import given, settings
from hypothesis import strategies as st
from log_capture import logged_call

from longtail_mltc.corpora import CorruptRawFileError, RawDataNotFoundError, locate_raw_dir
from longtail_mltc.corpora.acquisition import sha256_file
from longtail_mltc.corpora.mulan import (
    DELICIOUS,
    DELICIOUS_FILES,
    DELICIOUS_SHA256,
    DELICIOUS_URL,
    read_delicious,
    read_mulan,
)
from longtail_mltc.corpora.schema import CORPUS_COLUMNS

LOGGER = "longtail_mltc.corpora"  # mulan, mulan_labels and arff log under it
N_WORDS = 500  # Delicious: attributes 0..499 are words, 500..1482 labels (SOURCES.txt)


@pytest.fixture(scope="module")
def delicious_mirror() -> Path:
    return mirror_path("delicious")


@pytest.fixture(scope="module")
def parsed(delicious_mirror: Path) -> tuple[pd.DataFrame, str]:
    """The real corpus, read once, and the log its reading wrote."""
    return logged_call(LOGGER, read_delicious, delicious_mirror)


@pytest.fixture(scope="module")
def corpus(parsed: tuple[pd.DataFrame, str]) -> pd.DataFrame:
    return parsed[0]


def _raw_rows(path: Path) -> tuple[list[str], list[list[int]]]:
    """Attribute names and each sparse row's indices, by plain string handling (not the reader)."""
    names, rows, in_data = [], [], False
    for line in path.read_text(encoding="ascii").splitlines():
        if in_data and line.startswith("{"):
            items = [item.split() for item in line.strip("{}").split(",")]
            assert all(value == "1" for _, value in items)
            rows.append([int(index) for index, _ in items])
        elif line.startswith("@attribute"):
            names.append(line.split()[1])
        elif line.startswith("@data"):
            in_data = True
    return names, rows


# --- real data ----------------------------------------------------------------------------------


def test_delicious_counts(corpus: pd.DataFrame) -> None:
    assert list(corpus.columns) == list(CORPUS_COLUMNS)
    assert corpus["split"].value_counts().to_dict() == {"train": 12920, "test": 3185}
    assert corpus["doc_id"].is_unique
    assert corpus["doc_id"].iloc[0] == "train-000001"
    assert corpus["doc_id"].iloc[-1] == "test-003185"
    assert set(corpus["lang"]) == {"en"}


def test_delicious_labels(corpus: pd.DataFrame) -> None:
    exploded = corpus[["labels", "split"]].explode("labels").dropna()
    assert exploded["labels"].nunique() == 983
    train_counts = exploded.loc[exploded["split"] == "train", "labels"].value_counts()
    assert len(train_counts) == 983  # every label occurs in train
    assert train_counts.min() == 18
    sizes = corpus["labels"].map(len)
    assert (sizes == 0).sum() == 14
    assert sizes.mean() == pytest.approx(19.02, abs=0.01)
    assert all(label.startswith("TAG_") for label in exploded["labels"].unique())


def test_delicious_matches_an_independent_parse(
    corpus: pd.DataFrame, delicious_mirror: Path
) -> None:
    for split, file_name in (("train", DELICIOUS_FILES[0]), ("test", DELICIOUS_FILES[1])):
        names, rows = _raw_rows(delicious_mirror / file_name)
        part = corpus[corpus["split"] == split]
        assert len(rows) == len(part)
        assert part["labels"].map(len).sum() == sum(i >= N_WORDS for row in rows for i in row)
        assert part["text"].str.split().map(len).sum() == sum(
            i < N_WORDS for row in rows for i in row
        )
        for position in (0, 1, len(rows) // 2, len(rows) - 1):
            row, document = rows[position], part.iloc[position]
            assert document["text"] == " ".join(names[i] for i in row if i < N_WORDS)
            assert document["labels"] == [names[i] for i in row if i >= N_WORDS]
            assert document["doc_id"] == f"{split}-{position + 1:06d}"


def test_delicious_misspelled_label_is_mapped_by_position_and_logged(
    parsed: tuple[pd.DataFrame, str],
) -> None:
    corpus, log = parsed
    labels = set(corpus["labels"].explode().dropna())
    assert "TAG_m\\'usica" in labels  # the ARFF attribute 1112, backslash kept literally
    assert "TTAG_m\\'usica" not in labels
    assert "TAG_dise\\~no" in labels and "TAG_dise?o" in labels
    assert "TTAG_m\\\\'usica" in log  # the warning names the XML name (repr) ...
    assert "TAG_m\\\\'usica" in log and "attribute 1112" in log  # ... and the attribute
    assert "kept 10 documents without labels" in log and "kept 4 documents without" in log


def test_delicious_checksums_match_the_mirror(delicious_mirror: Path) -> None:
    assert set(DELICIOUS_SHA256) == set(DELICIOUS_FILES)
    for name, expected in DELICIOUS_SHA256.items():
        assert sha256_file(delicious_mirror / name) == expected


def test_delicious_source_is_found_in_the_mirror(tmp_path: Path) -> None:
    assert DELICIOUS.name == "delicious" and DELICIOUS.reader is read_delicious
    assert DELICIOUS.download is None  # Mulan ships a RAR archive only
    found = locate_raw_dir(
        DELICIOUS.name,
        DELICIOUS.expected_files,
        raw_root=tmp_path / "raw",
        mirror=SHARED_DATASETS,
        mirror_folder=DELICIOUS.mirror_folder,
    )
    assert (found / "delicious.xml").is_file()


def test_delicious_not_found_error_says_where_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(RawDataNotFoundError) as error:
        locate_raw_dir(
            DELICIOUS.name,
            DELICIOUS.expected_files,
            raw_root=tmp_path / "raw",
            mirror=tmp_path / "no-mirror",
            mirror_folder=DELICIOUS.mirror_folder,
            download=DELICIOUS.download,
            download_note=DELICIOUS.download_note,
        )
    assert DELICIOUS_URL in str(error.value) and "delicious-train.arff" in str(error.value)


def test_delicious_missing_file_says_where_to_get_it(
    delicious_mirror: Path, tmp_path: Path
) -> None:
    (tmp_path / "delicious.xml").write_bytes((delicious_mirror / "delicious.xml").read_bytes())
    with pytest.raises(RawDataNotFoundError) as error:
        read_delicious(tmp_path)
    message = str(error.value)
    assert "delicious-train.arff, delicious-test.arff" in message
    assert DELICIOUS_URL in message and "RAR" in message


# --- small hand-written files -------------------------------------------------------------------


def _arff(attributes: Sequence[str], rows: Sequence[str]) -> str:
    header = ["% a comment", "@relation small", ""]
    header += [f"@attribute {attribute}" for attribute in attributes]
    return "\n".join([*header, "", "@data", *rows]) + "\n"


def _xml(names: Sequence[str]) -> str:
    labels = "\n".join(f'<label name="{name}"></label>' for name in names)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<labels xmlns="http://mulan.sourceforge.net/labels">\n{labels}\n</labels>\n'
    )


def _write(
    folder: Path,
    train: str | bytes,
    test: str | bytes,
    xml: str | bytes,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in (("train.arff", train), ("test.arff", test), ("labels.xml", xml)):
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(data)
    return folder


def _read(folder: Path, **options: object) -> pd.DataFrame:
    return read_mulan(
        folder, train_file="train.arff", test_file="test.arff", xml_file="labels.xml", **options
    )


def _table(rows: list[tuple[str, str, list[str], str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "doc_id": [row[0] for row in rows],
            "text": [row[1] for row in rows],
            "labels": pd.Series([row[2] for row in rows], dtype="object"),
            "split": [row[3] for row in rows],
            "lang": ["en"] * len(rows),
        }
    )


def test_dense_arff_with_numeric_and_nominal_features(tmp_path: Path) -> None:
    attributes = [
        "apple {0,1}",
        "banana numeric",
        "cherry {0,1}",
        "durian {no,yes}",  # present when not its first value
        "L1 {0,1}",
        "L2 {0,1}",
    ]
    train = _arff(
        attributes,
        [
            "1,0,1,no,1,0",
            "0, 2.5, 0, yes, 1, 1",
            "0,0.0,0,no,0,0",
            "1,?,0,'no',0,1",
        ],
    )
    test = _arff(attributes, ["0,-1e-3,1,yes,0,1"])
    corpus = _read(_write(tmp_path, train, test, _xml(["L1", "L2"])))
    expected = _table(
        [
            ("train-000001", "apple cherry", ["L1"], "train"),
            ("train-000002", "banana durian", ["L1", "L2"], "train"),
            ("train-000003", "", [], "train"),
            ("train-000004", "apple", ["L2"], "train"),
            ("test-000001", "banana cherry durian", ["L2"], "test"),
        ]
    )
    pd.testing.assert_frame_equal(corpus, expected)


def test_labels_first_sparse_arff(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    attributes = ["TAG_b {0,1}", "'TAG a' {0,1}", "TAG_c {0,1}", "dog {0,1}", "cat {0,1}"]
    train = _arff(attributes, ["{0 1,3 1}", "{1 1,2 1,4 1}", "{}", "{ 3 1 , 4 '1' }"])
    test = _arff(attributes, ["{0 1,2 1,3 1,4 1}", "{2 0,4 1}"])
    # The XML lists the labels in another order: matching is by name, output in attribute order.
    xml = _xml(["TAG a", "TAG_c", "TAG_b"])
    with caplog.at_level(logging.INFO, logger=LOGGER):
        corpus = _read(_write(tmp_path, train, test, xml), lang="zh", corpus_name="tiny")
    expected = _table(
        [
            ("train-000001", "dog", ["TAG_b"], "train"),
            ("train-000002", "cat", ["TAG a", "TAG_c"], "train"),
            ("train-000003", "", [], "train"),
            ("train-000004", "dog cat", [], "train"),
            ("test-000001", "dog cat", ["TAG_b", "TAG_c"], "test"),
            ("test-000002", "cat", [], "test"),
        ]
    ).assign(lang="zh")
    pd.testing.assert_frame_equal(corpus, expected)
    assert "kept 2 documents without labels and 1 without words" in caplog.text
    assert "3 label attributes, 2 feature attributes" in caplog.text


def test_nested_labels_in_the_xml_count(tmp_path: Path) -> None:
    attributes = ["w {0,1}", "A {0,1}", "B {0,1}"]
    xml = (
        '<labels xmlns="http://mulan.sourceforge.net/labels">'
        '<label name="A"><label name="B"/></label></labels>'
    )
    corpus = _read(
        _write(tmp_path, _arff(attributes, ["{2 1}"]), _arff(attributes, ["1,1,0"]), xml)
    )
    assert corpus["labels"].tolist() == [["B"], ["A"]]
    assert corpus["text"].tolist() == ["", "w"]


def test_missing_values_are_absent_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    attributes = ["w {0,1}", "L {0,1}"]
    folder = _write(
        tmp_path, _arff(attributes, ["{0 ?,1 ?}", "?,1"]), _arff(attributes, ["1,0"]), _xml(["L"])
    )
    with caplog.at_level(logging.INFO, logger=LOGGER):
        corpus = _read(folder)
    assert corpus["text"].tolist() == ["", "", "w"]
    assert corpus["labels"].tolist() == [[], ["L"], []]
    assert "2 missing ('?') feature values read as absent and 1 missing label" in caplog.text


# --- label matching and the position fallback --------------------------------------------------

_ATTRIBUTES = ["x {0,1}", "y {0,1}", "A {0,1}", "B {0,1}", "C {0,1}"]
_TRAIN = _arff(_ATTRIBUTES, ["{0 1,3 1}", "{1 1,2 1,4 1}"])
_TEST = _arff(_ATTRIBUTES, ["{4 1}"])


def test_misspelled_label_is_mapped_by_position(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        corpus = _read(_write(tmp_path, _TRAIN, _TEST, _xml(["A", "BB", "C"])))
    assert corpus["labels"].tolist() == [["B"], ["A", "C"], ["C"]]
    assert "'BB' (line 4, label 1 of 3)" in caplog.text
    assert "mapped by position to attribute 3 'B'" in caplog.text


def test_misspelled_last_label_is_mapped_when_the_block_ends_the_file(tmp_path: Path) -> None:
    corpus = _read(_write(tmp_path, _TRAIN, _TEST, _xml(["A", "B", "Cx"])))
    assert corpus["labels"].tolist() == [["B"], ["A", "C"], ["C"]]


def test_misspelled_first_label_is_mapped_when_the_block_starts_the_file(tmp_path: Path) -> None:
    attributes = ["A {0,1}", "B {0,1}", "C {0,1}", "x {0,1}"]
    train, test = _arff(attributes, ["{0 1,3 1}"]), _arff(attributes, ["1,1,0,0"])
    corpus = _read(_write(tmp_path, train, test, _xml(["a", "B", "C"])), corpus_name="first")
    assert corpus["labels"].tolist() == [["A"], ["A", "B"]]
    assert corpus["text"].tolist() == ["x", ""]


@pytest.mark.parametrize(
    ("xml_names", "options", "reason"),
    [
        (["A", "BB", "C"], {"position_fallback": False}, "position_fallback=False"),
        (["A", "BB", "CC"], {}, "only 1 of the 3 XML labels match"),
        (["B", "A", "CC", "C"], {}, "do not form one contiguous block"),
        (["A", "B", "C", "D"], {}, "outside the 5 attributes"),
        # 'Q' would be 'y', beside the block 2..4 but not at the file's start: maybe a feature
        (["Q", "A", "B", "C"], {}, "lies at the edge of the label block (attributes 1..4)"),
    ],
)
def test_unmatched_label_without_safe_fallback_is_an_error(
    tmp_path: Path, xml_names: list[str], options: dict[str, object], reason: str
) -> None:
    folder = _write(tmp_path, _TRAIN, _TEST, _xml(xml_names))
    with pytest.raises(CorruptRawFileError) as error:
        _read(folder, **options)
    message = str(error.value)
    assert str(folder / "labels.xml") in message and str(folder / "train.arff") in message
    assert "match no attribute" in message and reason in message
    assert "on line" in message


def test_unmatched_label_error_suggests_similar_attributes(tmp_path: Path) -> None:
    folder = _write(tmp_path, _TRAIN, _TEST, _xml(["A", "BB", "C"]))
    with pytest.raises(CorruptRawFileError, match=r"'BB' on line 4 \(similar attributes: 'B'"):
        _read(folder, position_fallback=False)


# --- bad input ----------------------------------------------------------------------------------

_SMALL = ["w {0,1}", "v numeric", "L {0,1}"]  # @data is line 8, the first row line 9


def _bad_train(tmp_path: Path, train: str | bytes, xml: str | bytes | None = None) -> Path:
    return _write(
        tmp_path, train, _arff(_SMALL, ["{0 1}"]), xml if xml is not None else _xml(["L"])
    )


@pytest.mark.parametrize(
    ("rows", "line", "expected"),
    [
        (["{0 1}", "{x 1,2 1}"], 10, "index 'x' is not a non-negative integer"),
        (["{0 1,-1 1}"], 9, "index '-1' is not a non-negative integer"),
        (["{0 1}", "{0 1,3 1}"], 10, "sparse index 3 is out of range; the file declares 3"),
        (["{0 1,9999999999 1}"], 9, "sparse index 9999999999 is out of range"),
        (["{1 abc}"], 9, "value 'abc' of attribute 1 'v' (declared on line 5); expected a number"),
        (["{0 2}"], 9, "value '2' of attribute 0 'w' (declared on line 4); expected one of {0,1}"),
        (["{2 yes}"], 9, "value 'yes' of attribute 2 'L'"),
        (["1,0,1", "1,0"], 10, "dense row has 2 comma-separated values; expected 3"),
        (["1,0,1,1"], 9, "dense row has 4 comma-separated values"),
        (["1,x,1"], 9, "value 'x' of attribute 1 'v'"),
        (["{0 1,2 1"], 9, "no closing '}' (truncated row?)"),
        (["{0 1,,2 1}"], 9, "item 2 '' is not 'index value'"),
        (["{0}"], 9, "item 1 '0' is not 'index value'"),
        (["{0 1 1}"], 9, "item 1 '0 1 1' has more than one value"),
        (["{2 1,0 1}"], 9, "sparse index 0 follows index 2; indices within a sparse row must"),
        (["{0 1,0 1}"], 9, "sparse index 0 follows index 0"),
        (["{0 1},{1}"], 9, "unexpected brace inside the row"),
        (["{0 'unterminated}"], 9, "unterminated quote"),
        ([], 8, "the @data section has no rows"),
    ],
)
def test_malformed_rows_name_file_and_line(
    tmp_path: Path, rows: list[str], line: int, expected: str
) -> None:
    folder = _bad_train(tmp_path, _arff(_SMALL, rows))
    with pytest.raises(CorruptRawFileError) as error:
        _read(folder)
    message = str(error.value)
    assert message.startswith(f"{folder / 'train.arff'}: line {line}: ")
    assert expected in message


def test_error_in_a_late_block_names_its_line(tmp_path: Path) -> None:
    rows = ["{0 1,2 1}"] * 5000 + ["{0 1,2 7}"]  # past the first block of 4,096 rows
    with pytest.raises(CorruptRawFileError, match=r"train.arff: line 5009: value '7'"):
        _read(_bad_train(tmp_path, _arff(_SMALL, rows)))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "train.arff: the file is empty (no ARFF header)"),
        (b"\n% only a comment\n\n", "train.arff: the file is empty"),
        (
            b"@relation r\n@attribute w {0,1}\n@attribute L {0,1}\n",
            "train.arff: line 3: end of file after 2 @attribute declarations without a @data",
        ),
        (b"@relation r\n@data\n{0 1}\n", "train.arff: line 2: @data before any @attribute"),
        (
            b"@relation r\n@attribute w {0,1}\nw,L\n",
            "train.arff: line 3: unexpected header line 'w,L'",
        ),
        (
            b"@relation r\n@attribute w {0,1}\n@attribute w numeric\n@data\n",
            "line 3: attribute 'w' is declared twice (first on line 2)",
        ),
        (b"@relation r\n@attribute w string\n@data\n", "line 2: attribute 'w' has type 'string'"),
        (b"@relation r\n@attribute w\n@data\n", "line 2: attribute 'w' has no type"),
        (b"@relation r\n@attribute w {0,1\n@data\n", "line 2: attribute 'w': nominal values lack"),
        (b"@relation r\n@attribute w blob\n@data\n", "line 2: attribute 'w': unknown type 'blob'"),
        (b"@relation r\n@attribute 'w {0,1}\n@data\n", "line 2: @attribute name: unterminated"),
        (
            b"@relation r\n@attribute w {0,1}\n@attribute L {0,1}\n@data\n1,1\n{0 1,\xe9 1}\n",
            "train.arff: line 6: byte 0xe9 at column 6 is not valid UTF-8",
        ),
    ],
)
def test_bad_arff_files(tmp_path: Path, content: bytes, expected: str) -> None:
    with pytest.raises(CorruptRawFileError) as error:
        _read(_bad_train(tmp_path, content))
    assert expected in str(error.value)


def test_utf8_names_and_bom_are_read(tmp_path: Path) -> None:
    attributes = ["caf\u00e9 {0,1}", "L\u00e9 {0,1}"]
    train = b"\xef\xbb\xbf" + _arff(attributes, ["1,1"]).encode("utf-8")
    corpus = _read(_write(tmp_path, train, _arff(attributes, ["{0 1}"]), _xml(["L\u00e9"])))
    assert corpus["text"].tolist() == ["caf\u00e9", "caf\u00e9"]
    assert corpus["labels"].tolist() == [["L\u00e9"], []]


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (b"", "labels.xml: the file is empty; expected a Mulan label file"),
        (
            b"<labels>\n<label name='L'>\n</labels>\n",
            "labels.xml: line 3, column 3: not well-formed",
        ),
        (b"<labels>\n<label name='\xff'/></labels>", "labels.xml: line 2"),
        (b"<tags><label name='L'/></tags>", "labels.xml: line 1: root element <tags>"),
        (b"<labels>\n<label/></labels>", "labels.xml: line 2: <label> without a name"),
        (b"<labels></labels>", "labels.xml: no <label name=...> elements"),
        (
            b"<labels>\n<label name='L'/>\n<label name='L'/></labels>",
            "labels.xml: line 3: label 'L' is listed twice (first on line 2)",
        ),
    ],
)
def test_bad_label_files(tmp_path: Path, xml: bytes, expected: str) -> None:
    with pytest.raises(CorruptRawFileError) as error:
        _read(_bad_train(tmp_path, _arff(_SMALL, ["{0 1}"]), xml))
    assert expected in str(error.value)


def test_label_attribute_must_be_binary(tmp_path: Path) -> None:
    with pytest.raises(CorruptRawFileError, match=r"train.arff: line 5: label attribute 'v' is"):
        _read(_bad_train(tmp_path, _arff(_SMALL, ["{0 1}"]), _xml(["v"])))


def test_feature_names_with_whitespace_are_refused(tmp_path: Path) -> None:
    attributes = ["'a word' {0,1}", "L {0,1}"]
    folder = _write(tmp_path, _arff(attributes, ["1,1"]), _arff(attributes, ["1,1"]), _xml(["L"]))
    with pytest.raises(CorruptRawFileError, match=r"line 4: feature attribute 'a word'"):
        _read(folder)


def test_train_and_test_must_declare_the_same_attributes(tmp_path: Path) -> None:
    test = _arff(["w {0,1}", "v {0,1}", "L {0,1}"], ["{0 1}"])
    folder = _write(tmp_path, _arff(_SMALL, ["{0 1}"]), test, _xml(["L"]))
    with pytest.raises(CorruptRawFileError) as error:
        _read(folder)
    message = str(error.value)
    assert message.startswith(f"{folder / 'test.arff'}: line 5: attribute 1 is 'v' {{0,1}}")
    assert "declares 'v' numeric there (line 5)" in message
    shorter = _arff(_SMALL[:2], ["{0 1}"])
    with pytest.raises(CorruptRawFileError, match="declares 2 attributes; the train file"):
        _read(_write(tmp_path, _arff(_SMALL, ["{0 1}"]), shorter, _xml(["L"])))


def test_generic_reader_missing_files(tmp_path: Path) -> None:
    with pytest.raises(RawDataNotFoundError, match="lacks 3 of the 3 files"):
        _read(tmp_path)


# --- round trip ---------------------------------------------------------------------------------

_WORD_POOL = ["alpha", "c++", "2.0", "x/y", "_q", "TAG_like", "caf\u00e9"]
_LABEL_POOL = ["TAG_a", "TAG_m\\'usica", "L-1", "TAG_??", "TAG_dise\\~no"]


@dataclass(frozen=True)
class _Dataset:
    """A random binary matrix, which attributes are labels, the XML order, and row layouts."""

    names: list[str]
    is_label: list[bool]
    xml_order: list[str]
    rows: dict[str, list[list[bool]]]
    sparse_rows: list[bool]

    def expected(self) -> pd.DataFrame:
        table = []
        for split, rows in self.rows.items():
            for position, row in enumerate(rows, start=1):
                cells = list(zip(self.names, self.is_label, row, strict=True))
                words = [name for name, label, on in cells if on and not label]
                labels = [name for name, label, on in cells if on and label]
                table.append((f"{split}-{position:06d}", " ".join(words), labels, split))
        return _table(table)

    def arff(self, split: str, layout: str) -> str:
        lines = []
        for position, row in enumerate(self.rows[split]):
            sparse = layout == "sparse" or (
                layout == "mixed" and self.sparse_rows[position % len(self.sparse_rows)]
            )
            if sparse:
                lines.append("{" + ",".join(f"{i} 1" for i, on in enumerate(row) if on) + "}")
            else:
                lines.append(",".join("1" if on else "0" for on in row))
        return _arff([f"{name} {{0,1}}" for name in self.names], lines)


@st.composite
def _datasets(draw: st.DrawFn) -> _Dataset:
    n_words = draw(st.integers(1, len(_WORD_POOL)))
    n_labels = draw(st.integers(1, len(_LABEL_POOL)))
    is_label = draw(st.permutations([False] * n_words + [True] * n_labels))
    words, labels = iter(_WORD_POOL[:n_words]), iter(_LABEL_POOL[:n_labels])
    names = [next(labels) if label else next(words) for label in is_label]
    row = st.lists(st.booleans(), min_size=len(names), max_size=len(names))
    return _Dataset(
        names=names,
        is_label=is_label,
        xml_order=draw(st.permutations(_LABEL_POOL[:n_labels])),
        rows={split: draw(st.lists(row, min_size=1, max_size=6)) for split in ("train", "test")},
        sparse_rows=draw(st.lists(st.booleans(), min_size=6, max_size=6)),
    )


@settings(max_examples=60, deadline=None)
@given(_datasets())
def test_sparse_dense_and_mixed_rows_round_trip(dataset: _Dataset) -> None:
    expected = dataset.expected()
    with tempfile.TemporaryDirectory() as folder:
        for layout in ("sparse", "dense", "mixed"):
            files = _write(
                Path(folder) / layout,
                dataset.arff("train", layout),
                dataset.arff("test", layout),
                _xml(dataset.xml_order),
            )
            pd.testing.assert_frame_equal(_read(files), expected)
