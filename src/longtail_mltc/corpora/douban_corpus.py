"""What the Douban readers (``douban_movies``, ``imcm``) share: the record, the skip counting
and the test split that turn their records into the canonical Corpus table (``lang`` "zh").

Split out of :mod:`longtail_mltc.corpora.douban`. Logger ``longtail_mltc.corpora.douban`` for
both readers, as documented.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from longtail_mltc.corpora.errors import CorpusError, CorruptRawFileError, RawDataNotFoundError
from longtail_mltc.corpora.report import record_skips
from longtail_mltc.corpora.schema import corpus_frame, validate_corpus
from longtail_mltc.corpora.splits import seeded_test_mask

__all__ = [
    "DEFAULT_SEED",
    "DOUBAN_TEXT",
    "RELEASED_SPLITS",
    "DoubanRecord",
    "Refine",
    "build_corpus",
    "require_file",
]

logger = logging.getLogger("longtail_mltc.corpora.douban")

DEFAULT_SEED = 42
"""Seed of the readers' test draws when none is given (the project's default seed)."""

DOUBAN_TEXT = "UTF-8 text (GBK or GB18030 text must be converted to UTF-8 first)"
"""What the Douban files hold, for the line reader's non-UTF-8 error."""

RELEASED_SPLITS = {"train": "train", "valid": "train", "test": "test"}
"""A released ``split`` value -> the Corpus split ("valid" joins train; validation is carved
later by the features node)."""


@dataclass(frozen=True)
class DoubanRecord:
    """One raw record: where it was (for messages), its id, text, labels and released split."""

    line: int
    doc_id: str
    text: str
    labels: tuple[str, ...]
    split: str | None = None


Refine = Callable[[list[DoubanRecord], Counter[str]], list[DoubanRecord]]
"""A further rule over the kept records; it counts what it drops in the given Counter."""


def require_file(raw_dir: Path, name: str, corpus: str) -> Path:
    """``raw_dir/name``; :class:`RawDataNotFoundError` naming the folder when it is absent."""
    path = raw_dir / name
    if not path.is_file():
        raise RawDataNotFoundError(f"{corpus} folder {raw_dir} lacks the file {name}")
    return path


def build_corpus(
    name: str,
    path: Path,
    records: list[DoubanRecord],
    *,
    test_fraction: float,
    seed: int,
    refine: tuple[Refine, ...] = (),
) -> pd.DataFrame:
    """The Corpus table of ``records``: ids checked unique, records without text or labels
    skipped (counted by reason), each ``refine`` rule applied in order, then the released split
    or a seeded test split (:func:`~longtail_mltc.corpora.splits.seeded_test_mask`)."""
    _check_unique_ids(path, records)
    skipped: Counter[str] = Counter()
    kept: list[DoubanRecord] = []
    for record in records:
        if not record.text and not record.labels:
            skipped["no text and no labels"] += 1
        elif not record.text:
            skipped["no text"] += 1
        elif not record.labels:
            skipped["no labels"] += 1
        else:
            kept.append(record)
    for rule in refine:
        kept = rule(kept, skipped)
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


def _check_unique_ids(path: Path, records: list[DoubanRecord]) -> None:
    first_line: dict[str, int] = {}
    for record in records:
        if record.doc_id in first_line:
            raise CorruptRawFileError(
                f"{path}: line {record.line}: id {record.doc_id!r} already used on line "
                f"{first_line[record.doc_id]}; expected unique ids"
            )
        first_line[record.doc_id] = record.line


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
    name: str, path: Path, records: list[DoubanRecord], test_fraction: float, seed: int
) -> list[str]:
    if records[0].split is not None:
        logger.info(
            "%s: released split used (%s); 'valid' records join train",
            name,
            dict(Counter(record.split for record in records)),
        )
        return [RELEASED_SPLITS[record.split or ""] for record in records]
    is_test = seeded_test_mask(
        [record.doc_id for record in records], test_fraction, seed, where=f"{path} ({name})"
    )
    return ["test" if flag else "train" for flag in is_test]
