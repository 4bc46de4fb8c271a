"""A trained configuration as an MLflow pyfunc model that labels raw text, without pickle.

``mlflow models serve -m runs:/<run id>/predictor --env-manager local -h 127.0.0.1`` answers
``POST /invocations`` with ``{"inputs": ["text", ...]}`` or
``{"dataframe_records": [{"text": "..."}]}``; each prediction is the labels over the run's
threshold with their scores and the top 5 (for an HSCNN run: the hybrid merge's decisions,
:class:`longtail_mltc.inference.HybridTextLabeler`). Bad requests (empty or non-string text,
text over the size limit, no ``text`` column) are answered with HTTP 400 and a message naming
the record; the server keeps running.

The model directory uses MLflow's ``loader_module`` flavour: ``MLmodel`` names this module,
whose :func:`_load_pyfunc` rebuilds the labeler from ``data/labeler/`` (JSON and safetensors
files only). Nothing in the directory is unpickled, so nothing in it runs code when it is
loaded: ``MLmodel``, ``conda.yaml``, ``python_env.yaml`` and ``requirements.txt`` are read as
data, the labeler files with ``json`` and ``safetensors``.

:func:`load_labeler` is the project's own loader (``predict`` pipeline, HTTP server): it checks
``MLmodel`` before reading anything else and refuses a directory whose flavour is not this
module's or that holds a pickle file. ``mlflow.pyfunc.load_model`` and ``mlflow models serve``
trust ``MLmodel``, as MLflow always does: a tampered ``MLmodel`` naming another flavour makes
them load whatever that flavour loads.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import yaml
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from safetensors import SafetensorError

from longtail_mltc.inference import InvalidInput, TextLabeler

__all__ = [
    "LOADER_MODULE",
    "PREDICTOR_PATH",
    "LabelerModel",
    "load_labeler",
    "save_predictor",
]

PREDICTOR_PATH = "predictor"
LOADER_MODULE = __name__  # "longtail_mltc.serving.pyfunc", what MLmodel must name
MLMODEL_FILE = "MLmodel"
PYFUNC_FLAVOR = "python_function"
LABELER_DIR = "labeler"  # under the model's data/ folder
TEXT_COLUMN = "text"
TOP_K = 5
# Files that would be unpickled by some loader: refused wherever they appear in a predictor.
PICKLE_SUFFIXES = (".pkl", ".pickle", ".cloudpickle", ".joblib")


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


class LabelerModel:
    """The pyfunc model implementation around a :class:`TextLabeler` of any kind (what
    :func:`_load_pyfunc` returns; MLflow calls its :meth:`predict`)."""

    def __init__(self, labeler: TextLabeler) -> None:
        self.labeler = labeler

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """One row per text: ``labels``, their ``scores`` and the ``top_k`` best labels."""
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


def _load_pyfunc(data_path: str, model_config: dict[str, Any] | None = None) -> LabelerModel:
    """MLflow's ``loader_module`` entry point: ``data_path`` is the model's ``data/labeler``."""
    return LabelerModel(TextLabeler.from_directory(data_path))


def save_predictor(labeler: TextLabeler, path: str | Path) -> Path:
    """Write ``labeler`` as an MLflow pyfunc model directory at ``path`` (no pickle: the
    ``loader_module`` flavour with the labeler's JSON and safetensors files as its data)."""
    with tempfile.TemporaryDirectory() as tmp:
        labeler_dir = labeler.save_directory(Path(tmp) / LABELER_DIR)
        mlflow.pyfunc.save_model(
            path=str(path),
            loader_module=LOADER_MODULE,
            data_path=str(labeler_dir),
            # the serving environment is this project's (serve with --env-manager local):
            # skip MLflow's slow requirement inference
            pip_requirements=["longtail_mltc"],
        )
    return Path(path)


def load_labeler(model_uri: str) -> TextLabeler:
    """The :class:`TextLabeler` of a predictor (``runs:/<id>/predictor``, ``models:/...`` or a
    local directory), after checking that loading it runs no code from the artifact.

    ``MLmodel`` is read with ``yaml.safe_load``; the predictor is refused (``ValueError`` naming
    the file) unless its ``python_function`` flavour's ``loader_module`` is this module and its
    data folder lies inside the model directory, or if any file in it is a pickle
    (:data:`PICKLE_SUFFIXES`). The labeler is then read from JSON and safetensors files only.
    """
    root = Path(mlflow.artifacts.download_artifacts(artifact_uri=str(model_uri)))
    data_dir = _checked_data_dir(root, str(model_uri))
    try:
        return TextLabeler.from_directory(data_dir)
    except (OSError, ValueError, KeyError, TypeError, SafetensorError) as err:
        raise ValueError(
            f"predictor {model_uri}: unreadable labeler files in {data_dir}: {err}"
        ) from err


def _checked_data_dir(root: Path, model_uri: str) -> Path:
    """The labeler directory of the predictor at ``root``; ``ValueError`` unless ``MLmodel``
    names this module as the pyfunc loader and no pickle file is present."""
    mlmodel = root / MLMODEL_FILE
    if not mlmodel.is_file():
        raise ValueError(f"predictor {model_uri}: no {MLMODEL_FILE} file in {root}")
    pickles = sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.suffix.lower() in PICKLE_SUFFIXES or "pickle" in p.name.lower()
    )
    if pickles:
        raise ValueError(
            f"predictor {model_uri}: refusing to load {root}: it holds pickle file(s) {pickles}; "
            "this project's predictors contain only JSON and safetensors data"
        )
    flavor = _pyfunc_flavor(mlmodel)
    loader = flavor.get("loader_module")
    if loader != LOADER_MODULE:
        kind = f"loader_module {loader!r}" if loader else "a python_model (pickled) flavour"
        raise ValueError(
            f"{mlmodel}: expected flavors.{PYFUNC_FLAVOR}.loader_module = {LOADER_MODULE!r}, "
            f"found {kind}; refusing to load a predictor not written by this project"
        )
    data = flavor.get("data")
    if not isinstance(data, str) or not data:
        raise ValueError(f"{mlmodel}: flavors.{PYFUNC_FLAVOR}.data must name the labeler folder")
    data_dir = (root / data).resolve()
    if not data_dir.is_relative_to(root.resolve()) or not data_dir.is_dir():
        raise ValueError(
            f"{mlmodel}: flavors.{PYFUNC_FLAVOR}.data = {data!r} is not a folder inside {root}"
        )
    return data_dir


def _pyfunc_flavor(mlmodel: Path) -> dict[str, Any]:
    """``flavors.python_function`` of an ``MLmodel`` file, read as plain YAML data."""
    try:
        meta = yaml.safe_load(mlmodel.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as err:
        raise ValueError(f"{mlmodel}: not a YAML MLmodel file ({err})") from err
    flavors = meta.get("flavors") if isinstance(meta, dict) else None
    flavor = flavors.get(PYFUNC_FLAVOR) if isinstance(flavors, dict) else None
    if not isinstance(flavor, dict):
        raise ValueError(f"{mlmodel}: no flavors.{PYFUNC_FLAVOR} section")
    return flavor
