"""Cells and labels of the table reader (:mod:`~longtail_mltc.corpora.table`): type and
Unicode checks, text joining, label lists and the id -> name label file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from longtail_mltc.corpora.errors import CorruptRawFileError
from longtail_mltc.corpora.table_io import Places, text_lines, undecodable_line
from longtail_mltc.corpora.validation import check_text, check_texts, describe, first_surrogate

__all__ = [
    "cell_str",
    "check_cells",
    "joined_text",
    "label_list",
    "mapped_labels",
    "read_label_names",
]

_CONTAINERS = (Mapping, list, tuple, set, np.ndarray)
LABEL_NAMES_EXPECTED = "'<id><TAB or comma><name>' lines, or one name per line"

_EXPECTED_CELLS = {
    "text": "a string",
    "labels": "a string of delimited labels or a list of strings",
    "id": "a string or a number",
    "split": "a string",
}


def check_cells(raw: pd.DataFrame, roles: Mapping[str, str], path: Path, where: Places) -> None:
    """Cells of the columns read are scalars (labels: or lists of scalars) and valid text.

    Only object columns are scanned: pandas' str and number columns hold nothing else (and a
    pyarrow string is UTF-8 by construction, so it holds no surrogate).
    """
    for column, role in roles.items():
        values = raw[column]
        if not pd.api.types.is_object_dtype(values.dtype):
            continue
        for row, cell in enumerate(values.to_numpy()):
            problem = _cell_problem(cell, role)
            if problem is not None:
                raise CorruptRawFileError(
                    f'{path}: {where[row]}, field "{column}" {problem}; expected '
                    f"{_EXPECTED_CELLS[role]}"
                )
            if isinstance(cell, str):
                if first_surrogate(cell) is not None:
                    check_text(cell, f"{path}: {where[row]}", column)
            elif isinstance(cell, list | tuple | np.ndarray):
                texts = [item for item in cell if isinstance(item, str)]
                if first_surrogate("".join(texts)) is not None:
                    check_texts(texts, f"{path}: {where[row]}", column)


def _cell_problem(cell: object, role: str) -> str | None:
    """What is wrong with the type of a cell (``None``: nothing)."""
    if role == "labels" and isinstance(cell, list | tuple | np.ndarray):
        bad = next((item for item in cell if isinstance(item, _CONTAINERS)), None)
        return None if bad is None else f"holds {describe(bad)} in its list"
    return f"is {describe(cell)}" if isinstance(cell, _CONTAINERS) else None


def cell_str(cell: Any) -> str:
    """A scalar cell as text (missing: empty; a whole float: its integer)."""
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def joined_text(raw: pd.DataFrame, columns: Sequence[str], separator: str) -> pd.Series:
    """The text columns' cells, stripped, joined by ``separator``."""
    parts = [raw[c].map(cell_str).str.strip() for c in columns]
    text = parts[0]
    for part in parts[1:]:
        text = (text + separator + part).str.strip()
    return text


def label_list(cell: Any, delimiter: str | None) -> list[str]:
    """A labels cell as a list: a list cell's items, or a string cut at ``delimiter`` (a
    whitespace delimiter cuts at any run of whitespace; ``None`` keeps the string whole)."""
    if isinstance(cell, list | tuple | np.ndarray):
        items = [cell_str(item) for item in cell]
    else:
        value = cell_str(cell)
        if delimiter is None:
            items = [value]
        else:
            items = value.split(delimiter) if delimiter.strip() else value.split()
    # Order kept, duplicates removed (a label is present or not).
    return list(dict.fromkeys(item.strip() for item in items if item.strip()))


def mapped_labels(
    labels: pd.Series,
    names: Mapping[str, str],
    path: Path,
    where: Places,
    names_file: str | None,
) -> pd.Series:
    """Label ids mapped to names; an unknown id is an error naming the file and place."""
    flat = labels.explode().dropna()
    unknown = flat[~flat.isin(list(names))]
    if len(unknown):
        row = unknown.index[0]
        raise CorruptRawFileError(
            f"{path}: {where[row]}: label id {unknown.iloc[0]!r} is not in "
            f"{names_file} ({len(unknown)} unknown id(s) in all); expected one of "
            f"its {len(names)} ids"
        )
    return labels.map(lambda ids: [names[i] for i in ids])


def read_label_names(path: Path, encoding: str) -> dict[str, str]:
    """``id -> name`` from ``<id><TAB or comma><name>`` lines, or from a names-only file (no
    line has a tab or comma) where a name's id is its 0-based line index, as GoEmotions
    numbers the lines of its ``emotions.txt``."""
    try:
        lines = [line for _, line in text_lines(path, encoding, expected=LABEL_NAMES_EXPECTED)]
    except UnicodeDecodeError as error:
        where = undecodable_line(path, encoding)
        raise CorruptRawFileError(
            f"{path}: {where or 'somewhere'}: not valid {encoding} text ({error.reason}); "
            f"expected {LABEL_NAMES_EXPECTED} in the encoding set by encoding:"
        ) from None
    while lines and not lines[-1].strip():  # trailing blank lines shift no id
        lines.pop()
    if not lines:
        raise CorruptRawFileError(f"{path} is empty; expected {LABEL_NAMES_EXPECTED}")
    if not any("\t" in line or "," in line for line in lines):
        return _names_by_line(path, lines)
    names: dict[str, str] = {}
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        separator = "\t" if "\t" in line else ","
        fields = [f.strip() for f in line.split(separator, 1)]
        if len(fields) != 2 or not fields[0] or not fields[1]:
            raise CorruptRawFileError(
                f"{path}: line {line_number}: expected '<id><TAB or comma><name>', "
                f"got {line.rstrip()!r} (a file of names only, one per line, has no tab or "
                "comma on any line)"
            )
        if fields[0] in names:
            raise CorruptRawFileError(
                f"{path}: line {line_number}: label id {fields[0]!r} appears twice"
            )
        names[fields[0]] = fields[1]
    return names


def _names_by_line(path: Path, lines: list[str]) -> dict[str, str]:
    """A names-only label file: id ``i`` is the name on line ``i + 1``."""
    names: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for index, line in enumerate(lines):
        name = line.strip()
        if not name:
            raise CorruptRawFileError(
                f"{path}: line {index + 1}: blank line in a names-only label file, where a "
                "name's id is its 0-based line index; expected one name per line"
            )
        if name in first_line:
            raise CorruptRawFileError(
                f"{path}: line {index + 1}: label name {name!r} appears twice (first on line "
                f"{first_line[name]})"
            )
        first_line[name] = index + 1
        names[str(index)] = name
    return names
