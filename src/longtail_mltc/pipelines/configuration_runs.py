"""Configuration runs as catalog I/O (docs/tracking.md "Runs are catalog I/O").

A pipeline describes the MLflow run of one trained configuration as a :class:`RunSpec` value and
saves it to a ``*_run`` dataset (:class:`ConfigurationRunDataset`), which opens the run; nodes
that load the dataset get a :class:`TrackedRun` (the run id and a metric sink for training
callbacks). The configuration's results leave as a :class:`RunRecord` saved to a
``*_run_record`` dataset (:class:`RunRecordDataset`), which logs metrics, model, artifacts and
the predictor and ends the run FINISHED. Node functions never call MLflow; a run left open
when the pipeline fails is ended by ``hooks.CloseConfigurationRunsOnError``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from kedro.io import AbstractDataset, DatasetError
from mlflow.tracking import MlflowClient

from . import tracking
from .checkpoints import Checkpointing, plan


@dataclass(frozen=True)
class RunSpec:
    """What the run of one configuration is called, tagged and parameterised with.

    ``key`` tells apart two runs of one name in a session (a sweep trains one configuration
    per point); ``tracked=False`` (a configuration switched off) opens no run."""

    corpus: str
    pipeline: str
    variant: str
    loss: str
    encoder: str
    params: Mapping[str, Any]
    tags: Mapping[str, str] = field(default_factory=dict)
    tracked: bool = True
    key: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def name(self) -> str:
        return tracking.run_name(self.corpus, self.pipeline, self.variant, self.loss)

    def with_checkpoints(
        self, checkpoints: Mapping[str, Any] | None, *, seed: int, resume: bool
    ) -> tuple[RunSpec, Checkpointing]:
        """The training's checkpoint plan (:func:`~.checkpoints.plan`, one folder per run name
        and seed), and this spec tagged with the interrupted run it continues, if any."""
        checkpointing = plan(checkpoints, run_name=self.name, seed=seed, resume=resume)
        return replace(self, tags={**self.tags, **checkpointing.tags()}), checkpointing


@dataclass(frozen=True)
class TrackedRun:
    """An open configuration run, as nodes see it (``run_id`` empty when not tracked)."""

    spec: RunSpec
    run_id: str

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """The metric sink a training callback writes epochs into."""
        if self.run_id:
            tracking.metric_logger(self.run_id)(metrics, step)


@dataclass(frozen=True)
class ModelArtifact:
    """``model/`` of a run: the weights, their configuration and the label index."""

    state: Mapping[str, Any]
    config: Mapping[str, Any]
    label_index: list[str]


@dataclass(frozen=True)
class RunRecord:
    """What one configuration leaves in its run: final metrics, ``model/``, artifact folders
    (``{folder: {filename: content}}``), the raw-text predictor and tags. ``final`` ends the run
    FINISHED once everything is logged."""

    run: TrackedRun
    metrics: Mapping[str, float] = field(default_factory=dict)
    model: ModelArtifact | None = None
    artifacts: Mapping[str, Mapping[str, bytes | str]] = field(default_factory=dict)
    predictor: Any = None
    tags: Mapping[str, str] = field(default_factory=dict)
    final: bool = True


class ConfigurationRunDataset(AbstractDataset[RunSpec, TrackedRun]):
    """Saving a :class:`RunSpec` opens its MLflow run (nested under the session run);
    loading gives the open :class:`TrackedRun`. Lives for one ``kedro run``."""

    def __init__(self) -> None:
        self._run: TrackedRun | None = None

    def save(self, data: RunSpec) -> None:
        if not isinstance(data, RunSpec):
            raise DatasetError(f"expected a RunSpec to open a configuration run, got {data!r}")
        if not data.tracked:
            self._run = TrackedRun(data, "")
            return
        run_id = tracking.start_configuration_run(
            corpus=data.corpus,
            pipeline=data.pipeline,
            variant=data.variant,
            loss=data.loss,
            encoder=data.encoder,
            params=data.params,
            extra_tags=data.tags,
        )
        self._run = TrackedRun(data, run_id)

    def load(self) -> TrackedRun:
        if self._run is None:
            raise DatasetError("no configuration run opened yet: its RunSpec was not saved")
        return self._run

    def end_if_running(self, status: str) -> str | None:
        """End the run with ``status`` unless it already ended; return its id when ended here."""
        if self._run is None or not self._run.run_id:
            return None
        run_id = self._run.run_id
        if MlflowClient().get_run(run_id).info.status != "RUNNING":
            return None
        tracking.end_configuration_run(run_id, status)
        return run_id

    def _exists(self) -> bool:
        return self._run is not None

    def _describe(self) -> dict[str, Any]:
        return {"run_id": self._run.run_id if self._run else None}


class RunRecordDataset(AbstractDataset[RunRecord, RunRecord]):
    """Saving a :class:`RunRecord` logs it into its run and, when final, ends the run FINISHED.
    Save-only: the record lives in MLflow."""

    def save(self, data: RunRecord) -> None:
        if not isinstance(data, RunRecord):
            raise DatasetError(f"expected a RunRecord to log into a run, got {data!r}")
        run_id = data.run.run_id
        if not run_id:  # a configuration that is not tracked
            return
        if data.tags:
            client = MlflowClient()
            for key, value in data.tags.items():
                client.set_tag(run_id, key, value)
        if data.metrics:
            tracking.log_final_metrics(run_id, data.metrics)
        if data.model is not None:
            tracking.log_model(run_id, data.model.state, data.model.config, data.model.label_index)
        for folder, files in data.artifacts.items():
            tracking.log_artifacts(run_id, files, folder)
        if data.predictor is not None:
            tracking.log_predictor(run_id, data.predictor)
        if data.final:
            tracking.end_configuration_run(run_id)

    def load(self) -> RunRecord:
        raise DatasetError("a run record is save-only: read the run in MLflow")

    def _describe(self) -> dict[str, Any]:
        return {}


def end_open_runs(datasets: Iterable[AbstractDataset], status: str) -> list[str]:
    """End every configuration run still open among ``datasets`` (a pipeline failed)."""
    ended = []
    for dataset in datasets:
        if isinstance(dataset, ConfigurationRunDataset):
            run_id = dataset.end_if_running(status)
            if run_id is not None:
                ended.append(run_id)
    return ended
