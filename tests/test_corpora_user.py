"""A wrong ``user_corpora`` declaration is a configuration message (issue 21, items 1 and 7):
a ConfigurationError naming ``user_corpora.<name>.<key>``, what was expected and what was
given, with no Python traceback chained to it, for the ARFF and the table formats alike."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from longtail_mltc.config_errors import ConfigurationError
from longtail_mltc.corpora import available_corpora, register_chosen_corpus, registry
from longtail_mltc.pipelines.ingestion.nodes import load_raw_corpus

_CSV = {"files": "a.csv", "text_columns": "t", "label_column": "l", "test_fraction": 0.2}
_ARFF = {"format": "arff", "files": "a.arff", "test_fraction": 0.2}


def _message(tmp_path: Path, declaration: object, name: str = "x") -> str:
    """The ConfigurationError the ingestion node raises for ``user_corpora: {name: ...}``."""
    options = {name: {"raw_dir": str(tmp_path / "absent")}}
    with pytest.raises(ConfigurationError) as error:
        load_raw_corpus(name, options, {name: declaration})
    chained = error.value.__cause__ or (
        None if error.value.__suppress_context__ else error.value.__context__
    )
    assert chained is None  # raised "from None": the message is all the user sees
    return str(error.value)


@pytest.mark.parametrize(
    ("declaration", "expected"),
    [
        (
            {"format": "mulan", "files": "x.arff"},
            "user_corpora.x.format: expected one of arff, csv, jsonl, parquet, tsv, got 'mulan'",
        ),
        ({"format": "arff"}, "user_corpora.x.files: expected one ARFF file name, or {train"),
        ({"format": "csv", "text_columns": "t", "label_column": "l"}, "user_corpora.x.files: "),
        ({"text_columns": "t", "label_column": "l"}, "user_corpora.x.files: expected a file"),
        (
            {k: v for k, v in _CSV.items() if k != "label_column"},
            "user_corpora.x.label_column: expected a value (required for a csv/tsv/jsonl/parquet",
        ),
        ({**_CSV, "files": ["a.csv"]}, "user_corpora.x.files: expected a file name, or {train"),
        ({**_CSV, "test_fraction": 1.5}, "user_corpora.x.test_fraction: test_fraction must lie"),
        (
            {**_CSV, "label_colum": "l"},
            "user_corpora.x.label_colum: unknown key for a csv/tsv/jsonl/parquet table (did you",
        ),
        (
            {**_ARFF, "lable_file": "a.xml"},
            "user_corpora.x.lable_file: unknown key for format 'arff' (did you mean label_file?)",
        ),
        ({**_ARFF, "test_fraction": "0.3"}, "user_corpora.x.test_fraction: expected a number "),
        ({**_ARFF, "seed": 1.5}, "user_corpora.x.seed: expected a whole number, got 1.5"),
        ({**_ARFF, "label_count": 0}, "user_corpora.x.label_count: expected a whole number of at"),
        (
            {**_ARFF, "label_count": 2, "label_position": "middle"},
            "user_corpora.x.label_position: expected first or last, got 'middle'",
        ),
        ({**_ARFF, "label_position": "first"}, "user_corpora.x.label_count: expected a label"),
        ({**_ARFF, "lang": "fr"}, "user_corpora.x.lang: expected one of en, zh, got 'fr'"),
        ({**_ARFF, "position_fallback": "yes"}, "user_corpora.x.position_fallback: expected true"),
        ({**_ARFF, "label_file": 3}, "user_corpora.x.label_file: expected a file or folder name"),
        ({**_ARFF, "files": ["a.arff"]}, "user_corpora.x.files: expected one ARFF file name"),
        (
            {"format": "arff", "files": {"train": "a.arff"}},
            "user_corpora.x.files.test: expected the test file's name",
        ),
        (
            {"format": "arff", "files": {"train": "a", "dev": "b", "test": "c"}},
            "user_corpora.x.files.dev: expected only the splits train, valid, test, got 'b'",
        ),
        (
            {"format": "arff", "files": "a.arff"},
            "user_corpora.x.test_fraction: expected a fraction in (0, 1) of the rows of the one",
        ),
        (
            {"files": {"train": "a.arff", "test": "b.arff"}, "test_fraction": 0.2},
            "user_corpora.x.test_fraction: expected no test_fraction where files names a test",
        ),
        ("bibtex.arff", "user_corpora.x: expected a mapping of reader options"),
    ],
)
def test_wrong_declarations_name_the_key(
    tmp_path: Path, declaration: object, expected: str
) -> None:
    assert _message(tmp_path, declaration).startswith(expected)


def test_a_built_in_name_cannot_be_redeclared(tmp_path: Path) -> None:
    message = _message(tmp_path, _ARFF, name="delicious")
    assert message.startswith("user_corpora.delicious: a corpus 'delicious' is already registered")


def test_unknown_keys_are_all_listed(tmp_path: Path) -> None:
    message = _message(tmp_path, {**_ARFF, "zz": 1, "label_fil": "a.xml"})
    assert message.startswith("user_corpora.x.label_fil: unknown key for format 'arff'")
    assert "expected one of files, format, label_count, label_file," in message
    assert message.endswith("other unknown keys: zz")


def test_the_commented_arff_example_in_the_parameters_is_valid(tmp_path: Path) -> None:
    import yaml

    from longtail_mltc.corpora.user import ArffCorpusSpec

    lines = (Path(__file__).parents[1] / "conf/base/parameters_ingestion.yml").read_text()
    block = itertools.takewhile(
        lambda line: line.startswith("  # "), lines[lines.index("  # bibtex:") :].splitlines()
    )
    example = yaml.safe_load("\n".join(line.removeprefix("  # ") for line in block))
    spec = ArffCorpusSpec.from_options("bibtex", example["bibtex"])
    assert spec.expected_files == ("bibtex.arff", "bibtex.xml")
    assert (spec.test_fraction, spec.seed) == (0.33, 1)


def test_the_chosen_corpus_is_registered_from_its_declaration_or_must_exist(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The ingestion node's first step, as a library function (issue 22, item 3)."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # this test's own
    name = "chosen_by_test"
    assert name not in available_corpora()
    register_chosen_corpus(name, {name: {**_CSV, "files": "chosen.csv"}, "other": "ignored"})
    assert name in available_corpora()
    register_chosen_corpus("reuters", None)  # a built-in needs no declaration
    with pytest.raises(ConfigurationError, match=r"unknown corpus 'nope' .* declared under "):
        register_chosen_corpus("nope", {"other": {}})
    with pytest.raises(ConfigurationError, match=r"user_corpora\.y: expected a mapping"):
        register_chosen_corpus("y", {"y": ["a.csv"]})
