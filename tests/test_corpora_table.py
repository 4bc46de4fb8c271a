"""The generic table reader: any user corpus from CSV / TSV / JSON lines / parquet."""

from __future__ import annotations

import bz2
import gzip
import json
import logging
import lzma
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from longtail_mltc.corpora import CorpusError, CorruptRawFileError, load_corpus, skipped_records
from longtail_mltc.corpora.registry import _REGISTRY
from longtail_mltc.corpora.table import TableCorpusSpec, read_table_corpus, register_table_corpus


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def _rows(table: pd.DataFrame) -> list[tuple]:
    return [
        (r.doc_id, r.text, list(r.labels), r.split, r.lang) for r in table.itertuples(index=False)
    ]


def test_csv_with_train_and_test_files_and_two_text_columns(tmp_path: Path) -> None:
    _write(
        tmp_path / "train.csv",
        'id,title,body,tags\n1,Oil,"prices rise",crude|energy\n2,Wheat,exports fall,grain\n',
    )
    _write(tmp_path / "test.csv", "id,title,body,tags\n3,Gold,,gold|gold\n")
    spec = TableCorpusSpec(
        files={"train": "train.csv", "test": "test.csv"},
        text_columns=["title", "body"],
        label_column="tags",
        label_delimiter="|",
        id_column="id",
    )
    table = read_table_corpus(tmp_path, spec)
    assert _rows(table) == [
        ("1", "Oil prices rise", ["crude", "energy"], "train", "en"),
        ("2", "Wheat exports fall", ["grain"], "train", "en"),
        ("3", "Gold", ["gold"], "test", "en"),
    ]


def test_jsonl_list_labels_with_split_column_and_split_values(tmp_path: Path) -> None:
    records = [
        {"text": "a b", "labels": ["x", "y"], "part": "TRAIN"},
        {"text": "c", "labels": [], "part": "dev"},
        {"text": "d", "labels": ["y"], "part": "test"},
    ]
    _write(tmp_path / "all.jsonl", "".join(json.dumps(r) + "\n" for r in records))
    spec = TableCorpusSpec(
        files="all.jsonl",
        text_columns="text",
        label_column="labels",
        split_column="part",
        split_values={"TRAIN": "train", "dev": "test"},
    )
    table = read_table_corpus(tmp_path, spec)
    assert _rows(table) == [
        ("all-1", "a b", ["x", "y"], "train", "en"),
        ("all-2", "c", [], "test", "en"),
        ("all-3", "d", ["y"], "test", "en"),
    ]


def test_integer_label_ids_mapped_through_a_names_file(tmp_path: Path) -> None:
    _write(tmp_path / "data.tsv", "text\tlabel_ids\tsplit\nhello\t0 2\ttrain\nbye\t1\ttest\n")
    _write(tmp_path / "labels.txt", "0\tgreeting\n1\tfarewell\n2\tpolite\n")
    spec = TableCorpusSpec(
        files="data.tsv",
        text_columns="text",
        label_column="label_ids",
        label_delimiter=" ",
        label_ids=True,
        label_names_file="labels.txt",
        split_column="split",
        lang="en",
    )
    table = read_table_corpus(tmp_path, spec)
    assert table["labels"].tolist() == [["greeting", "polite"], ["farewell"]]


def test_unknown_label_id_names_file_and_record(tmp_path: Path) -> None:
    _write(tmp_path / "data.tsv", "text\tids\tsplit\nhello\t0\ttrain\nbye\t7\ttest\n")
    _write(tmp_path / "labels.txt", "0\tgreeting\n")
    spec = TableCorpusSpec(
        files="data.tsv",
        text_columns="text",
        label_column="ids",
        label_ids=True,
        label_names_file="labels.txt",
        split_column="split",
    )
    with pytest.raises(CorruptRawFileError, match=r"data\.tsv: line 3: label id '7'"):
        read_table_corpus(tmp_path, spec)


def test_parquet_with_seeded_test_fraction_is_independent_of_row_order(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "doc": [f"d{i}" for i in range(50)],
            "text": [f"word{i}" for i in range(50)],
            "labels": [["a"] if i % 2 else ["b", "a"] for i in range(50)],
        }
    )
    frame.to_parquet(tmp_path / "docs.parquet")
    frame.iloc[::-1].to_parquet(tmp_path / "reversed.parquet")
    options = dict(text_columns="text", label_column="labels", id_column="doc", test_fraction=0.2)
    forward = read_table_corpus(tmp_path, TableCorpusSpec(files="docs.parquet", **options))
    backward = read_table_corpus(tmp_path, TableCorpusSpec(files="reversed.parquet", **options))
    assert (forward["split"] == "test").sum() == 10
    assert set(forward.loc[forward["split"] == "test", "doc_id"]) == set(
        backward.loc[backward["split"] == "test", "doc_id"]
    )
    assert forward.set_index("doc_id").loc["d0", "labels"] == ["b", "a"]


def test_records_without_text_are_skipped_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(tmp_path / "d.csv", "text,labels,split\nfine,a,train\n,a,train\n  ,b,test\nok,b,test\n")
    spec = TableCorpusSpec(
        files="d.csv", text_columns="text", label_column="labels", split_column="split"
    )
    with caplog.at_level(logging.WARNING):
        table = read_table_corpus(tmp_path, spec)
    assert table["text"].tolist() == ["fine", "ok"]
    assert skipped_records(table) == {"no text": 2}
    assert "skipped 2 record(s) without text" in caplog.text
    assert "first: line 3" in caplog.text  # the header is line 1


@pytest.mark.parametrize(("policy", "expected"), [("keep", 3), ("skip", 2)])
def test_records_without_labels_follow_the_policy(tmp_path: Path, policy, expected) -> None:
    _write(tmp_path / "d.csv", "text,labels,split\nx,a,train\ny,,train\nz,b,test\n")
    spec = TableCorpusSpec(
        files="d.csv",
        text_columns="text",
        label_column="labels",
        split_column="split",
        unlabeled=policy,
    )
    assert len(read_table_corpus(tmp_path, spec)) == expected


def test_records_without_labels_can_be_refused(tmp_path: Path) -> None:
    _write(tmp_path / "d.csv", "text,labels,split\nx,a,train\ny,,train\nz,b,test\n")
    spec = TableCorpusSpec(
        files="d.csv",
        text_columns="text",
        label_column="labels",
        split_column="split",
        unlabeled="error",
    )
    with pytest.raises(CorruptRawFileError, match=r"d\.csv: line 3 has no labels"):
        read_table_corpus(tmp_path, spec)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"is empty"),
        (b"text,labels,split\n", r"holds no records"),
        (b"text,labels\nx,a\n", r"missing column\(s\) \['split'\]"),
        (b'text,labels,split\n"unclosed,a,train\n', r"cannot be read as csv"),
        (
            b"text,labels,split\nok,a,train\ncaf\xe9,b,test\n",
            r"d\.csv: line 3: byte 0xe9 at column 4 is not valid UTF-8",
        ),
        (b"text,labels,split\nok,a,train\nx,b,holdout\n", r"line 3: split value 'holdout'"),
    ],
)
def test_bad_files_raise_clear_errors(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "d.csv").write_bytes(content)
    spec = TableCorpusSpec(
        files="d.csv", text_columns="text", label_column="labels", split_column="split"
    )
    with pytest.raises(CorruptRawFileError, match=message) as error:
        read_table_corpus(tmp_path, spec)
    assert "d.csv" in str(error.value)


def test_truncated_jsonl_is_an_error_naming_the_file(tmp_path: Path) -> None:
    _write(tmp_path / "d.jsonl", '{"text": "a", "labels": ["x"], "split": "train"}\n{"text": "b"')
    spec = TableCorpusSpec(
        files="d.jsonl", text_columns="text", label_column="labels", split_column="split"
    )
    with pytest.raises(
        CorruptRawFileError, match=r"d\.jsonl: line 2: cannot be read as jsonl: .* column 13"
    ):
        read_table_corpus(tmp_path, spec)


def test_latin1_file_reads_with_its_encoding(tmp_path: Path) -> None:
    _write(tmp_path / "d.csv", "text,labels,split\ncafé,a,train\nnaïve,b,test\n", "latin-1")
    spec = TableCorpusSpec(
        files="d.csv",
        text_columns="text",
        label_column="labels",
        split_column="split",
        encoding="latin-1",
    )
    assert read_table_corpus(tmp_path, spec)["text"].tolist() == ["café", "naïve"]


def test_spec_validation_errors() -> None:
    with pytest.raises(ValueError, match="split_column or a test_fraction"):
        TableCorpusSpec(files="a.csv", text_columns="t", label_column="l")
    with pytest.raises(ValueError, match="lang must be one of"):
        TableCorpusSpec(
            files="a.csv", text_columns="t", label_column="l", split_column="s", lang="fr"
        )
    with pytest.raises(ValueError, match="unknown option"):
        register_table_corpus("whatever", files="a.csv", text_column="t")


def test_registered_user_corpus_loads_through_load_corpus(tmp_path: Path) -> None:
    raw = tmp_path / "raw" / "my_news"
    raw.mkdir(parents=True)
    _write(raw / "news.csv", "body,topics,part\nx y,a;b,train\nz,b,test\n")
    try:
        register_table_corpus(
            "my_news",
            files="news.csv",
            text_columns=["body"],
            label_column="topics",
            label_delimiter=";",
            split_column="part",
        )
        # Registering the same definition again (a second kedro run in one process) is fine.
        register_table_corpus(
            "my_news",
            files="news.csv",
            text_columns=["body"],
            label_column="topics",
            label_delimiter=";",
            split_column="part",
        )
        with pytest.raises(ValueError, match="already registered with a different definition"):
            register_table_corpus(
                "my_news",
                files="other.csv",
                text_columns="body",
                label_column="topics",
                split_column="part",
            )
        table = load_corpus("my_news", raw_root=tmp_path / "raw", mirror=tmp_path / "none")
    finally:
        _REGISTRY.pop("my_news", None)
    assert table["labels"].tolist() == [["a", "b"], ["b"]]


_label = st.text(alphabet="abcdefgh", min_size=1, max_size=4)
_word = st.text(alphabet="abcxyz ", min_size=1, max_size=12).filter(lambda s: s.strip())


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    docs=st.lists(
        st.tuples(
            _word, st.lists(_label, max_size=4, unique=True), st.sampled_from(["train", "test"])
        ),
        min_size=1,
        max_size=20,
    ),
    fmt=st.sampled_from(["csv", "tsv", "jsonl", "parquet"]),
)
def test_round_trip_through_every_format(tmp_path: Path, docs, fmt) -> None:
    docs = [*docs, ("only train", ["z"], "train"), ("only test", ["z"], "test")]
    frame = pd.DataFrame(
        {
            "id": [f"doc{i}" for i in range(len(docs))],
            "text": [text for text, _, _ in docs],
            "labels": [
                "|".join(labels) if fmt in ("csv", "tsv") else labels for _, labels, _ in docs
            ],
            "split": [split for _, _, split in docs],
        }
    )
    path = tmp_path / f"docs.{fmt}"
    if fmt == "parquet":
        frame.to_parquet(path)
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_csv(path, sep="\t" if fmt == "tsv" else ",", index=False)
    spec = TableCorpusSpec(
        files=path.name,
        text_columns="text",
        label_column="labels",
        label_delimiter="|",
        id_column="id",
        split_column="split",
    )
    table = read_table_corpus(tmp_path, spec)
    assert table["doc_id"].tolist() == frame["id"].tolist()
    assert table["text"].tolist() == [text.strip() for text, _, _ in docs]
    assert table["labels"].tolist() == [labels for _, labels, _ in docs]
    assert table["split"].tolist() == frame["split"].tolist()


def test_an_all_empty_table_is_a_corpus_error(tmp_path: Path) -> None:
    _write(tmp_path / "d.csv", "text,labels,split\n,a,train\n,b,test\n")
    spec = TableCorpusSpec(
        files="d.csv", text_columns="text", label_column="labels", split_column="split"
    )
    with pytest.raises(CorpusError, match="no record has text"):
        read_table_corpus(tmp_path, spec)


# --- Unicode text, bounded nesting, JSON types and named errors (issue 20, items 4 and 7) ------


def _jsonl_spec(**options: Any) -> TableCorpusSpec:
    options = {"text_columns": "text", "label_column": "labels", "split_column": "split"} | options
    return TableCorpusSpec(files="d.jsonl", **options)


def _jsonl_file(folder: Path, records: list[dict], name: str = "d.jsonl") -> Path:
    # ensure_ascii: a lone surrogate is written as the escape "\ud800", which JSON parsers accept.
    return _write(folder / name, "".join(json.dumps(r, ensure_ascii=True) + "\n" for r in records))


_GOOD = {"id": "g", "text": "fine", "labels": ["a"], "split": "train"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"text": "x\ud800y"}, r'field "text"'),
        ({"text": "\udfff"}, r'field "text"'),
        ({"labels": ["a", "b\udc00"]}, r'field "labels\[2\]"'),
        ({"labels": "a,\ud800"}, r'field "labels"'),
        ({"id": "b\ud800"}, r'field "id"'),
        ({"split": "\ud800"}, r'field "split"'),
    ],
)
def test_jsonl_lone_surrogate_names_file_line_and_field(
    tmp_path: Path, change: dict, field: str
) -> None:
    path = _jsonl_file(
        tmp_path, [_GOOD, {**_GOOD, "id": "t", "split": "test"}, {**_GOOD, "id": "c", **change}]
    )
    with pytest.raises(CorruptRawFileError) as raised:
        read_table_corpus(tmp_path, _jsonl_spec(id_column="id"))
    assert re.search(
        rf"^{re.escape(str(path))}: line 3, {field}: lone surrogate \\ud[89a-f][0-9a-f]{{2}} "
        r"\(at character \d\) is not valid Unicode text",
        str(raised.value),
    ), str(raised.value)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(min_size=1, max_size=40).filter(lambda t: t.strip()),
    label=st.text(min_size=1, max_size=8).filter(lambda t: t.strip()),
    surrogate=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
    position=st.integers(0, 40),
    ensure_ascii=st.booleans(),
)
def test_any_valid_text_round_trips_and_any_lone_surrogate_is_refused(
    tmp_path: Path, text: str, label: str, surrogate: str, position: int, ensure_ascii: bool
) -> None:
    records = [
        {"text": text, "labels": [label], "split": "train"},
        {"text": "other", "labels": ["b"], "split": "test"},
    ]
    _write(
        tmp_path / "d.jsonl",
        "".join(json.dumps(r, ensure_ascii=ensure_ascii) + "\n" for r in records),
    )
    table = read_table_corpus(tmp_path, _jsonl_spec(label_delimiter=None))
    assert table["text"].tolist() == [text.strip(), "other"]
    assert table["labels"].tolist() == [[label.strip()], ["b"]]
    records[0]["text"] = text[:position] + surrogate + text[position:]
    _jsonl_file(tmp_path, records)
    with pytest.raises(
        CorruptRawFileError, match=r'd\.jsonl: line 1, field "text": lone surrogate'
    ):
        read_table_corpus(tmp_path, _jsonl_spec())


@pytest.mark.parametrize(("depth", "found"), [(100_000, ""), (101, r" \(102 levels\)")])
def test_jsonl_deep_nesting_names_file_and_line(tmp_path: Path, depth: int, found: str) -> None:
    deep = {**_GOOD, "labels": "DEEP"}
    path = _jsonl_file(tmp_path, [_GOOD, {**_GOOD, "split": "test"}])
    line = json.dumps(deep).replace('"DEEP"', "[" * depth + "]" * depth)
    path.write_text(path.read_text() + line + "\n")
    with pytest.raises(
        CorruptRawFileError,
        match=rf"^{re.escape(str(path))}: line 3: JSON nested deeper than 100 levels{found}",
    ):
        read_table_corpus(tmp_path, _jsonl_spec())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"text": ["oil", "prices"]}, r'field "text" is a JSON array \(list\); expected a string'),
        ({"text": {"title": "oil"}}, r'field "text" is a JSON object \(mapping\); expected a str'),
        ({"labels": {"a": 1}}, r'field "labels" is a JSON object \(mapping\); expected a string '),
        (
            {"labels": ["a", ["b", "c"]]},
            r'field "labels" holds a JSON array \(list\) in its list; expected a string of',
        ),
        (
            {"labels": [{"name": "a"}]},
            r'field "labels" holds a JSON object \(mapping\) in its list',
        ),
        ({"id": [1, 2]}, r'field "id" is a JSON array \(list\); expected a string or a number'),
        ({"split": {"name": "test"}}, r'field "split" is a JSON object \(mapping\); expected a'),
    ],
)
def test_jsonl_lists_and_objects_where_text_is_expected_are_refused(
    tmp_path: Path, change: dict, message: str
) -> None:
    path = _jsonl_file(
        tmp_path, [_GOOD, {**_GOOD, "id": "t", "split": "test"}, {**_GOOD, "id": "c", **change}]
    )
    with pytest.raises(CorruptRawFileError, match=rf"^{re.escape(str(path))}: line 3, {message}"):
        read_table_corpus(tmp_path, _jsonl_spec(id_column="id"))


def test_parquet_list_text_and_struct_labels_are_refused(tmp_path: Path) -> None:
    spec = TableCorpusSpec(
        files="d.parquet", text_columns="text", label_column="labels", split_column="split"
    )
    frame = pd.DataFrame(
        {"text": [["a", "b"], ["c"]], "labels": [["x"], ["y"]], "split": ["train", "test"]}
    )
    frame.to_parquet(tmp_path / "d.parquet")
    with pytest.raises(CorruptRawFileError, match=r'd\.parquet: row 1, field "text" is a JSON arr'):
        read_table_corpus(tmp_path, spec)
    frame = pd.DataFrame(
        {"text": ["a", "c"], "labels": [{"n": "x"}, {"n": "y"}], "split": ["train", "test"]}
    )
    frame.to_parquet(tmp_path / "d.parquet")
    with pytest.raises(
        CorruptRawFileError, match=r'd\.parquet: row 1, field "labels" is a JSON ob'
    ):
        read_table_corpus(tmp_path, spec)


def test_numbers_stay_accepted_as_text_ids_and_label_ids(tmp_path: Path) -> None:
    _jsonl_file(
        tmp_path,
        [
            {"id": 7, "text": 1999, "labels": [0, 2], "split": "train"},
            {"id": 8.0, "text": "b", "labels": 1, "split": "test"},
        ],
    )
    _write(tmp_path / "names.txt", "0\tzero\n1\tone\n2\ttwo\n")
    spec = _jsonl_spec(id_column="id", label_ids=True, label_names_file="names.txt")
    assert _rows(read_table_corpus(tmp_path, spec)) == [
        ("7", "1999", ["zero", "two"], "train", "en"),
        ("8", "b", ["one"], "test", "en"),
    ]


def test_latin1_label_names_file_names_the_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path / "data.tsv", "text\tids\tsplit\nhello\t0\ttrain\nbye\t1\ttest\n")
    names = _write(tmp_path / "labels.txt", "0\tgreeting\n1\tadiós\n", encoding="latin-1")
    spec = TableCorpusSpec(
        files="data.tsv",
        text_columns="text",
        label_column="ids",
        label_ids=True,
        label_names_file="labels.txt",
        split_column="split",
    )
    with pytest.raises(
        CorruptRawFileError,
        match=rf"^{re.escape(str(names))}: line 2: byte 0xf3 at column 6 is not valid UTF-8; "
        r"expected '<id><TAB or comma><name>' lines",
    ):
        read_table_corpus(tmp_path, spec)


@pytest.mark.parametrize("name", ["d.csv.gz", "d.csv.bz2", "d.csv.xz", "d.jsonl.gz"])
def test_truncated_compressed_file_names_the_file(tmp_path: Path, name: str) -> None:
    compress = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}
    if ".jsonl" in name:
        rows = "".join(json.dumps({**_GOOD, "text": f"doc {i}"}) + "\n" for i in range(500))
    else:
        rows = "text,labels,split\n" + "".join(f"doc {i},a|b,train\n" for i in range(500))
    data = compress[Path(name).suffix](rows.encode())
    path = tmp_path / name
    path.write_bytes(data)
    spec = TableCorpusSpec(
        files=name, text_columns="text", label_column="labels", test_fraction=0.5
    )
    assert len(read_table_corpus(tmp_path, spec)) == 500
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        CorruptRawFileError,
        match=rf"^{re.escape(str(path))}: the (compressed file|gzip stream) is "
        r"(truncated or corrupt|corrupt or truncated) after line \d+",
    ):
        read_table_corpus(tmp_path, spec)


def test_duplicate_doc_id_names_the_file_and_both_records(tmp_path: Path) -> None:
    train = _write(tmp_path / "train.csv", "id,text,tags\n1,a,x\n2,b,x\n3,c,y\n2,d,y\n")
    test = _write(tmp_path / "test.csv", "id,text,tags\n9,e,x\n3,f,y\n")
    spec = TableCorpusSpec(
        files={"train": "train.csv", "test": "test.csv"},
        text_columns="text",
        label_column="tags",
        id_column="id",
    )
    with pytest.raises(
        CorruptRawFileError,
        match=rf"^{re.escape(str(train))}: line 5: doc_id '2' \(column 'id'\) repeats the id of "
        rf"{re.escape(str(train))}: line 3; expected each id once \(2 repeated id\(s\) in all\)",
    ):
        read_table_corpus(tmp_path, spec)
    _write(tmp_path / "train.csv", "id,text,tags\n1,a,x\n2,b,x\n3,c,y\n")
    with pytest.raises(
        CorruptRawFileError,
        match=rf"^{re.escape(str(test))}: line 3: doc_id '3' .* of {re.escape(str(train))}: "
        r"line 4;",
    ):
        read_table_corpus(tmp_path, spec)


def _goemotions_like(folder: Path, names: str) -> TableCorpusSpec:
    """GoEmotions' layout: label ids (0-based, comma-separated) and a names-only label file."""
    _write(folder / "data.tsv", "text\tids\tsplit\nso happy\t0,2\ttrain\nwhy\t1\ttest\n")
    _write(folder / "emotions.txt", names)
    return TableCorpusSpec(
        files="data.tsv",
        text_columns="text",
        label_column="ids",
        label_delimiter=",",
        label_ids=True,
        label_names_file="emotions.txt",
        split_column="split",
    )


def test_a_names_only_label_file_numbers_names_by_line_from_zero(tmp_path: Path) -> None:
    spec = _goemotions_like(tmp_path, "admiration\namusement\nanger\n\n")
    table = read_table_corpus(tmp_path, spec)
    assert table["labels"].tolist() == [["admiration", "anger"], ["amusement"]]


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ("admiration\n\nanger\n", r"emotions\.txt: line 2: blank line in a names-only label"),
        ("anger\namusement\nanger\n", r"line 3: label name 'anger' appears twice \(first on"),
        ("0\tadmiration\namusement\n", r"line 2: expected '<id><TAB or comma><name>'.*names only"),
        ("\n\n", r"emotions\.txt is empty; expected .* or one name per line"),
    ],
)
def test_a_bad_names_only_label_file_names_the_file_and_line(
    tmp_path: Path, names: str, message: str
) -> None:
    spec = _goemotions_like(tmp_path, names)
    with pytest.raises(CorruptRawFileError, match=message):
        read_table_corpus(tmp_path, spec)


# --- issue 21: validation file, headerless TSV, record numbers, shared plumbing -------------


@pytest.mark.parametrize("validation", [1, 2, 0.5])
def test_a_declared_valid_file_is_the_validation_split(tmp_path: Path, validation) -> None:
    from longtail_mltc.pipelines.features.nodes import split_train_validation

    _write(tmp_path / "train.csv", "id,text,tags\n1,a,x\n2,b,x\n3,c,y\n4,d,y\n")
    _write(tmp_path / "valid.csv", "id,text,tags\n5,e,x\n6,f,y\n")
    _write(tmp_path / "test.csv", "id,text,tags\n7,g,x\n")
    spec = TableCorpusSpec(
        files={"train": "train.csv", "valid": "valid.csv", "test": "test.csv"},
        text_columns="text",
        label_column="tags",
        id_column="id",
    )
    corpus = read_table_corpus(tmp_path, spec)
    split = split_train_validation(corpus, {"validation": validation}, seed=3)
    by_split = split.groupby("split")["doc_id"].agg(sorted).to_dict()
    assert by_split == {"train": ["1", "2", "3", "4"], "valid": ["5", "6"], "test": ["7"]}


@pytest.mark.parametrize("key", ["dev", "validation"])
def test_a_dev_key_is_refused_with_a_message_naming_valid(key: str) -> None:
    with pytest.raises(ValueError, match=rf"files: '{key}' is not a split name; .*valid: dev\.tsv"):
        TableCorpusSpec(
            files={"train": "train.tsv", key: "dev.tsv", "test": "test.tsv"},
            text_columns="text",
            label_column="labels",
        )


def test_a_split_column_may_name_valid_directly_or_through_split_values(tmp_path: Path) -> None:
    _write(tmp_path / "d.csv", "text,labels,part\na,x,train\nb,x,dev\nc,y,valid\nd,y,test\n")
    spec = TableCorpusSpec(
        files="d.csv",
        text_columns="text",
        label_column="labels",
        split_column="part",
        split_values={"dev": "valid"},
    )
    assert read_table_corpus(tmp_path, spec)["split"].tolist() == [
        "train",
        "valid",
        "valid",
        "test",
    ]


def _goemotions_folder(folder: Path) -> TableCorpusSpec:
    """GoEmotions' exact layout: headerless train/dev/test.tsv (text, label ids, comment id),
    names-only emotions.txt; Reddit texts hold bare double quotes."""
    _write(folder / "emotions.txt", "".join(f"emotion{i}\n" for i in range(28)))
    _write(
        folder / "train.tsv",
        "My favourite food is anything I didn't have to cook myself.\t27\teebbqej\n"
        '"Dirty Southern Wankers\t3,27\ted00q6i\n'
        'He said "yes" and left\t0\teezlygj\n',
    )
    _write(folder / "dev.tsv", 'Is this in New Orleans?? I "really" feel\t0,3\tedgurhb\n')
    _write(
        folder / "test.tsv",
        "I’m really sorry about your situation :(\t25\teecwqtt\nIt's wonderful\t0\ted5f85d\n",
    )
    return TableCorpusSpec(
        files={"train": "train.tsv", "valid": "dev.tsv", "test": "test.tsv"},
        columns=["text", "labels", "id"],
        text_columns="text",
        label_column="labels",
        label_ids=True,
        label_names_file="emotions.txt",
        id_column="id",
    )


def test_goemotions_headerless_tsvs_read_with_ids_names_and_three_splits(tmp_path: Path) -> None:
    table = read_table_corpus(tmp_path, _goemotions_folder(tmp_path))
    assert table["split"].value_counts().to_dict() == {"train": 3, "valid": 1, "test": 2}
    by_id = table.set_index("doc_id")
    assert by_id.loc["eezlygj", "labels"] == ["emotion0"]  # id 0 -> the first name
    assert by_id.loc["ed00q6i", "labels"] == ["emotion3", "emotion27"]
    # Quotes are text in a TSV: an unmatched one swallows no tab or line, a pair stays.
    assert by_id.loc["ed00q6i", "text"] == '"Dirty Southern Wankers'
    assert by_id.loc["eezlygj", "text"] == 'He said "yes" and left'
    assert by_id.loc["edgurhb", "text"] == 'Is this in New Orleans?? I "really" feel'


def test_quoting_minimal_reads_rfc4180_quotes_in_a_tsv(tmp_path: Path) -> None:
    _write(tmp_path / "d.tsv", 'text\tlabels\tsplit\n"a\tb ""c"""\tx\ttrain\nd\ty\ttest\n')
    options = dict(text_columns="text", label_column="labels", split_column="split")
    table = read_table_corpus(
        tmp_path, TableCorpusSpec(files="d.tsv", quoting="minimal", **options)
    )
    assert table["text"].tolist() == ['a\tb "c"', "d"]
    with pytest.raises(ValueError, match=r"quoting must be one of \['minimal', 'none'\]"):
        TableCorpusSpec(files="d.tsv", quoting="all", **options)


def test_headerless_file_with_more_fields_than_columns_is_named(tmp_path: Path) -> None:
    _write(tmp_path / "train.tsv", "a\t1\tid1\textra\n")
    spec = TableCorpusSpec(
        files={"train": "train.tsv"},
        columns=["text", "labels", "id"],
        text_columns="text",
        label_column="labels",
    )
    with pytest.raises(
        CorruptRawFileError, match=r"train\.tsv: line 1 has 4 field\(s\); expected 3"
    ):
        read_table_corpus(tmp_path, spec)


@pytest.mark.parametrize(
    ("content", "header", "line"),
    [
        # a quoted cell over three physical lines, then a bad split value on line 5
        ('text,labels,split\n"one\ntwo\nthree",a,train\nx,b,holdout\n', True, 5),
        ("text,labels,split\nok,a,train\n\n\nx,b,holdout\n", True, 5),  # blank lines counted
        ("ok,a,train\nx,b,holdout\n", False, 2),  # no header: the first record is line 1
    ],
)
def test_csv_errors_name_the_physical_line(tmp_path: Path, content: str, header, line) -> None:
    _write(tmp_path / "d.csv", content)
    spec = TableCorpusSpec(
        files="d.csv",
        text_columns="text",
        label_column="labels",
        split_column="split",
        columns=None if header else ["text", "labels", "split"],
    )
    with pytest.raises(CorruptRawFileError, match=rf"d\.csv: line {line}: split value 'holdout'"):
        read_table_corpus(tmp_path, spec)


def test_jsonl_record_without_the_label_field_is_skipped_and_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    records = [_GOOD, {**_GOOD, "id": "t", "split": "test"}, {**_GOOD, "labels": []}]
    path = _jsonl_file(tmp_path, records)
    no_field = {k: v for k, v in _GOOD.items() if k != "labels"}
    path.write_text(path.read_text() + json.dumps(no_field) + "\n\n" + json.dumps(no_field) + "\n")
    with caplog.at_level(logging.WARNING):
        table = read_table_corpus(tmp_path, _jsonl_spec())
    assert len(table) == 3  # the empty label list is kept (unlabeled: keep), the two others not
    assert skipped_records(table) == {"no label field": 2}
    assert re.search(
        r"d\.jsonl: skipped 2 record\(s\) without a 'labels' field \(first: line 4\)", caplog.text
    )
    with pytest.raises(CorruptRawFileError, match=r"d\.jsonl: line 4 has no field 'labels'"):
        read_table_corpus(tmp_path, _jsonl_spec(unlabeled="error"))


def test_truncated_jsonl_gz_names_the_last_complete_line(tmp_path: Path) -> None:
    rows = "".join(json.dumps({**_GOOD, "text": f"doc {i}"}) + "\n" for i in range(2000))
    data = gzip.compress(rows.encode())
    (tmp_path / "d.jsonl.gz").write_bytes(data[: len(data) // 2])
    whole = gzip.decompress(data)
    spec = TableCorpusSpec(
        files="d.jsonl.gz", text_columns="text", label_column="labels", test_fraction=0.5
    )
    with pytest.raises(CorruptRawFileError, match=r"truncated after line (\d+)") as raised:
        read_table_corpus(tmp_path, spec)
    line = int(re.search(r"after line (\d+)", str(raised.value)).group(1))
    assert 0 < line < whole.count(b"\n")


def test_the_seeded_test_split_is_splits_seeded_test_mask_and_the_draw_of_before(
    tmp_path: Path,
) -> None:
    import numpy as np

    from longtail_mltc.corpora.splits import seeded_test_mask

    ids = [f"d{i:03d}" for i in range(37)]
    _write(tmp_path / "d.csv", "id,text,labels\n" + "".join(f"{i},t {i},a\n" for i in ids[::-1]))
    spec = TableCorpusSpec(
        files="d.csv",
        text_columns="text",
        label_column="labels",
        id_column="id",
        test_fraction=0.3,
        seed=11,
    )
    table = read_table_corpus(tmp_path, spec)
    mask = seeded_test_mask(table["doc_id"].tolist(), 0.3, 11, where="x")
    assert table.loc[mask, "split"].eq("test").all() and table.loc[~mask, "split"].eq("train").all()
    # the reader's draw before issue 21, written out: sorted ids, permutation, 11 = round(11.1)
    chosen = np.sort(np.array(ids, dtype=object))[np.random.default_rng(11).permutation(37)[:11]]
    assert sorted(table.loc[table["split"] == "test", "doc_id"]) == sorted(chosen)
