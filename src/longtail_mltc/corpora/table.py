"""Any user corpus from a table: CSV / TSV / JSON lines / parquet -> the canonical Corpus.

DESIGN "The canonical Corpus" ("A generic reader takes CSV/TSV/JSON-lines/parquet with
configurable text and label columns"). A user corpus is declared in configuration only
(``user_corpora`` in ``conf/base/parameters_ingestion.yml``, README "Your own corpus"): the
ingestion node turns each entry into a :class:`TableCorpusSpec` and registers it with
:func:`register_table_corpus`; no code is needed.

Choices (written down because the issue leaves them open):

- ``files`` is one file (splits come from ``split_column``, or a seeded ``test_fraction``) or a
  mapping ``{"train": ..., "test": ...}``.
- Labels are a list cell (JSON lines / parquet), or a delimited string of names, or of integer
  ids (``label_ids=True``) mapped through an optional id -> name file (two columns, tab- or
  comma-separated, no header). An id missing from that file is an error naming file and row.
- A record whose text is empty or missing is skipped and counted (it carries nothing to learn
  from). A record without labels is kept with an empty label list (like the 14 Delicious
  documents without tags) and counted; ``unlabeled="skip"`` drops them instead (counted) and
  ``"error"`` refuses them.
- CSV, TSV and parquet rows are read with pandas (a well-kept parser); the text and label
  checks run column-wise. JSON lines are parsed here, one ``json.loads`` per line: pandas'
  JSON parser silently drops an escaped lone surrogate (``"a\\ud800b"`` becomes ``"ab"``), so
  the text could not be checked after it, and a line number could not be named.
- Text, id and split cells must be scalars (a string, or a number taken as its text), labels a
  string or a list of scalars: a JSON list or object, or a parquet list or struct, where text is
  expected is an error naming file, record and field, never turned into its ``str()``. Text
  fields must be valid Unicode (no lone surrogate, :mod:`~longtail_mltc.corpora.validation`).
- ``doc_id`` values must be unique: a repeat is an error naming the file and record of both.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import logging
import lzma
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd

from longtail_mltc.corpora.errors import CorpusError, CorruptRawFileError
from longtail_mltc.corpora.registry import CorpusSource, get_corpus_source, register_corpus
from longtail_mltc.corpora.report import record_skips
from longtail_mltc.corpora.schema import CORPUS_COLUMNS, CORPUS_LANGS, validate_corpus
from longtail_mltc.corpora.validation import check_text, check_texts, first_surrogate, parse_json

__all__ = [
    "TABLE_FORMATS",
    "TableCorpusSpec",
    "read_table_corpus",
    "register_table_corpus",
]

logger = logging.getLogger(__name__)

TABLE_FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".zip")
# What a truncated or corrupt compressed file raises while it is read (gzip.BadGzipFile and
# bz2's errors are OSError; lzma and zipfile have their own).
_DECOMPRESSION_ERRORS = (EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile, OSError)
_CONTAINERS = (Mapping, list, tuple, set, np.ndarray)
_SPLITS = ("train", "test")
Unlabeled = Literal["keep", "skip", "error"]


@dataclass(frozen=True)
class TableCorpusSpec:
    """How to read one user corpus from table files (module doc); also its reader callable.

    Compared by value, so registering the same YAML entry twice is harmless.
    """

    files: str | Mapping[str, str]
    text_columns: Sequence[str] | str
    label_column: str
    format: str | None = None
    label_delimiter: str | None = ","
    label_ids: bool = False
    label_names_file: str | None = None
    id_column: str | None = None
    split_column: str | None = None
    split_values: Mapping[str, str] = field(default_factory=dict)
    test_fraction: float | None = None
    seed: int = 0
    lang: str = "en"
    encoding: str = "utf-8"
    text_separator: str = " "
    unlabeled: Unlabeled = "keep"

    def __post_init__(self) -> None:
        if self.lang not in CORPUS_LANGS:
            raise ValueError(f"lang must be one of {list(CORPUS_LANGS)}, got {self.lang!r}")
        if self.unlabeled not in ("keep", "skip", "error"):
            raise ValueError(f"unlabeled must be 'keep', 'skip' or 'error', not {self.unlabeled!r}")
        if isinstance(self.files, Mapping):
            unknown = sorted(set(self.files) - set(_SPLITS))
            if unknown or "train" not in self.files:
                raise ValueError(
                    f"files must map 'train' (and usually 'test') to file names; got keys "
                    f"{sorted(self.files)}"
                )
        elif self.split_column is None and self.test_fraction is None:
            raise ValueError(
                "one file needs a split_column or a test_fraction to tell train from test"
            )
        if self.test_fraction is not None and not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")
        if self.label_names_file is not None and not self.label_ids:
            raise ValueError("label_names_file maps integer label ids: set label_ids: true")

    @property
    def expected_files(self) -> tuple[str, ...]:
        files = list(self.files.values()) if isinstance(self.files, Mapping) else [str(self.files)]
        if self.label_names_file is not None:
            files.append(self.label_names_file)
        return tuple(files)

    @property
    def text_column_list(self) -> list[str]:
        if isinstance(self.text_columns, str):
            return [self.text_columns]
        return list(self.text_columns)

    def __call__(self, raw_dir: Path | str) -> pd.DataFrame:
        return read_table_corpus(raw_dir, self)


def register_table_corpus(name: str, **options: Any) -> CorpusSource:
    """Register the user corpus ``name`` described by ``options`` (TableCorpusSpec fields).

    Unknown option names raise ``ValueError`` listing the valid ones. Re-registering the same
    spec is a no-op; a different spec under an existing name is an error.
    """
    valid = {*TableCorpusSpec.__dataclass_fields__, "mirror_folder"}
    unknown = sorted(set(options) - valid)
    if unknown:
        raise ValueError(
            f"user corpus {name!r}: unknown option(s) {unknown}; valid options: {sorted(valid)}"
        )
    options = _plain(dict(options))
    mirror_folder = options.pop("mirror_folder", None)
    spec = TableCorpusSpec(**options)
    source = CorpusSource(
        name=name,
        reader=spec,
        expected_files=spec.expected_files,
        mirror_folder=mirror_folder,
    )
    try:
        existing = get_corpus_source(name)
    except ValueError:
        existing = None
    if existing is not None and existing != source:
        raise ValueError(
            f"corpus {name!r} is already registered with a different definition; pick another "
            "name for the user corpus"
        )
    return register_corpus(source)


def read_table_corpus(raw_dir: Path | str, spec: TableCorpusSpec) -> pd.DataFrame:
    """Read a user corpus described by ``spec`` from ``raw_dir`` into a Corpus table."""
    raw_dir = Path(raw_dir)
    names = _label_names(raw_dir, spec)
    skips: Counter[str] = Counter()
    if isinstance(spec.files, Mapping):
        parts = [
            _read_part(raw_dir / file, spec, names, skips, split=split)
            for split, file in spec.files.items()
        ]
        table = pd.concat([part for part, _ in parts], ignore_index=True)
        origins = [origin for _, origin in parts]
    else:
        table, origin = _read_part(raw_dir / str(spec.files), spec, names, skips, split=None)
        origins = [origin]
    _check_unique_ids(table, origins, spec)
    if not isinstance(spec.files, Mapping) and spec.split_column is None:
        table = _seeded_test_split(table, spec.test_fraction or 0.0, spec.seed)
    source = f"user corpus from {raw_dir}"
    logger.info(
        "%s: %s documents, %d labels",
        source,
        table["split"].value_counts().to_dict(),
        len({label for labels in table["labels"] for label in labels}),
    )
    return record_skips(validate_corpus(table, source), skips)


def _plain(value: Any) -> Any:
    """OmegaConf containers (DictConfig/ListConfig) and tuples as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _table_format(path: Path, spec: TableCorpusSpec) -> str:
    if spec.format is not None:
        if spec.format not in set(TABLE_FORMATS.values()):
            raise ValueError(
                f"format must be one of {sorted(set(TABLE_FORMATS.values()))}, got {spec.format!r}"
            )
        return spec.format
    suffixes = [s for s in path.suffixes if s.lower() not in _COMPRESSION_SUFFIXES]
    fmt = TABLE_FORMATS.get(suffixes[-1].lower()) if suffixes else None
    if fmt is None:
        raise CorruptRawFileError(
            f"{path}: cannot tell the table format from the file name; name it "
            f"{sorted(TABLE_FORMATS)} (optionally compressed) or set format:"
        )
    return fmt


def _read_raw_table(
    path: Path, spec: TableCorpusSpec, columns: Sequence[str]
) -> tuple[pd.DataFrame, pd.Series | None]:
    """The file's rows, and for JSON lines each row's 1-based line number (else ``None``).

    JSON lines keep only ``columns`` (as object columns, checked by :func:`_check_cells`).
    """
    fmt = _table_format(path, spec)
    try:
        if fmt == "parquet":
            return pd.read_parquet(path), None
        if fmt == "jsonl":
            return _read_json_lines(path, spec.encoding, columns)
        table = pd.read_csv(
            path,
            sep="\t" if fmt == "tsv" else ",",
            encoding=spec.encoding,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            # "utf-8" with a BOM would name the first column "\ufeffname".
            encoding_errors="strict",
        )
        return table, None
    except CorpusError:
        raise
    except UnicodeDecodeError as error:
        where = _undecodable_line(path, spec.encoding) if fmt != "parquet" else None
        raise CorruptRawFileError(
            f"{path}: {where or 'somewhere'}: not valid {spec.encoding} text ({error.reason}); "
            "set encoding: to the file's encoding"
        ) from None
    except pd.errors.EmptyDataError:
        raise CorruptRawFileError(f"{path} is empty; expected a header and records") from None
    except (pd.errors.ParserError, ValueError) as error:
        raise CorruptRawFileError(f"{path}: cannot be read as {fmt}: {error}") from None
    except _DECOMPRESSION_ERRORS as error:
        raise _unreadable(path, fmt, error) from None


def _unreadable(path: Path, fmt: str, error: Exception) -> CorruptRawFileError:
    if path.suffix.lower() in _COMPRESSION_SUFFIXES:
        return CorruptRawFileError(
            f"{path}: the compressed file is truncated or corrupt ({type(error).__name__}: "
            f"{error}); expected a complete {path.suffix} file holding {fmt}"
        )
    return CorruptRawFileError(f"{path}: cannot be read as {fmt}: {error}")


@contextmanager
def _open_decompressed(path: Path) -> Iterator[IO[bytes]]:
    """``path`` opened for binary reading, decompressed by its suffix as pandas infers it."""
    suffix = path.suffix.lower()
    if suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            members = [name for name in archive.namelist() if not name.endswith("/")]
            if len(members) != 1:
                raise CorruptRawFileError(
                    f"{path}: a zip archive holding {len(members)} files; expected exactly one"
                )
            with archive.open(members[0]) as handle:
                yield handle
        return
    if suffix == ".zst":
        raise CorpusError(f"{path}: zstd-compressed JSON lines are not supported; use .gz or .xz")
    openers = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
    with openers.get(suffix, open)(path, "rb") as handle:
        yield handle


def _read_json_lines(
    path: Path, encoding: str, columns: Sequence[str]
) -> tuple[pd.DataFrame, pd.Series]:
    """One JSON object per non-blank line -> ``columns`` (object dtype) and the line numbers.

    Parsed with :func:`~longtail_mltc.corpora.validation.parse_json` (nesting bounded); a key
    missing from a record is ``None``; a column missing from every record is an error.
    """
    values: dict[str, list[Any]] = {column: [] for column in columns}
    keys: dict[str, None] = {}
    lines: list[int] = []
    with _open_decompressed(path) as binary:
        text = io.TextIOWrapper(binary, encoding=encoding, newline="\n")
        for number, line in enumerate(text, start=1):
            if number == 1:
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            record = _json_record(path, number, line)
            keys.update(dict.fromkeys(record))
            for column, cells in values.items():
                cells.append(record.get(column))
            lines.append(number)
    missing = [column for column in columns if column not in keys]
    if lines and missing:
        raise _missing_columns(path, missing, list(keys))
    frame = pd.DataFrame(
        {column: pd.Series(cells, dtype=object) for column, cells in values.items()}
    )
    return frame, pd.Series(lines, dtype=np.int64)


def _json_record(path: Path, number: int, line: str) -> dict[str, Any]:
    expected = "expected one JSON object per line"
    try:
        record = parse_json(line, f"{path}: line {number}")
    except json.JSONDecodeError as error:
        raise CorruptRawFileError(
            f"{path}: line {number}: cannot be read as jsonl: {error.msg} at column "
            f"{error.colno} (truncated line?); {expected}"
        ) from None
    if not isinstance(record, dict):
        raise CorruptRawFileError(f"{path}: line {number}: {_describe(record)}; {expected}")
    return record


def _missing_columns(path: Path, missing: list[str], columns: list[str]) -> CorruptRawFileError:
    return CorruptRawFileError(f"{path}: missing column(s) {missing}; the file has {columns}")


def _undecodable_line(path: Path, encoding: str) -> str | None:
    """Where the first undecodable line is, e.g. ``"line 3, byte 42"`` (error messages only).

    pandas' parser reports offsets inside its own buffers, so the file is scanned again, one
    line at a time (streamed, decompressed; only reached on the error path). Bytes are counted
    in the decompressed text.
    """
    offset = 0
    try:
        with _open_decompressed(path) as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    line.decode(encoding)
                except UnicodeDecodeError as error:
                    return f"line {number}, byte {offset + error.start}"
                offset += len(line)
    except (*_DECOMPRESSION_ERRORS, CorpusError):
        return None
    return None


def _read_part(
    path: Path,
    spec: TableCorpusSpec,
    names: Mapping[str, str] | None,
    skips: Counter[str],
    *,
    split: str | None,
) -> tuple[pd.DataFrame, _Origin]:
    roles = {column: "text" for column in spec.text_column_list}
    roles[spec.label_column] = "labels"
    if spec.id_column:
        roles[spec.id_column] = "id"
    if spec.split_column and split is None:
        roles[spec.split_column] = "split"
    raw, lines = _read_raw_table(path, spec, list(roles))
    if raw.columns.size:
        raw.columns = [str(c).lstrip("\ufeff") for c in raw.columns]
    if len(raw) == 0:
        raise CorruptRawFileError(f"{path} holds no records; expected at least one")
    missing = [c for c in roles if c not in raw.columns]
    if missing:
        raise _missing_columns(path, missing, list(raw.columns))
    raw = raw.reset_index(drop=True)  # row labels are positions (parquet may store an index)
    record = pd.Series(np.arange(1, len(raw) + 1), index=raw.index)
    where = _Places(record.to_numpy()) if lines is None else _Places(lines.to_numpy(), "line")
    _check_cells(raw, roles, path, where)
    text = _joined_text(raw, spec)
    labels = raw[spec.label_column].map(lambda cell: _label_list(cell, spec))
    if names is not None:
        labels = _mapped_labels(labels, names, path, where, spec)
    doc_id = (
        raw[spec.id_column].map(_cell_str)
        if spec.id_column
        else record.map(lambda n: f"{split or path.stem}-{n}")
    )
    if spec.split_column is not None and split is None:
        splits = _split_values(raw[spec.split_column], spec, path, where)
    else:  # a file per split, or a seeded test split drawn after reading
        splits = pd.Series(split or "train", index=raw.index)
    table = pd.DataFrame(
        {"doc_id": doc_id, "text": text, "labels": labels, "split": splits, "lang": spec.lang}
    )
    keep = _keep_mask(table, path, where, spec, skips)
    origin = _Origin(path, where, np.flatnonzero(keep))
    return table.loc[keep, list(CORPUS_COLUMNS)].reset_index(drop=True), origin


@dataclass(frozen=True)
class _Places:
    """Each row's place in its file for messages, named only when asked: ``"record 3"`` (1-based
    data rows, the header not counted) or, for JSON lines, ``"line 4"``."""

    numbers: np.ndarray
    noun: str = "record"

    def __getitem__(self, row: int) -> str:
        return f"{self.noun} {int(self.numbers[row])}"


@dataclass(frozen=True)
class _Origin:
    """The file and places of the rows a part kept (``kept``: their rows in the file)."""

    path: Path
    places: _Places
    kept: np.ndarray


_EXPECTED_CELLS = {
    "text": "a string",
    "labels": "a string of delimited labels or a list of strings",
    "id": "a string or a number",
    "split": "a string",
}


def _describe(value: object) -> str:
    if isinstance(value, Mapping):
        return "a JSON object (mapping)"
    if isinstance(value, list | tuple | np.ndarray):
        return "a JSON array (list)"
    return f"a {type(value).__name__}"


def _check_cells(raw: pd.DataFrame, roles: Mapping[str, str], path: Path, where: _Places) -> None:
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
        return None if bad is None else f"holds {_describe(bad)} in its list"
    return f"is {_describe(cell)}" if isinstance(cell, _CONTAINERS) else None


def _cell_str(cell: Any) -> str:
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def _joined_text(raw: pd.DataFrame, spec: TableCorpusSpec) -> pd.Series:
    parts = [raw[c].map(_cell_str).str.strip() for c in spec.text_column_list]
    text = parts[0]
    for part in parts[1:]:
        text = (text + spec.text_separator + part).str.strip()
    return text


def _label_list(cell: Any, spec: TableCorpusSpec) -> list[str]:
    if isinstance(cell, list | tuple | np.ndarray):
        items = [_cell_str(item) for item in cell]
    else:
        value = _cell_str(cell)
        if spec.label_delimiter is None:
            items = [value]
        else:
            delimiter = spec.label_delimiter
            items = value.split(delimiter) if delimiter.strip() else value.split()
    # Order kept, duplicates removed (a label is present or not).
    return list(dict.fromkeys(item.strip() for item in items if item.strip()))


def _label_names(raw_dir: Path, spec: TableCorpusSpec) -> dict[str, str] | None:
    if spec.label_names_file is None:
        return None
    path = raw_dir / spec.label_names_file
    try:
        return _read_label_names(path, spec.encoding)
    except UnicodeDecodeError as error:
        where = _undecodable_line(path, spec.encoding)
        raise CorruptRawFileError(
            f"{path}: {where or 'somewhere'}: not valid {spec.encoding} text ({error.reason}); "
            "expected '<id><TAB or comma><name>' lines in the encoding set by encoding:"
        ) from None


def _read_label_names(path: Path, encoding: str) -> dict[str, str]:
    """``id -> name`` from ``<id><TAB or comma><name>`` lines, or from a names-only file (no
    line has a tab or comma) where a name's id is its 0-based line index, as GoEmotions
    numbers the lines of its ``emotions.txt``."""
    with path.open(encoding=encoding) as handle:
        lines = [line.rstrip("\r\n") for line in handle]
    while lines and not lines[-1].strip():  # trailing blank lines shift no id
        lines.pop()
    if not lines:
        raise CorruptRawFileError(
            f"{path} is empty; expected '<id>\\t<name>' lines, or one name per line"
        )
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


def _mapped_labels(
    labels: pd.Series,
    names: Mapping[str, str],
    path: Path,
    where: _Places,
    spec: TableCorpusSpec,
) -> pd.Series:
    flat = labels.explode().dropna()
    unknown = flat[~flat.isin(list(names))]
    if len(unknown):
        row = unknown.index[0]
        raise CorruptRawFileError(
            f"{path}: {where[row]}: label id {unknown.iloc[0]!r} is not in "
            f"{spec.label_names_file} ({len(unknown)} unknown id(s) in all); expected one of "
            f"its {len(names)} ids"
        )
    return labels.map(lambda ids: [names[i] for i in ids])


def _split_values(
    column: pd.Series, spec: TableCorpusSpec, path: Path, where: _Places
) -> pd.Series:
    mapping = {**{s: s for s in _SPLITS}, **dict(spec.split_values)}
    values = column.map(_cell_str).map(lambda v: mapping.get(v, mapping.get(v.lower())))
    bad = values.isna() | ~values.isin(_SPLITS)
    if bad.any():
        row = bad[bad].index[0]
        raise CorruptRawFileError(
            f"{path}: {where[row]}: split value {column[row]!r} is not one of "
            f"{sorted(mapping)}; map it with split_values: (e.g. {{dev: test}})"
        )
    return values


def _keep_mask(
    table: pd.DataFrame, path: Path, where: _Places, spec: TableCorpusSpec, skips: Counter[str]
) -> np.ndarray:
    no_text = (table["text"] == "").to_numpy()
    no_labels = (table["labels"].map(len) == 0).to_numpy() & ~no_text
    if no_labels.any() and spec.unlabeled == "error":
        row = table.index[no_labels][0]
        raise CorruptRawFileError(
            f"{path}: {where[row]} has no labels in column {spec.label_column!r}; "
            "expected at least one (or set unlabeled: keep / skip)"
        )
    keep = ~no_text
    skips["no text"] += int(no_text.sum())
    if no_text.any():
        logger.warning(
            "%s: skipped %d record(s) without text in %s (first: %s)",
            path,
            int(no_text.sum()),
            spec.text_column_list,
            where[table.index[no_text][0]],
        )
    if no_labels.any():
        action = "skipped" if spec.unlabeled == "skip" else "kept with no labels"
        logger.info("%s: %d record(s) without labels %s", path, int(no_labels.sum()), action)
        if spec.unlabeled == "skip":
            keep &= ~no_labels
            skips["no labels"] += int(no_labels.sum())
    if not keep.any():
        raise CorpusError(f"{path}: no record has text; nothing to read")
    return keep


def _check_unique_ids(
    table: pd.DataFrame, origins: Sequence[_Origin], spec: TableCorpusSpec
) -> None:
    """Each ``doc_id`` once; the error names the file and record of the first and the repeat.

    ``table`` is the parts' kept rows concatenated in the order of ``origins``.
    """
    repeated = table["doc_id"].duplicated().to_numpy()
    if not repeated.any():
        return
    row = int(np.flatnonzero(repeated)[0])
    doc_id = table["doc_id"].iat[row]
    first = int(np.flatnonzero((table["doc_id"] == doc_id).to_numpy())[0])
    raise CorruptRawFileError(
        f"{_origin_of(origins, row)}: doc_id {doc_id!r} (column {spec.id_column!r}) repeats the "
        f"id of {_origin_of(origins, first)}; expected each id once ({int(repeated.sum())} "
        "repeated id(s) in all)"
    )


def _origin_of(origins: Sequence[_Origin], row: int) -> str:
    """``"<file>: record 3"`` for a row of the concatenated table."""
    for origin in origins:
        if row < len(origin.kept):
            return f"{origin.path}: {origin.places[int(origin.kept[row])]}"
        row -= len(origin.kept)
    raise IndexError(row)


def _seeded_test_split(table: pd.DataFrame, test_fraction: float, seed: int) -> pd.DataFrame:
    """Mark a seeded ``test_fraction`` of the documents as test (by sorted doc_id, as
    :func:`~longtail_mltc.corpora.splits.split_validation` does, so row order does not matter)."""
    ids = np.sort(table["doc_id"].to_numpy(dtype=object).astype(str))
    n_test = max(1, int(np.floor(test_fraction * len(ids) + 0.5)))
    if n_test >= len(ids):
        raise CorpusError(
            f"test_fraction {test_fraction} leaves no training documents among {len(ids)}"
        )
    chosen = ids[np.random.default_rng(seed).permutation(len(ids))[:n_test]]
    split = np.where(table["doc_id"].isin(chosen).to_numpy(), "test", "train")
    return table.assign(split=split)
