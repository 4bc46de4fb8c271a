"""Nodes of the predict pipeline."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from longtail_mltc.serving import PREDICTOR_PATH

logger = logging.getLogger(__name__)

READERS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}


def read_texts(path: str | Path, text_column: str, id_column: str | None) -> pd.DataFrame:
    """``id`` and ``text`` columns from a CSV, TSV or JSON-lines file; a clear error for a
    missing file, an unknown format or a missing column."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"predict.input {str(file)!r}: no such file")
    kind = READERS.get(file.suffix.lower())
    if kind is None:
        raise ValueError(f"predict.input {file}: expected one of {sorted(READERS)} files")
    if kind == "jsonl":
        table = pd.read_json(file, lines=True, dtype=False)
    else:
        separator = "\t" if kind == "tsv" else ","
        table = pd.read_csv(file, sep=separator, dtype=str, keep_default_na=False)
    missing = [c for c in (text_column, id_column) if c and c not in table.columns]
    if missing:
        raise ValueError(f"{file}: no column(s) {missing}; it has {list(table.columns)}")
    ids = table[id_column] if id_column else pd.RangeIndex(len(table))
    return pd.DataFrame({"id": list(ids), "text": table[text_column].tolist()})


def _predictor_uri(run_id: str) -> str:
    if not run_id:
        raise ValueError("predict.run_id is empty: give the id of a tracked training run")
    try:
        run = MlflowClient().get_run(run_id)
    except MlflowException as err:
        raise ValueError(
            f"unknown run id {run_id!r} in the tracking store {mlflow.get_tracking_uri()}"
        ) from err
    artifacts = {a.path for a in MlflowClient().list_artifacts(run_id)}
    if PREDICTOR_PATH not in artifacts:
        raise ValueError(
            f"run {run_id} ({run.info.run_name}) has no {PREDICTOR_PATH}/ model: only "
            "single-network and HSCNN runs tracked by this version carry one (the hscnn "
            "pipeline's Single-variant run names its single run in the tag single_run_id)"
        )
    return f"runs:/{run_id}/{PREDICTOR_PATH}"


def label_texts(predict: Mapping[str, Any]) -> pd.DataFrame:
    """Label every text of ``predict.input`` with run ``predict.run_id``'s predictor: one row
    per text with its id, the predicted labels and their scores (``;``-separated) and the
    top-5 as JSON."""
    uri = _predictor_uri(str(predict.get("run_id") or ""))
    texts = read_texts(
        predict["input"], predict.get("text_column", "text"), predict.get("id_column")
    )
    model = mlflow.pyfunc.load_model(uri)
    predictions = model.predict(pd.DataFrame({"text": texts["text"]}))
    logger.info("predict: labelled %d texts with %s", len(texts), uri)
    return pd.DataFrame(
        {
            "id": texts["id"],
            "predicted_labels": [";".join(v) for v in predictions["labels"]],
            "scores": [";".join(f"{s:.4f}" for s in v) for v in predictions["scores"]],
            "top_k": [json.dumps(v) for v in predictions["top_k"]],
        }
    )
