"""Project hooks: no MLflow run outlives a failed or interrupted ``kedro run`` as RUNNING or
FINISHED; a pipeline starts only from files that exist, and a failed ingestion leaves no stale
corpus behind."""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

import mlflow
from kedro.framework.hooks import hook_impl

from . import profiling
from .atomic_files import write_atomically
from .config_errors import ConfigurationError
from .pipelines import configuration_runs, tracking

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# MLflow prints "View run <name> at: <tracking URI>/#/..." to stdout when a run on a tracking
# server ends, the URI verbatim; this variable of MLflow's turns that print off.
_SUPPRESS_RUN_LINKS = "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"


class HideTrackingCredentials:
    """A tracking URI with credentials in it (``https://user:password@host``) is never printed.

    MLflow's own run links are turned off for the rest of the process (they would show the
    password), and the URI is logged once with its credentials masked.
    """

    @hook_impl
    def before_pipeline_run(self) -> None:
        masked = tracking.tracking_uri_for_logs()
        if masked != mlflow.get_tracking_uri():
            os.environ[_SUPPRESS_RUN_LINKS] = "true"
            logger.info("MLflow tracking at %s (run links not printed: credentials)", masked)


class NameSessionRunAfterCorpus:
    """The kedro-mlflow session (parent) run is named ``<corpus>/<pipeline>``
    (:func:`~longtail_mltc.pipelines.tracking.session_run_name`, e.g. ``reuters/hscnn``), so
    session runs of different corpora can be told apart; kedro-mlflow names it after the
    pipeline alone. A name set in mlflow.yml (``tracking.run.name``) is kept.

    Runs before kedro-mlflow's ``before_pipeline_run`` (``tryfirst``), which starts the run
    with the name of its configuration object (the one it stores as ``context.mlflow``).
    """

    def __init__(self) -> None:
        self._context: Any = None

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        self._context = context

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: dict[str, Any], catalog: Any) -> None:
        config = getattr(self._context, "mlflow", None)
        run = getattr(getattr(config, "tracking", None), "run", None)
        if run is None or run.name:
            return
        if "params:corpus" not in catalog:
            return  # a project without the corpus parameter: kedro-mlflow's name stays
        names = run_params.get("pipeline_names") or run_params.get("pipeline_name")
        run.name = tracking.session_run_name(catalog.load("params:corpus"), names or "__default__")


class CloseConfigurationRunsOnError:
    """A configuration run spans several nodes; if any of them fails, mark the run FAILED
    (KILLED when the run was interrupted) instead of leaving it RUNNING forever."""

    @hook_impl
    def on_pipeline_error(self, error: Exception, pipeline: Any, catalog: Any) -> None:
        status = tracking.status_after(error)
        names = sorted(n for n in pipeline.datasets() if n.endswith("_run") and n in catalog)
        ended = configuration_runs.end_open_runs([catalog[name] for name in names], status)
        for run_id in ended:
            logger.warning("MLflow run %s marked %s: %s", run_id, status, error)


class FailRunsOnSignal:
    """Turn SIGINT and SIGTERM during a pipeline into :class:`tracking.RunInterrupted`.

    Kedro's session calls ``on_pipeline_error`` only for an ``Exception``: a
    ``KeyboardInterrupt`` left the kedro-mlflow session run to MLflow's exit handler, which
    ends it FINISHED, and SIGTERM's default action left every run RUNNING. Raised as an
    ``Exception``, the interruption goes through the same error path as a failing node. A
    second signal gets the previous handler (a second Ctrl-C still interrupts at once).
    Handlers can only be installed from the main thread; elsewhere this hook does nothing.
    """

    def __init__(self) -> None:
        self._previous: dict[int, Any] = {}

    @hook_impl
    def before_pipeline_run(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._interrupt)

    def _interrupt(self, signum: int, frame: Any) -> None:
        self._restore()
        name = signal.Signals(signum).name
        logger.warning("%s received: stopping the run and marking its MLflow runs", name)
        raise tracking.RunInterrupted(f"interrupted by {name}")

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _finish(self) -> None:
        # again at the end: Lightning's Trainer puts back the handlers it found when fit
        # started (this hook's), after the first signal had already restored the previous ones
        self._restore()
        self._previous.clear()

    @hook_impl
    def after_pipeline_run(self) -> None:
        self._finish()

    @hook_impl
    def on_pipeline_error(self) -> None:
        self._finish()


class ProfileNodes:
    """Each node's wall and CPU time and the peak memory after it, printed as a table when the
    run ends (slowest first) and written to ``data/08_reporting/run_profile.json``."""

    RELATIVE_PATH = Path("data/08_reporting/run_profile.json")

    def __init__(self) -> None:
        self.path = self.RELATIVE_PATH
        self.steps: list[profiling.StepTiming] = []
        self.watches: dict[str, profiling.Stopwatch] = {}

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        self.path = Path(context.project_path) / self.RELATIVE_PATH

    @hook_impl
    def before_pipeline_run(self) -> None:
        self.before_first = profiling.seconds_since_process_start()
        self.run_watch = profiling.Stopwatch()
        self.steps, self.watches = [], {}

    @hook_impl
    def before_node_run(self, node: Any) -> None:
        self.watches[node.name] = profiling.Stopwatch()

    @hook_impl
    def after_node_run(self, node: Any) -> None:
        watch = self.watches.pop(node.name, None)
        if watch is not None:
            self.steps.append(watch.stop(node.name))

    @hook_impl
    def after_pipeline_run(self) -> None:
        total = self.run_watch.stop("run")
        table = profiling.profile_table(self.steps, total.wall_seconds, self.before_first)
        # the table goes to stderr whole: the log handler would wrap its columns
        sys.stderr.write(f"\nwhere the run's time went:\n{table}\n")
        logger.info("run profile: %s", self.path)
        record = {
            "startup_seconds": self.before_first,
            "run_seconds": total.wall_seconds,
            "peak_rss_mb": total.peak_rss_mb,
            "steps": [asdict(step) for step in self.steps],
        }
        write_atomically(self.path, lambda tmp: tmp.write_text(json.dumps(record, indent=2)))


# Imported when a pipeline runs, not with settings.py: the datasets and pipelines import torch.
def _pipeline(name: str) -> Any:
    """The pipeline of folder ``pipelines/<name>``, as ``create_pipeline`` builds it."""
    return importlib.import_module(f"{__package__}.pipelines.{name}").create_pipeline()


def _local_file(catalog: Any, name: str) -> Any:
    """The catalog dataset ``name`` where it keeps its data in a local file (a
    :class:`~longtail_mltc.datasets.LocalFile`), else ``None`` (parameters, memory datasets,
    remote paths, names the catalog does not know)."""
    from .datasets import LocalFile

    if name.startswith("params:") or name == "parameters":
        return None
    dataset = catalog.get(name)
    if isinstance(dataset, LocalFile) and dataset.local_path is not None:
        return dataset
    return None


def _missing_inputs(pipeline: Any, catalog: Any) -> dict[str, str]:
    """Free inputs of ``pipeline`` that are local files and do not exist: name → path."""
    missing = {}
    for name in sorted(pipeline.inputs()):
        dataset = _local_file(catalog, name)
        if dataset is not None and not dataset.exists():
            missing[name] = str(dataset.local_path)
    return missing


# The pipelines whose outputs the others start from, in the order they run; ``hscnn`` runs
# the whole chain, so where it is needed it is the only one.
_PRODUCERS = ("ingestion", "features", "label_stats", "single", "hscnn")


def _producers(missing: set[str], catalog: Any) -> list[str]:
    """The pipelines to run, in order, to write ``missing`` (and what those pipelines read in
    turn that is missing too); a dataset none of them writes is left to the message's list."""
    pipelines = {name: _pipeline(name) for name in _PRODUCERS}
    needed: set[str] = set()
    wanted = set(missing)
    while wanted:
        name = wanted.pop()
        producer = next((p for p in _PRODUCERS if name in pipelines[p].all_outputs()), None)
        if producer is not None and producer not in needed:
            needed.add(producer)
            wanted |= set(_missing_inputs(pipelines[producer], catalog))
    return ["hscnn"] if "hscnn" in needed else [p for p in _PRODUCERS if p in needed]


class RequireInputFiles:
    """Before a pipeline runs, every file it reads but does not write must exist.

    Only ``hscnn`` (and ``__default__``) run ingestion themselves; every other pipeline starts
    from ``data/``. A missing file is a :class:`ConfigurationError` that names the files, the
    pipeline and the ``kedro run`` that writes them, before any node (or MLflow run) starts.
    """

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        missing = _missing_inputs(pipeline, catalog)
        if not missing:
            return
        names = ",".join(run_params.get("pipeline_names") or ["__default__"])
        corpus = _corpus(catalog)
        project = Path(run_params.get("project_path") or ".")
        files = "\n".join(
            f"  {_shown(Path(path), project)} ({name})" for name, path in missing.items()
        )
        message = (
            f"pipeline {names!r} starts from files in data/ that do not exist (corpus "
            f"{corpus!r}):\n{files}"
        )
        producers = _producers(set(missing), catalog)
        if producers:
            env = run_params.get("env")
            env_option = f" --env={env}" if env and env != "local" else ""
            message += (
                f"\nwrite them first: kedro run --pipelines={','.join(producers)}"
                f" --params corpus={corpus}{env_option}"
            )
        raise ConfigurationError(message)


def _shown(path: Path, project: Path) -> str:
    """``path`` relative to the project folder where it lies inside it."""
    return str(path.relative_to(project)) if path.is_relative_to(project) else str(path)


def _corpus(catalog: Any) -> str:
    """The run's ``corpus`` parameter (``<corpus>`` where there is none)."""
    dataset = catalog.get("params:corpus")
    return "<corpus>" if dataset is None else str(dataset.load())


class RemoveOutputsOfFailedIngestion:
    """A failed ingestion removes the outputs it would have replaced (corpus, skipped records,
    ingestion report), logging each path, so no later stage reads a stale corpus: the next
    one stops at :class:`RequireInputFiles` with the ``kedro run`` to make it again.

    "Failed" is a node of the ingestion pipeline raising, or the run stopping (a failed save,
    an interruption) while one of them had started and not finished.
    """

    def __init__(self) -> None:
        self._ingestion_nodes: set[str] = set()
        self._unfinished: set[str] = set()

    @hook_impl
    def before_pipeline_run(self) -> None:
        self._ingestion_nodes = {node.name for node in _pipeline("ingestion").nodes}
        self._unfinished = set()

    @hook_impl
    def before_node_run(self, node: Any) -> None:
        if node.name in self._ingestion_nodes:
            self._unfinished.add(node.name)

    @hook_impl
    def after_node_run(self, node: Any) -> None:
        self._unfinished.discard(node.name)

    @hook_impl
    def on_node_error(self, node: Any, catalog: Any) -> None:
        if node.name in self._ingestion_nodes:
            self._remove_outputs(catalog)

    @hook_impl
    def on_pipeline_error(self, catalog: Any) -> None:
        if self._unfinished:
            self._remove_outputs(catalog)
        self._unfinished = set()

    def _remove_outputs(self, catalog: Any) -> None:
        for name in sorted(_pipeline("ingestion").all_outputs()):
            dataset = _local_file(catalog, name)
            removed = dataset.invalidate() if dataset is not None else None
            if removed is not None:
                logger.warning("ingestion failed: removed %s (%s), now stale", removed, name)
