"""Reader for BioASQ task A (PubMed articles with MeSH headings) -> the Corpus table.

METHODS 3.1 ("PubMed (BioASQ task A, MeSH labels)"); DESIGN "The canonical Corpus", "Raw data
acquisition" and "Performance approach" (stream big raw files).

A training file (``allMeSH_<year>.json``, tens of GB) is one JSON object
``{"articles": [{"abstractText", "journal", "meshMajor": [...], "pmid", "title", "year"}, ...]}``,
often with Windows line breaks, sometimes one article per line; nothing here relies on the line
structure. :func:`iter_bioasq_articles` streams the articles in constant memory;
:func:`read_bioasq` turns them into the Corpus table: ``doc_id`` = pmid, ``text`` = title + " " +
abstractText, ``labels`` = meshMajor, ``lang`` = "en", and a seeded or year-based test split.

Streaming parser: ``ijson`` is not installed in the project's environment, and the format is a
single array of small objects, so a few lines over :meth:`json.JSONDecoder.raw_decode` (the C
scanner of the standard library) read one article at a time from a decoded chunk buffer.
"""

from __future__ import annotations

import codecs
import json
import logging
import math
import re
from array import array
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from itertools import compress
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np
import pandas as pd
from tqdm import tqdm

from longtail_mltc.corpora.errors import CorpusError, CorruptRawFileError, RawDataNotFoundError
from longtail_mltc.corpora.registry import CorpusSource
from longtail_mltc.corpora.report import record_skips
from longtail_mltc.corpora.schema import CORPUS_COLUMNS, validate_corpus
from longtail_mltc.corpora.validation import (
    check_json_depth,
    check_text,
    check_texts,
    too_deep,
)

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

_EXPECTED = '{"articles": [{"pmid", "title", "abstractText", "meshMajor": [...], "year"}, ...]}'
_CHUNK_SIZE = 1 << 20
_MAX_ARTICLE_CHARS = 64 << 20  # one PubMed article is a few KB; this bounds a broken one
_ENCODINGS = frozenset({"utf-8", "iso8859-1", "cp1252"})  # codecs.lookup() names
_WHITESPACE = re.compile(r"[ \t\r\n]*")
# raw_decode on a buffer cut inside a value fails at (nearly) the buffer's end, or with
# "Unterminated string" at the start of the cut string (strict=False: no other string error).
_INCOMPLETE_MARGIN = 16
_PARTIAL_TOKEN = re.compile(r'[^\s,:\[\]{}"]*')
_UTF8_BOM = "\ufeff"

_NO_TEXT = "no title or abstractText"
_NO_MESH = "no meshMajor headings"
_NO_YEAR = "no year (needed by min_year/max_year/test_year)"
_OUTSIDE_YEARS = "year outside min_year..max_year"
_DUPLICATE = "duplicate pmid (first occurrence kept)"
_NO_KEPT_HEADING = "no heading left after min_label_count"


class BioASQArticle(NamedTuple):
    """One element of the ``articles`` array: its index, the byte offset where it starts, and
    the decoded JSON object."""

    index: int
    byte_offset: int
    record: dict[str, Any]


# --- streaming parse -------------------------------------------------------------------------


def iter_bioasq_articles(
    path: Path | str,
    *,
    encoding: str = "utf-8",
    progress: bool | None = None,
    chunk_size: int = _CHUNK_SIZE,
    max_article_chars: int = _MAX_ARTICLE_CHARS,
) -> Iterator[BioASQArticle]:
    """Yield the articles of a BioASQ task A file one at a time, in constant memory.

    The file is read in ``chunk_size`` byte chunks and decoded incrementally (``encoding``:
    "utf-8", the default, which also skips a byte-order mark, or "latin-1"/"cp1252": the
    allMeSH files of some years are latin-1); only the current chunk and the current article
    are held. ``progress``: a tqdm bar over bytes read on stderr; ``None`` shows it only when
    stderr is a terminal. Articles are yielded as they are parsed; the structure after the last
    one (``]}`` and nothing but whitespace) is checked when the iterator is exhausted.

    Raises :class:`CorruptRawFileError` naming the file, the article (``articles[i]``) and the
    byte offset for: an empty file, a top level other than ``{"articles": [...]}``, malformed
    JSON, an article that is not an object, a truncated file, bytes invalid in ``encoding``.
    Options are checked, and the file's size read, when this is called (not on first use).
    """
    path = Path(path)
    codec = _codec_name(encoding)
    if chunk_size < 1 or max_article_chars < 1:
        raise ValueError("chunk_size and max_article_chars must be positive")
    size = path.stat().st_size
    return _iter_articles(path, size, codec, progress, chunk_size, max_article_chars)


def _iter_articles(
    path: Path,
    size: int,
    codec: str,
    progress: bool | None,
    chunk_size: int,
    max_article_chars: int,
) -> Iterator[BioASQArticle]:
    with (
        open(path, "rb") as handle,
        tqdm(
            total=size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=path.name,
            disable=None if progress is None else not progress,
            mininterval=0.5,
        ) as bar,
    ):
        stream = _DecodedStream(handle, path, codec, chunk_size, bar)
        yield from _ArticleParser(stream, path, size, max_article_chars).articles()


def _codec_name(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        name = ""
    if name not in _ENCODINGS:
        raise ValueError(
            f"encoding {encoding!r} is not supported; use 'utf-8', 'latin-1' or 'cp1252'"
        )
    return name


class _DecodedStream:
    """The file's text, decoded chunk by chunk into ``buf`` (consumed text is dropped), with
    the byte offset of any buffer position for error messages."""

    def __init__(
        self, handle: IO[bytes], path: Path, codec: str, chunk_size: int, bar: tqdm
    ) -> None:
        self._handle = handle
        self._path = path
        self._codec = codec
        self._decoder = codecs.getincrementaldecoder(codec)("strict")
        self._chunk_size = chunk_size
        self._bar = bar
        self._bytes_read = 0
        self._at_start = True
        self.buf = ""
        self.pos = 0
        self.eof = False
        # A buffer position whose byte offset is known; offsets of other positions are
        # derived from it by encoding the text between them (linear overall).
        self._mark_char = 0
        self._mark_byte = 0

    def _byte_length(self, text: str) -> int:
        return len(text.encode("utf-8")) if self._codec == "utf-8" else len(text)

    def byte_offset(self, position: int) -> int:
        """The file byte offset of buffer position ``position``."""
        if position >= self._mark_char:
            self._mark_byte += self._byte_length(self.buf[self._mark_char : position])
        else:
            self._mark_byte -= self._byte_length(self.buf[position : self._mark_char])
        self._mark_char = position
        return self._mark_byte

    def fill(self) -> None:
        """Drop the consumed text and append the next chunk's text (sets ``eof`` at the end)."""
        self.byte_offset(self.pos)
        chunk = self._handle.read(self._chunk_size)
        pending = len(self._decoder.getstate()[0])
        try:
            text = self._decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as error:
            offset = self._bytes_read - pending + error.start
            raise CorruptRawFileError(
                f"{self._path}: byte offset {offset}: not valid {self._codec} "
                f"({error.reason}: {error.object[error.start : error.start + 4]!r}); the allMeSH "
                "files of some years are latin-1: pass encoding='latin-1' for those"
            ) from None
        self._bytes_read += len(chunk)
        self._bar.update(len(chunk))
        if self._at_start and text:
            self._at_start = False
            if self._codec == "utf-8" and text.startswith(_UTF8_BOM):
                text = text[1:]
                self._mark_byte += len(_UTF8_BOM.encode("utf-8"))
        self.buf = self.buf[self.pos :] + text
        self.pos = self._mark_char = 0
        self.eof = not chunk

    def skip_whitespace(self) -> None:
        while True:
            self.pos = _WHITESPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or self.eof:
                return
            self.fill()

    def peek(self) -> str:
        """The next non-whitespace character, or "" at the end of the file."""
        self.skip_whitespace()
        return self.buf[self.pos] if self.pos < len(self.buf) else ""

    def snippet(self) -> str:
        return repr(self.buf[self.pos : self.pos + 40])

    def decode_value(self, decoder: json.JSONDecoder, max_chars: int, where: str) -> Any:
        """Decode the JSON value at ``pos``, reading more chunks while it is incomplete.

        The value must nest at most ``MAX_JSON_DEPTH`` levels (``where`` names it in the error).
        """
        while True:
            try:
                value, end = decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as error:
                if self.eof or not _may_be_cut(error, len(self.buf)):
                    raise
                if len(self.buf) - self.pos > max_chars:
                    raise _ValueTooLongError from None
                self.fill()
                continue
            except RecursionError:
                # The C scanner recurses per level and gives up near sys.getrecursionlimit(),
                # far deeper than MAX_JSON_DEPTH.
                raise too_deep(where) from None
            check_json_depth(self.buf, where, self.pos, end)
            self.pos = end
            return value


class _ValueTooLongError(Exception):
    """A value did not end within ``max_article_chars`` characters."""


def _may_be_cut(error: json.JSONDecodeError, length: int) -> bool:
    """Whether a buffer of ``length`` characters may just end too early for the value."""
    return error.msg.startswith("Unterminated string") or error.pos + _INCOMPLETE_MARGIN >= length


def _is_cut_at_end(error: json.JSONDecodeError, text: str) -> bool:
    """At the end of the file: whether the value is cut off (truncated) rather than malformed:
    an unterminated string, or nothing but a partial token (``tr``, ``\\u00``, ``-Inf``)
    from the error position to the end."""
    return (
        error.msg.startswith("Unterminated string")
        or _PARTIAL_TOKEN.fullmatch(text, error.pos) is not None
    )


class _ArticleParser:
    """``{"articles": [ {...}, ... ]}`` over a :class:`_DecodedStream`."""

    def __init__(self, stream: _DecodedStream, path: Path, size: int, max_chars: int) -> None:
        self._stream = stream
        self._path = path
        self._size = size
        self._max_chars = max_chars
        self._decoder = json.JSONDecoder(strict=False)

    def _error(self, problem: str) -> CorruptRawFileError:
        offset = self._stream.byte_offset(self._stream.pos)
        return CorruptRawFileError(f"{self._path}: byte offset {offset}: {problem}")

    def _truncated(self, problem: str) -> CorruptRawFileError:
        return CorruptRawFileError(
            f"{self._path}: the file ends {problem} (the file has {self._size} bytes; truncated "
            f"file?); expected {_EXPECTED}"
        )

    def _expect(self, char: str, context: str) -> None:
        found = self._stream.peek()
        if found == "":
            raise self._truncated(f"before the {char!r} {context}")
        if found != char:
            raise self._error(
                f"expected {char!r} {context}, found {self._stream.snippet()}; expected {_EXPECTED}"
            )
        self._stream.pos += 1

    def articles(self) -> Iterator[BioASQArticle]:
        stream = self._stream
        if stream.peek() == "":
            content = "is empty" if self._size == 0 else "holds only whitespace"
            raise CorruptRawFileError(
                f"{self._path}: the file {content} ({self._size} bytes); expected {_EXPECTED}"
            )
        self._expect("{", "opening the top-level object")
        self._read_articles_key()
        self._expect(":", 'after the key "articles"')
        self._expect("[", 'opening the "articles" array')
        index = 0
        if stream.peek() == "]":
            stream.pos += 1
        else:
            while True:
                yield self._article(index)
                index += 1
                following = stream.peek()
                if following == ",":
                    stream.pos += 1
                    if stream.peek() == "]":
                        raise self._error(f"a trailing comma after articles[{index - 1}]")
                    continue
                if following == "]":
                    stream.pos += 1
                    break
                if following == "":
                    raise self._truncated(f"after articles[{index - 1}], before ',' or ']'")
                raise self._error(
                    f"expected ',' or ']' after articles[{index - 1}], found {stream.snippet()}"
                )
        self._expect("}", f"closing the top-level object after the {index} articles")
        if stream.peek() != "":
            raise self._error(f"unexpected data after the top-level object: {stream.snippet()}")

    def _read_articles_key(self) -> None:
        stream = self._stream
        found = stream.peek()
        if found == "":
            raise self._truncated('before the key "articles"')
        if found != '"':
            raise self._error(
                f'expected the key "articles", found {stream.snippet()}; expected {_EXPECTED}'
            )
        offset = stream.byte_offset(stream.pos)
        key = self._value('the key "articles"')
        if key != "articles":
            raise CorruptRawFileError(
                f"{self._path}: byte offset {offset}: the top-level key is {key!r}; "
                f"expected {_EXPECTED}"
            )

    def _article(self, index: int) -> BioASQArticle:
        stream = self._stream
        stream.skip_whitespace()
        offset = stream.byte_offset(stream.pos)
        record = self._value(f"articles[{index}] (starting at byte offset {offset})")
        if not isinstance(record, dict):
            raise CorruptRawFileError(
                f"{self._path}: articles[{index}] at byte offset {offset} is a JSON "
                f'{_json_type(record)}; expected an object {{"pmid", "title", ...}}'
            )
        return BioASQArticle(index, offset, record)

    def _value(self, what: str) -> Any:
        stream = self._stream
        try:
            return stream.decode_value(self._decoder, self._max_chars, f"{self._path}: {what}")
        except _ValueTooLongError:
            raise CorruptRawFileError(
                f"{self._path}: {what} does not end within {self._max_chars} characters: "
                "malformed JSON (an unterminated string?)"
            ) from None
        except json.JSONDecodeError as error:
            if stream.eof and _is_cut_at_end(error, stream.buf):
                raise self._truncated(f"inside {what} ({error.msg})") from None
            offset = stream.byte_offset(error.pos)
            raise CorruptRawFileError(
                f"{self._path}: {what} is not valid JSON: {error.msg} at byte offset {offset}"
            ) from None


def _json_type(value: object) -> str:
    names = {list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


# --- articles -> documents -------------------------------------------------------------------


@dataclass(frozen=True)
class _Document:
    pmid: str
    text: str
    labels: list[str]
    year: int | None


def _document(article: BioASQArticle, path: Path) -> _Document | str:
    """The article as a document, or the reason it is skipped (no text, no headings).

    Wrong types (a title that is a number, headings that are not strings...) break the format
    and raise :class:`CorruptRawFileError`; ``null`` or a missing field counts as absent.
    """
    record = article.record

    def error(problem: str) -> CorruptRawFileError:
        return CorruptRawFileError(
            f"{path}: articles[{article.index}] at byte offset {article.byte_offset} "
            f"(pmid {record.get('pmid')!r}): {problem}; expected {_EXPECTED}"
        )

    where = f"{path}: articles[{article.index}] at byte offset {article.byte_offset}"
    pmid = record.get("pmid")
    if isinstance(pmid, int) and not isinstance(pmid, bool):
        pmid = str(pmid)
    if not isinstance(pmid, str) or not pmid.strip():
        raise error("no 'pmid' (a PubMed id string)")
    check_text(pmid, where, "pmid")
    parts = []
    for key in ("title", "abstractText"):
        value = record.get(key)
        if value is not None and not isinstance(value, str):
            raise error(f"{key!r} is a JSON {_json_type(value)}, expected a string")
        if value and value.strip():
            parts.append(check_text(value, where, key).strip())
    year = _year(record.get("year"), error)
    mesh = record.get("meshMajor")
    if mesh is not None and not (
        isinstance(mesh, list) and all(isinstance(label, str) for label in mesh)
    ):
        raise error("'meshMajor' must be a list of strings")
    check_texts(mesh or [], where, "meshMajor")
    if not parts:
        return _NO_TEXT
    labels = list(dict.fromkeys(label for label in mesh or () if label.strip()))
    if not labels:
        return _NO_MESH
    return _Document(pmid.strip(), " ".join(parts), labels, year)


def _year(value: object, error: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise error(f"'year' is {value!r}, expected a year such as \"2013\"")


@dataclass
class _Collected:
    """The kept documents, labels interned as int ids (flat ids + per-document lengths)."""

    pmids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    years: array = field(default_factory=lambda: array("i"))
    label_ids: array = field(default_factory=lambda: array("i"))
    label_lengths: array = field(default_factory=lambda: array("i"))
    label_index: dict[str, int] = field(default_factory=dict)
    skipped: Counter = field(default_factory=Counter)
    repeated_headings: int = 0
    articles_read: int = 0
    stopped_at: BioASQArticle | None = None

    def add(self, document: _Document, raw_heading_count: int) -> None:
        self.pmids.append(document.pmid)
        self.texts.append(document.text)
        self.years.append(document.year or 0)
        index = self.label_index
        self.label_ids.extend(index.setdefault(label, len(index)) for label in document.labels)
        self.label_lengths.append(len(document.labels))
        self.repeated_headings += raw_heading_count - len(document.labels)


def _collect(
    path: Path,
    *,
    encoding: str,
    progress: bool | None,
    year_range: tuple[int | None, int | None],
    needs_year: bool,
    max_docs: int | None,
) -> _Collected:
    """Stream the file, keep the usable documents (first ``max_docs``), count the skipped."""
    collected = _Collected()
    seen: set[str] = set()
    min_year, max_year = year_range
    # closing(): the file is closed at once when max_docs stops the loop early
    with closing(iter_bioasq_articles(path, encoding=encoding, progress=progress)) as articles:
        for article in articles:
            collected.articles_read += 1
            document = _document(article, path)
            if isinstance(document, _Document):
                document = _year_filtered(document, min_year, max_year, needs_year)
            if isinstance(document, _Document) and document.pmid in seen:
                document = _DUPLICATE
            if isinstance(document, str):
                collected.skipped[document] += 1
                logger.debug("skipped articles[%d] (%s): %s", article.index, path, document)
                continue
            seen.add(document.pmid)
            collected.add(document, len(article.record.get("meshMajor") or ()))
            if max_docs is not None and len(collected.pmids) >= max_docs:
                collected.stopped_at = article
                break
    return collected


def _year_filtered(
    document: _Document, min_year: int | None, max_year: int | None, needs_year: bool
) -> _Document | str:
    if document.year is None:
        return _NO_YEAR if needs_year else document
    if (min_year is not None and document.year < min_year) or (
        max_year is not None and document.year > max_year
    ):
        return _OUTSIDE_YEARS
    return document


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
    test; otherwise a seeded ``test_fraction`` (default 10%) of the documents, chosen as
    :func:`~longtail_mltc.corpora.splits.split_validation` chooses (sorted pmids, then
    ``numpy.random.default_rng(seed).permutation``, size rounded half up, at least 1).

    Labels (METHODS 3.1 protocol): headings seen in fewer than ``min_label_count`` (default 5)
    train documents are removed from train and test (so are test-only headings); documents left
    without a heading are dropped; both counted in the log. ``min_label_count=None`` keeps every
    heading. Skipped articles and dropped documents are also counted by reason in
    ``table.attrs["skipped_records"]`` (:func:`~longtail_mltc.corpora.report.record_skips`).

    Parsing streams the file in constant memory (:func:`iter_bioasq_articles`, with a progress
    bar over bytes read: ``progress``); the table itself grows with the documents kept. Errors:
    :class:`RawDataNotFoundError` when the file is absent (with how to obtain it);
    :class:`CorruptRawFileError` naming file, article and byte offset for broken input.
    """
    split_rule = _split_rule(test_fraction, test_year)
    _check_options(min_year, max_year, min_label_count, max_docs)
    path = Path(raw_dir) / file_name
    if not path.is_file():
        raise RawDataNotFoundError(f"BioASQ file {path} not found. {BIOASQ_DOWNLOAD_NOTE}")
    collected = _collect(
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
    collected: _Collected, split_rule: tuple[str, float], seed: int, path: Path
) -> np.ndarray:
    rule, value = split_rule
    n_docs = len(collected.pmids)
    if rule == "year":
        return np.frombuffer(collected.years, dtype=np.intc) >= value
    n_test = max(1, math.floor(value * n_docs + 0.5))
    if n_test >= n_docs:
        raise CorpusError(
            f"{path}: test_fraction {value} of {n_docs} documents leaves no train document"
        )
    order = np.argsort(np.array(collected.pmids, dtype=str), kind="stable")
    is_test = np.zeros(n_docs, dtype=bool)
    is_test[order[np.random.default_rng(seed).permutation(n_docs)[:n_test]]] = True
    return is_test


def _corpus_frame(
    collected: _Collected, is_test: np.ndarray, min_label_count: int | None
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


def _log_collected(path: Path, collected: _Collected, max_docs: int | None) -> None:
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


# --- a synthetic file in the same shape (tests, benchmark) -----------------------------------

_SYNTHETIC_EXTRA_CHARS = ("°", "µ", "é", "ü", "±")  # all encodable in latin-1 too


def write_synthetic_bioasq(
    path: Path | str,
    n_articles: int,
    *,
    seed: int = 0,
    line_break: str = "\r\n",
    encoding: str = "utf-8",
    n_headings: int = 5000,
) -> int:
    """Write ``n_articles`` synthetic articles in the allMeSH file shape; return its byte size.

    One article per line (``line_break``, Windows by default), keys in the real files' order,
    pmid 10000000 + i, year "1950".."2023", a 6-20-word title, a 80-320-word abstract (~1.5 KB,
    some non-ASCII characters, written unescaped like the real files) and 3-20 distinct
    headings drawn Zipf-like from ``n_headings`` names. Written article by article: constant
    memory for any size.
    """
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = ["".join(rng.choice(letters, size=int(n))) for n in rng.integers(2, 12, size=4000)]
    words += [f"{rng.integers(1, 99)}{char}" for char in _SYNTHETIC_EXTRA_CHARS]
    vocabulary = np.array(words, dtype=object)
    headings = [f"Heading {i:05d}, Synthetic" for i in range(n_headings)]
    batch = 1000
    with open(path, "w", encoding=encoding, newline="") as handle:
        handle.write('{"articles":[' + line_break)
        for start in range(0, n_articles, batch):
            count = min(batch, n_articles - start)
            title_lengths = rng.integers(6, 21, size=count)
            abstract_lengths = rng.integers(80, 321, size=count)
            word_ids = rng.zipf(1.2, size=int(title_lengths.sum() + abstract_lengths.sum()))
            tokens = vocabulary[np.minimum(word_ids - 1, len(vocabulary) - 1)]
            heading_ids = np.minimum(rng.zipf(1.3, size=(count, 20)) - 1, n_headings - 1)
            n_heads = rng.integers(3, 21, size=count)
            years = rng.integers(1950, 2024, size=count)
            cursor = 0
            for i in range(count):
                title = " ".join(tokens[cursor : cursor + title_lengths[i]]).capitalize() + "."
                cursor += title_lengths[i]
                abstract = " ".join(tokens[cursor : cursor + abstract_lengths[i]]) + "."
                cursor += abstract_lengths[i]
                article = {
                    "abstractText": abstract,
                    "journal": "Journal of synthetic articles",
                    "meshMajor": [
                        headings[h] for h in dict.fromkeys(heading_ids[i, : n_heads[i]].tolist())
                    ],
                    "pmid": str(10_000_000 + start + i),
                    "title": title,
                    "year": str(years[i]),
                }
                last = start + i == n_articles - 1
                handle.write(json.dumps(article, ensure_ascii=False) + ("" if last else ","))
                handle.write(line_break)
        handle.write("]}" + line_break)
    return Path(path).stat().st_size


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
