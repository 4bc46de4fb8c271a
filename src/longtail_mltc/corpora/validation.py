"""Checks shared by the corpus readers: text fields are valid Unicode, JSON is not nested deeply.

Issue 20, item 4. ``json.loads`` accepts the escape ``"\\ud800"`` and returns a ``str`` holding a
lone surrogate: not Unicode text (it cannot be written as UTF-8, so pyarrow, and with it the
corpus parquet file, fails on it far from the file it came from). Its C scanner recurses once per
nesting level, so a line of 100,000 ``[`` raises ``RecursionError``. Every reader checks the text
fields it reads with :func:`check_text` / :func:`check_texts`, and parses JSON records with
:func:`parse_json` (or :func:`check_json_depth` when it parses by itself); all raise
:class:`~longtail_mltc.corpora.errors.CorruptRawFileError` with the ``where`` the reader gives
(file and 1-based record), the field and what was expected.

Readers that decode bytes strictly cannot produce a surrogate and need no check: Python's UTF-8
decoder refuses encoded surrogates (douban_movies CSV, the LYRL2004 files, Mulan ARFF), expat
refuses surrogate character references (Mulan XML), ``html.unescape`` turns them into U+FFFD
(Reuters), and latin-1 has none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from longtail_mltc.corpora.errors import CorruptRawFileError

__all__ = [
    "describe",
    "json_record",
    "MAX_JSON_DEPTH",
    "check_json_depth",
    "check_text",
    "check_texts",
    "first_surrogate",
    "json_depth",
    "parse_json",
    "too_deep",
]

MAX_JSON_DEPTH = 100
"""Deepest JSON nesting a record may have. The corpora's records are 2-3 levels deep; 100 is far
below the depth (about ``sys.getrecursionlimit()``) where the standard parser gives up, so a
record within the limit always parses and one beyond it is refused the same way every time."""

# A JSON string literal (unrolled loop: no backtracking); on the error path an unterminated one.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\Z)', re.DOTALL)
_OPENERS = np.frombuffer(b"[{", dtype=np.uint8)
_CLOSERS = np.frombuffer(b"]}", dtype=np.uint8)


def first_surrogate(text: str) -> int | None:
    """Index of the first surrogate code point in ``text`` (``None`` when it is valid text).

    ``json.loads`` joins a valid escaped pair (``"\\ud83d\\ude00"``) into one character, so any
    surrogate left in a decoded string is a lone one.
    """
    if text.isascii():
        return None
    # Strict UTF-8 encoding fails on surrogates and on nothing else; in C, it is several times
    # faster than a regular expression search over the text.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return error.start
    return None


def _surrogate_error(where: str, field: str, text: str, index: int) -> CorruptRawFileError:
    return CorruptRawFileError(
        f'{where}, field "{field}": lone surrogate \\u{ord(text[index]):04x} (at character '
        f"{index + 1}) is not valid Unicode text; expected text that can be written as UTF-8 "
        "(an escaped surrogate must be half of a pair)"
    )


def check_text(text: str, where: str, field: str) -> str:
    """Return ``text``; raise :class:`CorruptRawFileError` naming ``where`` and ``field`` when it
    holds a lone surrogate."""
    index = first_surrogate(text)
    if index is not None:
        raise _surrogate_error(where, field, text, index)
    return text


def check_texts(texts: Sequence[str], where: str, field: str) -> None:
    """:func:`check_text` for every str of a list (labels, tokens); the error names the item
    (1-based). One scan of the joined list when all are valid."""
    if first_surrogate("".join(texts)) is None:
        return
    for number, text in enumerate(texts, start=1):
        index = first_surrogate(text)
        if index is not None:
            raise _surrogate_error(where, f"{field}[{number}]", text, index)


def json_depth(text: str) -> int:
    """The deepest ``[``/``{`` nesting in JSON ``text``, brackets inside strings not counted.

    Linear time and no recursion (vectorised over the bytes once the strings are removed), so
    it also measures text far too deep for the parser.
    """
    structure = _JSON_STRING.sub("", text).encode("utf-8", "surrogatepass")
    codes = np.frombuffer(structure, dtype=np.uint8)
    steps = np.isin(codes, _OPENERS).astype(np.int64) - np.isin(codes, _CLOSERS)
    return int(np.cumsum(steps).max(initial=0))


def too_deep(where: str, depth: int | None = None) -> CorruptRawFileError:
    """The error for a JSON record nested deeper than :data:`MAX_JSON_DEPTH`."""
    found = f" ({depth} levels)" if depth is not None else ""
    return CorruptRawFileError(
        f"{where}: JSON nested deeper than {MAX_JSON_DEPTH} levels{found}; expected a flat "
        "record (strings, numbers and lists of strings)"
    )


def check_json_depth(text: str, where: str, start: int = 0, end: int | None = None) -> None:
    """Raise :func:`too_deep` when ``text[start:end]`` nests deeper than :data:`MAX_JSON_DEPTH`.

    Nesting never exceeds the number of opening brackets, so the exact depth is measured only
    when there are more than :data:`MAX_JSON_DEPTH` of them (a fast count for real records).
    """
    stop = len(text) if end is None else end
    if text.count("[", start, stop) + text.count("{", start, stop) <= MAX_JSON_DEPTH:
        return
    depth = json_depth(text[start:stop])
    if depth > MAX_JSON_DEPTH:
        raise too_deep(where, depth)


def parse_json(text: str, where: str) -> Any:
    """``json.loads(text)`` after :func:`check_json_depth`.

    ``json.JSONDecodeError`` is left to the caller, which knows what the record should be.
    """
    check_json_depth(text, where)
    try:
        return json.loads(text)
    except RecursionError:  # only with an almost exhausted stack: the depth was checked
        raise too_deep(where) from None


def json_record(
    path: Path, number: int, line: str, expected: str = "one JSON object per line"
) -> dict[str, Any]:
    """Line ``number`` of ``path`` as one JSON object (nesting bounded); else an error naming
    the file, the line and ``expected``. Every JSON-lines reader parses its records here."""
    expected = f"expected {expected}"
    try:
        record = parse_json(line, f"{path}: line {number}")
    except json.JSONDecodeError as error:
        raise CorruptRawFileError(
            f"{path}: line {number}: cannot be read as jsonl: {error.msg} at column "
            f"{error.colno} (truncated line?); {expected}"
        ) from None
    if not isinstance(record, dict):
        raise CorruptRawFileError(f"{path}: line {number}: {describe(record)}; {expected}")
    return record


def describe(value: object) -> str:
    """What a misplaced value is, in JSON's words (``a JSON array (list)``)."""
    if isinstance(value, Mapping):
        return "a JSON object (mapping)"
    if isinstance(value, list | tuple | np.ndarray):
        return "a JSON array (list)"
    return f"a {type(value).__name__}"
