"""The one strict UTF-8 line reader every corpus reader streams its text files through.

Numbering convention (docs/corpora.md "Record numbers"): ``line N`` is the 1-based physical
line of the file as a text editor shows it, header lines included.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path

from longtail_mltc.corpora.errors import CorruptRawFileError, invalid_utf8

__all__ = ["GZIP_MAGIC", "open_binary", "utf8_lines"]

GZIP_MAGIC = b"\x1f\x8b"


def open_binary(path: Path, *, gzip_ok: bool = True):  # noqa: ANN201 - a binary file object
    """``path`` opened for binary reading, transparently gunzipped when it holds gzip bytes.

    The magic bytes decide, not the name: a published ``.gz`` renamed (or a plain file named
    ``.gz``) still reads. With ``gzip_ok=False`` gzip bytes are an error naming the file.
    """
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == GZIP_MAGIC:
        if not gzip_ok:
            raise CorruptRawFileError(f"{path}: holds gzip-compressed bytes; expected plain text")
        return gzip.open(path, "rb")
    return open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it


def utf8_lines(
    path: Path, *, expected: str, gzip_ok: bool = True, keep_ends: bool = False
) -> Iterator[tuple[int, str]]:
    """``(1-based line number, decoded line)`` of a plain or gzip text file, streamed.

    - Strict UTF-8, decoded line by line (``b"\\n"`` never occurs inside a multi-byte UTF-8
      character), so a bad byte is an error naming the file, line, byte and column, and
      ``expected`` (what the file should hold), never silently replaced.
    - A byte-order mark at the start of line 1 is dropped.
    - The line ending (``\\n`` or ``\\r\\n``) is removed unless ``keep_ends``.
    - A corrupt or truncated gzip stream names the last complete line.
    """
    number = 0
    try:
        with open_binary(path, gzip_ok=gzip_ok) as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise invalid_utf8(path, number, raw, error, expected) from None
                if number == 1:
                    line = line.removeprefix("\ufeff")
                yield number, line if keep_ends else line.rstrip("\r\n")
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise CorruptRawFileError(
            f"{path}: the gzip stream is corrupt or truncated after line {number}: {error}"
        ) from None
