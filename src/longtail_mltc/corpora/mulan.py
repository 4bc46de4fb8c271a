"""Reader for Mulan multi-label datasets (ARFF + XML label file) -> the canonical Corpus table.

DESIGN "The canonical Corpus" (bag-of-words corpora: the present words joined by spaces) and
"Raw data acquisition". Registered as corpus ``delicious`` (Tsoumakas, Katakis, Vlahavas 2008).

A Mulan dataset is a train and a test ARFF file with the same attributes, plus an XML file
``<labels xmlns="http://mulan.sourceforge.net/labels"><label name="..."/>...</labels>`` naming
the label attributes (labels may be nested to form a hierarchy; every ``<label>`` counts). Every
other attribute is a feature. The rules this reader applies:

* Rows may be sparse (``{index value, ...}``, omitted attributes hold their zero value) or dense
  (one comma-separated value per attribute), mixed freely, as the ARFF format allows.
* A feature is *present* in a document when its value is non-zero: for a numeric attribute a
  number other than 0, for a nominal attribute any value other than its first declared one (the
  value an omitted sparse attribute takes), so ``{0,1}`` words are present when 1. ``?`` (missing)
  counts as absent and is logged.
* ``text`` is the names of the present features, in attribute order, joined by one space.
  Feature names are therefore required to hold no whitespace.
* ``labels`` is the names of the label attributes whose value is 1, in attribute order. Label
  attributes must be declared ``{0,1}``. Names are kept exactly as the ARFF declares them (the
  ``TAG_`` prefix of Delicious is kept): the ARFF attribute is authoritative, the XML only says
  which attributes are labels. Documents without any label are kept (the contract allows empty
  label lists) and counted in the log.
* ``doc_id`` is ``"<split>-<row>"`` with the 1-based row number within its file, zero-padded to
  six digits (``train-000001``); ``split`` is "train" / "test" by file.
* Names: a quoted attribute name (``'a b'`` / ``"a b"``) is unquoted and its backslash escapes
  resolved; an unquoted name is taken literally up to the first whitespace or ``{``, so the
  Delicious attribute ``TAG_m\\'usica`` keeps its backslash, exactly as its XML writes it.
* Encoding: ARFF files are read as UTF-8 (ASCII is a subset; a leading BOM is ignored); any other
  byte sequence is an error naming the file, line and byte.

Matching XML label names to attributes (``position_fallback``): each XML name must equal an
attribute name. Where some do not (the Delicious XML writes ``TTAG_m\\'usica`` for the attribute
``TAG_m\\'usica``), the position fallback maps them only when the mapping is unambiguous:

1. more XML names match exactly than do not;
2. the exactly matched label attributes stand in the XML's order as one contiguous block with
   gaps exactly where the unmatched XML names are, i.e. ``attribute_index - xml_index`` is the
   same for every exact match; this fixes the block's start ``s``;
3. each unmatched XML name at XML position ``k`` then maps to attribute ``s + k``, which must
   exist (and, being inside the block, is not claimed by any other XML name);
4. an unmatched name before the first (after the last) exact match is mapped only when the
   block then starts at the first (ends at the last) attribute, as Mulan's labels-first and
   labels-last layouts do: elsewhere the attribute beside the block may well be a feature.

Each mapping is logged as a WARNING naming both names. Otherwise (or with
``position_fallback=False``) a :class:`CorruptRawFileError` names the XML file, the unmatched
labels with their XML lines and near-miss attribute names, and why the fallback did not apply.

Errors: structural problems raise :class:`CorruptRawFileError` naming the file, the line (the
record) and what was expected; missing files raise :class:`RawDataNotFoundError`. Nothing is
skipped: every row becomes a document.

Parsing streams each file line by line: a sparse row is checked with one regular expression, a
dense row is split on its bytes with numpy, and indices and values are validated per block of
4,096 rows with numpy (Python runs per value only for quoted or unusual values, and to locate an
error). The Delicious files (16,105 rows x 1,483 attributes) take about a second.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

import numpy as np
import pandas as pd

from longtail_mltc.corpora.errors import (
    CorruptRawFileError,
    RawDataNotFoundError,
    invalid_utf8,
)
from longtail_mltc.corpora.registry import CorpusSource
from longtail_mltc.corpora.schema import CORPUS_COLUMNS, validate_corpus

__all__ = [
    "DELICIOUS",
    "DELICIOUS_DOWNLOAD_NOTE",
    "DELICIOUS_FILES",
    "DELICIOUS_SHA256",
    "DELICIOUS_URL",
    "read_delicious",
    "read_mulan",
]

logger = logging.getLogger(__name__)

DELICIOUS_FILES: tuple[str, ...] = (
    "delicious-train.arff",
    "delicious-test.arff",
    "delicious.xml",
)

# sha256 of the Mulan distribution's files (computed from the offline mirror, whose provenance,
# CRC32-verified against the Mulan archive, is documented in ../shared/datasets/delicious/).
DELICIOUS_SHA256: dict[str, str] = {
    "delicious-train.arff": "030186cdb542ebdd32052fcdbb1ebe30115b3a22518c1b4b198c45eb827aebe1",
    "delicious-test.arff": "2dfb01723a819914b0ca83361177ed413ce3f2169851d9f228d4692915d63944",
    "delicious.xml": "895a02309299386dac2a0dd6cd02c344e36ecd5e6c0067af37fdb400d29cd195",
}

# The Mulan project distributes Delicious only as a RAR archive. acquisition.py extracts tar
# and zip archives with the standard library and the standard library cannot read RAR, so no
# DownloadSpec is registered (download=None): the files must be placed by hand, and the
# "not found" errors (the reader's, and load_corpus's through download_note) say where to get them.
DELICIOUS_URL = "http://sourceforge.net/projects/mulan/files/datasets/delicious.rar"

DELICIOUS_DOWNLOAD_NOTE = (
    f"the Mulan project publishes them in the RAR archive {DELICIOUS_URL} (extract "
    f"{', '.join(DELICIOUS_FILES)} from it by hand; RAR cannot be extracted with the Python "
    "standard library, so the corpus has no automatic download)"
)

_ROWS_PER_BLOCK = 4096
_DOC_ID_DIGITS = 6
_NUMERIC_TYPES = frozenset({"numeric", "real", "integer"})
_UNSUPPORTED_TYPES = ("string", "date", "relational")
_MULAN_XML = (
    '<labels xmlns="http://mulan.sourceforge.net/labels"><label name="..."></label>...</labels>'
)
# A sparse row of unquoted "index value" items; anything else (quotes, errors) takes the slow
# path, which parses quoted values and reports errors precisely. Indices of more than nine
# digits are out of range for any file this reader can hold, and the slow path says so.
_SPARSE_ROW = re.compile(
    r"\{\s*(?:[0-9]{1,9}\s+[^\s,{}'\"]+\s*(?:,\s*[0-9]{1,9}\s+[^\s,{}'\"]+\s*)*)?\}"
)
_INDEX = re.compile(r"[0-9]+")
_COMMA, _ZERO = ord(","), ord("0")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def read_delicious(raw_dir: Path | str) -> pd.DataFrame:
    """Read the Mulan Delicious files in ``raw_dir`` (``DELICIOUS_FILES``) into a Corpus table.

    Result on the Mulan files: 12,920 train / 3,185 test documents, 983 labels (all present in
    train, the rarest in 18 train documents), 19.0 labels per document, 14 documents without
    labels. One label name is resolved by the position fallback (see the module doc): the XML's
    ``TTAG_m\\'usica`` is the attribute ``TAG_m\\'usica``.
    """
    return _read_mulan(
        Path(raw_dir),
        train_file=DELICIOUS_FILES[0],
        test_file=DELICIOUS_FILES[1],
        xml_file=DELICIOUS_FILES[2],
        lang="en",
        corpus_name="delicious",
        position_fallback=True,
        missing_hint=DELICIOUS_DOWNLOAD_NOTE,
    )


def read_mulan(
    raw_dir: Path | str,
    *,
    train_file: str,
    test_file: str,
    xml_file: str,
    lang: str = "en",
    corpus_name: str = "mulan",
    position_fallback: bool = True,
) -> pd.DataFrame:
    """Read any Mulan dataset (train ARFF, test ARFF, XML label file) into a Corpus table.

    File names are relative to ``raw_dir``. ``corpus_name`` names the corpus in log and error
    messages; ``position_fallback`` allows the positional matching of XML label names that
    match no attribute (module doc). Rules, errors and logging: see the module doc.
    """
    return _read_mulan(
        Path(raw_dir),
        train_file=train_file,
        test_file=test_file,
        xml_file=xml_file,
        lang=lang,
        corpus_name=corpus_name,
        position_fallback=position_fallback,
        missing_hint=None,
    )


def _read_mulan(
    raw_dir: Path,
    *,
    train_file: str,
    test_file: str,
    xml_file: str,
    lang: str,
    corpus_name: str,
    position_fallback: bool,
    missing_hint: str | None,
) -> pd.DataFrame:
    files = (train_file, test_file, xml_file)
    missing = [name for name in files if not (raw_dir / name).is_file()]
    if missing:
        hint = f"; {missing_hint}" if missing_hint else ""
        raise RawDataNotFoundError(
            f"Mulan corpus {corpus_name!r}: folder {raw_dir} lacks {len(missing)} of the "
            f"{len(files)} files {', '.join(files)}: {', '.join(missing)}{hint}"
        )
    xml_path = raw_dir / xml_file
    xml_labels = _read_label_xml(xml_path)
    train = _read_arff(raw_dir / train_file)
    test = _read_arff(raw_dir / test_file)
    _check_same_attributes(train, test)
    label_columns = _resolve_labels(xml_labels, train, xml_path, position_fallback)
    _check_attribute_roles(train, label_columns)
    corpus = _corpus_frame(train, test, label_columns, lang, corpus_name)
    return validate_corpus(corpus, f"corpus {corpus_name!r} from {raw_dir}")


# --- ARFF header --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Attribute:
    """One ``@attribute``: name, ``numeric`` or nominal values, and its declaration line."""

    name: str
    line: int
    nominal_values: tuple[str, ...] | None  # None: numeric

    @property
    def kind(self) -> str:
        if self.nominal_values is None:
            return "numeric"
        return "{" + ",".join(self.nominal_values) + "}"


@dataclass
class _ArffTable:
    """A parsed ARFF file: attributes and, per row, the indices of its non-zero attributes."""

    path: Path
    attributes: list[_Attribute]
    indptr: np.ndarray
    indices: np.ndarray
    missing_per_attribute: np.ndarray
    sparse_rows: int = 0
    dense_rows: int = 0

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, stripped text) of every line that is neither blank nor a comment."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise invalid_utf8(
                    path, number, raw, error, "an ARFF file in ASCII/UTF-8"
                ) from None
            if number == 1:
                text = text.removeprefix("\ufeff")
            text = text.strip()
            if text and not text.startswith("%"):
                yield number, text


def _error(path: Path, line: int, problem: str) -> CorruptRawFileError:
    return CorruptRawFileError(f"{path}: line {line}: {problem}")


def _read_arff(path: Path) -> _ArffTable:
    lines = _lines(path)
    attributes, data_line = _read_header(path, lines)
    table = _DataReader(path, attributes).read(lines)
    if table.n_rows == 0:
        raise _error(path, data_line, "the @data section has no rows (truncated file?)")
    logger.info(
        "%s: %d rows (%d sparse, %d dense), %d attributes",
        path,
        table.n_rows,
        table.sparse_rows,
        table.dense_rows,
        len(attributes),
    )
    return table


def _read_header(path: Path, lines: Iterator[tuple[int, str]]) -> tuple[list[_Attribute], int]:
    """The attributes declared before ``@data``, and the ``@data`` line's number."""
    attributes: list[_Attribute] = []
    seen: dict[str, _Attribute] = {}
    last_line = 0
    for number, text in lines:
        last_line = number
        keyword = text.split(None, 1)[0].lower()
        if keyword == "@relation":
            continue
        if keyword == "@data":
            if not attributes:
                raise _error(path, number, "@data before any @attribute declaration")
            return attributes, number
        if keyword != "@attribute":
            raise _error(
                path,
                number,
                f"unexpected header line {text[:60]!r}; expected @relation, @attribute or @data",
            )
        attribute = _parse_attribute(path, number, text)
        if attribute.name in seen:
            raise _error(
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
    raise _error(
        path,
        last_line,
        f"end of file after {len(attributes)} @attribute declarations without a @data line "
        "(truncated file?)",
    )


def _parse_attribute(path: Path, line: int, text: str) -> _Attribute:
    rest = text[len("@attribute") :].strip()
    if not rest:
        raise _error(path, line, "@attribute without a name; expected '@attribute <name> <type>'")
    try:
        if rest[0] in "'\"":
            end = _closing_quote(rest, 0)
            name, type_text = _unescape(rest[1:end]), rest[end + 1 :].strip()
        else:
            match = re.match(r"[^\s{]+", rest)
            assert match is not None  # rest is stripped and non-empty, and '{' cannot start a name
            name, type_text = match.group(), rest[match.end() :].strip()
    except ValueError as error:
        raise _error(path, line, f"@attribute name: {error}") from None
    if not type_text:
        raise _error(path, line, f"attribute {name!r} has no type; expected numeric or {{...}}")
    lowered = type_text.lower()
    if lowered in _NUMERIC_TYPES:
        return _Attribute(name, line, None)
    if type_text.startswith("{"):
        if not type_text.endswith("}"):
            raise _error(path, line, f"attribute {name!r}: nominal values lack the closing '}}'")
        try:
            values = tuple(_unquote(value.strip()) for value in _split_values(type_text[1:-1]))
        except ValueError as error:
            raise _error(path, line, f"attribute {name!r}: {error}") from None
        if not values or any(value == "" for value in values):
            raise _error(path, line, f"attribute {name!r}: empty nominal value in {type_text!r}")
        return _Attribute(name, line, values)
    if lowered.startswith(_UNSUPPORTED_TYPES):
        raise _error(
            path,
            line,
            f"attribute {name!r} has type {type_text.split()[0]!r}; a Mulan corpus needs numeric "
            "or nominal attributes",
        )
    raise _error(path, line, f"attribute {name!r}: unknown type {type_text!r}")


def _closing_quote(text: str, start: int) -> int:
    """Index of the quote closing the one at ``start``, skipping backslash escapes."""
    quote, position = text[start], start + 1
    while position < len(text):
        char = text[position]
        if char == "\\":
            position += 2
            continue
        if char == quote:
            return position
        position += 1
    raise ValueError(f"unterminated quote {quote} in {text[start : start + 40]!r}")


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return re.sub(r"\\(.)", lambda match: _ESCAPES.get(match.group(1), match.group(1)), text)


def _unquote(token: str) -> str:
    if len(token) >= 2 and token[0] in "'\"" and token[-1] == token[0]:
        return _unescape(token[1:-1])
    return token


def _split_values(text: str) -> list[str]:
    """Split on commas outside quotes; pieces are returned raw (not stripped or unquoted)."""
    if "'" not in text and '"' not in text:
        return text.split(",")
    pieces, start, position = [], 0, 0
    while position < len(text):
        char = text[position]
        if char in "'\"":
            position = _closing_quote(text, position) + 1
            continue
        if char == ",":
            pieces.append(text[start:position])
            start = position + 1
        position += 1
    pieces.append(text[start:])
    for piece in pieces:
        stripped = piece.strip()
        if stripped[:1] in ("'", '"') and _closing_quote(stripped, 0) != len(stripped) - 1:
            raise ValueError(f"text after a quoted value in {stripped[:40]!r}")
    return pieces


# --- ARFF data ----------------------------------------------------------------------------------


@dataclass
class _Block:
    """Rows read but not yet validated: their lines, item counts, indices and value tokens."""

    lines: list[int] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)
    values: list[str] = field(default_factory=list)


class _DataReader:
    """Reads the ``@data`` rows of one file into CSR arrays of non-zero attribute indices."""

    def __init__(self, path: Path, attributes: list[_Attribute]) -> None:
        self.path = path
        self.attributes = attributes
        self.n_attributes = len(attributes)
        nominal = [attribute.nominal_values for attribute in attributes]
        # For the two common tokens "0" and "1": is the value allowed, and is it non-zero?
        self.allows_0 = np.array([v is None or "0" in v for v in nominal], dtype=bool)
        self.all_allow_0 = bool(self.allows_0.all())
        self.allows_1 = np.array([v is None or "1" in v for v in nominal], dtype=bool)
        self.present_0 = np.array([v is not None and v[0] != "0" for v in nominal], dtype=bool)
        self.present_1 = np.array([v is None or v[0] != "1" for v in nominal], dtype=bool)
        self.missing = np.zeros(self.n_attributes, dtype=np.int64)
        self.out_counts: list[np.ndarray] = []
        self.out_indices: list[np.ndarray] = []
        self.sparse_rows = self.dense_rows = 0

    def read(self, lines: Iterator[tuple[int, str]]) -> _ArffTable:
        block = _Block()
        for number, text in lines:
            if text[0] == "{":
                self.sparse_rows += 1
                self._add_sparse(block, number, text)
            else:
                self.dense_rows += 1
                self._add_dense(block, number, text)
            if len(block.lines) >= _ROWS_PER_BLOCK:
                self._flush(block)
                block = _Block()
        self._flush(block)
        counts = np.concatenate([np.zeros(1, dtype=np.int64), *self.out_counts])
        return _ArffTable(
            path=self.path,
            attributes=self.attributes,
            indptr=np.cumsum(counts),
            indices=np.concatenate([np.zeros(0, dtype=np.int32), *self.out_indices]),
            missing_per_attribute=self.missing,
            sparse_rows=self.sparse_rows,
            dense_rows=self.dense_rows,
        )

    # rows -> tokens ----------------------------------------------------------------------------

    def _add_sparse(self, block: _Block, number: int, text: str) -> None:
        if _SPARSE_ROW.fullmatch(text):
            tokens = text[1:-1].replace(",", " ").split()
            indices: list[int] = list(map(int, tokens[0::2]))
            values = tokens[1::2]
        else:
            indices, values = self._parse_sparse_slowly(number, text)
        block.lines.append(number)
        block.counts.append(len(indices))
        block.indices.extend(indices)
        block.values.extend(values)

    def _parse_sparse_slowly(self, number: int, text: str) -> tuple[list[int], list[str]]:
        expected = "expected a sparse row '{index value, index value, ...}'"
        if not text.endswith("}"):
            raise _error(self.path, number, f"no closing '}}' (truncated row?); {expected}")
        body = text[1:-1]
        if "{" in body or "}" in body:
            raise _error(
                self.path,
                number,
                f"unexpected brace inside the row (instance weights are not supported); {expected}",
            )
        if not body.strip():
            return [], []
        try:
            items = _split_values(body)
        except ValueError as error:
            raise _error(self.path, number, f"{error}; {expected}") from None
        indices, values = [], []
        for position, raw_item in enumerate(items, start=1):
            item = raw_item.strip()
            parts = item.split(None, 1)
            if len(parts) != 2:
                raise _error(
                    self.path, number, f"item {position} {item!r} is not 'index value'; {expected}"
                )
            index_text, value_text = parts[0], parts[1].strip()
            if not _INDEX.fullmatch(index_text):
                raise _error(
                    self.path,
                    number,
                    f"item {position} {item!r}: index {index_text!r} is not a non-negative "
                    f"integer; {expected}",
                )
            index = int(index_text)
            if index >= self.n_attributes:
                raise self._out_of_range(number, index)
            quoted = value_text[0] in "'\""
            value = _unquote(value_text)
            if not quoted and any(char.isspace() for char in value_text):
                raise _error(
                    self.path,
                    number,
                    f"item {position} {item!r} has more than one value; {expected}",
                )
            indices.append(index)
            values.append(value)
        return indices, values

    def _add_dense(self, block: _Block, number: int, text: str) -> None:
        if "'" in text or '"' in text:
            try:
                parts = [_unquote(part.strip()) for part in _split_values(text)]
            except ValueError as error:
                raise _error(self.path, number, f"{error}; expected a dense row") from None
            self._check_dense_width(number, len(parts))
            nonzero = [index for index, value in enumerate(parts) if value != "0"]
            values = [parts[index] for index in nonzero]
            zero = np.ones(self.n_attributes, dtype=bool)
            zero[nonzero] = False
        else:
            zero, nonzero, values = self._dense_nonzero(number, text)
        if not self.all_allow_0 and not self.allows_0[zero].all():
            raise self._bad_value(number, int(np.flatnonzero(zero & ~self.allows_0)[0]), "0")
        block.lines.append(number)
        block.counts.append(len(nonzero))
        block.indices.extend(nonzero)
        block.values.extend(values)

    def _dense_nonzero(self, number: int, text: str) -> tuple[np.ndarray, list[int], list[str]]:
        """A quote-free dense row: which values are "0", and the others with their indices.

        Works on the row's bytes with numpy (field bounds from the comma positions), so only
        the few values other than "0" become Python strings.
        """
        data = text.encode("utf-8")
        codes = np.frombuffer(data, dtype=np.uint8)
        commas = np.flatnonzero(codes == _COMMA)
        self._check_dense_width(number, len(commas) + 1)
        starts = np.concatenate(([0], commas + 1))
        ends = np.concatenate((commas, [len(codes)]))
        first = codes[np.minimum(starts, len(codes) - 1)]
        zero = (ends - starts == 1) & (first == _ZERO)
        nonzero = np.flatnonzero(~zero)
        values = [
            data[begin:end].decode("utf-8").strip()
            for begin, end in zip(starts[nonzero].tolist(), ends[nonzero].tolist(), strict=True)
        ]
        return zero, nonzero.tolist(), values

    def _check_dense_width(self, number: int, width: int) -> None:
        if width != self.n_attributes:
            raise _error(
                self.path,
                number,
                f"dense row has {width} comma-separated values; expected "
                f"{self.n_attributes}, one per attribute (truncated or malformed row?)",
            )

    # tokens -> validated CSR -------------------------------------------------------------------

    def _flush(self, block: _Block) -> None:
        if not block.lines:
            return
        counts = np.array(block.counts, dtype=np.int64)
        indices = np.array(block.indices, dtype=np.int64)
        values = np.array(block.values, dtype=str) if block.values else np.zeros(0, dtype=str)
        row_of = np.repeat(np.arange(len(counts)), counts)

        def line_of(item: int) -> int:
            return block.lines[int(row_of[item])]

        out_of_range = np.flatnonzero(indices >= self.n_attributes)
        if len(out_of_range):
            item = int(out_of_range[0])
            raise self._out_of_range(line_of(item), int(indices[item]))
        unordered = np.flatnonzero((indices[1:] <= indices[:-1]) & (row_of[1:] == row_of[:-1]))
        if len(unordered):
            item = int(unordered[0]) + 1
            raise _error(
                self.path,
                line_of(item),
                f"sparse index {indices[item]} follows index {indices[item - 1]}; indices within "
                "a sparse row must be strictly increasing (duplicate or unordered items)",
            )
        is_0, is_1 = values == "0", values == "1"
        allowed = (is_0 & self.allows_0[indices]) | (is_1 & self.allows_1[indices])
        present = (is_0 & self.present_0[indices]) | (is_1 & self.present_1[indices])
        for item in np.flatnonzero(~allowed).tolist():
            index, value = int(indices[item]), str(values[item])
            if value in ("0", "1"):
                raise self._bad_value(line_of(item), index, value)
            present[item] = self._resolve_value(line_of(item), index, value)
        self.out_counts.append(np.bincount(row_of[present], minlength=len(counts)))
        self.out_indices.append(indices[present].astype(np.int32))

    def _resolve_value(self, line: int, index: int, value: str) -> bool:
        """Is ``value`` of attribute ``index`` non-zero? ``?`` counts as missing (absent)."""
        if value == "?":
            self.missing[index] += 1
            return False
        nominal = self.attributes[index].nominal_values
        if nominal is None:
            try:
                return float(value) != 0.0
            except ValueError:
                raise self._bad_value(line, index, value) from None
        if value not in nominal:
            raise self._bad_value(line, index, value)
        return value != nominal[0]

    def _bad_value(self, line: int, index: int, value: str) -> CorruptRawFileError:
        attribute = self.attributes[index]
        expected = "a number" if attribute.nominal_values is None else f"one of {attribute.kind}"
        return _error(
            self.path,
            line,
            f"value {value!r} of attribute {index} {attribute.name!r} (declared on line "
            f"{attribute.line}); expected {expected} or '?'",
        )

    def _out_of_range(self, line: int, index: int) -> CorruptRawFileError:
        return _error(
            self.path,
            line,
            f"sparse index {index} is out of range; the file declares {self.n_attributes} "
            f"attributes (indices 0..{self.n_attributes - 1})",
        )


def _check_same_attributes(train: _ArffTable, test: _ArffTable) -> None:
    """The test file must declare the train file's attributes, in the same order."""
    for position, (ours, theirs) in enumerate(zip(train.attributes, test.attributes, strict=False)):
        if (ours.name, ours.nominal_values) != (theirs.name, theirs.nominal_values):
            raise _error(
                test.path,
                theirs.line,
                f"attribute {position} is {theirs.name!r} {theirs.kind}; the train file "
                f"{train.path} declares {ours.name!r} {ours.kind} there (line {ours.line}); "
                "train and test must declare the same attributes in the same order",
            )
    if len(train.attributes) != len(test.attributes):
        raise CorruptRawFileError(
            f"{test.path}: declares {len(test.attributes)} attributes; the train file "
            f"{train.path} declares {len(train.attributes)}; train and test must declare the "
            "same attributes"
        )


# --- XML labels and their attributes ------------------------------------------------------------


@dataclass(frozen=True)
class _XmlLabel:
    name: str
    line: int


def _read_label_xml(path: Path) -> list[_XmlLabel]:
    """Every ``<label name=...>`` of a Mulan label file, nested ones included, in order."""
    data = path.read_bytes()
    if not data.strip():
        raise CorruptRawFileError(
            f"{path}: the file is empty; expected a Mulan label file {_MULAN_XML}"
        )
    parser = expat.ParserCreate(namespace_separator=" ")
    labels: list[_XmlLabel] = []
    roots: list[str] = []

    def start(name: str, attributes: dict[str, str]) -> None:
        local = name.rsplit(" ", 1)[-1]
        line = parser.CurrentLineNumber
        if not roots:
            roots.append(local)
            if local != "labels":
                raise _error(path, line, f"root element <{local}>; expected {_MULAN_XML}")
            return
        if local != "label":
            return
        if "name" not in attributes:
            raise _error(path, line, "<label> without a name attribute; expected <label name=...>")
        labels.append(_XmlLabel(attributes["name"], line))

    parser.StartElementHandler = start
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise CorruptRawFileError(
            f"{path}: line {error.lineno}, column {error.offset + 1}: not well-formed XML "
            f"({expat.ErrorString(error.code)}); expected a Mulan label file {_MULAN_XML}"
        ) from None
    if not labels:
        raise CorruptRawFileError(f"{path}: no <label name=...> elements; expected {_MULAN_XML}")
    first_line: dict[str, int] = {}
    for label in labels:
        if label.name in first_line:
            raise _error(
                path,
                label.line,
                f"label {label.name!r} is listed twice (first on line {first_line[label.name]})",
            )
        first_line[label.name] = label.line
    return labels


def _resolve_labels(
    xml_labels: list[_XmlLabel], table: _ArffTable, xml_path: Path, position_fallback: bool
) -> np.ndarray:
    """The attribute index of each XML label, by name, else by the position fallback."""
    index_of = {attribute.name: index for index, attribute in enumerate(table.attributes)}
    matched = [index_of.get(label.name) for label in xml_labels]
    unmatched = [k for k, index in enumerate(matched) if index is None]
    if not unmatched:
        return np.array(matched, dtype=np.int64)
    reason = (
        _fallback_problem(matched, unmatched, len(table.attributes))
        if position_fallback
        else "the position fallback is disabled (position_fallback=False)"
    )
    if reason is not None:
        raise _unmatched_error(xml_labels, unmatched, table, xml_path, reason)
    start = next(index - k for k, index in enumerate(matched) if index is not None)
    for k in unmatched:
        attribute = table.attributes[start + k]
        logger.warning(
            "%s: label %r (line %d, label %d of %d) matches no attribute of %s; mapped by "
            "position to attribute %d %r",
            xml_path,
            xml_labels[k].name,
            xml_labels[k].line,
            k,
            len(xml_labels),
            table.path,
            start + k,
            attribute.name,
        )
    return np.arange(start, start + len(xml_labels), dtype=np.int64)


def _fallback_problem(
    matched: Sequence[int | None], unmatched: Sequence[int], n_attributes: int
) -> str | None:
    """Why the position fallback cannot map the unmatched labels, or None when it can."""
    n_exact = len(matched) - len(unmatched)
    if n_exact <= len(unmatched):
        return (
            f"only {n_exact} of the {len(matched)} XML labels match an attribute exactly; the "
            "position fallback needs a majority of exact matches"
        )
    offsets = {index - k for k, index in enumerate(matched) if index is not None}
    if len(offsets) != 1:
        return (
            "the exactly matching label attributes do not form one contiguous block in the "
            "XML's order, so positions cannot identify the others"
        )
    start = offsets.pop()
    last = start + len(matched) - 1
    if start < 0 or last >= n_attributes:
        return (
            f"the label block would span attributes {start}..{last}, outside the "
            f"{n_attributes} attributes"
        )
    exact = [k for k, index in enumerate(matched) if index is not None]
    before_first = any(k < exact[0] for k in unmatched) and start != 0
    after_last = any(k > exact[-1] for k in unmatched) and last != n_attributes - 1
    if before_first or after_last:
        return (
            "an unmatched label lies at the edge of the label block (attributes "
            f"{start}..{last}), where the neighbouring attribute may be a feature; edges are "
            "mapped only where the block starts at the first or ends at the last attribute"
        )
    return None


def _unmatched_error(
    xml_labels: list[_XmlLabel],
    unmatched: list[int],
    table: _ArffTable,
    xml_path: Path,
    reason: str,
) -> CorruptRawFileError:
    names = [attribute.name for attribute in table.attributes]
    described = []
    for k in unmatched[:5]:
        label = xml_labels[k]
        close = difflib.get_close_matches(label.name, names, n=3)
        similar = f" (similar attributes: {', '.join(map(repr, close))})" if close else ""
        described.append(f"{label.name!r} on line {label.line}{similar}")
    more = f" and {len(unmatched) - 5} more" if len(unmatched) > 5 else ""
    return CorruptRawFileError(
        f"{xml_path}: {len(unmatched)} of the {len(xml_labels)} labels match no attribute of "
        f"{table.path}: {'; '.join(described)}{more}. Expected every label name to be an "
        f"attribute name; not mapped by position because {reason}"
    )


def _check_attribute_roles(table: _ArffTable, label_columns: np.ndarray) -> None:
    """Label attributes are declared {0,1}; feature names can be joined by spaces."""
    is_label = np.zeros(len(table.attributes), dtype=bool)
    is_label[label_columns] = True
    for index in label_columns.tolist():
        attribute = table.attributes[index]
        if attribute.nominal_values != ("0", "1"):
            raise _error(
                table.path,
                attribute.line,
                f"label attribute {attribute.name!r} is declared {attribute.kind}; Mulan label "
                "attributes must be declared {0,1}",
            )
    if is_label.all():
        raise CorruptRawFileError(
            f"{table.path}: every attribute is a label; a Mulan corpus needs feature attributes"
        )
    for index in np.flatnonzero(~is_label).tolist():
        attribute = table.attributes[index]
        if not attribute.name or any(char.isspace() for char in attribute.name):
            raise _error(
                table.path,
                attribute.line,
                f"feature attribute {attribute.name!r} is empty or holds whitespace; the "
                "document text joins feature names with spaces, so names must be single words",
            )


# --- Corpus table -------------------------------------------------------------------------------


def _corpus_frame(
    train: _ArffTable, test: _ArffTable, label_columns: np.ndarray, lang: str, corpus_name: str
) -> pd.DataFrame:
    attributes = train.attributes
    is_label = np.zeros(len(attributes), dtype=bool)
    is_label[label_columns] = True
    names = np.array([attribute.name for attribute in attributes], dtype=object)
    parts = []
    for split, table in (("train", train), ("test", test)):
        texts, labels = _rows_as_text_and_labels(table, is_label, names)
        width = max(_DOC_ID_DIGITS, len(str(table.n_rows)))
        doc_ids = [f"{split}-{row:0{width}d}" for row in range(1, table.n_rows + 1)]
        parts.append((doc_ids, texts, labels, [split] * table.n_rows))
        _log_split(corpus_name, split, table, labels, texts, is_label)
    frame = pd.DataFrame(
        {
            "doc_id": pd.Series([x for part in parts for x in part[0]], dtype="str"),
            "text": pd.Series([x for part in parts for x in part[1]], dtype="str"),
            "labels": pd.Series([x for part in parts for x in part[2]], dtype="object"),
            "split": pd.Series([x for part in parts for x in part[3]], dtype="str"),
        }
    )
    frame["lang"] = lang
    logger.info(
        "Mulan corpus %r: %d label attributes, %d feature attributes; no rows skipped",
        corpus_name,
        int(is_label.sum()),
        int((~is_label).sum()),
    )
    return frame.loc[:, list(CORPUS_COLUMNS)]


def _rows_as_text_and_labels(
    table: _ArffTable, is_label: np.ndarray, names: np.ndarray
) -> tuple[list[str], list[list[str]]]:
    """Per row: present feature names joined by spaces, and present label names."""
    row_of = np.repeat(np.arange(table.n_rows), np.diff(table.indptr))
    label_item = is_label[table.indices]
    texts: list[str] = []
    labels: list[list[str]] = []
    for mask, out, join in ((~label_item, texts, True), (label_item, labels, False)):
        selected: list[str] = names[table.indices[mask]].tolist()
        bounds = np.concatenate(
            [[0], np.cumsum(np.bincount(row_of[mask], minlength=table.n_rows))]
        ).tolist()
        for start, end in zip(bounds[:-1], bounds[1:], strict=True):
            piece = selected[start:end]
            out.append(" ".join(piece) if join else piece)
    return texts, labels


def _log_split(
    corpus_name: str,
    split: str,
    table: _ArffTable,
    labels: list[list[str]],
    texts: list[str],
    is_label: np.ndarray,
) -> None:
    without_labels = sum(1 for row in labels if not row)
    without_words = sum(1 for text in texts if not text)
    assignments = sum(len(row) for row in labels)
    logger.info(
        "Mulan corpus %r %s: %d documents, %.2f labels per document; kept %d documents "
        "without labels and %d without words",
        corpus_name,
        split,
        table.n_rows,
        assignments / table.n_rows,
        without_labels,
        without_words,
    )
    missing_labels = int(table.missing_per_attribute[is_label].sum())
    missing_features = int(table.missing_per_attribute[~is_label].sum())
    if missing_labels or missing_features:
        logger.warning(
            "%s: %d missing ('?') feature values read as absent and %d missing label values "
            "read as not assigned",
            table.path,
            missing_features,
            missing_labels,
        )


DELICIOUS = CorpusSource(
    name="delicious",
    reader=read_delicious,
    expected_files=DELICIOUS_FILES,
    mirror_folder="delicious",
    download=None,  # Mulan ships a RAR archive only: see DELICIOUS_URL above
    download_note=DELICIOUS_DOWNLOAD_NOTE,
)
