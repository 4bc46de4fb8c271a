"""The canonical Corpus table and its validation (DESIGN "The canonical Corpus").

Every reader returns one pandas table with the columns of ``CORPUS_COLUMNS``, in that order:
``doc_id: str``, ``text: str``, ``labels: list[str]``, ``split: "train"|"valid"|"test"`` (``valid``
only where the corpus ships a validation file; train and test are required) and
``lang: "en"|"zh"``. Everything after ingestion reads only this table.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

from longtail_mltc.corpora.errors import CorpusError

__all__ = [
    "CORPUS_COLUMNS",
    "corpus_frame",
    "CORPUS_LANGS",
    "CORPUS_SPLITS",
    "REQUIRED_SPLITS",
    "validate_corpus",
]

CORPUS_COLUMNS: tuple[str, ...] = ("doc_id", "text", "labels", "split", "lang")
CORPUS_SPLITS: tuple[str, ...] = ("train", "valid", "test")
REQUIRED_SPLITS: tuple[str, ...] = ("train", "test")
CORPUS_LANGS: tuple[str, ...] = ("en", "zh")

_MAX_EXAMPLES = 5


def corpus_frame(
    doc_ids: Sequence[str],
    texts: Sequence[str],
    labels: Sequence[Sequence[str]],
    splits: Sequence[str],
    lang: str,
) -> pd.DataFrame:
    """A Corpus table from parallel columns (one ``lang`` for all rows), columns in order."""
    return pd.DataFrame(
        {
            "doc_id": pd.Series(list(doc_ids), dtype="str"),
            "text": pd.Series(list(texts), dtype="str"),
            "labels": pd.Series([list(cell) for cell in labels], dtype="object"),
            "split": pd.Series(list(splits), dtype="str"),
            "lang": pd.Series([lang] * len(doc_ids), dtype="str"),
        }
    ).loc[:, list(CORPUS_COLUMNS)]


def validate_corpus(
    df: pd.DataFrame, source: str, *, splits: Collection[str] = CORPUS_SPLITS
) -> pd.DataFrame:
    """Check ``df`` against the Corpus contract and return it (columns in canonical order).

    ``source`` names the table in error messages, e.g. ``"corpus 'reuters' from data/01_raw"``.
    ``splits`` are the allowed split values: train, valid (a declared validation file) and test.
    Label cells that are tuples or numpy arrays (as parquet returns them) become lists;
    anything else wrong raises :class:`CorpusError` naming ``source``.
    """
    if not isinstance(df, pd.DataFrame):
        raise CorpusError(f"{source}: expected a pandas DataFrame, got {type(df).__name__}")
    df = _with_canonical_columns(df, source)
    if len(df) == 0:
        raise CorpusError(f"{source} has no documents")
    _check_str_column(df, "doc_id", source)
    _check_str_column(df, "text", source)
    _check_unique_doc_ids(df, source)
    _check_allowed_values(df, "split", tuple(splits), source)
    _check_allowed_values(df, "lang", CORPUS_LANGS, source)
    _check_required_splits(df, source)
    return _with_label_lists(df, source)


def _examples(values: pd.Series | np.ndarray | list) -> str:
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:_MAX_EXAMPLES])
    more = f" (and {len(values) - _MAX_EXAMPLES} more)" if len(values) > _MAX_EXAMPLES else ""
    return shown + more


def _with_canonical_columns(df: pd.DataFrame, source: str) -> pd.DataFrame:
    columns = list(df.columns)
    if columns == list(CORPUS_COLUMNS):
        return df
    missing = [c for c in CORPUS_COLUMNS if c not in columns]
    extra = [c for c in columns if c not in CORPUS_COLUMNS]
    if missing or extra or len(set(columns)) != len(columns):
        raise CorpusError(
            f"{source}: columns must be {list(CORPUS_COLUMNS)}; got {columns} "
            f"(missing {missing}, unexpected {extra})"
        )
    return df.loc[:, list(CORPUS_COLUMNS)]


def _check_str_column(df: pd.DataFrame, column: str, source: str) -> None:
    is_str = df[column].map(lambda value: isinstance(value, str)).to_numpy(dtype=bool)
    if not is_str.all():
        bad = df.index[~is_str]
        raise CorpusError(
            f"{source}: column {column!r} must hold str values; rows {_examples(bad)} do not "
            f"(values {_examples(df.loc[bad, column])})"
        )


def _check_unique_doc_ids(df: pd.DataFrame, source: str) -> None:
    """Each doc_id once; the error names the 1-based table rows of the first repeat (readers
    that know the file and record check before, e.g. the table reader)."""
    duplicated = df["doc_id"].duplicated(keep=False)
    if duplicated.any():
        ids = pd.unique(df.loc[duplicated, "doc_id"])
        repeat = int(np.flatnonzero(df["doc_id"].duplicated().to_numpy())[0])
        first = int(np.flatnonzero((df["doc_id"] == df["doc_id"].iat[repeat]).to_numpy())[0])
        raise CorpusError(
            f"{source}: {len(ids)} duplicate doc_id values, e.g. {_examples(ids)}; the first "
            f"repeat, {df['doc_id'].iat[repeat]!r}, is on rows {first + 1} and {repeat + 1} "
            "(1-based rows of the table); expected each doc_id once"
        )


def _check_allowed_values(
    df: pd.DataFrame, column: str, allowed: tuple[str, ...], source: str
) -> None:
    bad = ~df[column].isin(allowed)
    if bad.any():
        values = pd.unique(df.loc[bad, column])
        raise CorpusError(
            f"{source}: column {column!r} must be one of {list(allowed)}; "
            f"found {_examples(values)} in {int(bad.sum())} rows"
        )


def _check_required_splits(df: pd.DataFrame, source: str) -> None:
    present = set(df["split"].unique())
    missing = [s for s in REQUIRED_SPLITS if s not in present]
    if missing:
        raise CorpusError(
            f"{source} has no {' and no '.join(missing)} documents "
            f"(splits present: {sorted(present)}); a corpus needs both train and test"
        )


def _with_label_lists(df: pd.DataFrame, source: str) -> pd.DataFrame:
    labels = df["labels"]
    is_list = labels.map(lambda cell: isinstance(cell, list)).to_numpy(dtype=bool)
    if not is_list.all():
        convertible = labels.map(lambda cell: isinstance(cell, tuple | np.ndarray))
        bad = df.index[~is_list & ~convertible.to_numpy(dtype=bool)]
        if len(bad):
            raise CorpusError(
                f"{source}: column 'labels' must hold lists of str; rows {_examples(bad)} hold "
                f"{_examples(type(v).__name__ for v in df.loc[bad, 'labels'])}"
            )
        df = df.assign(labels=labels.map(list))
        labels = df["labels"]
    _check_label_items(labels, source)
    return df


def _check_label_items(labels: pd.Series, source: str) -> None:
    """Every label is a str; checked in one vectorised pass over the exploded labels."""
    flat = labels[labels.map(len).to_numpy() > 0].explode()
    if len(flat) == 0 or pd.api.types.infer_dtype(flat.to_numpy(), skipna=False) == "string":
        return
    # Error path only: find the offending rows and labels in the original cells.
    bad = labels.map(lambda cell: [label for label in cell if not isinstance(label, str)])
    bad = bad[bad.map(len).to_numpy() > 0]
    raise CorpusError(
        f"{source}: column 'labels' must hold lists of str; rows {_examples(bad.index)} hold "
        f"non-str labels such as {_examples([label for cell in bad for label in cell])}"
    )
