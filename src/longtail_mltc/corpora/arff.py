"""ARFF files (Weka's Attribute-Relation File Format, as Mulan and MEKA ship them) -> rows.

:func:`read_arff` reads one file into its attributes and, per ``@data`` row, the indices of its
*present* (non-zero) attributes; :mod:`~longtail_mltc.corpora.mulan` turns those into documents.
Sparse and dense rows mix freely; :func:`meka_label_count` reads MEKA's ``-C n`` from
``@relation``. Strict UTF-8 (gzip read transparently); errors are
:class:`CorruptRawFileError` naming the file, the 1-based physical line and what was expected.
Nothing is skipped. The row parser is :mod:`~longtail_mltc.corpora.arff_rows`.

Presence, name quoting, encoding and why the parser is hand-written rather than liac-arff:
docs/corpora.md#how-arff-files-are-read.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from longtail_mltc.corpora import lines
from longtail_mltc.corpora.arff_rows import (
    ArffAttribute,
    ArffRows,
    RowReader,
    arff_error,
    closing_quote,
    split_values,
    unescape,
    unquote,
)
from longtail_mltc.corpora.errors import CorruptRawFileError

__all__ = [
    "ArffAttribute",
    "ArffTable",
    "check_same_attributes",
    "meka_label_count",
    "read_arff",
]

logger = logging.getLogger(__name__)

_NUMERIC_TYPES = frozenset({"numeric", "real", "integer"})
_UNSUPPORTED_TYPES = ("string", "date", "relational")
# MEKA's "-C n" option inside the relation name: 'Enron: -C 53', 'bibtex: -C -159 -split ...'.
_MEKA_C = re.compile(r"(?:^|[\s:'\"])-C\s+(-?[0-9]+)(?![0-9.])")


@dataclass
class ArffTable:
    """A parsed ARFF file: relation, attributes and the present attributes of each row (CSR)."""

    path: Path
    relation: str
    relation_line: int
    attributes: list[ArffAttribute]
    rows: ArffRows

    @property
    def n_rows(self) -> int:
        return self.rows.n_rows


def read_arff(path: Path) -> ArffTable:
    """Parse the ARFF file ``path`` (rules in the module doc); an empty ``@data`` is an error."""
    lines = _content_lines(path)
    relation, relation_line, attributes, data_line = _read_header(path, lines)
    rows = RowReader(path, attributes).read(lines)
    if rows.n_rows == 0:
        raise arff_error(path, data_line, "the @data section has no rows (truncated file?)")
    logger.info(
        "%s: %d rows (%d sparse, %d dense), %d attributes",
        path,
        rows.n_rows,
        rows.sparse_rows,
        rows.dense_rows,
        len(attributes),
    )
    return ArffTable(path, relation, relation_line, attributes, rows)


def meka_label_count(table: ArffTable) -> int | None:
    """MEKA's ``-C n`` in ``@relation``: n > 0, the first n attributes are labels; n < 0, the
    last |n|; None without the option. A count leaving no feature attribute is an error."""
    match = _MEKA_C.search(table.relation)
    if match is None:
        return None
    count = int(match.group(1))
    if count == 0 or abs(count) >= len(table.attributes):
        raise arff_error(
            table.path,
            table.relation_line,
            f"MEKA option '-C {count}' in @relation {table.relation!r}: expected a label count "
            f"n with 1 <= |n| < {len(table.attributes)} (the attributes; at least one must be a "
            "feature)",
        )
    return count


def check_same_attributes(tables: Sequence[ArffTable]) -> None:
    """Every file must declare the first file's attributes, in the same order."""
    first = tables[0]
    for other in tables[1:]:
        pairs = zip(first.attributes, other.attributes, strict=False)
        for position, (ours, theirs) in enumerate(pairs):
            if (ours.name, ours.nominal_values) != (theirs.name, theirs.nominal_values):
                raise arff_error(
                    other.path,
                    theirs.line,
                    f"attribute {position} is {theirs.name!r} {theirs.kind}; the train file "
                    f"{first.path} declares {ours.name!r} {ours.kind} there (line {ours.line}); "
                    "train and test must declare the same attributes in the same order",
                )
        if len(first.attributes) != len(other.attributes):
            raise CorruptRawFileError(
                f"{other.path}: declares {len(other.attributes)} attributes; the train file "
                f"{first.path} declares {len(first.attributes)}; train and test must declare the "
                "same attributes"
            )


def _content_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, stripped text) of every line that is neither blank nor a comment."""
    for number, line in lines.utf8_lines(path, expected="an ARFF file in ASCII/UTF-8"):
        text = line.strip()
        if text and not text.startswith("%"):
            yield number, text


def _read_header(
    path: Path, lines: Iterator[tuple[int, str]]
) -> tuple[str, int, list[ArffAttribute], int]:
    """The relation and its line, the attributes declared before ``@data``, the ``@data`` line."""
    attributes: list[ArffAttribute] = []
    seen: dict[str, ArffAttribute] = {}
    relation, relation_line, last_line = "", 0, 0
    for number, text in lines:
        last_line = number
        keyword = text.split(None, 1)[0].lower()
        if keyword == "@relation":
            relation, relation_line = unquote(text[len("@relation") :].strip()), number
            continue
        if keyword == "@data":
            if not attributes:
                raise arff_error(path, number, "@data before any @attribute declaration")
            return relation, relation_line, attributes, number
        if keyword != "@attribute":
            raise arff_error(
                path,
                number,
                f"unexpected header line {text[:60]!r}; expected @relation, @attribute or @data",
            )
        attribute = _parse_attribute(path, number, text)
        if attribute.name in seen:
            raise arff_error(
                path,
                number,
                f"attribute {attribute.name!r} is declared twice (first on line "
                f"{seen[attribute.name].line}); attribute names must be unique",
            )
        seen[attribute.name] = attribute
        attributes.append(attribute)
    if last_line == 0:
        raise CorruptRawFileError(
            f"{path}: the file is empty (no ARFF header); expected @relation, @attribute "
            "declarations and @data"
        )
    raise arff_error(
        path,
        last_line,
        f"end of file after {len(attributes)} @attribute declarations without a @data line "
        "(truncated file?)",
    )


def _parse_attribute(path: Path, line: int, text: str) -> ArffAttribute:
    rest = text[len("@attribute") :].strip()
    if not rest:
        raise arff_error(
            path, line, "@attribute without a name; expected '@attribute <name> <type>'"
        )
    try:
        if rest[0] in "'\"":
            end = closing_quote(rest, 0)
            name, type_text = unescape(rest[1:end]), rest[end + 1 :].strip()
        else:
            match = re.match(r"[^\s{]+", rest)
            assert match is not None  # rest is stripped and non-empty, and '{' cannot start a name
            name, type_text = match.group(), rest[match.end() :].strip()
    except ValueError as error:
        raise arff_error(path, line, f"@attribute name: {error}") from None
    if not type_text:
        raise arff_error(path, line, f"attribute {name!r} has no type; expected numeric or {{...}}")
    lowered = type_text.lower()
    if lowered in _NUMERIC_TYPES:
        return ArffAttribute(name, line, None)
    if type_text.startswith("{"):
        if not type_text.endswith("}"):
            raise arff_error(
                path, line, f"attribute {name!r}: nominal values lack the closing '}}'"
            )
        try:
            values = tuple(unquote(value.strip()) for value in split_values(type_text[1:-1]))
        except ValueError as error:
            raise arff_error(path, line, f"attribute {name!r}: {error}") from None
        if not values or any(value == "" for value in values):
            raise arff_error(
                path, line, f"attribute {name!r}: empty nominal value in {type_text!r}"
            )
        return ArffAttribute(name, line, values)
    if lowered.startswith(_UNSUPPORTED_TYPES):
        raise arff_error(
            path,
            line,
            f"attribute {name!r} has type {type_text.split()[0]!r}; a Mulan corpus needs numeric "
            "or nominal attributes",
        )
    raise arff_error(path, line, f"attribute {name!r}: unknown type {type_text!r}")
