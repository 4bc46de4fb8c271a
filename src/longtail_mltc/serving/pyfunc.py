"""A trained configuration as an MLflow pyfunc model that labels raw text.

``mlflow models serve -m runs:/<run id>/predictor --env-manager local -h 127.0.0.1`` answers
``POST /invocations`` with ``{"inputs": ["text", ...]}`` or
``{"dataframe_records": [{"text": "..."}]}``; each prediction is the labels over the run's
threshold with their scores and the top 5 (for an HSCNN run: the hybrid merge's decisions,
:class:`longtail_mltc.inference.HybridTextLabeler`). Bad requests (empty or non-string text,
text over the size limit, no ``text`` column) are answered with HTTP 400 and a message naming
the record; the server keeps running.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from longtail_mltc.inference import InvalidInput, TextLabeler

PREDICTOR_PATH = "predictor"
TEXT_COLUMN = "text"
TOP_K = 5


def _texts(model_input: Any) -> list[Any]:
    """The texts of a pyfunc request: a DataFrame's ``text`` column (or its only column), a
    Series, a list or an array of strings."""
    if isinstance(model_input, pd.DataFrame):
        if TEXT_COLUMN in model_input.columns:
            return model_input[TEXT_COLUMN].tolist()
        if model_input.shape[1] == 1:
            return model_input.iloc[:, 0].tolist()
        raise InvalidInput(
            f"expected a column {TEXT_COLUMN!r} (or a single column), got {list(model_input)}"
        )
    if isinstance(model_input, pd.Series | np.ndarray):
        return list(model_input)
    if isinstance(model_input, list | tuple):
        return list(model_input)
    raise InvalidInput(f"expected a list of texts or a table with {TEXT_COLUMN!r}")


class LabelerModel(mlflow.pyfunc.PythonModel):
    """pyfunc wrapper around a :class:`TextLabeler` of any kind (artifact ``labeler``: its
    directory)."""

    def load_context(self, context) -> None:
        self.labeler = TextLabeler.from_directory(context.artifacts["labeler"])

    def predict(self, context, model_input, params: dict[str, Any] | None = None) -> pd.DataFrame:
        try:
            results = self.labeler.predict(_texts(model_input), top_k=TOP_K)
        except InvalidInput as err:  # → HTTP 400 with this message, not a server error
            raise MlflowException(str(err), error_code=INVALID_PARAMETER_VALUE) from err
        return pd.DataFrame(
            {
                "labels": [r["labels"] for r in results],
                "scores": [r["scores"] for r in results],
                "top_k": [r["top_k"] for r in results],
            }
        )


def save_predictor(labeler: TextLabeler, path: str | Path) -> Path:
    """Write ``labeler`` as an MLflow pyfunc model directory at ``path``."""
    with tempfile.TemporaryDirectory() as tmp:
        labeler_dir = labeler.save_directory(Path(tmp) / "labeler")
        mlflow.pyfunc.save_model(
            path=str(path),
            python_model=LabelerModel(),
            artifacts={"labeler": str(labeler_dir)},
            # the serving environment is this project's (serve with --env-manager local):
            # skip MLflow's slow requirement inference
            pip_requirements=["longtail_mltc"],
        )
    return Path(path)
