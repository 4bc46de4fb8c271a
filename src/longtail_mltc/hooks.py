"""Project hooks."""

from __future__ import annotations

import logging

from kedro.framework.hooks import hook_impl

from .pipelines import tracking

logger = logging.getLogger(__name__)


class CloseConfigurationRunsOnError:
    """A configuration run spans several nodes; if any of them fails, mark the run FAILED
    instead of leaving it RUNNING forever in the MLflow UI."""

    @hook_impl
    def on_pipeline_error(self, error: Exception) -> None:
        for run_id in tracking.fail_open_runs():
            logger.warning("MLflow run %s marked FAILED: %s", run_id, error)
