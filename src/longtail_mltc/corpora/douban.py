"""Readers for the Chinese Douban corpora -> the canonical Corpus table (``lang`` "zh").

- ``douban_movies``: movie plot summaries with their genres (CSV; DESIGN "The canonical Corpus").
- ``imcm``: the IMCM protocol (METHODS §2.1) on Douban book records in THUTag's JSON-lines
  format (book description ``content`` + reader ``tags``). The IMCM corpus itself is not
  available offline; the mirror holds THUTag's 100-book format sample, read with the same rules.

The ``imcm`` reader lives in :mod:`~longtail_mltc.corpora.imcm` and what both share in
:mod:`~longtail_mltc.corpora.douban_corpus`; every public name is re-exported here. Both read
through the shared line reader (:func:`longtail_mltc.corpora.lines.utf8_lines`) and raise
:class:`CorruptRawFileError` naming the file, the 1-based physical line (docs/corpora.md "Record
numbers"; a multi-line CSV record by its first line) and what was expected; records without
text or without labels are skipped, counted by reason, logged (logger
``longtail_mltc.corpora.douban``) and attached to the table with
:func:`~longtail_mltc.corpora.report.record_skips`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from longtail_mltc.corpora import lines
from longtail_mltc.corpora.douban_corpus import (
    DEFAULT_SEED,
    DOUBAN_TEXT,
    DoubanRecord,
    build_corpus,
    require_file,
)
from longtail_mltc.corpora.errors import CorruptRawFileError
from longtail_mltc.corpora.imcm import (
    IMCM,
    IMCM_DOWNLOAD_NOTE,
    IMCM_FILES,
    IMCM_MIN_WORDS,
    IMCM_TEST_FRACTION,
    IMCM_VALIDATION_FRACTION,
    IMCM_VOCABULARY_SIZE,
    read_imcm,
)
from longtail_mltc.corpora.registry import CorpusSource

__all__ = [
    "DEFAULT_SEED",
    "DOUBAN_MOVIES",
    "DOUBAN_MOVIES_FILES",
    "DOUBAN_MOVIES_TEST_FRACTION",
    "IMCM",
    "IMCM_DOWNLOAD_NOTE",
    "IMCM_FILES",
    "IMCM_MIN_WORDS",
    "IMCM_TEST_FRACTION",
    "IMCM_VALIDATION_FRACTION",
    "IMCM_VOCABULARY_SIZE",
    "read_douban_movies",
    "read_imcm",
    "split_genres",
]

DOUBAN_MOVIES_FILES: tuple[str, ...] = ("douban_all_movies.csv",)
DOUBAN_MOVIES_TEST_FRACTION = 0.2
"""No released split: a seeded 20% of the movies is the test split (about 410 documents, so
even the rarest genres, 7 movies each, are expected to reach the test split)."""

# Genres are "剧情, 喜剧": split on ASCII or full-width commas, "/" and the enumeration comma "、",
# each with optional surrounding whitespace.
_GENRE_SEPARATORS = re.compile(r"\s*[,，/、]\s*")

_MOVIE_COLUMNS = {"doc_id": "movie_id", "text": "summary", "labels": "genres"}


# --- douban_movies ------------------------------------------------------------------------------


def read_douban_movies(
    raw_dir: Path | str,
    *,
    test_fraction: float = DOUBAN_MOVIES_TEST_FRACTION,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """Read ``douban_all_movies.csv`` (UTF-8, optional BOM, header) into the Corpus table.

    ``doc_id`` = ``movie_id``, ``text`` = ``summary`` (stripped), ``labels`` = ``genres`` split
    by :func:`split_genres`, ``lang`` = "zh". Movies without summary or without genre are
    skipped (counted by reason in the log). There is no released split: ``test_fraction`` of
    the movies (rounded half up) are drawn as test with ``numpy.random.default_rng(seed)``
    over the sorted ids, so the split depends only on the ids and ``seed``.

    On the mirror: 2,065 movies, 16 skipped (13 without summary and genre, 2 without summary,
    1 without genre), 2,049 kept with 28 genres, 5,422 genre assignments (2.65 per movie),
    largest 剧情 1,100, smallest 纪录片 and 短片 7 each. (SOURCES.txt's 2.63 per movie and 1,101
    剧情 count all 2,065 rows, including the skipped ones.)
    """
    path = require_file(Path(raw_dir), DOUBAN_MOVIES_FILES[0], "douban_movies")
    records = list(_movie_records(path))
    return build_corpus("douban_movies", path, records, test_fraction=test_fraction, seed=seed)


def split_genres(cell: str) -> list[str]:
    """``"剧情, 喜剧"`` → ``["剧情", "喜剧"]``: split on ``,``, ``，``, ``/`` or ``、`` with
    optional spaces around; empty pieces dropped, duplicates dropped keeping first positions."""
    return list(dict.fromkeys(piece for piece in _GENRE_SEPARATORS.split(cell.strip()) if piece))


def _movie_records(path: Path) -> Iterator[DoubanRecord]:
    numbered = lines.utf8_lines(path, expected=DOUBAN_TEXT, gzip_ok=False, keep_ends=True)
    reader = csv.reader((line for _, line in numbered), strict=True)
    header = _csv_row(reader, path)
    while header == []:  # blank lines before the header
        header = _csv_row(reader, path)
    if header is None:
        raise CorruptRawFileError(
            f"{path}: the file is empty; expected a CSV header naming the columns "
            f"{', '.join(_MOVIE_COLUMNS.values())}, then one movie per row"
        )
    columns = {name.strip(): index for index, name in enumerate(header)}
    missing = [name for name in _MOVIE_COLUMNS.values() if name not in columns]
    if missing or len(columns) != len(header):
        raise CorruptRawFileError(
            f"{path}: line {reader.line_num}: the header {header!r} lacks column(s) {missing} "
            f"or repeats a column; expected the columns {', '.join(_MOVIE_COLUMNS.values())}"
        )
    index = {field: columns[name] for field, name in _MOVIE_COLUMNS.items()}
    n_records = 0
    while True:
        first_line = reader.line_num + 1
        row = _csv_row(reader, path)
        if row is None:
            break
        if not row:  # a blank line
            continue
        n_records += 1
        where = f"{path}: line {first_line}"
        if len(row) != len(header):
            raise CorruptRawFileError(
                f"{where}: {len(row)} fields, expected {len(header)} as in the header "
                "(unquoted comma or newline inside a field?)"
            )
        doc_id = row[index["doc_id"]].strip()
        if not doc_id:
            raise CorruptRawFileError(f"{where}: empty movie_id; expected a Douban movie id")
        yield DoubanRecord(
            first_line,
            doc_id,
            row[index["text"]].strip(),
            tuple(split_genres(row[index["labels"]])),
        )
    if n_records == 0:
        raise CorruptRawFileError(f"{path}: a header but no records; expected one movie per row")


def _csv_row(reader: Iterator[list[str]], path: Path) -> list[str] | None:
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as error:
        line = reader.line_num  # type: ignore[attr-defined]
        raise CorruptRawFileError(
            f"{path}: line {line}: malformed CSV ({error}); expected comma-separated fields, "
            'quoted with " where they hold commas, quotes or newlines'
        ) from None


DOUBAN_MOVIES = CorpusSource(
    name="douban_movies",
    reader=read_douban_movies,
    expected_files=DOUBAN_MOVIES_FILES,
)
