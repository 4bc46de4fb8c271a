"""Errors raised while turning raw files into the canonical Corpus (DESIGN "The canonical Corpus").

``CorpusError`` is a ``ValueError`` (the data is wrong); ``RawDataNotFoundError`` is a
``FileNotFoundError`` (the data is absent), so callers can catch either with the builtin they
already expect.
"""

from __future__ import annotations

__all__ = [
    "CorpusError",
    "CorruptRawFileError",
    "DownloadError",
    "RawDataNotFoundError",
]


class CorpusError(ValueError):
    """A corpus table, or the raw data behind it, breaks the canonical Corpus contract."""


class CorruptRawFileError(CorpusError):
    """A raw file exists but cannot be parsed (truncated, malformed, missing attributes)."""


class DownloadError(CorpusError):
    """A download failed, had a wrong checksum, or its archive was unsafe to extract."""


class RawDataNotFoundError(FileNotFoundError):
    """A corpus's raw files are in none of the places searched (DESIGN "Raw data acquisition")."""
