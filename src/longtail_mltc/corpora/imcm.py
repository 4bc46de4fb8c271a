"""The ``imcm`` reader: Douban book records (THUTag JSON lines) with the IMCM protocol.

METHODS §2.1 (IMCM: segmented with jieba, documents under 50 words dropped, seeded 80/10/10).
The IMCM corpus itself is not available offline; the mirror holds THUTag's 100-book format
sample, read with the same rules. Split out of :mod:`longtail_mltc.corpora.douban`, which
re-exports every public name here. Errors name the file, the 1-based line (and the record id)
and what was expected; skips are counted by reason (logger ``longtail_mltc.corpora.douban``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from longtail_mltc.corpora import lines
from longtail_mltc.corpora.douban_corpus import (
    DEFAULT_SEED,
    DOUBAN_TEXT,
    RELEASED_SPLITS,
    DoubanRecord,
    build_corpus,
    logger,
    require_file,
)
from longtail_mltc.corpora.errors import CorruptRawFileError
from longtail_mltc.corpora.registry import CorpusSource
from longtail_mltc.corpora.validation import check_text, check_texts, json_record
from longtail_mltc.text.chinese import segment_corpus

__all__ = [
    "IMCM",
    "IMCM_DOWNLOAD_NOTE",
    "IMCM_FILES",
    "IMCM_MIN_WORDS",
    "IMCM_TEST_FRACTION",
    "IMCM_VALIDATION_FRACTION",
    "IMCM_VOCABULARY_SIZE",
    "read_imcm",
]

IMCM_FILES: tuple[str, ...] = ("post.dat",)
IMCM_MIN_WORDS = 50
IMCM_TEST_FRACTION = 0.1
IMCM_VALIDATION_FRACTION = 1 / 9
"""METHODS §2.1 "seeded 80/10/10": the reader holds out 10% as test and keeps 90% as train; the
features node's validation fraction of 1/9 of train then gives 80/10/10 of the corpus."""
IMCM_VOCABULARY_SIZE = 60_000
"""METHODS §2.1: the 60,000 most frequent tokens plus PAD and UNK (``features.vocabulary``)."""


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
    path = require_file(Path(raw_dir), IMCM_FILES[0], "imcm")
    records = list(_book_records(path))
    _check_released_split(path, records)
    refine = [_ShortDrop(min_words, workers, cache_dir, segmented_text)]
    if max_labels is not None:
        refine.append(_TopLabels(max_labels))
    return build_corpus(
        "imcm", path, records, test_fraction=test_fraction, seed=seed, refine=tuple(refine)
    )


def _book_records(path: Path) -> Iterator[DoubanRecord]:
    expected = 'expected one JSON object per line like {"id": ..., "content": ..., "tags": [...]}'
    n_records = 0
    for number, line in lines.utf8_lines(path, expected=DOUBAN_TEXT, gzip_ok=False):
        if not line.strip():
            continue
        n_records += 1
        record = json_record(path, number, line, expected[len("expected ") :])
        yield _book_record(path, number, record)
    if n_records == 0:
        raise CorruptRawFileError(f"{path}: the file is empty (no JSON records); {expected}")


def _book_record(path: Path, number: int, record: Mapping[str, object]) -> DoubanRecord:
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
    if split is not None and split not in RELEASED_SPLITS:
        raise CorruptRawFileError(
            f"{where} (id {doc_id}): 'split' is {split!r}; expected one of "
            f"{sorted(RELEASED_SPLITS)} or no 'split' field"
        )
    labels = tuple(dict.fromkeys(tag.strip() for tag in tags if tag.strip()))
    return DoubanRecord(number, str(doc_id).strip(), text.strip(), labels, split)


def _check_released_split(path: Path, records: list[DoubanRecord]) -> None:
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
    """The IMCM word-count rule and how to segment for it (a ``Refine`` rule)."""

    min_words: int
    workers: int
    cache_dir: Path | str | None
    segmented_text: bool

    def __call__(self, records: list[DoubanRecord], skipped: Counter[str]) -> list[DoubanRecord]:
        tokens = segment_corpus(
            [record.text for record in records], workers=self.workers, cache_dir=self.cache_dir
        )
        kept = []
        for record, words in zip(records, tokens, strict=True):
            if len(words) < self.min_words:
                skipped[f"fewer than {self.min_words} words"] += 1
            elif self.segmented_text:
                kept.append(replace(record, text=" ".join(words)))
            else:
                kept.append(record)
        return kept


@dataclass(frozen=True)
class _TopLabels:
    """Keep the ``max_labels`` tags on most documents, ties by tag (a ``Refine`` rule)."""

    max_labels: int

    def __call__(self, records: list[DoubanRecord], skipped: Counter[str]) -> list[DoubanRecord]:
        counts = Counter(label for record in records for label in record.labels)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        top = {label for label, _ in ranked[: self.max_labels]}
        kept = []
        for record in records:
            labels = tuple(label for label in record.labels if label in top)
            if labels:
                kept.append(replace(record, labels=labels))
            else:
                skipped[f"no label among the {self.max_labels} most frequent"] += 1
        logger.info(
            "kept the %d most frequent of %d labels (%d label assignments dropped)",
            min(self.max_labels, len(counts)),
            len(counts),
            sum(counts.values()) - sum(len(record.labels) for record in kept),
        )
        return kept


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
