"""The generic table reader: any user corpus from CSV / TSV / JSON lines / parquet."""

from __future__ import annotations

import json
import logging
from pathlib import Path

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
    with pytest.raises(CorruptRawFileError, match=r"data\.tsv: record 2: label id '7'"):
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
    assert "first: record 2" in caplog.text


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
    with pytest.raises(CorruptRawFileError, match=r"d\.csv: record 2 has no labels"):
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
            r"d\.csv: line 3, byte 32: not valid utf-8",
        ),
        (b"text,labels,split\nok,a,train\nx,b,holdout\n", r"record 2: split value 'holdout'"),
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
    with pytest.raises(CorruptRawFileError, match=r"d\.jsonl: cannot be read as jsonl"):
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
