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
- Rows are read with pandas (a well-kept parser for all four formats); the text and label
  checks run column-wise.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from longtail_mltc.corpora.errors import CorpusError, CorruptRawFileError
from longtail_mltc.corpora.registry import CorpusSource, get_corpus_source, register_corpus
from longtail_mltc.corpora.report import record_skips
from longtail_mltc.corpora.schema import CORPUS_COLUMNS, CORPUS_LANGS, validate_corpus

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
        table = pd.concat(parts, ignore_index=True)
    else:
        table = _read_part(raw_dir / str(spec.files), spec, names, skips, split=None)
        if spec.split_column is None:
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


def _read_raw_table(path: Path, spec: TableCorpusSpec) -> pd.DataFrame:
    fmt = _table_format(path, spec)
    try:
        if fmt == "parquet":
            return pd.read_parquet(path)
        if fmt == "jsonl":
            return pd.read_json(path, lines=True, encoding=spec.encoding, dtype=False)
        return pd.read_csv(
            path,
            sep="\t" if fmt == "tsv" else ",",
            encoding=spec.encoding,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            # "utf-8" with a BOM would name the first column "\ufeffname".
            encoding_errors="strict",
        )
    except UnicodeDecodeError as error:
        where = _undecodable_line(path, spec.encoding) if fmt != "parquet" else None
        raise CorruptRawFileError(
            f"{path}: {where or 'somewhere'}: not valid {spec.encoding} text ({error.reason}); "
            "set encoding: to the file's encoding"
        ) from None
    except pd.errors.EmptyDataError:
        raise CorruptRawFileError(f"{path} is empty; expected a header and records") from None
    except (pd.errors.ParserError, ValueError, OSError) as error:
        raise CorruptRawFileError(f"{path}: cannot be read as {fmt}: {error}") from None


def _undecodable_line(path: Path, encoding: str) -> str | None:
    """Where the first undecodable line is, e.g. ``"line 3, byte 42"`` (error messages only).

    pandas' parser reports offsets inside its own buffers, so the file is scanned again, one
    line at a time (streamed; only reached on the error path). Compressed files: ``None``.
    """
    if path.suffix.lower() in _COMPRESSION_SUFFIXES:
        return None
    offset = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode(encoding)
            except UnicodeDecodeError as error:
                return f"line {number}, byte {offset + error.start}"
            offset += len(line)
    return None


def _read_part(
    path: Path,
    spec: TableCorpusSpec,
    names: Mapping[str, str] | None,
    skips: Counter[str],
    *,
    split: str | None,
) -> pd.DataFrame:
    raw = _read_raw_table(path, spec)
    if raw.columns.size:
        raw.columns = [str(c).lstrip("\ufeff") for c in raw.columns]
    if len(raw) == 0:
        raise CorruptRawFileError(f"{path} holds no records; expected at least one")
    needed = [*spec.text_column_list, spec.label_column]
    needed += [c for c in (spec.id_column, spec.split_column if split is None else None) if c]
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        raise CorruptRawFileError(
            f"{path}: missing column(s) {missing}; the file has {list(raw.columns)}"
        )
    # Record numbers in messages are 1-based data rows (the header is not counted).
    record = pd.Series(np.arange(1, len(raw) + 1), index=raw.index)
    text = _joined_text(raw, spec)
    labels = raw[spec.label_column].map(lambda cell: _label_list(cell, spec))
    if names is not None:
        labels = _mapped_labels(labels, names, path, record, spec)
    doc_id = (
        raw[spec.id_column].map(_cell_str)
        if spec.id_column
        else record.map(lambda n: f"{split or path.stem}-{n}")
    )
    if spec.split_column is not None and split is None:
        splits = _split_values(raw[spec.split_column], spec, path, record)
    else:  # a file per split, or a seeded test split drawn after reading
        splits = pd.Series(split or "train", index=raw.index)
    table = pd.DataFrame(
        {"doc_id": doc_id, "text": text, "labels": labels, "split": splits, "lang": spec.lang}
    )
    keep = _keep_mask(table, path, record, spec, skips)
    return table.loc[keep, list(CORPUS_COLUMNS)].reset_index(drop=True)


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
    names: dict[str, str] = {}
    with path.open(encoding=spec.encoding) as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            separator = "\t" if "\t" in line else ","
            fields = [f.strip() for f in line.rstrip("\n").split(separator, 1)]
            if len(fields) != 2 or not fields[0] or not fields[1]:
                raise CorruptRawFileError(
                    f"{path}: line {line_number}: expected '<id><TAB or comma><name>', "
                    f"got {line.rstrip()!r}"
                )
            if fields[0] in names:
                raise CorruptRawFileError(
                    f"{path}: line {line_number}: label id {fields[0]!r} appears twice"
                )
            names[fields[0]] = fields[1]
    if not names:
        raise CorruptRawFileError(f"{path} is empty; expected '<id>\\t<name>' lines")
    return names


def _mapped_labels(
    labels: pd.Series,
    names: Mapping[str, str],
    path: Path,
    record: pd.Series,
    spec: TableCorpusSpec,
) -> pd.Series:
    flat = labels.explode().dropna()
    unknown = flat[~flat.isin(list(names))]
    if len(unknown):
        row = unknown.index[0]
        raise CorruptRawFileError(
            f"{path}: record {int(record[row])}: label id {unknown.iloc[0]!r} is not in "
            f"{spec.label_names_file} ({len(unknown)} unknown id(s) in all); expected one of "
            f"its {len(names)} ids"
        )
    return labels.map(lambda ids: [names[i] for i in ids])


def _split_values(
    column: pd.Series, spec: TableCorpusSpec, path: Path, record: pd.Series
) -> pd.Series:
    mapping = {**{s: s for s in _SPLITS}, **dict(spec.split_values)}
    values = column.map(_cell_str).map(lambda v: mapping.get(v, mapping.get(v.lower())))
    bad = values.isna() | ~values.isin(_SPLITS)
    if bad.any():
        row = bad[bad].index[0]
        raise CorruptRawFileError(
            f"{path}: record {int(record[row])}: split value {column[row]!r} is not one of "
            f"{sorted(mapping)}; map it with split_values: (e.g. {{dev: test}})"
        )
    return values


def _keep_mask(
    table: pd.DataFrame, path: Path, record: pd.Series, spec: TableCorpusSpec, skips: Counter[str]
) -> np.ndarray:
    no_text = (table["text"] == "").to_numpy()
    no_labels = (table["labels"].map(len) == 0).to_numpy() & ~no_text
    if no_labels.any() and spec.unlabeled == "error":
        row = table.index[no_labels][0]
        raise CorruptRawFileError(
            f"{path}: record {int(record[row])} has no labels in column {spec.label_column!r}; "
            "expected at least one (or set unlabeled: keep / skip)"
        )
    keep = ~no_text
    skips["no text"] += int(no_text.sum())
    if no_text.any():
        logger.warning(
            "%s: skipped %d record(s) without text in %s (first: record %d)",
            path,
            int(no_text.sum()),
            spec.text_column_list,
            int(record[table.index[no_text][0]]),
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
