"""Parsers of the LYRL2004 RCV1-v2 file formats: the token files and the topic qrels.

LYRL2004 (Lewis, Yang, Rose and Li, JMLR 5, 2004) online appendix 12 (token files) and 8
(qrels). Split out of :mod:`longtail_mltc.corpora.rcv1`, which re-exports every public name here
and assembles the ``rcv1`` corpus from them. Both read through the shared line reader
(:func:`longtail_mltc.corpora.lines.utf8_lines`): plain or gzip, strict UTF-8, streamed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from longtail_mltc.corpora import lines
from longtail_mltc.corpora.errors import CorruptRawFileError
from longtail_mltc.corpora.rcv1_hierarchy import RCV1_EXPECTED_TEXT

__all__ = ["LyrlRecord", "iter_lyrl2004_tokens", "read_rcv1_qrels"]

# One logger name for all RCV1 modules, as documented (``longtail_mltc.corpora.rcv1``).
logger = logging.getLogger("longtail_mltc.corpora.rcv1")

_DOC_ID = re.compile(r"[0-9]+")


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
    for number, line in lines.utf8_lines(path, expected=RCV1_EXPECTED_TEXT):
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
    n_lines = duplicates = 0
    for number, line in lines.utf8_lines(path, expected=RCV1_EXPECTED_TEXT):
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
        n_lines += 1
        doc_topics = topics.setdefault(str(int(doc_id)), [])
        if topic in doc_topics:
            duplicates += 1
        else:
            doc_topics.append(topic)
    if n_lines == 0:
        raise CorruptRawFileError(f"{path}: no qrels lines; expected lines '<topic> <doc id> 1'")
    if duplicates:
        logger.warning("RCV1 qrels %s: ignored %d repeated (topic, doc id) lines", path, duplicates)
    logger.info(
        "RCV1 qrels %s: %d lines, %d documents, %d distinct topics",
        path,
        n_lines,
        len(topics),
        len({topic for doc_topics in topics.values() for topic in doc_topics}),
    )
    return topics
