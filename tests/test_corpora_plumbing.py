"""Issue 21, item 10: one line reader and one seeded split for every corpus reader.

Each reader is run on small files while ``corpora.lines.utf8_lines`` is wrapped by a spy; every
text file the reader opens must have gone through it. To add a reader, add a case to
``READER_CASES`` (it writes its files and returns the call and the files it must read) and its
modules to ``READER_MODULES``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from longtail_mltc.corpora import lines
from longtail_mltc.corpora.douban import read_douban_movies, read_imcm
from longtail_mltc.corpora.mulan import read_arff_corpus
from longtail_mltc.corpora.rcv1 import (
    RCV1_QRELS_FILE,
    RCV1_SAMPLE_FILE,
    RCV1_TEST_FILES,
    RCV1_TRAIN_FILE,
    read_rcv1,
    read_rcv1_hierarchy,
    read_rcv1_sample,
)
from longtail_mltc.corpora.table import TableCorpusSpec, read_table_corpus

SOURCE = Path(__file__).resolve().parents[1] / "src" / "longtail_mltc" / "corpora"
MAX_READER_LINES = 420
"""'No reader over about 400 lines' (issue 21, item 10)."""

NOT_READERS = {"acquisition.py": "finds, downloads and extracts raw files; reads no corpus"}
READER_MODULES = tuple(
    sorted(path.name for path in SOURCE.glob("*.py") if path.name not in NOT_READERS)
)

Case = Callable[[Path], tuple[Callable[[], object], set[Path]]]


def _write(path: Path, text: str, *, compress: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def _rcv1(folder: Path) -> tuple[Callable[[], object], set[Path]]:
    files = {_write(folder / f"{RCV1_TRAIN_FILE}.gz", ".I 1\n.W\nab cd\n", compress=True)}
    for number, name in enumerate(RCV1_TEST_FILES, start=2):
        files.add(_write(folder / name, f".I {number}\n.W\nef\n"))
    qrels = "".join(f"CCAT {number} 1\n" for number in range(1, 6))
    files.add(_write(folder / RCV1_QRELS_FILE, qrels))
    return lambda: read_rcv1(folder), files


def _rcv1_hierarchy(folder: Path) -> tuple[Callable[[], object], set[Path]]:
    path = _write(folder / "rcv1.taxonomy", "Root\tCCAT\tGCAT\nCCAT\tC15\n")
    return lambda: read_rcv1_hierarchy(folder), {path}


def _rcv1_sample(folder: Path) -> tuple[Callable[[], object], set[Path]]:
    records = [{"doc_label": [label], "doc_token": ["a", label]} for label in ("C15", "GCAT")]
    path = _write(folder / RCV1_SAMPLE_FILE, "".join(json.dumps(r) + "\n" for r in records))
    return lambda: read_rcv1_sample(folder, test_fraction=0.5), {path}


def _douban_movies(folder: Path) -> tuple[Callable[[], object], set[Path]]:
    text = "\ufeffmovie_id,title,genres,summary\n1,甲,剧情,简介一。\n2,乙,喜剧,简介二。\n"
    path = _write(folder / "douban_all_movies.csv", text)
    return lambda: read_douban_movies(folder, test_fraction=0.5), {path}


def _imcm(folder: Path) -> tuple[Callable[[], object], set[Path]]:
    records = [{"id": str(n), "content": "我爱北京。", "tags": ["小说"]} for n in (1, 2)]
    path = _write(
        folder / "post.dat", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    )
    return lambda: read_imcm(folder, min_words=0, test_fraction=0.5), {path}


def _table(folder: Path) -> tuple[Callable[[], object], set[Path]]:
    """JSON lines and the label names file are read line by line (CSV/TSV go through pandas'
    parser, with the shared reader only on the error path to name the line)."""
    record = '{{"text": "{}", "labels": [0, 1], "id": "{}"}}\n'
    files = {
        split: _write(folder / f"{split}.jsonl", record.format(f"{split} text", split))
        for split in ("train", "valid", "test")
    }
    names = _write(folder / "emotions.txt", "joy\nanger\n")
    spec = TableCorpusSpec(
        files={split: path.name for split, path in files.items()},
        text_columns="text",
        label_column="labels",
        label_ids=True,
        label_names_file="emotions.txt",
        id_column="id",
    )
    return lambda: read_table_corpus(folder, spec), {*files.values(), names}


def _arff(folder: Path) -> tuple[Callable[[], object], set[Path]]:
    header = "@relation 'tiny: -C 2'\n@attribute L1 {0,1}\n@attribute L2 {0,1}\n"
    header += "@attribute w1 {0,1}\n@attribute w2 {0,1}\n@data\n"
    path = _write(folder / "tiny.arff", header + "{0 1,2 1}\n{1 1,3 1}\n1,0,0,1\n0,1,1,1\n")
    return lambda: read_arff_corpus(folder, "tiny.arff", test_fraction=0.5, seed=0), {path}


READER_CASES: dict[str, Case] = {
    "table": _table,
    "arff": _arff,
    "rcv1": _rcv1,
    "rcv1_hierarchy": _rcv1_hierarchy,
    "rcv1_sample": _rcv1_sample,
    "douban_movies": _douban_movies,
    "imcm": _imcm,
}


@pytest.fixture
def line_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The paths ``lines.utf8_lines`` is called with while the test runs (it still reads them)."""
    calls: list[Path] = []
    original = lines.utf8_lines

    def spy(path: Path, **options: object) -> Iterator[tuple[int, str]]:
        calls.append(Path(path))
        return original(path, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(lines, "utf8_lines", spy)
    return calls


@pytest.mark.parametrize("case", list(READER_CASES), ids=list(READER_CASES))
def test_reader_reads_every_text_file_through_the_shared_line_reader(
    tmp_path: Path, line_reads: list[Path], case: str
) -> None:
    read, files = READER_CASES[case](tmp_path / case)
    table = read()
    assert len(table) > 0  # type: ignore[arg-type]
    assert set(line_reads) == files


@pytest.mark.parametrize("module", READER_MODULES)
def test_reader_modules_stay_small(module: str) -> None:
    text = (SOURCE / module).read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_READER_LINES, f"corpora/{module} is over the limit"
