"""Reader for BioASQ task A (PubMed articles with MeSH headings) -> the Corpus table.

METHODS 3.1 ("PubMed (BioASQ task A, MeSH labels)"); DESIGN "The canonical Corpus", "Raw data
acquisition" and "Performance approach" (stream big raw files).

A training file (``allMeSH_<year>.json``, tens of GB) is one JSON object
``{"articles": [{"abstractText", "journal", "meshMajor": [...], "pmid", "title", "year"}, ...]}``,
often with Windows line breaks, sometimes one article per line; nothing here relies on the line
structure. :func:`iter_bioasq_articles` streams the articles in constant memory;
:func:`read_bioasq` turns them into the Corpus table: ``doc_id`` = pmid, ``text`` = title + " " +
abstractText, ``labels`` = meshMajor, ``lang`` = "en", and a seeded or year-based test split.

The streaming parser is :mod:`longtail_mltc.corpora.bioasq_stream` (why hand-written and not
ijson: its module comment); the synthetic file writer is
:mod:`longtail_mltc.corpora.bioasq_synthetic`. Both are re-exported here.
"""

from __future__ import annotations

import logging
from collections import Counter
from itertools import compress
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from longtail_mltc.corpora.bioasq_documents import Collected, collect
from longtail_mltc.corpora.bioasq_stream import BioASQArticle, iter_bioasq_articles
from longtail_mltc.corpora.bioasq_synthetic import write_synthetic_bioasq
from longtail_mltc.corpora.errors import CorpusError, RawDataNotFoundError
from longtail_mltc.corpora.registry import CorpusSource
from longtail_mltc.corpora.report import record_skips
from longtail_mltc.corpora.schema import CORPUS_COLUMNS, validate_corpus
from longtail_mltc.corpora.splits import seeded_test_mask

__all__ = [
    "BIOASQ",
    "BIOASQ_DOWNLOAD_NOTE",
    "BIOASQ_FILE",
    "DEFAULT_MIN_LABEL_COUNT",
    "DEFAULT_TEST_FRACTION",
    "BioASQArticle",
    "iter_bioasq_articles",
    "read_bioasq",
    "write_synthetic_bioasq",
]

logger = logging.getLogger(__name__)

BIOASQ_FILE = "allMeSH.json"
BIOASQ_DOWNLOAD_NOTE = (
    "BioASQ task A data requires (free) registration at https://participants-area.bioasq.org; "
    "there, download a task A training set (allMeSH_<year>.json, e.g. allMeSH_2022.zip), unpack "
    f"it and save or link the JSON file as {BIOASQ_FILE} in the raw data folder."
)
DEFAULT_TEST_FRACTION = 0.1
DEFAULT_MIN_LABEL_COUNT = 5  # the published protocol drops headings seen < 5 times (in train)

_NO_KEPT_HEADING = "no heading left after min_label_count"


# --- the Corpus table ------------------------------------------------------------------------


def read_bioasq(
    raw_dir: Path | str,
    *,
    file_name: str = BIOASQ_FILE,
    encoding: str = "utf-8",
    test_fraction: float | None = None,
    test_year: int | None = None,
    seed: int = 0,
    min_year: int | None = None,
    max_year: int | None = None,
    min_label_count: int | None = DEFAULT_MIN_LABEL_COUNT,
    max_docs: int | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Read a BioASQ task A file (``raw_dir / file_name``) into the Corpus table.

    Documents: ``doc_id`` = pmid, ``text`` = title + " " + abstractText (stripped; the one
    present if the other is absent), ``labels`` = the distinct meshMajor headings in file order,
    ``lang`` = "en". Skipped and counted in the log (logger ``longtail_mltc.corpora.bioasq``):
    articles without title and abstract, without headings, outside ``min_year``..``max_year``
    (inclusive; articles without a year are skipped when a year filter or ``test_year`` is
    used), and repeated pmids (the first is kept). ``max_docs`` stops reading after that many
    kept documents (quick runs).

    Split (the files have no test split): ``test_year`` puts articles of that year and later in
    test; otherwise a seeded ``test_fraction`` (default 10%) of the documents:
    :func:`~longtail_mltc.corpora.splits.seeded_test_mask` (sorted pmids, then
    ``numpy.random.default_rng(seed).permutation``, size rounded half up, at least 1).

    Labels (METHODS 3.1 protocol): headings seen in fewer than ``min_label_count`` (default 5)
    train documents are removed from train and test (so are test-only headings); documents left
    without a heading are dropped; both counted in the log. ``min_label_count=None`` keeps every
    heading. Skipped articles and dropped documents are also counted by reason in
    ``table.attrs["skipped_records"]`` (:func:`~longtail_mltc.corpora.report.record_skips`).

    Parsing streams the file in constant memory (:func:`iter_bioasq_articles`, with a progress
    bar over bytes read: ``progress``); the table itself grows with the documents kept. Errors:
    :class:`RawDataNotFoundError` when the file is absent (with how to obtain it);
    :class:`CorruptRawFileError` naming file, 1-based line, byte offset and article for broken
    input.
    """
    split_rule = _split_rule(test_fraction, test_year)
    _check_options(min_year, max_year, min_label_count, max_docs)
    path = Path(raw_dir) / file_name
    if not path.is_file():
        raise RawDataNotFoundError(f"BioASQ file {path} not found. {BIOASQ_DOWNLOAD_NOTE}")
    collected = collect(
        path,
        encoding=encoding,
        progress=progress,
        year_range=(min_year, max_year),
        needs_year=min_year is not None or max_year is not None or test_year is not None,
        max_docs=max_docs,
    )
    _log_collected(path, collected, max_docs)
    if not collected.pmids:
        raise CorpusError(
            f"{path}: no usable article among {collected.articles_read} read "
            f"(skipped: {_reasons(collected.skipped)})"
        )
    is_test = _test_mask(collected, split_rule, seed, path)
    corpus = _corpus_frame(collected, is_test, min_label_count)
    skips = {**collected.skipped, _NO_KEPT_HEADING: len(collected.pmids) - len(corpus)}
    return record_skips(validate_corpus(corpus, f"corpus 'bioasq' from {path}"), skips)


def _split_rule(test_fraction: float | None, test_year: int | None) -> tuple[str, float]:
    if test_fraction is not None and test_year is not None:
        raise ValueError("give test_fraction or test_year, not both")
    if test_year is not None:
        if isinstance(test_year, bool) or not isinstance(test_year, int):
            raise TypeError(f"test_year must be an int, got {test_year!r}")
        return "year", test_year
    fraction = DEFAULT_TEST_FRACTION if test_fraction is None else float(test_fraction)
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    return "fraction", fraction


def _check_options(
    min_year: int | None, max_year: int | None, min_label_count: int | None, max_docs: int | None
) -> None:
    if min_year is not None and max_year is not None and min_year > max_year:
        raise ValueError(f"min_year {min_year} is after max_year {max_year}")
    if min_label_count is not None and min_label_count < 0:
        raise ValueError(f"min_label_count must be >= 0 or None, got {min_label_count}")
    if max_docs is not None and max_docs < 1:
        raise ValueError(f"max_docs must be positive or None, got {max_docs}")


def _test_mask(
    collected: Collected, split_rule: tuple[str, float], seed: int, path: Path
) -> np.ndarray:
    rule, value = split_rule
    if rule == "year":
        return np.frombuffer(collected.years, dtype=np.intc) >= value
    return seeded_test_mask(collected.pmids, value, seed, where=str(path))


def _corpus_frame(
    collected: Collected, is_test: np.ndarray, min_label_count: int | None
) -> pd.DataFrame:
    """Apply the train-counted heading filter (vectorised over the flat label ids) and build
    the table."""
    n_docs = len(collected.pmids)
    flat = np.frombuffer(collected.label_ids, dtype=np.intc)
    lengths = np.frombuffer(collected.label_lengths, dtype=np.intc)
    doc_of = np.repeat(np.arange(n_docs), lengths)
    n_labels = len(collected.label_index)
    train_counts = np.bincount(flat[~is_test[doc_of]], minlength=n_labels)
    if min_label_count:
        keep = (train_counts >= min_label_count)[flat]
    else:
        keep = np.ones(len(flat), dtype=bool)
    kept_lengths = np.bincount(doc_of[keep], minlength=n_docs)
    has_labels = kept_lengths > 0
    names = np.empty(n_labels, dtype=object)
    names[:] = list(collected.label_index)
    cells = np.split(names[flat[keep]], np.cumsum(kept_lengths)[:-1])
    splits = np.where(is_test, "test", "train")
    _log_label_filter(min_label_count, train_counts, flat, keep, doc_of, is_test, has_labels)
    frame = pd.DataFrame(
        {
            "doc_id": pd.Series(list(compress(collected.pmids, has_labels)), dtype="str"),
            "text": pd.Series(list(compress(collected.texts, has_labels)), dtype="str"),
            "labels": pd.Series(
                [cell.tolist() for cell in compress(cells, has_labels)], dtype="object"
            ),
            "split": pd.Series(splits[has_labels].tolist(), dtype="str"),
            "lang": pd.Series(["en"] * int(has_labels.sum()), dtype="str"),
        }
    )
    return frame.loc[:, list(CORPUS_COLUMNS)]


def _reasons(skipped: Counter) -> str:
    return ", ".join(f"{reason}: {count}" for reason, count in sorted(skipped.items())) or "none"


def _log_collected(path: Path, collected: Collected, max_docs: int | None) -> None:
    stopped = ""
    if collected.stopped_at is not None:
        stopped = (
            f"; stopped at max_docs={max_docs} after articles[{collected.stopped_at.index}] "
            f"(byte offset {collected.stopped_at.byte_offset} of {path.stat().st_size})"
        )
    logger.info(
        "BioASQ %s: read %d articles; skipped %d (%s); removed %d empty or repeated headings "
        "within articles; kept %d documents%s",
        path,
        collected.articles_read,
        sum(collected.skipped.values()),
        _reasons(collected.skipped),
        collected.repeated_headings,
        len(collected.pmids),
        stopped,
    )


def _log_label_filter(
    min_label_count: int | None,
    train_counts: np.ndarray,
    flat: np.ndarray,
    keep: np.ndarray,
    doc_of: np.ndarray,
    is_test: np.ndarray,
    has_labels: np.ndarray,
) -> None:
    dropped_in_test = is_test[doc_of[~keep]]
    logger.info(
        "BioASQ headings: %d in total; min_label_count=%s on train keeps %d; dropped %d "
        "assignments (%d train / %d test); dropped %d documents left without a heading "
        "(%d train / %d test); result %d train / %d test documents",
        len(train_counts),
        min_label_count,
        len(np.unique(flat[keep])),
        int((~keep).sum()),
        int((~dropped_in_test).sum()),
        int(dropped_in_test.sum()),
        int((~has_labels).sum()),
        int((~has_labels & ~is_test).sum()),
        int((~has_labels & is_test).sum()),
        int((has_labels & ~is_test).sum()),
        int((has_labels & is_test).sum()),
    )


BIOASQ = CorpusSource(
    name="bioasq",
    reader=read_bioasq,
    expected_files=(BIOASQ_FILE,),
    download=None,
    download_note=BIOASQ_DOWNLOAD_NOTE,
)

BIOASQ_SAMPLE_FILE = "sampleData1a.json"


def read_bioasq_sample(raw_dir: Path | str, **options: Any) -> pd.DataFrame:
    """The 5-article official BioASQ sample (mirror ``bioasq_sample/``) read as a corpus.

    Same reader as :func:`read_bioasq` on ``sampleData1a.json``, except that no heading is
    dropped by frequency by default (``min_label_count=None``): with 5 articles the protocol's
    minimum of 5 would drop every heading. Any :func:`read_bioasq` option may be passed.
    """
    options.setdefault("file_name", BIOASQ_SAMPLE_FILE)
    options.setdefault("min_label_count", None)
    return read_bioasq(raw_dir, **options)


BIOASQ_SAMPLE = CorpusSource(
    name="bioasq_sample",
    reader=read_bioasq_sample,
    expected_files=(BIOASQ_SAMPLE_FILE,),
    mirror_folder="bioasq_sample",
    download=None,
    download_note="the official BioASQ task A sample (sampleData1a.json) comes with the "
    "BioASQ registration; the offline mirror's bioasq_sample/ holds it.",
)
