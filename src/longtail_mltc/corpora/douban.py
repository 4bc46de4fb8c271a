"""Readers for the Chinese Douban corpora -> the canonical Corpus table (``lang`` "zh").

- ``douban_movies``: movie plot summaries with their genres (CSV; DESIGN "The canonical Corpus").
- ``imcm``: the IMCM protocol (METHODS §2.1) on Douban book records in THUTag's JSON-lines
  format (book description ``content`` + reader ``tags``). The IMCM corpus itself is not
  available offline; the mirror holds THUTag's 100-book format sample, read with the same rules.

Both raise :class:`CorruptRawFileError` naming the file, the line (and record or byte offset)
and what was expected; records without text or without labels are skipped, counted by reason,
logged (logger ``longtail_mltc.corpora.douban``) and attached to the table with
:func:`~longtail_mltc.corpora.report.record_skips`.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from longtail_mltc.corpora.errors import CorpusError, CorruptRawFileError, RawDataNotFoundError
from longtail_mltc.corpora.registry import CorpusSource
from longtail_mltc.corpora.report import record_skips
from longtail_mltc.corpora.schema import corpus_frame, validate_corpus
from longtail_mltc.corpora.validation import check_text, check_texts, parse_json
from longtail_mltc.text.chinese import segment_corpus

__all__ = [
    "DEFAULT_SEED",
    "DOUBAN_MOVIES",
    "DOUBAN_MOVIES_FILES",
    "DOUBAN_MOVIES_TEST_FRACTION",
    "IMCM",
    "IMCM_FILES",
    "IMCM_MIN_WORDS",
    "IMCM_TEST_FRACTION",
    "IMCM_VALIDATION_FRACTION",
    "IMCM_VOCABULARY_SIZE",
    "read_douban_movies",
    "read_imcm",
    "split_genres",
]

logger = logging.getLogger(__name__)

DOUBAN_MOVIES_FILES: tuple[str, ...] = ("douban_all_movies.csv",)
DOUBAN_MOVIES_TEST_FRACTION = 0.2
"""No released split: a seeded 20% of the movies is the test split (about 410 documents, so
even the rarest genres, 7 movies each, are expected to reach the test split)."""

IMCM_FILES: tuple[str, ...] = ("post.dat",)
IMCM_MIN_WORDS = 50
IMCM_TEST_FRACTION = 0.1
IMCM_VALIDATION_FRACTION = 1 / 9
"""METHODS §2.1 "seeded 80/10/10": the reader holds out 10% as test and keeps 90% as train; the
features node's validation fraction of 1/9 of train then gives 80/10/10 of the corpus."""
IMCM_VOCABULARY_SIZE = 60_000
"""METHODS §2.1: the 60,000 most frequent tokens plus PAD and UNK (``features.vocabulary``)."""

DEFAULT_SEED = 42
"""Seed of the readers' test draws when none is given (the project's default seed)."""

# Genres are "剧情, 喜剧": split on ASCII or full-width commas, "/" and the enumeration comma "、",
# each with optional surrounding whitespace.
_GENRE_SEPARATORS = re.compile(r"\s*[,，/、]\s*")

_MOVIE_COLUMNS = {"doc_id": "movie_id", "text": "summary", "labels": "genres"}
_RELEASED_SPLITS = {"train": "train", "valid": "train", "test": "test"}


@dataclass(frozen=True)
class _Record:
    """One raw record: where it was (for messages), its id, text, labels and released split."""

    line: int
    doc_id: str
    text: str
    labels: tuple[str, ...]
    split: str | None = None


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
    path = _require_file(Path(raw_dir), DOUBAN_MOVIES_FILES[0], "douban_movies")
    records = list(_movie_records(path))
    return _corpus(
        "douban_movies",
        path,
        records,
        test_fraction=test_fraction,
        seed=seed,
        drop_short=None,
    )


def split_genres(cell: str) -> list[str]:
    """``"剧情, 喜剧"`` → ``["剧情", "喜剧"]``: split on ``,``, ``，``, ``/`` or ``、`` with
    optional spaces around; empty pieces dropped, duplicates dropped keeping first positions."""
    return list(dict.fromkeys(piece for piece in _GENRE_SEPARATORS.split(cell.strip()) if piece))


def _movie_records(path: Path) -> Iterator[_Record]:
    lines = _utf8_lines(path)
    reader = csv.reader((line for _, line in lines), strict=True)
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
    number = 0
    while True:
        first_line = reader.line_num + 1
        row = _csv_row(reader, path)
        if row is None:
            break
        if not row:  # a blank line
            continue
        number += 1
        where = f"{path}: record {number} (line {first_line})"
        if len(row) != len(header):
            raise CorruptRawFileError(
                f"{where}: {len(row)} fields, expected {len(header)} as in the header "
                "(unquoted comma or newline inside a field?)"
            )
        doc_id = row[index["doc_id"]].strip()
        if not doc_id:
            raise CorruptRawFileError(f"{where}: empty movie_id; expected a Douban movie id")
        yield _Record(
            first_line,
            doc_id,
            row[index["text"]].strip(),
            tuple(split_genres(row[index["labels"]])),
        )
    if number == 0:
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


# --- imcm ---------------------------------------------------------------------------------------


def read_imcm(
    raw_dir: Path | str,
    *,
    min_words: int = IMCM_MIN_WORDS,
    test_fraction: float = IMCM_TEST_FRACTION,
    seed: int = DEFAULT_SEED,
    max_labels: int | None = None,
    workers: int = 1,
    cache_dir: Path | str | None = None,
    segmented_text: bool = False,
) -> pd.DataFrame:
    """Read Douban book records (``post.dat``, JSON lines) with the IMCM protocol (METHODS §2.1).

    Each line is one JSON object: ``id`` (str or int) → ``doc_id``; ``content`` (the book
    description) → ``text``; ``tags`` (list of str) → ``labels`` (stripped, empty and repeated
    tags dropped). THUTag's full-set field ``doubanTags`` (``{tag: count}``) is read as the tag
    list when ``tags`` is absent. Other fields are ignored; blank lines are allowed.

    Protocol, in order: records without text or without tags are skipped; the texts are
    segmented with jieba (:func:`~longtail_mltc.text.chinese.segment_corpus`, no domain
    dictionary; ``workers`` processes, cached in ``cache_dir`` when given) and documents with
    fewer than ``min_words`` words (jieba tokens with a letter or digit: punctuation and
    whitespace do not count) are dropped; with ``max_labels``, only the ``max_labels`` tags on
    most documents are kept (ties by tag) and documents left without one are dropped (IMCM has
    158 labels; its selection rule is not published with the data). Every drop is counted.

    Split: the released split when every record carries ``"split"`` ("train", "valid" or
    "test"; "valid" joins train, as the Corpus contract has train/test only and validation is
    carved later), else a seeded ``test_fraction`` (default 10%) as test, drawn like
    :func:`read_douban_movies`. With the features node's validation fraction
    :data:`IMCM_VALIDATION_FRACTION` (1/9 of train) that is METHODS' 80/10/10.

    ``text`` is the description as published; ``segmented_text=True`` stores the jieba tokens
    joined by spaces instead (then tokenise with "whitespace", not again with jieba).
    On the mirror's 100-book sample: 1 record without text, 14 with fewer than 50 words,
    85 documents kept (76 train / 9 test with the defaults).
    """
    if isinstance(min_words, bool) or not isinstance(min_words, int) or min_words < 0:
        raise ValueError(f"min_words must be a non-negative int, got {min_words!r}")
    if max_labels is not None and (
        isinstance(max_labels, bool) or not isinstance(max_labels, int) or max_labels < 1
    ):
        raise ValueError(f"max_labels must be a positive int or None, got {max_labels!r}")
    path = _require_file(Path(raw_dir), IMCM_FILES[0], "imcm")
    records = list(_book_records(path))
    _check_released_split(path, records)
    return _corpus(
        "imcm",
        path,
        records,
        test_fraction=test_fraction,
        seed=seed,
        drop_short=_ShortDrop(min_words, workers, cache_dir, segmented_text),
        max_labels=max_labels,
    )


def _book_records(path: Path) -> Iterator[_Record]:
    expected = 'expected one JSON object per line like {"id": ..., "content": ..., "tags": [...]}'
    n_records = 0
    for number, line in _utf8_lines(path):
        if not line.strip():
            continue
        n_records += 1
        try:
            record = parse_json(line, f"{path}: line {number}")
        except json.JSONDecodeError as error:
            raise CorruptRawFileError(
                f"{path}: line {number}: invalid JSON at column {error.colno} ({error.msg}; "
                f"truncated line?); {expected}"
            ) from None
        if not isinstance(record, dict):
            raise CorruptRawFileError(
                f"{path}: line {number}: a JSON {type(record).__name__}; {expected}"
            )
        yield _book_record(path, number, record)
    if n_records == 0:
        raise CorruptRawFileError(f"{path}: the file is empty (no JSON records); {expected}")


def _book_record(path: Path, number: int, record: Mapping[str, object]) -> _Record:
    where = f"{path}: line {number}"
    doc_id = record.get("id")
    if isinstance(doc_id, bool) or not isinstance(doc_id, str | int) or str(doc_id).strip() == "":
        raise CorruptRawFileError(f"{where}: 'id' is {doc_id!r}; expected a non-empty str or int")
    if isinstance(doc_id, str):
        check_text(doc_id, where, "id")
    text = record.get("content")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise CorruptRawFileError(
            f"{where} (id {doc_id}): 'content' is a {type(text).__name__}; expected a str"
        )
    check_text(text, f"{where} (id {doc_id})", "content")
    tags = record["tags"] if "tags" in record else record.get("doubanTags")
    if tags is None:
        tags = []
    if isinstance(tags, Mapping):
        tags = list(tags)
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise CorruptRawFileError(
            f"{where} (id {doc_id}): 'tags' is {tags!r:.60}; expected a list of str"
        )
    check_texts(tags, f"{where} (id {doc_id})", "tags" if "tags" in record else "doubanTags")
    split = record.get("split")
    if split is not None and split not in _RELEASED_SPLITS:
        raise CorruptRawFileError(
            f"{where} (id {doc_id}): 'split' is {split!r}; expected one of "
            f"{sorted(_RELEASED_SPLITS)} or no 'split' field"
        )
    labels = tuple(dict.fromkeys(tag.strip() for tag in tags if tag.strip()))
    return _Record(number, str(doc_id).strip(), text.strip(), labels, split)


def _check_released_split(path: Path, records: list[_Record]) -> None:
    with_split = [record for record in records if record.split is not None]
    if with_split and len(with_split) != len(records):
        first = next(record for record in records if record.split is None)
        raise CorruptRawFileError(
            f"{path}: line {first.line} (id {first.doc_id}): no 'split' field, while "
            f"{len(with_split)} of the {len(records)} records carry one; expected a released "
            "split on every record or on none"
        )


@dataclass(frozen=True)
class _ShortDrop:
    """The IMCM word-count rule and how to segment for it."""

    min_words: int
    workers: int
    cache_dir: Path | str | None
    segmented_text: bool


# --- shared -------------------------------------------------------------------------------------


def _require_file(raw_dir: Path, name: str, corpus: str) -> Path:
    path = raw_dir / name
    if not path.is_file():
        raise RawDataNotFoundError(f"{corpus} folder {raw_dir} lacks the file {name}")
    return path


def _utf8_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, decoded line with its ending), streamed; a leading BOM dropped.

    Lines are split on b"\\n" before decoding, which is safe in UTF-8 (the byte never occurs
    inside a multi-byte character), so an invalid byte is reported with its line and offset.
    """
    offset = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                bad = raw[error.start : error.end]
                raise CorruptRawFileError(
                    f"{path}: line {number} (byte offset {offset + error.start}): invalid UTF-8 "
                    f"byte(s) {bad!r} ({error.reason}); expected a UTF-8 file (GBK or GB18030 "
                    "text must be converted to UTF-8 first)"
                ) from None
            if number == 1 and line.startswith("\ufeff"):
                line = line[1:]
            offset += len(raw)
            yield number, line


def _corpus(
    name: str,
    path: Path,
    records: list[_Record],
    *,
    test_fraction: float,
    seed: int,
    drop_short: _ShortDrop | None,
    max_labels: int | None = None,
) -> pd.DataFrame:
    _check_unique_ids(path, records)
    skipped: Counter[str] = Counter()
    kept: list[_Record] = []
    for record in records:
        if not record.text and not record.labels:
            skipped["no text and no labels"] += 1
        elif not record.text:
            skipped["no text"] += 1
        elif not record.labels:
            skipped["no labels"] += 1
        else:
            kept.append(record)
    if drop_short is not None:
        kept = _drop_short(kept, drop_short, skipped)
    if max_labels is not None:
        kept = _keep_top_labels(kept, max_labels, skipped)
    _log_skipped(name, path, len(records), len(kept), skipped)
    if not kept:
        raise CorpusError(f"{path}: all {len(records)} records were skipped ({dict(skipped)})")
    splits = _splits(name, path, kept, test_fraction, seed)
    corpus = corpus_frame(
        [r.doc_id for r in kept], [r.text for r in kept], [r.labels for r in kept], splits, "zh"
    )
    logger.info(
        "%s: %d train / %d test documents, %d labels",
        name,
        splits.count("train"),
        splits.count("test"),
        len({label for record in kept for label in record.labels}),
    )
    # The skip counts travel with the table (the ingestion report reads them).
    return record_skips(validate_corpus(corpus, f"corpus {name!r} from {path}"), skipped)


def _check_unique_ids(path: Path, records: list[_Record]) -> None:
    first_line: dict[str, int] = {}
    for record in records:
        if record.doc_id in first_line:
            raise CorruptRawFileError(
                f"{path}: line {record.line}: id {record.doc_id!r} already used on line "
                f"{first_line[record.doc_id]}; expected unique ids"
            )
        first_line[record.doc_id] = record.line


def _drop_short(records: list[_Record], rule: _ShortDrop, skipped: Counter[str]) -> list[_Record]:
    tokens = segment_corpus(
        [record.text for record in records], workers=rule.workers, cache_dir=rule.cache_dir
    )
    kept = []
    for record, words in zip(records, tokens, strict=True):
        if len(words) < rule.min_words:
            skipped[f"fewer than {rule.min_words} words"] += 1
        elif rule.segmented_text:
            kept.append(
                _Record(record.line, record.doc_id, " ".join(words), record.labels, record.split)
            )
        else:
            kept.append(record)
    return kept


def _keep_top_labels(
    records: list[_Record], max_labels: int, skipped: Counter[str]
) -> list[_Record]:
    counts = Counter(label for record in records for label in record.labels)
    top = {
        label for label, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:max_labels]
    }
    kept = []
    for record in records:
        labels = tuple(label for label in record.labels if label in top)
        if labels:
            kept.append(_Record(record.line, record.doc_id, record.text, labels, record.split))
        else:
            skipped[f"no label among the {max_labels} most frequent"] += 1
    logger.info(
        "kept the %d most frequent of %d labels (%d label assignments dropped)",
        min(max_labels, len(counts)),
        len(counts),
        sum(counts.values()) - sum(len(record.labels) for record in kept),
    )
    return kept


def _log_skipped(name: str, path: Path, n_records: int, n_kept: int, skipped: Counter[str]) -> None:
    logger.info(
        "%s: %d records in %s; kept %d; skipped %d (%s)",
        name,
        n_records,
        path,
        n_kept,
        sum(skipped.values()),
        ", ".join(f"{reason}: {count}" for reason, count in sorted(skipped.items())) or "none",
    )


def _splits(
    name: str, path: Path, records: list[_Record], test_fraction: float, seed: int
) -> list[str]:
    if records[0].split is not None:
        logger.info(
            "%s: released split used (%s); 'valid' records join train",
            name,
            dict(Counter(record.split for record in records)),
        )
        return [_RELEASED_SPLITS[record.split or ""] for record in records]
    return _seeded_test_split(
        name, path, [record.doc_id for record in records], test_fraction, seed
    )


def _seeded_test_split(
    name: str, path: Path, doc_ids: list[str], test_fraction: float, seed: int
) -> list[str]:
    """``test_fraction`` of the documents (rounded half up, >= 1) as test, the rest train; the
    draw is ``default_rng(seed).permutation`` over the sorted ids (row order does not matter)."""
    if isinstance(test_fraction, bool) or not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    n_test = max(1, math.floor(float(test_fraction) * len(doc_ids) + 0.5))
    if n_test >= len(doc_ids):
        raise CorpusError(
            f"{path}: {len(doc_ids)} {name} document(s) are too few for a test fraction of "
            f"{test_fraction} (train and test both need documents)"
        )
    ordered = sorted(doc_ids)
    chosen = {ordered[i] for i in np.random.default_rng(seed).permutation(len(ordered))[:n_test]}
    return ["test" if doc_id in chosen else "train" for doc_id in doc_ids]


DOUBAN_MOVIES = CorpusSource(
    name="douban_movies",
    reader=read_douban_movies,
    expected_files=DOUBAN_MOVIES_FILES,
)

IMCM_DOWNLOAD_NOTE = (
    "the IMCM corpus (about 52k Douban book descriptions with reader tags, METHODS §2.1) has no "
    "public download: its public release holds only a README and the data is obtained from its "
    "authors on request (registration/agreement). Place its records as post.dat in THUTag's JSON "
    'lines format ({"id", "content", "tags": [...]}) in data/01_raw/imcm/; the offline '
    "mirror's douban_books_sample/ (a 100-book format sample) is read when present"
)

IMCM = CorpusSource(
    name="imcm",
    reader=read_imcm,
    expected_files=IMCM_FILES,
    mirror_folder="douban_books_sample",
    download_note=IMCM_DOWNLOAD_NOTE,
)
