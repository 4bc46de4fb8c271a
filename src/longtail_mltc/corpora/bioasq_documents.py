"""BioASQ articles -> documents: field checks, year filter, duplicates, interned labels.

The step between :func:`~longtail_mltc.corpora.bioasq_stream.iter_bioasq_articles` (the parse)
and :func:`~longtail_mltc.corpora.bioasq.read_bioasq` (the Corpus table).
"""

from __future__ import annotations

import logging
from array import array
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from longtail_mltc.corpora.bioasq_stream import (
    EXPECTED_SHAPE,
    BioASQArticle,
    describe_article,
    iter_bioasq_articles,
    json_type,
)
from longtail_mltc.corpora.errors import CorruptRawFileError
from longtail_mltc.corpora.validation import check_text, check_texts, first_surrogate

__all__ = ["Collected", "collect"]

logger = logging.getLogger("longtail_mltc.corpora.bioasq")  # one logger for the BioASQ reader

_NO_TEXT = "no title or abstractText"
_NO_MESH = "no meshMajor headings"
_NO_YEAR = "no year (needed by min_year/max_year/test_year)"
_OUTSIDE_YEARS = "year outside min_year..max_year"
_DUPLICATE = "duplicate pmid (first occurrence kept)"


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

    def described() -> str:  # on the error path only: the line is counted by reading the file
        return f"{path}: {describe_article(path, article.index, article.byte_offset)}"

    def error(problem: str) -> CorruptRawFileError:
        return CorruptRawFileError(
            f"{described()} (pmid {record.get('pmid')!r}): {problem}; expected {EXPECTED_SHAPE}"
        )

    pmid = record.get("pmid")
    if isinstance(pmid, int) and not isinstance(pmid, bool):
        pmid = str(pmid)
    if not isinstance(pmid, str) or not pmid.strip():
        raise error("no 'pmid' (a PubMed id string)")
    texts = {}
    for key in ("title", "abstractText"):
        value = record.get(key)
        if value is not None and not isinstance(value, str):
            raise error(f"{key!r} is a JSON {json_type(value)}, expected a string")
        texts[key] = value or ""
    year = _year(record.get("year"), error)
    mesh = record.get("meshMajor")
    if mesh is not None and not (
        isinstance(mesh, list) and all(isinstance(label, str) for label in mesh)
    ):
        raise error("'meshMajor' must be a list of strings")
    if first_surrogate("".join([pmid, *texts.values(), *(mesh or ())])) is not None:
        where = described()
        check_text(pmid, where, "pmid")
        for key, value in texts.items():
            check_text(value, where, key)
        check_texts(mesh, where, "meshMajor")
    parts = [value.strip() for value in texts.values() if value.strip()]
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
class Collected:
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


def collect(
    path: Path,
    *,
    encoding: str,
    progress: bool | None,
    year_range: tuple[int | None, int | None],
    needs_year: bool,
    max_docs: int | None,
) -> Collected:
    """Stream the file, keep the usable documents (first ``max_docs``), count the skipped."""
    collected = Collected()
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
