"""``format: arff`` user corpora (issue 21, item 1): Mulan (ARFF + XML) and MEKA (``-C n``)
layouts in generated files, declared in YAML and read through the ingestion node."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from longtail_mltc.config_errors import ConfigurationError
from longtail_mltc.corpora import CorruptRawFileError
from longtail_mltc.pipelines.ingestion.nodes import load_raw_corpus


def _arff(attributes: Sequence[str], rows: Sequence[str], relation: str = "small") -> str:
    header = [f"@relation {relation}", ""] + [f"@attribute {a}" for a in attributes]
    return "\n".join([*header, "", "@data", *rows]) + "\n"


def _xml(names: Sequence[str]) -> str:
    labels = "".join(f'<label name="{name}"/>' for name in names)
    return f'<labels xmlns="http://mulan.sourceforge.net/labels">{labels}</labels>\n'


def _ingest(
    tmp_path: Path, name: str, raw: Mapping[str, str], /, **declaration: object
) -> pd.DataFrame:
    """Write ``raw`` (file -> content) into data/01_raw/<name>/ and run the ingestion node on
    ``{name: declaration}``, as ``user_corpora`` in YAML."""
    folder = tmp_path / "raw" / name
    folder.mkdir(parents=True)
    for file_name, content in raw.items():
        (folder / file_name).write_text(content, encoding="utf-8")
    where = {"raw_root": str(tmp_path / "raw"), "mirror": str(tmp_path / "no-mirror")}
    table, skipped = load_raw_corpus(name, {name: where}, {name: declaration})
    assert skipped == {}
    return table


def _documents(table: pd.DataFrame) -> dict[str, tuple[str, list[str], str]]:
    return {
        row.doc_id: (row.text, list(row.labels), row.split) for row in table.itertuples(index=False)
    }


def _bibtex_like(n_rows: int = 40, n_words: int = 12, n_labels: int = 4) -> tuple[str, np.ndarray]:
    """A Mulan-layout sparse file (labels last) and its 0/1 matrix."""
    rng = np.random.default_rng(7)
    matrix = (rng.random((n_rows, n_words + n_labels)) < 0.3).astype(int)
    names = [f"w{i} {{0,1}}" for i in range(n_words)] + [f"L{i} {{0,1}}" for i in range(n_labels)]
    rows = ["{" + ",".join(f"{i} 1" for i in np.flatnonzero(row)) + "}" for row in matrix]
    return _arff(names, rows, relation="bibtex"), matrix


def test_the_issue_yaml_reads_a_mulan_file_with_its_xml(tmp_path: Path) -> None:
    content, matrix = _bibtex_like()
    table = _ingest(
        tmp_path,
        "bibtex",
        {"bibtex.arff": content, "bibtex.xml": _xml([f"L{i}" for i in range(4)])},
        format="arff",
        files="bibtex.arff",
        label_file="bibtex.xml",
        test_fraction=0.33,
        seed=1,
    )
    assert table["split"].value_counts().to_dict() == {"train": 27, "test": 13}  # 13.2 -> 13
    assert table["doc_id"].tolist() == [f"bibtex-{row:06d}" for row in range(1, 41)]
    for row, document in zip(matrix, table.itertuples(index=False), strict=True):
        assert document.text == " ".join(f"w{i}" for i in np.flatnonzero(row[:12]))
        assert list(document.labels) == [f"L{i}" for i in np.flatnonzero(row[12:])]
    assert set(table["lang"]) == {"en"}


_MEKA_DENSE = _arff(
    ["A {0,1}", "B {0,1}", "C {0,1}", "w1 {0,1}", "w2 {0,1}", "w3 {0,1}", "w4 numeric"],
    ["1,0,0,1,0,1,0", "0,1,1,0,1,0,2.5", "0,0,0,1,1,1,0", "1,1,1,0,0,0,0"],
    relation="'Enron: -C 3'",
)


def test_meka_labels_first_in_one_dense_file(tmp_path: Path) -> None:
    table = _ingest(
        tmp_path, "meka_first", {"enron.arff": _MEKA_DENSE}, files="enron.arff", test_fraction=0.25
    )
    documents = _documents(table)
    assert {doc: (text, labels) for doc, (text, labels, _) in documents.items()} == {
        "meka_first-000001": ("w1 w3", ["A"]),
        "meka_first-000002": ("w2 w4", ["B", "C"]),
        "meka_first-000003": ("w1 w2 w3", []),
        "meka_first-000004": ("", ["A", "B", "C"]),
    }
    assert table["split"].value_counts().to_dict() == {"train": 3, "test": 1}


def test_meka_labels_last_in_sparse_rows(tmp_path: Path) -> None:
    content = _arff(
        ["w1 {0,1}", "w2 {0,1}", "A {0,1}", "B {0,1}", "C {0,1}"],
        ["{0 1,2 1}", "{1 1,3 1,4 1}", "{}"],
        relation="scene: -C -3",
    )
    table = _ingest(
        tmp_path, "meka_last", {"s.arff": content}, format="arff", files="s.arff", test_fraction=0.3
    )
    assert [(text, labels) for text, labels, _ in _documents(table).values()] == [
        ("w1", ["A"]),
        ("w2", ["B", "C"]),
        ("", []),
    ]


@pytest.mark.parametrize(("position", "expected"), [("first", ["a", "b"]), ("last", ["c", "d"])])
def test_label_count_and_position_from_yaml(
    tmp_path: Path, position: str, expected: list[str]
) -> None:
    content = _arff([f"{n} {{0,1}}" for n in "abcd"], ["1,1,1,1", "0,0,0,0"])
    table = _ingest(
        tmp_path,
        f"counted_{position}",
        {"c.arff": content},
        files="c.arff",
        test_fraction=0.5,
        label_count=2,
        label_position=position,
    )
    assert list(table["labels"].map(list)) == [expected, []]
    assert set(table["text"]) == {" ".join(n for n in "abcd" if n not in expected), ""}


_ATTRIBUTES = ["alpha {0,1}", "beta numeric", "gamma {0,1}", "L_x {0,1}", "L_y {0,1}"]


def test_train_and_test_files_with_the_xml(tmp_path: Path) -> None:
    table = _ingest(
        tmp_path,
        "two_files",
        {
            "tr.arff": _arff(_ATTRIBUTES, ["{0 1,3 1}", "0,2,1,1,1"]),
            "te.arff": _arff(_ATTRIBUTES, ["{4 1}"]),
            "labels.xml": _xml(["L_y", "L_x"]),
        },
        format="arff",
        files={"train": "tr.arff", "test": "te.arff"},
        label_file="labels.xml",
    )
    assert _documents(table) == {
        "train-000001": ("alpha", ["L_x"], "train"),
        "train-000002": ("beta gamma", ["L_x", "L_y"], "train"),
        "test-000001": ("", ["L_y"], "test"),
    }


def test_a_declared_validation_file_is_the_valid_split(tmp_path: Path) -> None:
    table = _ingest(
        tmp_path,
        "three_files",
        {
            "tr.arff": _arff(_ATTRIBUTES, ["{0 1,3 1}"]),
            "va.arff": _arff(_ATTRIBUTES, ["{2 1,4 1}", "{1 3}"]),
            "te.arff": _arff(_ATTRIBUTES, ["{4 1}"]),
            "labels.xml": _xml(["L_x", "L_y"]),
        },
        format="arff",
        files={"test": "te.arff", "valid": "va.arff", "train": "tr.arff"},
        label_file="labels.xml",
    )
    assert _documents(table) == {
        "train-000001": ("alpha", ["L_x"], "train"),
        "valid-000001": ("gamma", ["L_y"], "valid"),
        "valid-000002": ("beta", [], "valid"),
        "test-000001": ("", ["L_y"], "test"),
    }


def test_validation_file_must_declare_the_train_attributes(tmp_path: Path) -> None:
    with pytest.raises(CorruptRawFileError, match=r"va.arff: line 4: attribute 1 is 'b' "):
        _ingest(
            tmp_path,
            "bad_valid",
            {
                "tr.arff": _arff(_ATTRIBUTES, ["{0 1}"]),
                "va.arff": _arff(["alpha {0,1}", "b numeric", *_ATTRIBUTES[2:]], ["{0 1}"]),
                "te.arff": _arff(_ATTRIBUTES, ["{0 1}"]),
                "labels.xml": _xml(["L_x", "L_y"]),
            },
            files={"train": "tr.arff", "valid": "va.arff", "test": "te.arff"},
            label_file="labels.xml",
        )


def test_without_xml_or_meka_header_the_error_names_label_file(tmp_path: Path) -> None:
    content = _arff(_ATTRIBUTES, ["{0 1}", "{1 1}"])
    with pytest.raises(ConfigurationError) as error:
        _ingest(tmp_path, "unlabeled", {"u.arff": content}, format="arff", files="u.arff",
                test_fraction=0.5)  # fmt: skip
    message = str(error.value)
    assert message.startswith("user_corpora.unlabeled.label_file: expected the Mulan label XML")
    assert "u.arff has none: 'small'" in message and "label_count" in message
    assert error.value.__context__ is None  # no Python traceback chained to it


@pytest.mark.parametrize("count", ["0", "7", "-7"])
def test_a_meka_count_leaving_no_feature_names_the_relation_line(
    tmp_path: Path, count: str
) -> None:
    content = _arff(_ATTRIBUTES, ["{0 1}", "{1 1}"], relation=f"'x: -C {count}'")
    with pytest.raises(CorruptRawFileError, match=rf"m.arff: line 1: MEKA option '-C {count}'"):
        _ingest(tmp_path, f"meka_bad{count}", {"m.arff": content}, files="m.arff",
                test_fraction=0.5)  # fmt: skip


# --- the seeded split of one file does not depend on the row order ----------------------------


def _read_one_file(folder: Path, rows: list[str], seed: int) -> list[tuple[str, tuple, str]]:
    from longtail_mltc.corpora.mulan import read_arff_corpus

    folder.mkdir()
    attributes = ["a {0,1}", "b {0,1}", "c {0,1}", "X {0,1}", "Y {0,1}"]
    (folder / "f.arff").write_text(_arff(attributes, rows, "'r: -C -2'"), encoding="utf-8")
    table = read_arff_corpus(folder, "f.arff", test_fraction=0.3, seed=seed, corpus_name="t")
    return sorted((d.text, tuple(d.labels), d.split) for d in table.itertuples(index=False))


@settings(max_examples=40, deadline=None)
@given(
    matrix=st.lists(st.lists(st.booleans(), min_size=5, max_size=5), min_size=4, max_size=14),
    seed=st.integers(0, 2**16),
    order=st.randoms(use_true_random=False),
)
def test_same_seed_same_split_whatever_the_row_order(
    matrix: list[list[bool]], seed: int, order
) -> None:  # noqa: ANN001 - hypothesis' Random
    rows = [",".join(str(int(cell)) for cell in row) for row in matrix]
    shuffled = rows.copy()
    order.shuffle(shuffled)
    with tempfile.TemporaryDirectory() as tmp:
        first = _read_one_file(Path(tmp) / "a", rows, seed)
        second = _read_one_file(Path(tmp) / "b", shuffled, seed)
    assert first == second
    n_test = int(np.floor(0.3 * len(rows) + 0.5))
    assert sum(split == "test" for *_, split in first) == max(1, n_test)


def test_a_label_count_beside_the_meka_header_is_reported_not_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="longtail_mltc.corpora"):
        table = _ingest(
            tmp_path,
            "meka_and_count",
            {"enron.arff": _MEKA_DENSE},
            files="enron.arff",
            test_fraction=0.25,
            label_count=1,
            label_position="last",
        )
    assert list(table["labels"].map(list)) == [["A"], ["B", "C"], [], ["A", "B", "C"]]
    assert "label_count 1 is not used: the label attributes come from MEKA's '-C 3'" in caplog.text


# --- plumbing (issue 21, item 10) ---------------------------------------------------------------


def test_arff_files_stream_through_the_shared_line_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from longtail_mltc.corpora import arff, lines

    read: list[Path] = []
    original = lines.utf8_lines

    def spy(path: Path, **options: object):  # noqa: ANN202 - the reader's iterator
        read.append(path)
        return original(path, **options)

    monkeypatch.setattr(lines, "utf8_lines", spy)
    (tmp_path / "f.arff").write_text(_arff(_ATTRIBUTES, ["{0 1}"]), encoding="utf-8")
    assert arff.read_arff(tmp_path / "f.arff").n_rows == 1
    assert read == [tmp_path / "f.arff"]


@pytest.mark.parametrize("module", ["arff", "arff_rows", "mulan", "mulan_labels", "user"])
def test_the_arff_reader_modules_stay_small(module: str) -> None:
    import longtail_mltc.corpora as corpora

    source = Path(corpora.__file__).parent / f"{module}.py"
    assert len(source.read_text(encoding="utf-8").splitlines()) <= 400
