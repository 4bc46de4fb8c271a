"""Raw reading for the table reader (:mod:`~longtail_mltc.corpora.table`): formats, compressed
files, text lines, JSON lines and each row's place in its file.

Record numbers (docs/corpora.md "Record numbers"): a place in a CSV, TSV or JSON-lines file is
``line N``, the 1-based physical line as a text editor shows it, header included; in a parquet file
it is ``row N`` (1-based). CSV/TSV rows are parsed by pandas, which does not report lines, so their
lines are computed only when a message needs one, by scanning the file again with ``csv.reader``
(which follows quoted cells over several lines).
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import lzma
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from longtail_mltc.corpora import lines
from longtail_mltc.corpora.errors import CorpusError, CorruptRawFileError
from longtail_mltc.corpora.validation import json_record

__all__ = [
    "QUOTING",
    "TABLE_FORMATS",
    "Places",
    "RawTable",
    "json_lines",
    "lifted_field_limit",
    "read_raw_table",
    "undecodable_line",
    "table_format",
    "text_lines",
]

TABLE_FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
# ``quoting:`` -> the csv module's constant. TSV defaults to "none" (IANA TSV has no quoting, and
# GoEmotions' Reddit comments hold bare '"'), CSV to "minimal" (RFC 4180 quotes).
QUOTING: dict[str, int] = {"minimal": csv.QUOTE_MINIMAL, "none": csv.QUOTE_NONE}
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".zip")
# Compressions utf8_lines does not open itself (it reads plain and gzip files).
_OTHER_COMPRESSIONS = (".bz2", ".xz", ".zst", ".zip")
# What a truncated or corrupt compressed file raises while it is read (gzip.BadGzipFile and
# bz2's errors are OSError; lzma and zipfile have their own).
_DECOMPRESSION_ERRORS = (EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile, OSError)


class Places:
    """Each row's place in its file for messages (module doc), named only when asked.

    ``scan`` computes the 1-based numbers on first use (CSV/TSV lines, the error path only); a
    row past what the scan found (a file changed since) is named ``record N`` instead.
    """

    def __init__(
        self,
        noun: str,
        numbers: Sequence[int] | None = None,
        scan: Callable[[], list[int]] | None = None,
    ) -> None:
        self.noun = noun
        self._numbers = None if numbers is None else np.asarray(numbers, dtype=np.int64)
        self._scan = scan

    def __getitem__(self, row: int) -> str:
        if self._numbers is None:
            self._numbers = np.asarray(self._scan() if self._scan else [], dtype=np.int64)
        if row < len(self._numbers):
            return f"{self.noun} {int(self._numbers[row])}"
        return f"record {row + 1}"


@dataclass(frozen=True)
class RawTable:
    """A file's rows, their places, and (JSON lines) which records lack the label key."""

    frame: pd.DataFrame
    places: Places
    no_label_field: np.ndarray | None = None


def table_format(path: Path, declared: str | None) -> str:
    """The format of ``path``: ``declared`` (``format:``) or the name's suffix."""
    if declared is not None:
        if declared not in set(TABLE_FORMATS.values()):
            raise ValueError(
                f"format must be one of {sorted(set(TABLE_FORMATS.values()))}, got {declared!r}"
            )
        return declared
    suffixes = [s for s in path.suffixes if s.lower() not in _COMPRESSION_SUFFIXES]
    fmt = TABLE_FORMATS.get(suffixes[-1].lower()) if suffixes else None
    if fmt is None:
        raise CorruptRawFileError(
            f"{path}: cannot tell the table format from the file name; name it "
            f"{sorted(TABLE_FORMATS)} (optionally compressed) or set format:"
        )
    return fmt


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def text_lines(
    path: Path, encoding: str, *, expected: str, keep_ends: bool = False
) -> Iterator[tuple[int, str]]:
    """``(1-based line, text)`` of a (compressed) text file: through the shared
    :func:`~longtail_mltc.corpora.lines.utf8_lines` for UTF-8, plain or gzip."""
    if _is_utf8(encoding) and path.suffix.lower() not in _OTHER_COMPRESSIONS:
        yield from lines.utf8_lines(path, expected=expected, keep_ends=keep_ends)
        return
    # A TextIOWrapper only where utf8_lines cannot go: other encodings (utf-16 is not
    # ASCII-compatible, so its bytes cannot be cut at b"\n" first) and bz2/xz/zip files.
    with _open_decompressed(path) as binary:
        text = io.TextIOWrapper(binary, encoding=encoding, newline="\n")
        for number, line in enumerate(text, start=1):
            if number == 1:
                line = line.removeprefix("\ufeff")
            yield number, line if keep_ends else line.rstrip("\r\n")


def json_lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, dict[str, Any]]]:
    """``(1-based line, object)`` per non-blank line of a JSON-lines file (plain or compressed);
    a line that is not one JSON object is an error naming the file and line."""
    expected = "one JSON object per line"
    for number, line in text_lines(path, encoding, expected=f"{expected} ({encoding} text)"):
        if line.strip():
            yield number, json_record(path, number, line)


def read_raw_table(
    path: Path,
    fmt: str,
    *,
    encoding: str,
    columns: Sequence[str],
    label_column: str,
    names: Sequence[str] | None = None,
    quoting: str | None = None,
) -> RawTable:
    """The rows of ``path``; JSON lines keep only ``columns`` (object columns). ``names``: a
    headerless CSV/TSV file's column names (``columns:``)."""
    if names is not None and fmt not in ("csv", "tsv"):
        raise CorpusError(
            f"{path}: columns: names the columns of a headerless CSV/TSV file; a {fmt} file "
            "names its own columns"
        )
    try:
        if fmt == "parquet":
            frame = pd.read_parquet(path)
            return RawTable(frame, Places("row", np.arange(1, len(frame) + 1)))
        if fmt == "jsonl":
            return _read_json_lines(path, encoding, columns, label_column)
        return _read_delimited(path, fmt, encoding, names, quoting)
    except CorpusError:
        raise
    except UnicodeDecodeError as error:
        if _is_utf8(encoding) and path.suffix.lower() not in _OTHER_COMPRESSIONS:
            # pandas names no line: the shared reader raises naming line, byte and column.
            for _ in lines.utf8_lines(path, expected=f"{fmt} text in UTF-8 (else set encoding:)"):
                pass
        where = undecodable_line(path, encoding)
        raise CorruptRawFileError(
            f"{path}: {where or 'somewhere'}: not valid {encoding} text ({error.reason}); "
            "set encoding: to the file's encoding"
        ) from None
    except pd.errors.EmptyDataError:
        raise CorruptRawFileError(f"{path} is empty; expected a header and records") from None
    except (pd.errors.ParserError, ValueError) as error:
        raise CorruptRawFileError(f"{path}: cannot be read as {fmt}: {error}") from None
    except _DECOMPRESSION_ERRORS as error:
        raise _unreadable(path, fmt, error) from None


def _read_delimited(
    path: Path, fmt: str, encoding: str, names: Sequence[str] | None, quoting: str | None
) -> RawTable:
    separator = "\t" if fmt == "tsv" else ","
    quote = QUOTING[quoting or ("none" if fmt == "tsv" else "minimal")]
    frame = pd.read_csv(
        path,
        sep=separator,
        header=None if names is not None else "infer",
        encoding=encoding,
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        quoting=quote,
        # "utf-8" with a BOM would name the first column "\ufeffname".
        encoding_errors="strict",
    )
    if names is not None:
        if frame.shape[1] != len(names):
            raise CorruptRawFileError(
                f"{path}: line 1 has {frame.shape[1]} field(s); expected {len(names)}, one per "
                f"name in columns: {list(names)}"
            )
        frame.columns = list(names)

    def scan() -> list[int]:
        return _record_lines(path, encoding, separator, quote, header=names is None)

    return RawTable(frame, Places("line", scan=scan))


def _record_lines(
    path: Path, encoding: str, separator: str, quote: int, *, header: bool
) -> list[int]:
    """The 1-based physical line where each data row of a CSV/TSV file starts (error path only).

    Blank and whitespace-only lines are passed over, as pandas does; a quoted cell may span
    lines. A problem during the scan ends it (the rows after are named ``record N``).
    """
    starts: list[int] = []
    lines = (line for _, line in text_lines(path, encoding, expected="text", keep_ends=True))
    reader = csv.reader(lines, delimiter=separator, quoting=quote)
    end = 0
    with lifted_field_limit():
        try:
            for row in reader:
                start, end = end + 1, reader.line_num
                if row and not (len(row) == 1 and not row[0].strip()):
                    starts.append(start)
        except (csv.Error, UnicodeDecodeError, CorpusError, *_DECOMPRESSION_ERRORS):
            pass
    return starts[1:] if header else starts


@contextmanager
def lifted_field_limit(size: int = sys.maxsize) -> Iterator[None]:
    """Lift ``csv``'s per-field limit (131,072 characters) while a file is read: a long text is
    the labeler's business, not the reader's."""
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, min(size, 2**31 - 1)))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _read_json_lines(
    path: Path, encoding: str, columns: Sequence[str], label_column: str
) -> RawTable:
    """One JSON object per non-blank line -> ``columns`` (object dtype), the lines, and which
    records lack the label key. A key missing from a record is ``None``; a column missing from
    every record is an error."""
    values: dict[str, list[Any]] = {column: [] for column in columns}
    keys: dict[str, None] = {}
    lines: list[int] = []
    no_label: list[bool] = []
    for number, record in json_lines(path, encoding):
        keys.update(dict.fromkeys(record))
        for column, cells in values.items():
            cells.append(record.get(column))
        no_label.append(label_column not in record)
        lines.append(number)
    missing = [column for column in columns if column not in keys]
    if lines and missing:
        raise missing_columns(path, missing, list(keys))
    frame = pd.DataFrame(
        {column: pd.Series(cells, dtype=object) for column, cells in values.items()}
    )
    return RawTable(frame, Places("line", lines), np.asarray(no_label, dtype=bool))


def missing_columns(path: Path, missing: list[str], columns: list[str]) -> CorruptRawFileError:
    return CorruptRawFileError(f"{path}: missing column(s) {missing}; the file has {columns}")


def _unreadable(path: Path, fmt: str, error: Exception) -> CorruptRawFileError:
    if path.suffix.lower() in _COMPRESSION_SUFFIXES:
        return CorruptRawFileError(
            f"{path}: the compressed file is truncated or corrupt after line "
            f"{_complete_lines(path)} ({type(error).__name__}: {error}); expected a complete "
            f"{path.suffix} file holding {fmt}"
        )
    return CorruptRawFileError(f"{path}: cannot be read as {fmt}: {error}")


def _complete_lines(path: Path) -> int:
    """How many whole lines a damaged compressed file gives before it fails (error path)."""
    count = 0
    try:
        with _open_decompressed(path) as handle:
            for _ in handle:
                count += 1
    except (*_DECOMPRESSION_ERRORS, CorpusError):
        pass
    return count


@contextmanager
def _open_decompressed(path: Path) -> Iterator[IO[bytes]]:
    """``path`` opened for binary reading, decompressed by its suffix as pandas infers it."""
    suffix = path.suffix.lower()
    if suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            members = [name for name in archive.namelist() if not name.endswith("/")]
            if len(members) != 1:
                raise CorruptRawFileError(
                    f"{path}: a zip archive holding {len(members)} files; expected exactly one"
                )
            with archive.open(members[0]) as handle:
                yield handle
        return
    if suffix == ".zst":
        raise CorpusError(f"{path}: zstd-compressed JSON lines are not supported; use .gz or .xz")
    openers = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
    with openers.get(suffix, open)(path, "rb") as handle:
        yield handle


def undecodable_line(path: Path, encoding: str) -> str | None:
    """Where the first undecodable line is, e.g. ``"line 3, byte 42"`` (error messages only,
    for encodings other than UTF-8, whose errors the shared line reader names itself).

    The file is scanned again, one line at a time (streamed, decompressed). Bytes are counted
    in the decompressed text.
    """
    offset = 0
    try:
        with _open_decompressed(path) as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    line.decode(encoding)
                except UnicodeDecodeError as error:
                    return f"line {number}, byte {offset + error.start}"
                offset += len(line)
    except (*_DECOMPRESSION_ERRORS, CorpusError):
        return None
    return None
