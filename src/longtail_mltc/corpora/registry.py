"""Registry of corpus sources: name -> raw files, where to find them, and the reader.

A new corpus is one reader plus one ``register_corpus(CorpusSource(...))`` line in
``corpora/__init__.py`` (DESIGN "The canonical Corpus": "a new corpus is one reader").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from longtail_mltc.corpora.acquisition import DownloadSpec

__all__ = [
    "CorpusReader",
    "CorpusSource",
    "available_corpora",
    "get_corpus_source",
    "register_corpus",
]

CorpusReader = Callable[..., pd.DataFrame]
"""``reader(raw_dir, **reader_options) -> Corpus table``."""


@dataclass(frozen=True)
class CorpusSource:
    """Everything ``load_corpus`` needs to know about one corpus.

    ``expected_files``: raw file names that must all be present in the raw folder;
    ``mirror_folder``: the folder name in the offline mirror when it differs from ``name``;
    ``download``: the public download address and checksums, if any;
    ``download_note``: how to obtain the files when they cannot simply be downloaded (e.g.
    registration required), shown in the not-found error; ``gzip_ok``: the reader also reads
    ``<name>.gz`` for each expected file, so either counts as present.
    """

    name: str
    reader: CorpusReader
    expected_files: tuple[str, ...]
    mirror_folder: str | None = None
    download: DownloadSpec | None = None
    download_note: str | None = None
    gzip_ok: bool = False

    def read(self, raw_dir: Path, **reader_options: object) -> pd.DataFrame:
        return self.reader(raw_dir, **reader_options)


_REGISTRY: dict[str, CorpusSource] = {}


def register_corpus(source: CorpusSource) -> CorpusSource:
    """Add ``source`` under ``source.name``; registering a different source twice is an error."""
    existing = _REGISTRY.get(source.name)
    if existing is not None and existing != source:
        raise ValueError(f"corpus {source.name!r} is already registered")
    _REGISTRY[source.name] = source
    return source


def get_corpus_source(name: str) -> CorpusSource:
    """The registered source called ``name``; ``ValueError`` listing the names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown corpus {name!r}; available corpora: {available_corpora()}"
        ) from None


def available_corpora() -> list[str]:
    """Names of the registered corpora, sorted."""
    return sorted(_REGISTRY)
