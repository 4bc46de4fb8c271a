"""validate_corpus, the corpus registry behind load_corpus, and the readers' shared checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from longtail_mltc.corpora import (
    CORPUS_COLUMNS,
    CorpusError,
    CorpusSource,
    available_corpora,
    load_corpus,
    register_corpus,
    validate_corpus,
)
from longtail_mltc.corpora import registry as registry_module
from longtail_mltc.corpora.errors import CorruptRawFileError
from longtail_mltc.corpora.validation import (
    MAX_JSON_DEPTH,
    check_text,
    check_texts,
    first_surrogate,
    json_depth,
    parse_json,
)

SOURCE = "corpus 'toy' from /raw/toy"


def _corpus(**overrides: list) -> pd.DataFrame:
    columns = {
        "doc_id": ["1", "2", "3"],
        "text": ["one", "two", "three"],
        "labels": [["a"], ["a", "b"], []],
        "split": ["train", "train", "test"],
        "lang": ["en", "en", "zh"],
    }
    return pd.DataFrame(columns | overrides)


def test_valid_corpus_passes_unchanged() -> None:
    corpus = _corpus()
    assert validate_corpus(corpus, SOURCE) is corpus


def test_columns_are_reordered_but_must_all_be_present() -> None:
    reordered = _corpus()[["lang", "split", "labels", "text", "doc_id"]]
    assert list(validate_corpus(reordered, SOURCE).columns) == list(CORPUS_COLUMNS)
    with pytest.raises(CorpusError, match=r"corpus 'toy' from /raw/toy: columns must be .*lang"):
        validate_corpus(_corpus().drop(columns="lang"), SOURCE)
    with pytest.raises(CorpusError, match=r"unexpected \['extra'\]"):
        validate_corpus(_corpus().assign(extra=1), SOURCE)


def test_empty_corpus() -> None:
    with pytest.raises(CorpusError, match=r"^corpus 'toy' from /raw/toy has no documents$"):
        validate_corpus(_corpus().iloc[:0], SOURCE)


@pytest.mark.parametrize("missing", ["train", "test"])
def test_each_split_is_required(missing: str) -> None:
    corpus = _corpus(split=["train", "train", "train"] if missing == "test" else ["test"] * 3)
    with pytest.raises(CorpusError, match=f"has no {missing} documents"):
        validate_corpus(corpus, SOURCE)


def test_duplicate_doc_ids_are_named() -> None:
    with pytest.raises(CorpusError, match=r"1 duplicate doc_id values, e.g. '2'"):
        validate_corpus(_corpus(doc_id=["1", "2", "2"]), SOURCE)


def test_duplicate_doc_id_error_names_both_rows() -> None:
    with pytest.raises(
        CorpusError,
        match=r"the first repeat, '1', is on rows 1 and 3 \(1-based rows of the table\); "
        "expected each doc_id once",
    ):
        validate_corpus(_corpus(doc_id=["1", "2", "1"]), SOURCE)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (["a", ["a"], []], r"rows 0 hold 'str'"),
        ([["a"], ["a", 3], []], r"rows 1 hold non-str labels such as 3"),
        ([["a"], [None], []], r"non-str labels such as None"),
    ],
)
def test_labels_must_be_lists_of_str(labels: list, message: str) -> None:
    with pytest.raises(CorpusError, match=message):
        validate_corpus(_corpus(labels=labels), SOURCE)


def test_label_arrays_from_parquet_become_lists(tmp_path: Path) -> None:
    path = tmp_path / "corpus.parquet"
    _corpus().to_parquet(path)
    loaded = pd.read_parquet(path)
    assert isinstance(loaded["labels"].iloc[0], np.ndarray)
    validated = validate_corpus(loaded, SOURCE)
    assert validated["labels"].tolist() == [["a"], ["a", "b"], []]


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("split", ["train", "dev", "test"], r"'split' must be one of \['train', 'valid', 'test'\]"),
        ("lang", ["en", "fr", "en"], r"'lang' must be one of .*'fr'"),
        ("doc_id", ["1", 2, "3"], r"'doc_id' must hold str values"),
        ("text", ["one", None, "three"], r"'text' must hold str values"),
    ],
)
def test_column_values(column: str, values: list, message: str) -> None:
    with pytest.raises(CorpusError, match=message):
        validate_corpus(_corpus(**{column: values}), SOURCE)


def test_valid_split_allowed_when_asked() -> None:
    corpus = _corpus(split=["train", "valid", "test"])
    validate_corpus(corpus, SOURCE, splits=("train", "valid", "test"))


def test_unknown_corpus_lists_available() -> None:
    assert "reuters" in available_corpora()
    with pytest.raises(ValueError, match=r"unknown corpus 'nope'; available corpora: .*'reuters'"):
        load_corpus("nope")


def test_registration_is_one_line_and_load_corpus_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry_module, "_REGISTRY", dict(registry_module._REGISTRY))
    folder = tmp_path / "mirror" / "toy-data"
    folder.mkdir(parents=True)
    (folder / "docs.tsv").write_text("1\ttrain\tone\n2\ttest\ttwo\n")

    def read_toy(raw_dir: Path, *, label: str = "x") -> pd.DataFrame:
        rows = [line.split("\t") for line in (raw_dir / "docs.tsv").read_text().splitlines()]
        return pd.DataFrame(
            {
                "doc_id": [r[0] for r in rows],
                "text": [r[2] for r in rows],
                "labels": [[label] for _ in rows],
                "split": [r[1] for r in rows],
                "lang": ["en"] * len(rows),
            }
        )

    register_corpus(CorpusSource("toy", read_toy, ("docs.tsv",), mirror_folder="toy-data"))
    corpus = load_corpus("toy", raw_root=tmp_path / "raw", mirror=tmp_path / "mirror", label="y")
    assert corpus["labels"].tolist() == [["y"], ["y"]]
    assert "toy" in available_corpora()
    with pytest.raises(ValueError, match="already registered"):
        register_corpus(CorpusSource("toy", read_toy, ("other.tsv",)))


# --- the readers' shared checks (corpora/validation.py, issue 20 item 4) -----------------------

_SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)


@settings(max_examples=200, deadline=None)
@given(text=st.text(), surrogate=_SURROGATES, position=st.integers(0, 50))
def test_any_lone_surrogate_is_found_and_any_valid_text_passes(
    text: str, surrogate: str, position: int
) -> None:
    assert first_surrogate(text) is None
    assert check_text(text, "f.json: line 1", "t") is text
    position = min(position, len(text))
    broken = text[:position] + surrogate + text[position:]
    assert first_surrogate(broken) == position
    with pytest.raises(CorruptRawFileError) as raised:
        check_texts(["ok", text, broken], "f.json: line 7", "tags")
    message = str(raised.value)
    assert message.startswith('f.json: line 7, field "tags[3]": lone surrogate ')
    assert f"\\u{ord(surrogate):04x} (at character {position + 1})" in message
    message.encode("utf-8")  # the message itself is printable text


def _depth(value: object) -> int:
    """Nesting depth by structural recursion (the reference for json_depth)."""
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    return 0


_TRICKY_STRINGS = st.text(alphabet='[]{}"\\ab,:', max_size=8)
_JSON = st.recursive(
    st.none() | st.integers() | _TRICKY_STRINGS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TRICKY_STRINGS, inner, max_size=3),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None)
@given(value=_JSON, ensure_ascii=st.booleans())
def test_json_depth_ignores_brackets_inside_strings(value: object, ensure_ascii: bool) -> None:
    text = json.dumps(value, ensure_ascii=ensure_ascii)
    assert json_depth(text) == _depth(value)
    assert parse_json(text, "f.json: line 1") == value


def test_parse_json_refuses_deep_nesting_before_the_parser_recurses() -> None:
    assert parse_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH, "w") is not None
    for depth in (MAX_JSON_DEPTH, 100_000):  # inside an object: one level more
        with pytest.raises(
            CorruptRawFileError,
            match=rf"^f\.json: line 2: JSON nested deeper than 100 levels \({depth + 1} levels\)",
        ):
            parse_json('{"a": ' + "[" * depth + "]" * depth + "}", "f.json: line 2")


def test_a_declared_validation_split_is_kept_by_the_features_node():
    """Issue 21 item 3: a reader may emit ``valid`` (a declared validation file); the features
    node keeps those documents instead of drawing features.validation from train."""
    from longtail_mltc.pipelines.features.nodes import split_train_validation

    corpus = validate_corpus(_corpus(split=["train", "valid", "test"]), SOURCE)
    table = split_train_validation(corpus, {"validation": 1000}, seed=0)
    assert table["split"].tolist() == ["train", "valid", "test"]
