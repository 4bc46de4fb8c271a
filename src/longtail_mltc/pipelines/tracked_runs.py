"""Load-only Kedro datasets that read the MLflow tracking store (issue 22).

Reading the tracking store is I/O, so it happens in datasets, as reading a file does: the
reporting and fidelity nodes compute on the DataFrame :class:`TrackedRunsDataset` loads and
read artifacts through the :class:`RunArtifacts` handle :class:`RunArtifactsDataset` loads.
They live in the Kedro glue layer (not ``datasets/``) because only this layer imports mlflow
(docs/development.md "Layers"). The tracking URI is MLflow's current one: kedro-mlflow sets it
from ``conf/base/mlflow.yml`` before any dataset loads.
"""

from __future__ import annotations

from typing import Any, Protocol

import mlflow
import pandas as pd
from kedro.io import AbstractDataset, DatasetError
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from longtail_mltc.serving import PREDICTOR_PATH, load_labeler

from .tracking import tracking_uri_for_logs

FINISHED = "attributes.status = 'FINISHED'"


def experiment_id(name: str) -> str:
    """The id of the MLflow experiment ``name``; raises naming the tracking store if none."""
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is None:
        raise ValueError(
            f"no MLflow experiment {name!r} in the tracking store {tracking_uri_for_logs()}: "
            "run a training pipeline first (e.g. kedro run --pipeline=hscnn)"
        )
    return experiment.experiment_id


class TrackedRunsDataset(AbstractDataset[None, pd.DataFrame]):
    """The runs of one experiment that match ``filter_string``, newest first, as
    ``mlflow.search_runs`` tabulates them (``run_id``, ``start_time``, ``tags.*``,
    ``params.*``, ``metrics.*``). Load only."""

    def __init__(
        self,
        experiment: str,
        filter_string: str = FINISHED,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._experiment = experiment
        self._filter = filter_string
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        return mlflow.search_runs(
            experiment_ids=[experiment_id(self._experiment)],
            filter_string=self._filter,
            order_by=["attributes.start_time DESC"],
        )

    def save(self, data: pd.DataFrame) -> None:
        raise DatasetError("TrackedRunsDataset is read-only: MLflow runs are written by tracking")

    def _describe(self) -> dict[str, Any]:
        return {"experiment": self._experiment, "filter_string": self._filter}


class ArtifactReader(Protocol):
    """What nodes need of one artifact of runs: whether a run has it, and its table."""

    def has(self, run_id: str) -> bool: ...

    def read_csv(self, run_id: str) -> pd.DataFrame | None: ...


class RunArtifacts:
    """Read-only access to one CSV artifact (``artifact_path``) of any run by id."""

    def __init__(self, artifact_path: str) -> None:
        self.artifact_path = artifact_path

    def has(self, run_id: str) -> bool:
        """Whether the run logged the artifact."""
        folder = self.artifact_path.rsplit("/", 1)[0] if "/" in self.artifact_path else None
        listed = MlflowClient().list_artifacts(run_id, folder)
        return any(a.path == self.artifact_path for a in listed)

    def read_csv(self, run_id: str) -> pd.DataFrame | None:
        """The run's artifact as a DataFrame; None when it has none or it cannot be read."""
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=self.artifact_path
            )
        except (MlflowException, OSError):
            return None
        return pd.read_csv(path)


class RunArtifactsDataset(AbstractDataset[None, RunArtifacts]):
    """A :class:`RunArtifacts` handle for ``artifact_path``: which runs' artifacts a node
    needs depends on the runs it chose, so it downloads only those. Load only."""

    def __init__(self, artifact_path: str, metadata: dict[str, Any] | None = None) -> None:
        self._artifact_path = artifact_path
        self.metadata = metadata

    def load(self) -> RunArtifacts:
        return RunArtifacts(self._artifact_path)

    def save(self, data: RunArtifacts) -> None:
        raise DatasetError("RunArtifactsDataset is read-only: artifacts are logged by tracking")

    def _describe(self) -> dict[str, Any]:
        return {"artifact_path": self._artifact_path}


class TrackedPredictors:
    """Read-only access to the raw-text predictor (``predictor/``) of any tracked run by id."""

    def uri(self, run_id: str) -> str:
        """``runs:/<run_id>/predictor``, after checking the run exists and carries one."""
        if not run_id:
            raise ValueError("predict.run_id is empty: give the id of a tracked training run")
        try:
            run = MlflowClient().get_run(run_id)
        except MlflowException as err:
            raise ValueError(
                f"unknown run id {run_id!r} in the tracking store {tracking_uri_for_logs()}"
            ) from err
        artifacts = {a.path for a in MlflowClient().list_artifacts(run_id)}
        if PREDICTOR_PATH not in artifacts:
            raise ValueError(
                f"run {run_id} ({run.info.run_name}) has no {PREDICTOR_PATH}/ model: only "
                "single-network and HSCNN runs tracked by this version carry one (the hscnn "
                "pipeline's Single-variant run names its single run in the tag single_run_id)"
            )
        return f"runs:/{run_id}/{PREDICTOR_PATH}"

    def load(self, uri: str) -> Any:
        """The predictor at ``uri`` loaded with :func:`~longtail_mltc.serving.load_labeler`,
        which refuses a pickled or foreign model."""
        return load_labeler(uri)


class TrackedPredictorsDataset(AbstractDataset[None, TrackedPredictors]):
    """A :class:`TrackedPredictors` handle: the run to label with is a parameter
    (``predict.run_id``), so the node asks for it. Load only."""

    def __init__(self, metadata: dict[str, Any] | None = None) -> None:
        self.metadata = metadata

    def load(self) -> TrackedPredictors:
        return TrackedPredictors()

    def save(self, data: TrackedPredictors) -> None:
        raise DatasetError("TrackedPredictorsDataset is read-only: predictors are logged by runs")

    def _describe(self) -> dict[str, Any]:
        return {}
