"""Nodes of the predict pipeline."""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from longtail_mltc.corpora.errors import CorruptRawFileError
from longtail_mltc.corpora.table_io import lifted_field_limit, text_lines
from longtail_mltc.corpora.validation import first_surrogate, json_record
from longtail_mltc.serving import label_table

from ..tracked_runs import TrackedPredictors

logger = logging.getLogger(__name__)

READERS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}
GZIP_SUFFIX = ".gz"
# Upper bound on an input file's size (after decompression): its records are held in memory.
MAX_INPUT_BYTES = 1 << 30


def read_texts(
    path: str | Path,
    text_column: str,
    id_column: str | None,
    max_bytes: int = MAX_INPUT_BYTES,
) -> pd.DataFrame:
    """``id`` and ``text`` columns from a UTF-8 CSV, TSV or JSON-lines file (each optionally
    gzipped: ``.csv.gz``, ``.jsonl.gz``, ...); without ``id_column`` the ids are the 0-based
    row numbers.

    Lines come from the corpus readers' shared strict UTF-8 reader
    (:func:`~longtail_mltc.corpora.table_io.text_lines`) and JSON lines from their parser
    (:func:`~longtail_mltc.corpora.validation.json_record`). Every problem is a
    ``FileNotFoundError`` or ``ValueError`` naming the file and, where there is one, the
    1-based physical line (docs/corpora.md "Record numbers"): a missing, empty or over-``max_bytes``
    file, an unknown format, bytes that are not UTF-8, a truncated gzip stream, a truncated or
    malformed line, a missing column, a text that is not a string.
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"predict.input {str(file)!r}: no such file")
    kind = _kind(file)
    columns = [c for c in (text_column, id_column) if c]
    lines = _bounded_lines(file, max_bytes)
    try:
        if kind == "jsonl":
            records = _jsonl_records(file, lines, columns)
        else:
            records = _delimited_records(file, lines, "\t" if kind == "tsv" else ",", columns)
    except CorruptRawFileError as err:
        raise ValueError(f"predict.input {err}") from None
    for line, record in records:
        _check_fields(f"predict.input {file}: line {line}", record, columns)
    ids = [r[id_column] for _, r in records] if id_column else list(range(len(records)))
    return pd.DataFrame({"id": ids, "text": [r[text_column] for _, r in records]})


def _check_fields(where: str, record: Mapping[str, Any], columns: list[str]) -> None:
    """The text (first of ``columns``) must be a string, and no string field may hold a lone
    surrogate (valid JSON, ``"\\ud800"``, but not writable as UTF-8)."""
    text_column = columns[0]
    value = record[text_column]
    if not isinstance(value, str):
        raise ValueError(
            f"{where}: column {text_column!r} must be a string, got {type(value).__name__}"
        )
    for column in columns:
        value = record[column]
        index = first_surrogate(value) if isinstance(value, str) else None
        if index is not None:
            raise ValueError(
                f"{where}: column {column!r} holds a lone surrogate "
                f"({value[index]!r} at character {index}); expected Unicode text"
            )


def _kind(file: Path) -> str:
    """The reader of ``file`` from its suffixes (a ``.gz`` suffix is passed over)."""
    suffixes = [s.lower() for s in file.suffixes]
    compressed = bool(suffixes) and suffixes[-1] == GZIP_SUFFIX
    suffix = (suffixes[-2] if len(suffixes) > 1 else "") if compressed else file.suffix.lower()
    kind = READERS.get(suffix)
    if kind is None:
        raise ValueError(
            f"predict.input {file}: expected one of {sorted(READERS)} files, optionally "
            f"gzipped ({GZIP_SUFFIX})"
        )
    return kind


def _bounded_lines(file: Path, max_bytes: int) -> Iterator[tuple[int, str]]:
    """``(line, text with its ending)`` of ``file``, at most ``max_bytes`` bytes (after
    decompression) in all."""
    size = 0
    expected = "UTF-8 text; save the file as UTF-8"
    for number, line in text_lines(file, "utf-8", expected=expected, keep_ends=True):
        size += len(line.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            raise ValueError(
                f"predict.input {file}: more than {max_bytes:,} bytes (at line {number}); "
                "split the file"
            )
        yield number, line


def _jsonl_records(
    file: Path, lines: Iterator[tuple[int, str]], columns: list[str]
) -> list[tuple[int, dict]]:
    """``(line, object)`` per non-blank line of a JSON-lines file."""
    records = []
    for number, line in lines:
        if not line.strip():
            continue
        record = json_record(file, number, line.rstrip("\r\n"))
        missing = [c for c in columns if c not in record]
        if missing:
            raise ValueError(
                f"predict.input {file}: line {number}: no key(s) {missing}; it has {list(record)}"
            )
        records.append((number, record))
    if not records:
        raise ValueError(
            f"predict.input {file}: the file is empty; expected one JSON object per line"
        )
    return records


def _delimited_records(
    file: Path, lines: Iterator[tuple[int, str]], separator: str, columns: list[str]
) -> list[tuple[int, dict]]:
    """``(line, row)`` per data row of a CSV/TSV file with a header line; ``line`` is where
    the row starts (a quoted cell may span lines).

    Python's ``csv`` module (strict mode) rather than pandas: its errors carry the line number,
    and an unterminated quote at the end of a truncated file is an error, not a silent record.
    """
    name = "TSV" if separator == "\t" else "CSV"
    reader = csv.reader((line for _, line in lines), delimiter=separator, strict=True)
    rows: list[tuple[int, dict]] = []
    header: list[str] | None = None
    end = 0
    with lifted_field_limit():
        try:
            for row in reader:
                start, end = end + 1, reader.line_num
                if not row:  # a blank line
                    continue
                if header is None:
                    header = _header(file, row, columns)
                elif len(row) != len(header):
                    raise ValueError(
                        f"predict.input {file}: line {start}: expected {len(header)} fields "
                        f"as in the header, got {len(row)}"
                    )
                else:
                    rows.append((start, dict(zip(header, row, strict=True))))
        except csv.Error as err:
            raise ValueError(
                f"predict.input {file}: line {reader.line_num}: not valid {name} ({err}); is "
                "the file truncated?"
            ) from err
    if header is None:
        raise ValueError(f"predict.input {file}: the file is empty; expected a header line")
    if not rows:
        raise ValueError(f"predict.input {file}: no records after the header line")
    return rows


def _header(file: Path, header: list[str], columns: list[str]) -> list[str]:
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValueError(f"predict.input {file}: no column(s) {missing}; it has {header}")
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise ValueError(f"predict.input {file}: line 1: duplicated column(s) {duplicated}")
    return header


def label_texts(predict: Mapping[str, Any], predictors: TrackedPredictors) -> pd.DataFrame:
    """Label every text of ``predict.input`` with run ``predict.run_id``'s predictor: one row
    per text, in input order, with its id, the predicted labels and their scores
    (``;``-separated), the top-5 as JSON and ``skipped``.

    A text the labeler refuses on its own (blank, or over its 100,000-character limit) does not
    fail the run: its row keeps its id, gets empty labels and scores, ``top_k`` ``[]`` and the
    reason in ``skipped`` (empty for labelled texts; :func:`~longtail_mltc.serving.label_table`);
    the skipped records (1-based) are counted and logged. ``predictors`` (a catalog dataset)
    loads the run's predictor, refusing a pickled or foreign model.
    """
    uri = predictors.uri(str(predict.get("run_id") or ""))
    texts = read_texts(
        predict["input"],
        predict.get("text_column", "text"),
        predict.get("id_column"),
        int(predict.get("max_input_bytes") or MAX_INPUT_BYTES),
    )
    labeler = predictors.load(uri)
    table, skipped = label_table(labeler, texts["id"], texts["text"])
    if skipped:
        logger.warning(
            "predict: skipped %d of %d texts of %s (records %s): empty or over %d characters; "
            "see the `skipped` column",
            len(skipped),
            len(texts),
            predict["input"],
            _abbreviated(skipped),
            labeler.max_chars,
        )
    logger.info("predict: labelled %d texts with %s", len(texts) - len(skipped), uri)
    return table


def _abbreviated(numbers: list[int], limit: int = 20) -> str:
    """``1, 4, 9`` or the first ``limit`` numbers and how many more."""
    shown = ", ".join(map(str, numbers[:limit]))
    return shown if len(numbers) <= limit else f"{shown} and {len(numbers) - limit} more"
