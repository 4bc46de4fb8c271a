"""Any user corpus from a table: CSV / TSV / JSON lines / parquet -> the canonical Corpus.

A user corpus is declared in configuration only (``user_corpora`` in
``conf/base/parameters_ingestion.yml``): the ingestion node turns each entry into a
:class:`TableCorpusSpec` and registers it with :func:`register_table_corpus`; no code is needed.
``files`` is one file (splits from ``split_column`` or a seeded ``test_fraction``) or
``{train, valid, test}``; labels are a list cell or a delimited string of names or integer ids
(``label_ids``, mapped through an optional names file). CSV/TSV/parquet are read with pandas,
JSON lines line by line; every error names the file and ``line N`` / ``row N``.

The declaration, its keys and the reader's choices (quoting, headerless files, unlabeled and
textless records, why JSON lines are not read by pandas): docs/corpora.md#your-own-corpus and
docs/corpora.md#how-the-table-reader-works.
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
from longtail_mltc.corpora.splits import VALID_SPLIT, seeded_test_mask
from longtail_mltc.corpora.table_cells import (
    cell_str,
    check_cells,
    joined_text,
    label_list,
    mapped_labels,
    read_label_names,
)
from longtail_mltc.corpora.table_io import (
    QUOTING,
    TABLE_FORMATS,
    Places,
    missing_columns,
    read_raw_table,
    table_format,
)

__all__ = [
    "TABLE_FORMATS",
    "TableCorpusSpec",
    "read_table_corpus",
    "register_table_corpus",
]

logger = logging.getLogger(__name__)

_SPLITS = ("train", VALID_SPLIT, "test")
# Other names for a validation file, refused with a message naming ``valid`` (module doc).
_VALID_ALIASES = ("dev", "validation", "val")
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
    columns: Sequence[str] | None = None
    quoting: str | None = None

    def __post_init__(self) -> None:
        if self.lang not in CORPUS_LANGS:
            raise ValueError(f"lang must be one of {list(CORPUS_LANGS)}, got {self.lang!r}")
        if self.unlabeled not in ("keep", "skip", "error"):
            raise ValueError(f"unlabeled must be 'keep', 'skip' or 'error', not {self.unlabeled!r}")
        if isinstance(self.files, Mapping):
            aliases = sorted(set(self.files) & set(_VALID_ALIASES))
            if aliases:
                raise ValueError(
                    f"files: {aliases[0]!r} is not a split name; declare a validation file as "
                    f"valid: (e.g. valid: dev.tsv for GoEmotions' dev.tsv)"
                )
            unknown = sorted(set(self.files) - set(_SPLITS))
            if unknown or "train" not in self.files:
                raise ValueError(
                    f"files must map 'train' (and usually 'test', optionally 'valid') to file "
                    f"names; got keys {sorted(self.files)}"
                )
        elif self.split_column is None and self.test_fraction is None:
            raise ValueError(
                "one file needs a split_column or a test_fraction to tell train from test"
            )
        if self.test_fraction is not None and not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")
        if self.quoting is not None and self.quoting not in QUOTING:
            raise ValueError(f"quoting must be one of {sorted(QUOTING)}, got {self.quoting!r}")
        if self.columns is not None and (
            isinstance(self.columns, str) or len(set(self.columns)) != len(self.columns)
        ):
            raise ValueError(
                f"columns must list a headerless file's column names, each once; got "
                f"{self.columns!r}"
            )
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
        test = seeded_test_mask(
            table["doc_id"].tolist(), spec.test_fraction or 0.0, spec.seed, where=str(raw_dir)
        )
        table = table.assign(split=np.where(test, "test", "train"))
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
    fmt = table_format(path, spec.format)
    read = read_raw_table(
        path,
        fmt,
        encoding=spec.encoding,
        columns=list(roles),
        label_column=spec.label_column,
        names=None if spec.columns is None else list(spec.columns),
        quoting=spec.quoting,
    )
    raw, where = read.frame, read.places
    if raw.columns.size:
        raw.columns = [str(c).lstrip("\ufeff") for c in raw.columns]
    if len(raw) == 0:
        raise CorruptRawFileError(f"{path} holds no records; expected at least one")
    missing = [c for c in roles if c not in raw.columns]
    if missing:
        raise missing_columns(path, missing, list(raw.columns))
    raw = raw.reset_index(drop=True)  # row labels are positions (parquet may store an index)
    record = pd.Series(np.arange(1, len(raw) + 1), index=raw.index)
    check_cells(raw, roles, path, where)
    text = joined_text(raw, spec.text_column_list, spec.text_separator)
    labels = raw[spec.label_column].map(lambda cell: label_list(cell, spec.label_delimiter))
    if names is not None:
        labels = mapped_labels(labels, names, path, where, spec.label_names_file)
    doc_id = (
        raw[spec.id_column].map(cell_str)
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
    keep = _keep_mask(table, read.no_label_field, path, where, spec, skips)
    origin = _Origin(path, where, np.flatnonzero(keep))
    return table.loc[keep, list(CORPUS_COLUMNS)].reset_index(drop=True), origin


@dataclass(frozen=True)
class _Origin:
    """The file and places of the rows a part kept (``kept``: their rows in the file)."""

    path: Path
    places: Places
    kept: np.ndarray


def _label_names(raw_dir: Path, spec: TableCorpusSpec) -> dict[str, str] | None:
    if spec.label_names_file is None:
        return None
    return read_label_names(raw_dir / spec.label_names_file, spec.encoding)


def _split_values(column: pd.Series, spec: TableCorpusSpec, path: Path, where: Places) -> pd.Series:
    mapping = {**{s: s for s in _SPLITS}, **dict(spec.split_values)}
    values = column.map(cell_str).map(lambda v: mapping.get(v, mapping.get(v.lower())))
    bad = values.isna() | ~values.isin(_SPLITS)
    if bad.any():
        row = bad[bad].index[0]
        raise CorruptRawFileError(
            f"{path}: {where[row]}: split value {column[row]!r} is not one of "
            f"{sorted(mapping)}; map it with split_values: (e.g. {{dev: valid}})"
        )
    return values


def _keep_mask(
    table: pd.DataFrame,
    no_field: np.ndarray | None,
    path: Path,
    where: Places,
    spec: TableCorpusSpec,
    skips: Counter[str],
) -> np.ndarray:
    """Which rows to keep; each skip counted in ``skips`` and logged with its first place.

    ``no_field``: JSON-lines records without the label key (``None`` for other formats).
    """
    no_text = (table["text"] == "").to_numpy()
    no_field = np.zeros(len(table), bool) if no_field is None else no_field & ~no_text
    no_labels = (table["labels"].map(len) == 0).to_numpy() & ~no_text & ~no_field
    for mask, what in ((no_field, "no field"), (no_labels, "no labels in column")):
        if mask.any() and spec.unlabeled == "error":
            raise CorruptRawFileError(
                f"{path}: {where[int(np.flatnonzero(mask)[0])]} has {what} "
                f"{spec.label_column!r}; expected at least one label (or set unlabeled: keep / "
                "skip)"
            )
    keep = ~no_text & ~no_field
    _skip(skips, "no text", no_text, path, where, f"without text in {spec.text_column_list}")
    _skip(skips, "no label field", no_field, path, where, f"without a {spec.label_column!r} field")
    if no_labels.any():
        action = "skipped" if spec.unlabeled == "skip" else "kept with no labels"
        logger.info(
            "%s: %d record(s) without labels %s (first: %s)",
            path,
            int(no_labels.sum()),
            action,
            where[int(np.flatnonzero(no_labels)[0])],
        )
        if spec.unlabeled == "skip":
            keep &= ~no_labels
            skips["no labels"] += int(no_labels.sum())
    if not keep.any():
        raise CorpusError(f"{path}: no record has text and labels to read")
    return keep


def _skip(
    skips: Counter[str], reason: str, mask: np.ndarray, path: Path, where: Places, what: str
) -> None:
    """Count the rows of ``mask`` under ``reason`` and warn, naming the first."""
    if mask.any():
        skips[reason] += int(mask.sum())
        first = where[int(np.flatnonzero(mask)[0])]
        logger.warning("%s: skipped %d record(s) %s (first: %s)", path, mask.sum(), what, first)


def _check_unique_ids(
    table: pd.DataFrame, origins: Sequence[_Origin], spec: TableCorpusSpec
) -> None:
    """Each ``doc_id`` once; the error names the file and place of the first and the repeat.

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
    """``"<file>: line 3"`` for a row of the concatenated table."""
    for origin in origins:
        if row < len(origin.kept):
            return f"{origin.path}: {origin.places[int(origin.kept[row])]}"
        row -= len(origin.kept)
    raise IndexError(row)
