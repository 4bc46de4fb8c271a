"""Readers for RCV1-v2: the LYRL2004 token files + topic qrels, and the 2,316-document sample.

METHODS 3.1 (RCV1-v2, 103 topics); DESIGN "The canonical Corpus" and "Raw data acquisition".

Two corpora:

- ``rcv1``: the LYRL2004 distribution (Lewis, Yang, Rose and Li, JMLR 5, 2004, online appendix
  11/12 and 8): ``lyrl2004_tokens_train.dat`` (train), ``lyrl2004_tokens_test_pt0..3.dat``
  (test) and ``rcv1-v2.topics.qrels``. The token files are read as a stream, one record at a
  time (:func:`iter_lyrl2004_tokens`), so parsing needs memory bounded by the largest record,
  not by the file; each may also be gzip-compressed (``<name>.gz`` as published, or the plain
  name holding gzip bytes).
- ``rcv1_sample``: ``neuralclassifier_rcv1_dev.json`` from the offline mirror, JSON lines
  ``{"doc_label": [...], "doc_token": [...]}`` with no ids and no released split, given a seeded
  train/test split here.

The 103-topic hierarchy is label metadata, not part of the Corpus table:
:func:`read_rcv1_hierarchy` reads it (``rcv1.topics.hier.orig`` or the tab-separated taxonomy).
The sample reader lives in :mod:`~longtail_mltc.corpora.rcv1_sample`, the hierarchy in
:mod:`~longtail_mltc.corpora.rcv1_hierarchy`; both are re-exported here.
"""

from __future__ import annotations

import logging
import numbers
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from longtail_mltc.corpora.errors import CorruptRawFileError, RawDataNotFoundError
from longtail_mltc.corpora.rcv1_hierarchy import (
    HIERARCHY_COLUMNS,
    RCV1_HIERARCHY_FILES,
    RCV1_HIERARCHY_URL,
    read_rcv1_hierarchy,
)
from longtail_mltc.corpora.rcv1_hierarchy import resolve_plain_or_gz as _resolve
from longtail_mltc.corpora.rcv1_lyrl2004 import LyrlRecord, iter_lyrl2004_tokens, read_rcv1_qrels
from longtail_mltc.corpora.rcv1_sample import (
    RCV1_SAMPLE,
    RCV1_SAMPLE_DOWNLOAD_NOTE,
    RCV1_SAMPLE_FILE,
    read_rcv1_sample,
)
from longtail_mltc.corpora.registry import CorpusSource
from longtail_mltc.corpora.report import record_skips
from longtail_mltc.corpora.schema import corpus_frame, validate_corpus

__all__ = [
    "HIERARCHY_COLUMNS",
    "RCV1",
    "RCV1_DOWNLOAD_NOTE",
    "RCV1_FILES",
    "RCV1_HIERARCHY_FILES",
    "RCV1_QRELS_FILE",
    "RCV1_SAMPLE",
    "RCV1_SAMPLE_DOWNLOAD_NOTE",
    "RCV1_SAMPLE_FILE",
    "RCV1_TEST_FILES",
    "RCV1_TRAIN_FILE",
    "RCV1_URLS",
    "LyrlRecord",
    "iter_lyrl2004_tokens",
    "read_rcv1",
    "read_rcv1_hierarchy",
    "read_rcv1_qrels",
    "read_rcv1_sample",
]

logger = logging.getLogger(__name__)

RCV1_TRAIN_FILE = "lyrl2004_tokens_train.dat"
RCV1_TEST_FILES: tuple[str, ...] = tuple(f"lyrl2004_tokens_test_pt{i}.dat" for i in range(4))
RCV1_QRELS_FILE = "rcv1-v2.topics.qrels"
RCV1_FILES: tuple[str, ...] = (RCV1_TRAIN_FILE, *RCV1_TEST_FILES, RCV1_QRELS_FILE)
"""The files ``read_rcv1`` needs, by their uncompressed names (``<name>.gz`` is accepted too)."""

_LYRL_APPENDIX = "http://jmlr.csail.mit.edu/papers/volume5/lewis04a/"
RCV1_URLS: dict[str, str] = {
    **{
        name: f"{_LYRL_APPENDIX}a12-token-files/{name}.gz"
        for name in (RCV1_TRAIN_FILE, *RCV1_TEST_FILES)
    },
    RCV1_QRELS_FILE: f"{_LYRL_APPENDIX}a08-topic-qrels/{RCV1_QRELS_FILE}.gz",
    "rcv1.topics.hier.orig": RCV1_HIERARCHY_URL,
}
"""Public addresses of the LYRL2004 online appendix files (checksums unknown offline).

They are six separate gzip files, not one tar/zip archive, so they do not fit
:class:`~longtail_mltc.corpora.acquisition.DownloadSpec` (one archive URL, extracted as tar or
zip): the ``rcv1`` source has no automatic download; its ``download_note`` and
``read_rcv1``'s not-found error list these addresses instead.
"""

_MAX_EXAMPLES = 5


# --- helpers ----------------------------------------------------------------------------------


def _examples(values: list[str]) -> str:
    shown = ", ".join(values[:_MAX_EXAMPLES])
    return shown + (
        f" (and {len(values) - _MAX_EXAMPLES} more)" if len(values) > _MAX_EXAMPLES else ""
    )


def _check_max_documents(max_documents: int | None) -> None:
    if max_documents is None:
        return
    if isinstance(max_documents, bool) or not isinstance(max_documents, numbers.Integral):
        raise TypeError(f"max_documents must be a positive int or None, got {max_documents!r}")
    if max_documents <= 0:
        raise ValueError(f"max_documents must be positive, got {max_documents}")


# --- the rcv1 corpus --------------------------------------------------------------------------


@dataclass
class _ReadCounts:
    """What reading the token files kept and skipped, for the log."""

    records: Counter[str] = field(default_factory=Counter)  # per file name
    kept: Counter[str] = field(default_factory=Counter)  # per split
    no_topics: list[str] = field(default_factory=list)
    no_tokens: list[str] = field(default_factory=list)
    stopped_early: bool = False


def read_rcv1(raw_dir: Path | str, *, max_documents: int | None = None) -> pd.DataFrame:
    """Read the LYRL2004 RCV1-v2 files in ``raw_dir`` into the Corpus table.

    Split (LYRL2004): ``lyrl2004_tokens_train.dat`` is train, ``..._test_pt0..3.dat`` are test;
    every file may instead be ``<name>.gz``. ``doc_id`` is the RCV1 item id (decimal, leading
    zeros dropped, as in the qrels), ``text`` the record's tokens (already stemmed and
    stop-worded by LYRL2004) joined by single spaces, ``labels`` the document's qrels topics in
    file order, ``lang`` "en". No topic is dropped. The LYRL2004 paper reports 23,149 train and
    781,265 test documents and 103 topics (the full files are not available offline, so these
    are not measured here).

    ``max_documents`` caps the documents kept per split (files are read in order and reading
    stops at the cap), for quick runs.

    Skipped and counted in the log (logger ``longtail_mltc.corpora.rcv1``): documents without
    any qrels topic (RCV1-v2 gives every document at least one topic, so such a document means
    the token and qrels files do not match; it has nothing to learn or evaluate), records without
    tokens, repeated qrels lines, and qrels documents in no token file. Malformed files raise
    :class:`CorruptRawFileError` naming file and line; a doc id in two records raises too;
    missing files raise :class:`RawDataNotFoundError` listing the expected names and the public
    addresses.
    """
    _check_max_documents(max_documents)
    raw_dir = Path(raw_dir)
    files = _require_rcv1_files(raw_dir)
    topics = read_rcv1_qrels(files[RCV1_QRELS_FILE])
    splits = [("train", [files[RCV1_TRAIN_FILE]]), ("test", [files[n] for n in RCV1_TEST_FILES])]
    doc_ids: list[str] = []
    texts: list[str] = []
    labels: list[list[str]] = []
    split_names: list[str] = []
    seen: set[str] = set()
    counts = _ReadCounts()
    for split, paths in splits:
        for path in paths:
            if max_documents is not None and counts.kept[split] >= max_documents:
                counts.stopped_early = True
                break
            with closing(iter_lyrl2004_tokens(path)) as records:
                for record in records:
                    if max_documents is not None and counts.kept[split] >= max_documents:
                        counts.stopped_early = True
                        break
                    counts.records[path.name] += 1
                    if record.doc_id in seen:
                        raise CorruptRawFileError(
                            f"{path}: line {record.line}: doc id {record.doc_id} was already "
                            "read from an earlier record of the token files; expected each "
                            "RCV1 item id once"
                        )
                    seen.add(record.doc_id)
                    doc_topics = topics.get(record.doc_id)
                    if not doc_topics:
                        counts.no_topics.append(record.doc_id)
                    elif not record.text:
                        counts.no_tokens.append(record.doc_id)
                    else:
                        counts.kept[split] += 1
                        doc_ids.append(record.doc_id)
                        texts.append(record.text)
                        labels.append(list(doc_topics))
                        split_names.append(split)
    _log_rcv1(counts, topics, seen, labels)
    frame = corpus_frame(doc_ids, texts, labels, split_names, "en")
    skips = {"no qrels topic": len(counts.no_topics), "no tokens": len(counts.no_tokens)}
    return record_skips(validate_corpus(frame, f"corpus 'rcv1' from {raw_dir}"), skips)


def _require_rcv1_files(raw_dir: Path) -> dict[str, Path]:
    files = {name: _resolve(raw_dir, name) for name in RCV1_FILES}
    missing = [name for name, path in files.items() if path is None]
    if missing:
        addresses = "\n".join(f"  {RCV1_URLS[name]}" for name in missing)
        raise RawDataNotFoundError(
            f"RCV1-v2 folder {raw_dir} lacks {len(missing)} of the {len(RCV1_FILES)} LYRL2004 "
            f"files (each may also be <name>.gz): {', '.join(missing)}. They are not bundled "
            "and not downloaded automatically (separate .gz files, not one archive); get them "
            f"from the LYRL2004 online appendix:\n{addresses}"
        )
    return {name: path for name, path in files.items() if path is not None}


def _log_rcv1(
    counts: _ReadCounts, topics: dict[str, list[str]], seen: set[str], labels: list[list[str]]
) -> None:
    logger.info(
        "RCV1: read %s",
        ", ".join(f"{name}: {count} records" for name, count in counts.records.items()),
    )
    if counts.no_topics:
        logger.warning(
            "RCV1: skipped %d documents without any qrels topic (token and qrels files do not "
            "match?), e.g. %s",
            len(counts.no_topics),
            _examples(counts.no_topics),
        )
    if counts.no_tokens:
        logger.warning(
            "RCV1: skipped %d records without tokens, e.g. %s",
            len(counts.no_tokens),
            _examples(counts.no_tokens),
        )
    unmatched = [doc_id for doc_id in topics if doc_id not in seen]
    unmatched_lines = sum(len(topics[doc_id]) for doc_id in unmatched)
    if counts.stopped_early:
        logger.info(
            "RCV1: max_documents stopped reading early; %d qrels documents (%d topic lines) are "
            "not among the documents read (not checked against the unread records)",
            len(unmatched),
            unmatched_lines,
        )
    elif unmatched:
        logger.warning(
            "RCV1: skipped %d qrels lines naming %d doc ids that are in no token file, e.g. %s",
            unmatched_lines,
            len(unmatched),
            _examples(unmatched),
        )
    n_labels = len({label for doc_labels in labels for label in doc_labels})
    logger.info(
        "RCV1: kept %d train / %d test documents, %d topics; skipped %d without topics, %d "
        "without tokens; %d qrels lines for unknown doc ids",
        counts.kept["train"],
        counts.kept["test"],
        n_labels,
        len(counts.no_topics),
        len(counts.no_tokens),
        0 if counts.stopped_early else unmatched_lines,
    )


RCV1_DOWNLOAD_NOTE = (
    "the LYRL2004 online appendix publishes them as six separate gzip files (not one archive, "
    "so there is no automatic download): "
    + ", ".join(RCV1_URLS[name] for name in RCV1_FILES)
    + ". Put them in the raw folder as they are (.gz) or gunzipped under the expected names."
)
RCV1 = CorpusSource(
    name="rcv1",
    reader=read_rcv1,
    expected_files=RCV1_FILES,
    mirror_folder="rcv1v2",
    download=None,  # six separate .gz files, no single archive: see RCV1_URLS
    download_note=RCV1_DOWNLOAD_NOTE,
    gzip_ok=True,
)
