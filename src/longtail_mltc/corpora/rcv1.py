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
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import numbers
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from longtail_mltc.corpora.errors import (
    CorpusError,
    CorruptRawFileError,
    RawDataNotFoundError,
    invalid_utf8,
)
from longtail_mltc.corpora.registry import CorpusSource
from longtail_mltc.corpora.report import record_skips
from longtail_mltc.corpora.schema import corpus_frame, validate_corpus
from longtail_mltc.corpora.validation import check_texts, parse_json

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

RCV1_HIERARCHY_FILES: tuple[str, ...] = (
    "rcv1.topics.hier.orig",  # LYRL2004 appendix 2, "parent: X child: Y child-description: ..."
    "yqsong_rcv1.topics.hier.orig",  # the mirror's (edited) copy of the same format
    "rcv1.taxonomy",  # "parent<TAB>child<TAB>child..." (NeuralClassifier)
    "neuralclassifier_rcv1.taxonomy",  # the mirror's copy of that
)
"""Hierarchy file names :func:`read_rcv1_hierarchy` looks for in a folder, in this order."""

RCV1_SAMPLE_FILE = "neuralclassifier_rcv1_dev.json"

_LYRL_APPENDIX = "http://jmlr.csail.mit.edu/papers/volume5/lewis04a/"
RCV1_URLS: dict[str, str] = {
    **{
        name: f"{_LYRL_APPENDIX}a12-token-files/{name}.gz"
        for name in (RCV1_TRAIN_FILE, *RCV1_TEST_FILES)
    },
    RCV1_QRELS_FILE: f"{_LYRL_APPENDIX}a08-topic-qrels/{RCV1_QRELS_FILE}.gz",
    "rcv1.topics.hier.orig": f"{_LYRL_APPENDIX}a02-orig-topics-hierarchy/rcv1.topics.hier.orig",
}
"""Public addresses of the LYRL2004 online appendix files (checksums unknown offline).

They are six separate gzip files, not one tar/zip archive, so they do not fit
:class:`~longtail_mltc.corpora.acquisition.DownloadSpec` (one archive URL, extracted as tar or
zip): the ``rcv1`` source has no automatic download; its ``download_note`` and
``read_rcv1``'s not-found error list these addresses instead.
"""

HIERARCHY_COLUMNS: tuple[str, ...] = ("topic", "parent", "description")

_GZIP_MAGIC = b"\x1f\x8b"
_ROOT = "Root"
_ORIG_LINE = re.compile(r"parent:\s*(\S+)\s+child:\s*(\S+)\s+child-description:\s*(.*)")
_DOC_ID = re.compile(r"[0-9]+")
_MAX_EXAMPLES = 5


# --- file access ------------------------------------------------------------------------------


def _open_binary(path: Path) -> IO[bytes]:
    """``path`` opened for binary reading, transparently gunzipped when it holds gzip bytes."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == _GZIP_MAGIC:
        return gzip.open(path, "rb")
    return open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it


def _iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, line without end-of-line)`` of a plain or gzip text file, streamed.

    Lines are decoded as strict UTF-8 (the RCV1 files are ASCII, a subset): any other byte is an
    error naming the file, line and column, never silently replaced.
    """
    number = 0
    try:
        with _open_binary(path) as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise invalid_utf8(
                        path,
                        number,
                        raw,
                        error,
                        "ASCII/UTF-8 text as published (is this the right file, or a different "
                        "encoding?)",
                    ) from None
                yield number, line.rstrip("\r\n")
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise CorruptRawFileError(
            f"{path}: the gzip stream is corrupt or truncated after line {number}: {error}"
        ) from error


def _resolve(raw_dir: Path, name: str) -> Path | None:
    """``raw_dir/name``, else ``raw_dir/name.gz``; ``None`` when neither exists."""
    plain, compressed = raw_dir / name, raw_dir / f"{name}.gz"
    if plain.is_file():
        if compressed.is_file():
            logger.warning("RCV1: both %s and %s exist; reading %s", plain, compressed, plain)
        return plain
    return compressed if compressed.is_file() else None


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


# --- LYRL2004 token files ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LyrlRecord:
    """One record of a LYRL2004 token file: doc id, tokens joined by single spaces, and the
    1-based line of its ``.I`` header."""

    doc_id: str
    text: str
    line: int


class _State:
    HEADER, DOT_W, TOKENS = range(3)


def _parse_doc_id(path: Path, number: int, line: str) -> str:
    """The doc id of a ``.I <id>`` header line; errors name the file and line."""
    fields = line.split()
    if fields[0] != ".I" or len(fields) != 2:
        raise CorruptRawFileError(
            f"{path}: line {number}: malformed record header {line[:60]!r}; expected "
            "'.I <doc id>' (one numeric id after '.I')"
        )
    if not _DOC_ID.fullmatch(fields[1]):
        raise CorruptRawFileError(
            f"{path}: line {number}: doc id {fields[1]!r} in {line[:60]!r} is not a number; "
            "expected '.I <doc id>' with a numeric RCV1 item id"
        )
    return str(int(fields[1]))


def _is_header(line: str) -> bool:
    return line.startswith(".I") and (len(line) == 2 or line[2] in " \t")


def iter_lyrl2004_tokens(path: Path | str) -> Iterator[LyrlRecord]:
    """Stream the records of one LYRL2004 token file (plain or gzip).

    Format (LYRL2004 appendix 12): a line ``.I <id>``, a line ``.W``, then lines of
    whitespace-separated tokens, a blank line between records. ``text`` is all of a record's
    tokens joined by single spaces (empty for a record without tokens; :func:`read_rcv1` skips
    those). Only the current record is held in memory. Structural problems raise
    :class:`CorruptRawFileError` naming the file, the line and what was expected: a malformed
    or non-numeric ``.I`` header, a ``.I`` without its ``.W`` line (truncated record), a second
    ``.W``, non-UTF-8 bytes, a corrupt gzip stream, or a file without any record.
    """
    path = Path(path)
    state = _State.HEADER
    doc_id, header_line, tokens = "", 0, []
    records = 0
    last = 0
    for number, line in _iter_lines(path):
        last = number
        stripped = line.strip()
        if state == _State.TOKENS:
            if not stripped or _is_header(stripped):
                records += 1
                yield LyrlRecord(doc_id, " ".join(tokens), header_line)
                tokens = []
                state = _State.HEADER
                if not stripped:
                    continue
            elif stripped == ".W":
                raise CorruptRawFileError(
                    f"{path}: line {number}: a second '.W' line in the record '.I {doc_id}' "
                    f"(line {header_line}); expected token lines, then a blank line and the "
                    "next '.I <doc id>'"
                )
            else:
                tokens.extend(stripped.split())
                continue
        if state == _State.HEADER:
            if not stripped:
                continue
            if not _is_header(stripped):
                raise CorruptRawFileError(
                    f"{path}: line {number}: expected a record header '.I <doc id>', found "
                    f"{stripped[:60]!r}"
                )
            doc_id, header_line = _parse_doc_id(path, number, stripped), number
            state = _State.DOT_W
        elif state == _State.DOT_W:
            if stripped != ".W":
                found = f"{stripped[:60]!r}" if stripped else "an empty line"
                raise CorruptRawFileError(
                    f"{path}: line {number}: expected '.W' right after the header '.I {doc_id}' "
                    f"(line {header_line}), found {found} (truncated record?)"
                )
            state = _State.TOKENS
    if state == _State.DOT_W:
        raise CorruptRawFileError(
            f"{path}: line {last}: the file ends after the header '.I {doc_id}' (line "
            f"{header_line}) without its '.W' line (truncated file?)"
        )
    if state == _State.TOKENS:
        records += 1
        yield LyrlRecord(doc_id, " ".join(tokens), header_line)
    if records == 0:
        raise CorruptRawFileError(
            f"{path}: no records ({last} lines); expected LYRL2004 token records "
            "'.I <doc id>' / '.W' / token lines"
        )


# --- qrels ------------------------------------------------------------------------------------


def read_rcv1_qrels(path: Path | str) -> dict[str, list[str]]:
    """Doc id -> its topics, from ``rcv1-v2.topics.qrels`` (plain or gzip).

    Each non-blank line is ``<topic> <doc id> 1`` (LYRL2004 appendix 8). Topics keep their file
    order per document; a repeated (topic, doc id) line is counted, logged and ignored. A line
    with another number of fields, a non-numeric doc id or a relevance other than 1 raises
    :class:`CorruptRawFileError` naming file and line; so does a file without any line.
    """
    path = Path(path)
    topics: dict[str, list[str]] = {}
    lines = duplicates = 0
    for number, line in _iter_lines(path):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3:
            raise CorruptRawFileError(
                f"{path}: line {number}: {len(fields)} fields in {line[:60]!r}; expected 3: "
                "'<topic> <doc id> 1'"
            )
        topic, doc_id, relevance = fields
        if not _DOC_ID.fullmatch(doc_id):
            raise CorruptRawFileError(
                f"{path}: line {number}: doc id {doc_id!r} is not a number; expected "
                "'<topic> <doc id> 1'"
            )
        if relevance != "1":
            raise CorruptRawFileError(
                f"{path}: line {number}: third field {relevance!r}; expected '1' in "
                "'<topic> <doc id> 1'"
            )
        lines += 1
        doc_topics = topics.setdefault(str(int(doc_id)), [])
        if topic in doc_topics:
            duplicates += 1
        else:
            doc_topics.append(topic)
    if lines == 0:
        raise CorruptRawFileError(f"{path}: no qrels lines; expected lines '<topic> <doc id> 1'")
    if duplicates:
        logger.warning("RCV1 qrels %s: ignored %d repeated (topic, doc id) lines", path, duplicates)
    logger.info(
        "RCV1 qrels %s: %d lines, %d documents, %d distinct topics",
        path,
        lines,
        len(topics),
        len({topic for doc_topics in topics.values() for topic in doc_topics}),
    )
    return topics


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


# --- topic hierarchy --------------------------------------------------------------------------


def read_rcv1_hierarchy(path: Path | str) -> pd.DataFrame:
    """The RCV1 topic tree as a table ``topic, parent, description``, one row per topic.

    ``path`` is a hierarchy file or a folder holding one of :data:`RCV1_HIERARCHY_FILES`
    (plain or ``.gz``). Two formats, told apart by the first line: LYRL2004's
    ``rcv1.topics.hier.orig`` (``parent: X child: Y child-description: ...``) and the
    tab-separated taxonomy (``parent<TAB>child<TAB>child...``, no descriptions). The artificial
    ``Root`` node is not a row: the four top-level topics (CCAT, ECAT, GCAT, MCAT in RCV1) have
    parent ``None``. ``description`` is ``None`` when the file has none. Rows are sorted by
    topic. On the RCV1 files: 103 topics. A child listed twice, a parent that is not a topic,
    a cycle or a malformed line raise :class:`CorruptRawFileError` naming file and line.
    """
    path = _hierarchy_path(Path(path))
    edges: dict[str, tuple[str, str | None, int]] = {}  # child -> (parent, description, line)
    orig_format: bool | None = None
    for number, line in _iter_lines(path):
        if not line.strip():
            continue
        if orig_format is None:
            orig_format = line.lstrip().startswith("parent:")
        for parent, child, description in _hierarchy_edges(path, number, line, orig_format):
            if child in edges:
                raise CorruptRawFileError(
                    f"{path}: line {number}: topic {child!r} already has parent "
                    f"{edges[child][0]!r} (line {edges[child][2]}); expected each topic once"
                )
            edges[child] = (parent, description, number)
    if not edges:
        raise CorruptRawFileError(f"{path}: no hierarchy lines; expected {RCV1_HIERARCHY_FILES}")
    _check_tree(path, edges)
    rows = [
        (child, None if parent == _ROOT else parent, description)
        for child, (parent, description, _) in sorted(edges.items())
        if child != _ROOT
    ]
    return pd.DataFrame(rows, columns=list(HIERARCHY_COLUMNS), dtype=object)


def _hierarchy_path(path: Path) -> Path:
    if not path.is_dir():
        if not path.is_file():
            raise RawDataNotFoundError(f"RCV1 topic hierarchy file {path} does not exist")
        return path
    for name in RCV1_HIERARCHY_FILES:
        found = _resolve(path, name)
        if found is not None:
            return found
    raise RawDataNotFoundError(
        f"no RCV1 topic hierarchy in {path}; expected one of {', '.join(RCV1_HIERARCHY_FILES)} "
        f"(LYRL2004 appendix 2: {RCV1_URLS['rcv1.topics.hier.orig']})"
    )


def _hierarchy_edges(
    path: Path, number: int, line: str, orig_format: bool
) -> list[tuple[str, str, str | None]]:
    """``(parent, child, description)`` edges of one line; the orig format's ``None -> Root``
    line gives none."""
    if orig_format:
        match = _ORIG_LINE.fullmatch(line.strip())
        if match is None:
            raise CorruptRawFileError(
                f"{path}: line {number}: {line[:60]!r}; expected 'parent: <topic> child: "
                "<topic> child-description: <text>'"
            )
        parent, child, description = match.groups()
        if parent == "None" and child == _ROOT:
            return []
        return [(parent, child, description.strip() or None)]
    fields = line.strip().split("\t")
    if len(fields) < 2 or any(not item.strip() for item in fields):
        raise CorruptRawFileError(
            f"{path}: line {number}: {line[:60]!r}; expected 'parent<TAB>child<TAB>child...' "
            "with no empty field"
        )
    parent, *children = (item.strip() for item in fields)
    return [(parent, child, None) for child in children]


def _check_tree(path: Path, edges: dict[str, tuple[str, str | None, int]]) -> None:
    """Every parent is Root or a listed topic, and following parents always reaches Root."""
    for child, (parent, _, number) in edges.items():
        if parent != _ROOT and parent not in edges:
            raise CorruptRawFileError(
                f"{path}: line {number}: parent {parent!r} of {child!r} is neither {_ROOT!r} "
                "nor a topic listed as a child anywhere in the file"
            )
    for child, (_, _, number) in edges.items():
        node, steps = child, 0
        while node != _ROOT:
            node = edges[node][0]
            steps += 1
            if steps > len(edges):
                raise CorruptRawFileError(
                    f"{path}: line {number}: following the parents of {child!r} never reaches "
                    f"{_ROOT!r} (cycle); expected a tree"
                )


# --- the 2,316-document sample ----------------------------------------------------------------


def read_rcv1_sample(
    raw_dir: Path | str, *, test_fraction: float = 0.2, seed: int = 0
) -> pd.DataFrame:
    """Read the RCV1-v2 sample (``neuralclassifier_rcv1_dev.json``) into the Corpus table.

    One JSON object per line with ``doc_label`` and ``doc_token`` lists of str (other keys are
    ignored). The sample carries no ids and no released split, so ``doc_id`` is
    ``"sample-<line number>"`` and the split is seeded: ``round(test_fraction * n)`` documents
    (half up, at least 1) drawn by ``numpy.random.default_rng(seed).permutation`` over the kept
    documents in file order are test, the rest train (defaults: 80/20, seed 0: 1,853 train /
    463 test). ``text`` is the tokens joined by single spaces; ``labels`` the topics in file
    order without repeats; ``lang`` "en".

    Measured on the mirror's file: 2,316 documents, 98 topics present, 3.20 labels and 135.3
    tokens per document; none skipped. Documents without labels or tokens would be skipped
    and counted in the log; a malformed line raises :class:`CorruptRawFileError` naming file
    and line.
    """
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
        raise TypeError(f"test_fraction must be a float in (0, 1), got {test_fraction!r}")
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    raw_dir = Path(raw_dir)
    path = _resolve(raw_dir, RCV1_SAMPLE_FILE)
    if path is None:
        raise RawDataNotFoundError(
            f"RCV1-v2 sample folder {raw_dir} lacks {RCV1_SAMPLE_FILE} (the mirror's "
            "rcv1v2_sample/ holds it)"
        )
    doc_ids: list[str] = []
    texts: list[str] = []
    labels: list[list[str]] = []
    skipped: Counter[str] = Counter()
    lines = 0
    for number, line in _iter_lines(path):
        if not line.strip():
            continue
        lines += 1
        doc_labels, tokens = _sample_record(path, number, line)
        if not doc_labels:
            skipped["no labels"] += 1
        elif not tokens:
            skipped["no tokens"] += 1
        else:
            doc_ids.append(f"sample-{number}")
            texts.append(" ".join(tokens))
            labels.append(list(dict.fromkeys(doc_labels)))
    if lines == 0:
        raise CorruptRawFileError(
            f"{path}: no records; expected JSON lines with 'doc_label' and 'doc_token' lists"
        )
    splits = _seeded_split(len(doc_ids), float(test_fraction), seed, path)
    logger.info(
        "RCV1 sample %s: %d records; skipped %s; kept %d train / %d test (test_fraction %s, "
        "seed %s)",
        path,
        lines,
        ", ".join(f"{count} {reason}" for reason, count in sorted(skipped.items())) or "none",
        splits.count("train"),
        splits.count("test"),
        test_fraction,
        seed,
    )
    frame = corpus_frame(doc_ids, texts, labels, splits, "en")
    return record_skips(
        validate_corpus(frame, f"corpus 'rcv1_sample' from {raw_dir}"), dict(skipped)
    )


def _sample_record(path: Path, number: int, line: str) -> tuple[list[str], list[str]]:
    try:
        record = parse_json(line, f"{path}: line {number}")
    except json.JSONDecodeError as error:
        raise CorruptRawFileError(
            f"{path}: line {number}: not valid JSON ({error.msg} at column {error.colno}); "
            "expected one object per line"
        ) from None
    if not isinstance(record, dict):
        raise CorruptRawFileError(
            f"{path}: line {number}: a JSON {type(record).__name__}; expected an object with "
            "'doc_label' and 'doc_token'"
        )
    values = []
    for key in ("doc_label", "doc_token"):
        value = record.get(key)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            found = f"a {type(value).__name__}" if key in record else "missing"
            if isinstance(value, list):
                found = "a list holding non-str items"
            raise CorruptRawFileError(
                f"{path}: line {number}: {key!r} is {found}; expected a list of str"
            )
        check_texts(value, f"{path}: line {number}", key)
        values.append(value)
    return values[0], values[1]


def _seeded_split(n: int, test_fraction: float, seed: int, path: Path) -> list[str]:
    n_test = max(1, math.floor(test_fraction * n + 0.5))
    if n_test >= n:
        raise CorpusError(
            f"{path}: {n} documents cannot be split into train and test with test_fraction "
            f"{test_fraction}; need at least one of each"
        )
    is_test = np.zeros(n, dtype=bool)
    is_test[np.random.default_rng(seed).permutation(n)[:n_test]] = True
    return ["test" if flag else "train" for flag in is_test]


RCV1_DOWNLOAD_NOTE = (
    "the LYRL2004 online appendix publishes them as six separate gzip files (not one archive, "
    "so there is no automatic download): "
    + ", ".join(RCV1_URLS[name] for name in RCV1_FILES)
    + ". Put them in the raw folder as they are (.gz) or gunzipped under the expected names."
)
RCV1_SAMPLE_DOWNLOAD_NOTE = (
    "the sample is data/rcv1_dev.json of github.com/Tencent/NeuralNLP-NeuralClassifier "
    "(commit 3d4ddffa6304da32c25f74001c0c056922c4ba22), saved as neuralclassifier_rcv1_dev.json; "
    "the offline mirror's rcv1v2_sample/ holds it."
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

RCV1_SAMPLE = CorpusSource(
    name="rcv1_sample",
    reader=read_rcv1_sample,
    expected_files=(RCV1_SAMPLE_FILE,),
    mirror_folder="rcv1v2_sample",
    download=None,  # a single JSON file from a GitHub repository, not a released archive
    download_note=RCV1_SAMPLE_DOWNLOAD_NOTE,
)
