"""Raw corpora -> the canonical Corpus table.

DESIGN "The canonical Corpus" and "Raw data acquisition".

``load_corpus(name, ...)`` finds a registered corpus's raw files, reads them with its reader and
validates the result. A new corpus is one reader and one ``register_corpus`` line below.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from longtail_mltc.corpora.acquisition import (
    DEFAULT_RAW_ROOT,
    MIRROR_ENV_VAR,
    ArchiveLimits,
    DownloadLimitError,
    DownloadSpec,
    download_raw,
    locate_raw_dir,
    missing_files,
)
from longtail_mltc.corpora.bioasq import BIOASQ, BIOASQ_SAMPLE, iter_bioasq_articles, read_bioasq
from longtail_mltc.corpora.douban import DOUBAN_MOVIES, IMCM, read_douban_movies, read_imcm
from longtail_mltc.corpora.errors import (
    CorpusError,
    CorruptRawFileError,
    DownloadError,
    RawDataNotFoundError,
)
from longtail_mltc.corpora.mulan import DELICIOUS, read_arff_corpus, read_delicious, read_mulan
from longtail_mltc.corpora.rcv1 import (
    RCV1,
    RCV1_SAMPLE,
    read_rcv1,
    read_rcv1_hierarchy,
    read_rcv1_sample,
)
from longtail_mltc.corpora.registry import (
    CorpusSource,
    available_corpora,
    get_corpus_source,
    register_corpus,
)
from longtail_mltc.corpora.report import ingestion_report, record_skips, skipped_records
from longtail_mltc.corpora.reuters import REUTERS, read_reuters21578
from longtail_mltc.corpora.schema import CORPUS_COLUMNS, validate_corpus
from longtail_mltc.corpora.splits import split_validation
from longtail_mltc.corpora.user import (
    ArffCorpusSpec,
    register_chosen_corpus,
    register_user_corpus,
    user_corpus_formats,
)

__all__ = [
    "CORPUS_COLUMNS",
    "MIRROR_ENV_VAR",
    "ArchiveLimits",
    "ArffCorpusSpec",
    "CorpusError",
    "CorpusSource",
    "CorruptRawFileError",
    "DownloadError",
    "DownloadLimitError",
    "DownloadSpec",
    "RawDataNotFoundError",
    "available_corpora",
    "download_raw",
    "ingestion_report",
    "iter_bioasq_articles",
    "load_corpus",
    "locate_raw_dir",
    "read_arff_corpus",
    "read_bioasq",
    "read_delicious",
    "read_douban_movies",
    "read_imcm",
    "read_mulan",
    "read_rcv1",
    "read_rcv1_hierarchy",
    "read_rcv1_sample",
    "read_reuters21578",
    "record_skips",
    "register_chosen_corpus",
    "register_corpus",
    "register_user_corpus",
    "skipped_records",
    "split_validation",
    "user_corpus_formats",
    "validate_corpus",
]

for _source in (
    REUTERS,
    DELICIOUS,
    RCV1,
    RCV1_SAMPLE,
    BIOASQ,
    BIOASQ_SAMPLE,
    DOUBAN_MOVIES,
    IMCM,
):
    register_corpus(_source)


def load_corpus(
    name: str,
    *,
    raw_dir: Path | str | None = None,
    raw_root: Path | str = DEFAULT_RAW_ROOT,
    mirror: Path | str | None = None,
    allow_download: bool | None = None,
    download_limits: Mapping[str, Any] | None = None,
    **reader_options: object,
) -> pd.DataFrame:
    """Read the registered corpus ``name`` into a validated Corpus table.

    ``raw_dir`` names the raw folder explicitly (no search); otherwise the folder is found by
    :func:`locate_raw_dir` from ``raw_root``, ``mirror`` and ``allow_download`` (``None``: download
    when the corpus has a public address with a recorded checksum; ``$LONGTAIL_MLTC_OFFLINE``
    forbids any download over the network); a download is bounded by ``download_limits`` (keys
    of :class:`ArchiveLimits`; unset keys keep defaults).
    ``reader_options`` go to the corpus's reader. Unknown ``name``: ``ValueError`` listing the
    available corpora.
    """
    source = get_corpus_source(name)
    if allow_download is not None and not isinstance(allow_download, bool):
        raise ValueError(
            f"corpus_options.{name}.allow_download: expected true or false (or unset for the "
            f"default), got {allow_download!r}"
        )
    limits = ArchiveLimits.from_mapping(download_limits, f"corpus_options.{name}.download_limits")
    if raw_dir is None:
        folder = locate_raw_dir(
            name,
            source.expected_files,
            raw_root=raw_root,
            mirror=mirror,
            mirror_folder=source.mirror_folder,
            download=source.download,
            allow_download=allow_download,
            download_note=source.download_note,
            gzip_ok=source.gzip_ok,
            limits=limits,
        )
    else:
        folder = _explicit_raw_dir(name, Path(raw_dir), source)
    corpus = source.read(folder, **reader_options)
    skips = skipped_records(corpus)
    # validate_corpus may return a new frame; the reader's skip counts travel with it.
    return record_skips(validate_corpus(corpus, f"corpus {name!r} from {folder}"), skips)


def _explicit_raw_dir(name: str, folder: Path, source: CorpusSource) -> Path:
    expected_files = source.expected_files
    missing = missing_files(folder, expected_files, gzip_ok=source.gzip_ok)
    if missing is None:
        raise RawDataNotFoundError(f"raw folder {folder} given for corpus {name!r} does not exist")
    if missing:
        raise RawDataNotFoundError(
            f"raw folder {folder} given for corpus {name!r} lacks {len(missing)} of the "
            f"{len(expected_files)} expected files: {', '.join(missing)}"
        )
    return folder
