"""Errors raised while turning raw files into the canonical Corpus (DESIGN "The canonical Corpus").

``CorpusError`` is a ``ValueError`` (the data is wrong); ``RawDataNotFoundError`` is a
``FileNotFoundError`` (the data is absent), so callers can catch either with the builtin they
already expect.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "CorpusError",
    "CorruptRawFileError",
    "DownloadError",
    "RawDataNotFoundError",
    "invalid_utf8",
]


class CorpusError(ValueError):
    """A corpus table, or the raw data behind it, breaks the canonical Corpus contract."""


class CorruptRawFileError(CorpusError):
    """A raw file exists but cannot be parsed (truncated, malformed, missing attributes)."""


class DownloadError(CorpusError):
    """A download failed, had a wrong checksum, or its archive was unsafe to extract."""


class RawDataNotFoundError(FileNotFoundError):
    """A corpus's raw files are in none of the places searched (DESIGN "Raw data acquisition")."""


def invalid_utf8(
    path: Path, line: int, raw: bytes, error: UnicodeDecodeError, expected: str
) -> CorruptRawFileError:
    """The error for a line of ``path`` that is not UTF-8: file, line, byte, column, expectation."""
    return CorruptRawFileError(
        f"{path}: line {line}: byte 0x{raw[error.start]:02x} at column {error.start + 1} is not "
        f"valid UTF-8; expected {expected}"
    )
