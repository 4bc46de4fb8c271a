"""Project hooks: no MLflow run outlives a failed or interrupted ``kedro run`` as RUNNING or
FINISHED."""

from __future__ import annotations

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
from .pipelines import tracking

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


class CloseConfigurationRunsOnError:
    """A configuration run spans several nodes; if any of them fails, mark the run FAILED
    (KILLED when the run was interrupted) instead of leaving it RUNNING forever."""

    @hook_impl
    def on_pipeline_error(self, error: Exception) -> None:
        status = tracking.status_after(error)
        for run_id in tracking.fail_open_runs(status):
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
