"""BioASQ task A reader: the real sample, streaming in constant memory, options, broken input."""

from __future__ import annotations

import json
import logging
import re
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from conftest import mirror_path
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from longtail_mltc.corpora import bioasq as bioasq_module
from longtail_mltc.corpora.acquisition import locate_raw_dir
from longtail_mltc.corpora.bioasq import (
    BIOASQ,
    BIOASQ_FILE,
    iter_bioasq_articles,
    read_bioasq,
    write_synthetic_bioasq,
)
from longtail_mltc.corpora.errors import CorpusError, CorruptRawFileError, RawDataNotFoundError
from longtail_mltc.corpora.report import skipped_records
from longtail_mltc.corpora.schema import CORPUS_COLUMNS
from longtail_mltc.corpora.splits import seeded_test_mask

SAMPLE_FILE = "sampleData1a.json"
LOGGER = "longtail_mltc.corpora.bioasq"


@pytest.fixture(scope="module")
def sample_dir() -> Path:
    return mirror_path("bioasq_sample", SAMPLE_FILE).parent


def _article(
    pmid: str,
    labels: list[str] | None = None,
    year: str | None = "2013",
    title: str | None = "A title.",
    abstract: str | None = "An abstract.",
) -> dict[str, Any]:
    return {
        "abstractText": abstract,
        "journal": "J",
        "meshMajor": ["Humans"] if labels is None else labels,
        "pmid": pmid,
        "title": title,
        "year": year,
    }


def _dump(
    articles: list[dict[str, Any]],
    *,
    line_break: str = "\r\n",
    indent: int | None = None,
    ensure_ascii: bool = False,
) -> str:
    """The allMeSH file shape: one article per line (or pretty-printed with ``indent``)."""
    if indent is not None:
        text = json.dumps({"articles": articles}, indent=indent, ensure_ascii=ensure_ascii)
        return text.replace("\n", line_break)
    items = [json.dumps(article, ensure_ascii=ensure_ascii) for article in articles]
    return '{"articles":[' + line_break + ("," + line_break).join(items) + line_break + "]}"


def _write(path: Path, text: str | bytes, encoding: str = "utf-8") -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def _records(path: Path, **options: Any) -> list[dict[str, Any]]:
    return [article.record for article in iter_bioasq_articles(path, progress=False, **options)]


def _read(folder: Path, name: str = BIOASQ_FILE, **options: Any):  # noqa: ANN202
    options.setdefault("progress", False)
    return read_bioasq(folder, file_name=name, **options)


def _log(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(record.getMessage() for record in caplog.records if record.name == LOGGER)


# --- the real sample ---------------------------------------------------------------------------


def test_sample_has_five_articles_and_56_headings(sample_dir: Path) -> None:
    articles = list(iter_bioasq_articles(sample_dir / SAMPLE_FILE, progress=False))
    assert [article.index for article in articles] == [0, 1, 2, 3, 4]
    headings = [label for article in articles for label in article.record["meshMajor"]]
    assert len(set(headings)) == 56  # SOURCES.txt: 5 articles, 56 MeSH terms
    assert len(headings) == 72
    expected = json.loads((sample_dir / SAMPLE_FILE).read_text(encoding="utf-8"))["articles"]
    assert [article.record for article in articles] == expected
    raw = (sample_dir / SAMPLE_FILE).read_bytes()
    for article in articles:
        assert raw[article.byte_offset : article.byte_offset + 15] == b'{"abstractText"'


def test_sample_corpus(sample_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    corpus = _read(sample_dir, SAMPLE_FILE, test_year=2000, min_label_count=None)
    assert list(corpus.columns) == list(CORPUS_COLUMNS)
    assert len(corpus) == 5
    assert corpus["labels"].explode().nunique() == 56
    assert corpus["split"].tolist() == ["train", "test", "test", "test", "test"]  # 1983, 2013s
    assert set(corpus["lang"]) == {"en"}
    raw = json.loads((sample_dir / SAMPLE_FILE).read_text(encoding="utf-8"))["articles"]
    assert corpus["doc_id"].tolist() == [article["pmid"] for article in raw]
    assert corpus["text"].tolist() == [f"{a['title']} {a['abstractText']}" for a in raw]
    assert corpus["labels"].tolist() == [article["meshMajor"] for article in raw]
    first = corpus.set_index("doc_id").loc["23479819"]
    assert first["text"].startswith("Kinetics of bacterial bioluminescence and the fluorescent")
    assert "at 2°C in the presence of tetradecanal" in first["text"]  # UTF-8 degree sign
    assert "read 5 articles; skipped 0" in _log(caplog)


def test_sample_default_split_is_a_seeded_tenth(sample_dir: Path) -> None:
    first = _read(sample_dir, SAMPLE_FILE, min_label_count=None)
    again = _read(sample_dir, SAMPLE_FILE, min_label_count=None)
    assert first.equals(again)
    assert first["split"].value_counts().to_dict() == {"train": 4, "test": 1}  # 10%, at least 1
    chosen = {
        _read(sample_dir, SAMPLE_FILE, min_label_count=None, seed=seed)
        .query("split == 'test'")["doc_id"]
        .item()
        for seed in range(10)
    }
    assert len(chosen) > 1


# --- streaming: line structure, chunk boundaries, byte offsets --------------------------------

_VARIED = [
    _article("1", ["Humans", "Male"], title="Héllo wörld ° ±", abstract='Ünïcode α–ω 🧬 \\ " /'),
    _article("22", ["Female"], year="1999", abstract='tab\there, quote " and\nnewline'),
    {**_article("333", ["Aged, 80 and over"]), "extra": {"nested": [1, 2.5, None, True]}},
]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 64, 1 << 20])
@pytest.mark.parametrize(
    "layout",
    ["crlf", "lf", "one line", "indented crlf", "ascii escapes", "bom"],
)
def test_line_structure_and_chunking_do_not_matter(
    tmp_path: Path, layout: str, chunk_size: int
) -> None:
    text = {
        "crlf": _dump(_VARIED),
        "lf": _dump(_VARIED, line_break="\n"),
        "one line": _dump(_VARIED, line_break=""),
        "indented crlf": _dump(_VARIED, indent=2),
        "ascii escapes": _dump(_VARIED, ensure_ascii=True),
        "bom": "\ufeff" + _dump(_VARIED),
    }[layout]
    path = _write(tmp_path / "a.json", text)
    articles = list(iter_bioasq_articles(path, progress=False, chunk_size=chunk_size))
    assert [article.record for article in articles] == _VARIED
    raw = path.read_bytes()
    for article in articles:  # byte offsets count multi-byte characters correctly
        decoded, _ = json.JSONDecoder().raw_decode(raw[article.byte_offset :].decode())
        assert decoded == article.record


def test_latin1_files_and_byte_offsets(tmp_path: Path) -> None:
    articles = [_article("1", title="2°C, µg, é"), _article("2", abstract="ü ± ü")]
    path = _write(tmp_path / "a.json", _dump(articles), encoding="latin-1")
    read = list(iter_bioasq_articles(path, encoding="latin-1", progress=False, chunk_size=5))
    assert [article.record for article in read] == articles
    raw = path.read_bytes()
    assert all(raw[article.byte_offset : article.byte_offset + 1] == b"{" for article in read)
    assert raw.index(b'{"abstractText": "\xfc') == read[1].byte_offset


_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
_ARTICLES = st.lists(
    st.fixed_dictionaries(
        {
            "abstractText": st.one_of(st.none(), _TEXT),
            "journal": _TEXT,
            "meshMajor": st.lists(_TEXT, max_size=6),
            "pmid": st.from_regex(r"[1-9][0-9]{0,8}", fullmatch=True),
            "title": st.one_of(st.none(), _TEXT),
            "year": st.one_of(st.integers(1900, 2030).map(str), st.integers(1900, 2030)),
        }
    ),
    max_size=8,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    articles=_ARTICLES,
    line_break=st.sampled_from(["\r\n", "\n", ""]),
    indent=st.sampled_from([None, None, 1]),
    ensure_ascii=st.booleans(),
    chunk_size=st.integers(1, 97),
)
def test_round_trip(
    articles: list[dict[str, Any]],
    line_break: str,
    indent: int | None,
    ensure_ascii: bool,
    chunk_size: int,
) -> None:
    text = _dump(articles, line_break=line_break, indent=indent, ensure_ascii=ensure_ascii)
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder) / "a.json", text)
        assert _records(path, chunk_size=chunk_size) == articles


def _peak_while_iterating(path: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_bioasq_articles(path, progress=False))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_parse_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    small_size = write_synthetic_bioasq(tmp_path / "small.json", 2_500, seed=1)
    large_size = write_synthetic_bioasq(tmp_path / "large.json", 10_000, seed=2)
    assert 4 << 20 < small_size < 8 << 20 and large_size > 3.5 * small_size
    small_count, small_peak = _peak_while_iterating(tmp_path / "small.json")
    large_count, large_peak = _peak_while_iterating(tmp_path / "large.json")
    assert (small_count, large_count) == (2_500, 10_000)
    # measured: ~4.3 MiB and ~5.0 MiB (a few 1 MiB chunks: bytes, text, buffer); 200 MB: ~5.0
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)
    assert large_peak < large_size / 3, (large_peak, large_size)


def test_synthetic_file_has_the_real_shape(tmp_path: Path) -> None:
    size = write_synthetic_bioasq(tmp_path / "s.json", 300, seed=3)
    raw = (tmp_path / "s.json").read_bytes()
    assert raw.startswith(b'{"articles":[\r\n{"abstractText": ') and raw.endswith(b"]}\r\n")
    assert size == len(raw) and raw.count(b"\r\n") == 302
    records = json.loads(raw)["articles"]
    assert _records(tmp_path / "s.json") == records
    assert set(records[0]) == {"abstractText", "journal", "meshMajor", "pmid", "title", "year"}
    write_synthetic_bioasq(tmp_path / "l.json", 300, seed=3, encoding="latin-1")
    assert _records(tmp_path / "l.json", encoding="latin-1") == records
    corpus = _read(tmp_path, "s.json", min_label_count=2)
    assert corpus["split"].value_counts().to_dict() == {"train": 270, "test": 30}


def test_progress_bar_over_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "a.json", _dump(_VARIED))
    list(iter_bioasq_articles(path, progress=True))
    size = path.stat().st_size
    assert re.search(rf"a\.json: 100%.*{size}/{size} ", capsys.readouterr().err)
    list(iter_bioasq_articles(path, progress=False))
    assert capsys.readouterr().err == ""


# --- options -----------------------------------------------------------------------------------


def _by_year(years: list[int]) -> list[dict[str, Any]]:
    return [_article(str(100 + i), year=str(year)) for i, year in enumerate(years)]


def test_year_range_and_test_year(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    articles = [*_by_year([1990, 2000, 2005, 2010, 2015, 2020]), _article("999", year=None)]
    _write(tmp_path / BIOASQ_FILE, _dump(articles))
    corpus = _read(tmp_path, min_year=2000, max_year=2015, test_year=2010, min_label_count=None)
    assert corpus["doc_id"].tolist() == ["101", "102", "103", "104"]
    assert corpus["split"].tolist() == ["train", "train", "test", "test"]
    assert "year outside min_year..max_year: 2" in _log(caplog)
    assert "no year (needed by min_year/max_year/test_year): 1" in _log(caplog)
    no_filter = _read(tmp_path, min_label_count=None)  # no year needed: the yearless one stays
    assert len(no_filter) == 7 and no_filter["split"].value_counts()["test"] == 1


def test_max_docs_stops_reading(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    good = _dump(_by_year([2000, 2001, 2002, 2003]))
    broken = good.replace('"pmid": "103"', '"pmid" "103"')  # articles[3] is malformed
    _write(tmp_path / BIOASQ_FILE, broken)
    corpus = _read(tmp_path, max_docs=3, test_year=2002, min_label_count=None)
    assert corpus["doc_id"].tolist() == ["100", "101", "102"]
    assert "stopped at max_docs=3 after articles[2]" in _log(caplog)
    with pytest.raises(CorruptRawFileError, match=r"articles\[3\]"):
        _read(tmp_path, test_year=2002)


def test_min_label_count_is_counted_on_train(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    train = [_article(f"{i}", ["A", "B"], year="2000") for i in range(4)]
    train += [_article("4", ["A"], year="2000"), _article("5", ["B"], year="2000")]
    train += [_article("6", ["A", "C"], year="2000")]
    test = [_article("7", ["A", "B", "D"], year="2020"), _article("8", ["B", "D"], year="2020")]
    test += [_article(f"{9 + i}", ["D"], year="2020") for i in range(5)]
    _write(tmp_path / BIOASQ_FILE, _dump(train + test))
    corpus = _read(tmp_path, test_year=2010, min_label_count=6)
    # train counts: A 6, B 5, C 1 (D only in test, 7 times): only A is kept
    assert corpus.set_index("doc_id")["labels"].to_dict() == {
        **{str(i): ["A"] for i in (0, 1, 2, 3, 4, 6)},
        "7": ["A"],
    }
    assert corpus["split"].value_counts().to_dict() == {"train": 6, "test": 1}
    log = _log(caplog)
    assert "4 in total; min_label_count=6 on train keeps 1" in log
    assert "dropped 15 assignments (6 train / 9 test)" in log
    assert "dropped 7 documents left without a heading (1 train / 6 test)" in log
    assert skipped_records(corpus) == {"no heading left after min_label_count": 7}
    everything = _read(tmp_path, test_year=2010, min_label_count=None)
    assert len(everything) == 14 and everything["labels"].explode().nunique() == 4
    default = _read(tmp_path, test_year=2010)  # the protocol's 5: A and B
    assert set(default["labels"].explode()) == {"A", "B"}


def test_option_errors(tmp_path: Path) -> None:
    _write(tmp_path / BIOASQ_FILE, _dump(_by_year([2000, 2001])))
    with pytest.raises(ValueError, match="not both"):
        _read(tmp_path, test_fraction=0.2, test_year=2001)
    with pytest.raises(ValueError, match=r"test_fraction must lie in \(0, 1\)"):
        _read(tmp_path, test_fraction=1.0)
    with pytest.raises(ValueError, match="min_year 2001 is after max_year 2000"):
        _read(tmp_path, min_year=2001, max_year=2000)
    with pytest.raises(ValueError, match="max_docs"):
        _read(tmp_path, max_docs=0)
    with pytest.raises(ValueError, match="encoding 'utf-16' is not supported"):
        _read(tmp_path, encoding="utf-16")
    with pytest.raises(ValueError, match="encoding 'utf-16' is not supported"):
        iter_bioasq_articles(tmp_path / BIOASQ_FILE, encoding="utf-16")  # checked at the call
    with pytest.raises(FileNotFoundError):
        iter_bioasq_articles(tmp_path / "absent.json")
    with pytest.raises(CorpusError, match="no test documents"):
        _read(tmp_path, test_year=2020, min_label_count=None)
    _write(tmp_path / "one.json", _dump(_by_year([2000])))
    with pytest.raises(CorpusError, match=r"one\.json: 1 document\(s\) are too few for a test"):
        _read(tmp_path, "one.json", min_label_count=None)


# --- skipped articles --------------------------------------------------------------------------


def test_articles_without_text_or_headings_are_skipped_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    articles = [
        _article("1"),
        _article("2", title=None, abstract=None),
        _article("3", title="  ", abstract=""),
        {
            key: value
            for key, value in _article("4").items()
            if key not in {"title", "abstractText"}
        },
        _article("5", title="Only a title.", abstract=None),
        _article("6", abstract="Only an abstract.", title=None),
        {key: value for key, value in _article("7").items() if key != "meshMajor"},
        _article("8", labels=[]),
        {**_article("9"), "meshMajor": None},
        _article("1", abstract="A repeated pmid."),
        _article("10", labels=["X", "X", "", "Y"], year="2020"),
    ]
    _write(tmp_path / BIOASQ_FILE, _dump(articles))
    corpus = _read(tmp_path, test_year=2020, min_label_count=None)
    assert corpus.set_index("doc_id")["text"].to_dict() == {
        "1": "A title. An abstract.",
        "5": "Only a title.",
        "6": "Only an abstract.",
        "10": "A title. An abstract.",
    }
    assert corpus.set_index("doc_id").loc["10", "labels"] == ["X", "Y"]
    log = _log(caplog)
    assert "read 11 articles; skipped 7" in log
    assert "no title or abstractText: 3" in log
    assert "no meshMajor headings: 3" in log
    assert "duplicate pmid (first occurrence kept): 1" in log
    assert "removed 2 empty or repeated headings" in log
    assert skipped_records(corpus) == {
        "no title or abstractText": 3,
        "no meshMajor headings": 3,
        "duplicate pmid (first occurrence kept)": 1,
    }


# --- broken input ------------------------------------------------------------------------------


def _three(tmp_path: Path) -> tuple[Path, str, list[int]]:
    text = _dump([_article("1"), _article("2", ["Female", "Male"], year="2001"), _article("3")])
    path = _write(tmp_path / BIOASQ_FILE, text)
    return path, text, [m.start() for m in re.finditer(r'\{"abstractText"', text)]


@pytest.mark.parametrize(
    "cut_after",
    [
        '{"abstractText": "An abs',
        '"meshMajor": [',
        '"Female", "Ma',
        '"year": "20',
        '"year": "2001"',
    ],
)
def test_truncated_file_names_the_article(tmp_path: Path, cut_after: str) -> None:
    path, text, starts = _three(tmp_path)
    cut = text.index(cut_after, starts[1]) + len(cut_after)
    _write(path, text[:cut])
    with pytest.raises(CorruptRawFileError) as caught:
        _records(path, chunk_size=16)
    message = str(caught.value)
    # articles[1] is on line 3 (line 1 is '{"articles":['), and so is the cut
    assert message.startswith(f"{path}: line 3, byte offset {cut} (the end of the file): ")
    assert (
        f"the file ends inside articles[1] (starting at line 3, byte offset {starts[1]})" in message
    )
    assert f"the file has {cut} bytes; truncated file?" in message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"articles":[\r\n', r"the file ends before the '\]' closing|ends inside articles\[0\]"),
        ('{"articles":[{"pmid": "1"},', r"ends inside articles\[1\]"),
        ('{"articles":[{"pmid": "1"}', r"the file ends after articles\[0\], before ',' or '\]'"),
        ('{"articles":[{"pmid": "1"}]', r"the file ends before the '\}' closing the top-level"),
        ('{"articles"', r"the file ends before the ':' after the key"),
    ],
)
def test_truncated_structure(tmp_path: Path, text: str, problem: str) -> None:
    path = _write(tmp_path / "a.json", text)
    with pytest.raises(CorruptRawFileError, match=problem):
        _records(path)


def test_malformed_json_names_article_and_byte_offset(tmp_path: Path) -> None:
    path, text, starts = _three(tmp_path)
    broken = text[: starts[1]] + text[starts[1] :].replace('"title":', '"title"', 1)
    _write(path, broken)
    error_at = broken.index('"title" ', starts[1]) + len('"title" ')
    for chunk_size in (8, 1 << 20):
        with pytest.raises(CorruptRawFileError) as caught:
            _records(path, chunk_size=chunk_size)
        assert str(caught.value) == (
            f"{path}: line 3, byte offset {error_at}: articles[1] (starting at line 3, byte "
            f"offset {starts[1]}) is not valid JSON: Expecting ':' delimiter"
        )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"articles":[{"pmid": "1"} {"pmid": "2"}]}', r"expected ',' or '\]' after articles\[0\]"),
        ('{"articles":[{"pmid": "1"},]}', r"a trailing comma after articles\[0\]"),
        ('{"articles":[{"pmid": "1"}]} {"more": 1}', "unexpected data after the top-level"),
        ('{"articles":[{"pmid": "1"}]]', r"expected '\}' closing the top-level object"),
        ('{"articles":[{"pmid": nul }]}', r"articles\[0\] .* is not valid JSON: Expecting value"),
    ],
)
def test_malformed_structure(tmp_path: Path, text: str, problem: str) -> None:
    path = _write(tmp_path / "a.json", text)
    with pytest.raises(CorruptRawFileError, match=problem):
        _records(path, chunk_size=4)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", r"the file is empty \(0 bytes\); expected \{\"articles\": \["),
        (" \r\n\t", r"the file holds only whitespace \(4 bytes\)"),
        ('[{"pmid": "1"}]', r"line 1, byte offset 0: expected '\{' opening the top-level object"),
        ('{"documents": []}', r"line 1, byte offset 1: the top-level key is 'documents'"),
        ('{"articles": {"pmid": "1"}}', r"line 1, byte offset 13: expected '\[' opening the \"art"),
        (
            '{"articles": [1]}',
            r"articles\[0\] \(starting at line 1, byte offset 14\) is a JSON number",
        ),
        (
            '{"articles": [["x"]]}',
            r"articles\[0\] \(starting at line 1, byte offset 14\) is a JSON ar",
        ),
        ("{ 12: []}", r"byte offset 2: expected the key \"articles\""),
        ('"articles"', r"expected '\{' opening the top-level object, found '\"articles\"'"),
    ],
)
def test_top_level_must_be_an_articles_object(tmp_path: Path, text: str, problem: str) -> None:
    path = _write(tmp_path / "a.json", text)
    with pytest.raises(CorruptRawFileError, match=problem):
        _records(path)


def test_empty_articles_array(tmp_path: Path) -> None:
    path = _write(tmp_path / BIOASQ_FILE, '{"articles": [ ]}\r\n')
    assert _records(path) == []
    with pytest.raises(CorpusError, match="no usable article among 0 read"):
        _read(tmp_path)


def test_wrong_encoding_names_the_byte_offset(tmp_path: Path) -> None:
    articles = [_article("1"), _article("2", title="Reaction at 2°C.")]
    path = _write(tmp_path / "a.json", _dump(articles), encoding="latin-1")
    offset = path.read_bytes().index(b"\xb0")
    for chunk_size in (1, 3, 1 << 20):
        with pytest.raises(CorruptRawFileError) as caught:
            _records(path, chunk_size=chunk_size)
        message = str(caught.value)
        # the degree sign is in articles[1], on line 3
        assert (
            f"{path}: line 3, byte offset {offset}: not valid utf-8 (invalid start byte" in message
        )
        assert "pass encoding='latin-1'" in message
    assert _records(path, encoding="latin-1") == articles
    utf16 = _write(tmp_path / "b.json", _dump(articles), encoding="utf-16")
    with pytest.raises(CorruptRawFileError, match=r"line 1, byte offset 0: not valid utf-8"):
        _records(utf16)
    cut = _write(tmp_path / "c.json", '{"articles": [{"pmid": "°'.encode()[:-1])
    with pytest.raises(
        CorruptRawFileError, match=r"line 1, byte offset 24: not valid utf-8 \(unexpected end"
    ):
        _records(cut)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"pmid": None}, r"\(pmid None\): no 'pmid'"),
        ({"pmid": ""}, r"no 'pmid'"),
        ({"title": 12}, r"'title' is a JSON number, expected a string"),
        ({"abstractText": ["a"]}, r"'abstractText' is a JSON array, expected a string"),
        ({"meshMajor": "Humans"}, r"'meshMajor' must be a list of strings"),
        ({"meshMajor": ["Humans", 3]}, r"'meshMajor' must be a list of strings"),
        ({"year": "about 2013"}, r"'year' is 'about 2013', expected a year"),
    ],
)
def test_wrong_field_types_raise(tmp_path: Path, change: dict[str, Any], problem: str) -> None:
    text = _dump([_article("1"), {**_article("2"), **change}])
    _write(tmp_path / BIOASQ_FILE, text)
    offset = text.index('{"abstractText"', 1 + text.index('{"abstractText"'))
    line_3 = rf"articles\[1\] \(starting at line 3, byte offset {offset}\) \(pmid"
    with pytest.raises(CorruptRawFileError, match=line_3):
        _read(tmp_path)
    with pytest.raises(CorruptRawFileError, match=problem):
        _read(tmp_path)


def test_integer_pmid_and_year_are_accepted(tmp_path: Path) -> None:
    articles = [{**_article("x"), "pmid": 123, "year": 2000}, {**_article("y"), "pmid": 45}]
    _write(tmp_path / BIOASQ_FILE, _dump(articles))
    corpus = _read(tmp_path, test_fraction=0.5, min_label_count=None)
    assert sorted(corpus["doc_id"]) == ["123", "45"]


def test_an_unterminated_string_is_bounded(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.json", '{"articles": [{"pmid": "1", "title": "' + "x" * 5000)
    with pytest.raises(CorruptRawFileError, match=r"does not end within 1000 characters"):
        _records(path, chunk_size=64, max_article_chars=1000)
    with pytest.raises(CorruptRawFileError, match=r"ends inside articles\[0\]"):
        _records(path, chunk_size=64)


# --- acquisition -------------------------------------------------------------------------------


def test_missing_data_says_registration_is_required(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LONGTAIL_MLTC_MIRROR", raising=False)
    assert BIOASQ.name == "bioasq" and BIOASQ.download is None
    assert BIOASQ.expected_files == (BIOASQ_FILE,)
    with pytest.raises(RawDataNotFoundError) as caught:
        locate_raw_dir(
            BIOASQ.name,
            BIOASQ.expected_files,
            raw_root=tmp_path / "raw",
            mirror=tmp_path / "mirror",
            mirror_folder=BIOASQ.mirror_folder,
            download=BIOASQ.download,
            allow_download=True,
            download_note=BIOASQ.download_note,
        )
    message = str(caught.value)
    assert "Expected files: allMeSH.json" in message
    assert "no public download address is registered" in message
    assert "registration at https://participants-area.bioasq.org" in message
    with pytest.raises(RawDataNotFoundError, match="participants-area.bioasq.org"):
        read_bioasq(tmp_path)
    (tmp_path / "raw" / "bioasq").mkdir(parents=True)
    _write(tmp_path / "raw" / "bioasq" / BIOASQ_FILE, _dump(_by_year([2000, 2001])))
    found = locate_raw_dir(
        BIOASQ.name, BIOASQ.expected_files, raw_root=tmp_path / "raw", mirror=tmp_path / "m"
    )
    assert found == tmp_path / "raw" / "bioasq"
    assert len(BIOASQ.read(found, test_year=2001, min_label_count=None)) == 2


# --- text fields are Unicode text, nesting is bounded (issue 20, item 4) ------------------------

LONE_SURROGATE = "\ud800"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"abstractText": f"An abs{LONE_SURROGATE}tract."}, '"abstractText"'),
        ({"title": f"{LONE_SURROGATE} title"}, '"title"'),
        ({"pmid": f"2{LONE_SURROGATE}"}, '"pmid"'),
        ({"meshMajor": ["Humans", f"Mice{LONE_SURROGATE}"]}, r'"meshMajor\[2\]"'),
    ],
)
def test_lone_surrogate_names_file_article_and_field(
    tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    # json.dumps writes the surrogate as the escape "\ud800", which json.loads accepts.
    text = _dump([_article("1"), {**_article("2"), **change}, _article("3")], ensure_ascii=True)
    assert "\\ud800" in text
    path = _write(tmp_path / BIOASQ_FILE, text)
    offset = text.index('{"abstractText"', 1 + text.index('{"abstractText"'))
    with pytest.raises(CorruptRawFileError) as raised:
        _read(tmp_path, min_label_count=None)
    assert re.search(
        rf"^{re.escape(str(path))}: articles\[1\] \(starting at line 3, byte offset {offset}\), "
        rf"field {field}: lone "
        r"surrogate \\ud800 \(at character \d+\) is not valid Unicode text",
        str(raised.value),
    ), str(raised.value)


_VALID_TEXT = st.text(min_size=1, max_size=30).filter(lambda text: text.strip())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    abstract=_VALID_TEXT,
    surrogate=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
    position=st.integers(0, 30),
)
def test_any_lone_surrogate_is_refused_and_any_text_round_trips(
    abstract: str, surrogate: str, position: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        articles = [_article("1", abstract=abstract), _article("2")]
        _write(Path(folder) / BIOASQ_FILE, _dump(articles, ensure_ascii=True))
        corpus = _read(Path(folder), test_fraction=0.5, min_label_count=None)
        assert corpus.set_index("doc_id").loc["1", "text"] == f"A title. {abstract.strip()}"
        broken = abstract[:position] + surrogate + abstract[position:]
        articles[0] = _article("1", abstract=broken)
        _write(Path(folder) / BIOASQ_FILE, _dump(articles, ensure_ascii=True))
        with pytest.raises(CorruptRawFileError, match=r'articles\[0\] .*field "abstractText"'):
            _read(Path(folder), test_fraction=0.5, min_label_count=None)


def _nested(depth: int) -> str:
    return "[" * depth + '"Humans"' + "]" * depth


def test_deeply_nested_mesh_is_refused_naming_the_article(tmp_path: Path) -> None:
    """100,000 levels: the parser itself would raise RecursionError."""
    text = _dump([_article("1"), _article("2")]).replace(
        '"meshMajor": ["Humans"]', '"meshMajor": ' + _nested(100_000), 1
    )
    path = _write(tmp_path / BIOASQ_FILE, text)
    with pytest.raises(
        CorruptRawFileError,
        match=rf"^{re.escape(str(path))}: articles\[0\] \(starting at line 2, byte offset 15\): "
        r"JSON "
        r"nested deeper than 100 levels",
    ):
        _read(tmp_path)


@pytest.mark.parametrize("chunk_size", [7, 1 << 20])
def test_nesting_limit_is_exact(tmp_path: Path, chunk_size: int) -> None:
    """The article object is level 1: an ignored field nested 99 deep is read, 100 is refused."""
    for depth, accepted in ((99, True), (100, False)):
        text = _dump([_article("1"), _article("2")]).replace(
            '"journal": "J"', f'"journal": {_nested(depth)}', 1
        )
        path = _write(tmp_path / "a.json", text)
        if accepted:
            assert len(_records(path, chunk_size=chunk_size)) == 2
        else:
            with pytest.raises(
                CorruptRawFileError,
                match=r"articles\[0\] \(starting at line 2, byte offset 15\): JSON nested deeper "
                r"than 100 levels \(101 levels\)",
            ):
                _records(path, chunk_size=chunk_size)


# --- one numbering convention, one seeded split, small modules (issue 21, items 7 and 10) -------


def test_errors_name_the_physical_line_of_a_pretty_printed_file(tmp_path: Path) -> None:
    """BOM, multi-byte characters and CRLF: the line is the editor's line, the offset in bytes."""
    articles = [_article("1", title="2°C, µg, é"), _article("2")]
    text = "\ufeff" + _dump(articles, indent=2)
    broken = text.replace('"year": "2013"', '"year" "2013"')
    broken = broken.replace('"year" "2013"', '"year": "2013"', 1)  # only articles[1] broken
    path = _write(tmp_path / "a.json", broken)
    lines = broken.split("\r\n")
    error_line = next(i for i, line in enumerate(lines, 1) if '"year" "2013"' in line)
    start_line = [i for i, line in enumerate(lines, 1) if line == "    {"][1]
    assert start_line < error_line  # the article spans lines: both are named
    error_at = len(broken[: broken.index('"year" "2013"') + len('"year" ')].encode())
    start_at = len(broken[: broken.index("    {", broken.index('"pmid": "1"')) + 4].encode())
    with pytest.raises(CorruptRawFileError) as caught:
        _records(path, chunk_size=5)
    assert str(caught.value) == (
        f"{path}: line {error_line}, byte offset {error_at}: articles[1] (starting at line "
        f"{start_line}, byte offset {start_at}) is not valid JSON: Expecting ':' delimiter"
    )
    _write(path, text.replace('"title": "2°C', '"title": 12, "x": "2°C'))
    with pytest.raises(CorruptRawFileError) as caught:
        _read(tmp_path, "a.json")
    first_start = len(text[: text.index("    {") + 4].encode())  # articles[0], line 3
    assert str(caught.value).startswith(
        f"{path}: articles[0] (starting at line 3, byte offset {first_start}) (pmid '1'): "
        "'title' is a JSON number"
    )


def test_fraction_split_is_seeded_test_mask_and_unchanged(tmp_path: Path) -> None:
    """The shared draw (sorted pmids, default_rng(seed).permutation) is the one the reader
    always used: the test pmids below were drawn by the reader before it used splits.py."""
    pmids = [str(n) for n in (907, 13, 5521, 240, 77, 3018, 660, 41, 1999, 305, 8, 4470)]
    _write(tmp_path / BIOASQ_FILE, _dump([_article(pmid) for pmid in pmids]))
    corpus = _read(tmp_path, test_fraction=0.25, seed=7, min_label_count=None)
    assert corpus["doc_id"].tolist() == pmids
    expected = seeded_test_mask(pmids, 0.25, 7, where="x")
    assert (corpus["split"] == "test").tolist() == expected.tolist()
    assert sorted(corpus.query("split == 'test'")["doc_id"]) == ["305", "4470", "8"]


def test_bioasq_modules_are_small() -> None:
    folder = Path(bioasq_module.__file__).parent
    sizes = {
        module.name: len(module.read_text(encoding="utf-8").splitlines())
        for module in folder.glob("bioasq*.py")
    }
    assert len(sizes) == 4 and max(sizes.values()) <= 420, sizes
