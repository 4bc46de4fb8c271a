"""Run the real Kedro project in a throw-away copy (its own data/ and MLflow store)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import mlflow
from conftest import PROJECT_ROOT
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

DATA_LAYERS = (
    "01_raw",
    "02_intermediate",
    "03_primary",
    "04_feature",
    "05_model_input",
    "06_models",
    "07_model_output",
    "08_reporting",
)


# A CSV user corpus ``docs.csv`` (text, labels), declared as `user_corpora.<name>` in a test.
USER_CORPUS = {
    "files": "docs.csv",
    "text_columns": "text",
    "label_column": "labels",
    "test_fraction": 0.25,
    "seed": 1,
}


def copy_project(dest: Path) -> Path:
    """conf/ (without local secrets), pyproject.toml and an empty data/ skeleton."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(PROJECT_ROOT / "conf", dest / "conf", ignore=shutil.ignore_patterns("local"))
    (dest / "conf" / "local").mkdir()
    (dest / "src").mkdir()  # Kedro requires it; the package itself is installed
    for name in ("pyproject.toml", ".telemetry"):
        shutil.copy2(PROJECT_ROOT / name, dest / name)
    for layer in DATA_LAYERS:
        (dest / "data" / layer).mkdir(parents=True)
    return dest


def run_pipeline(
    project: Path,
    pipeline: str | Sequence[str],
    env: str = "ci",
    params: Mapping[str, Any] | None = None,
    **run_options: Any,
) -> None:
    """``kedro run --pipelines=<pipeline>`` (one name, or several run as one) in ``project``;
    ``run_options`` go to ``KedroSession.run`` (e.g. ``to_nodes=[...]``)."""
    names = [pipeline] if isinstance(pipeline, str) else list(pipeline)
    bootstrap_project(project)
    with KedroSession.create(project_path=project, env=env, runtime_params=dict(params or {})) as s:
        s.run(pipeline_names=names, **run_options)


def data_files(project: Path) -> list[Path]:
    """Every file the pipelines wrote under data/."""
    return sorted(p for p in (project / "data").rglob("*") if p.is_file())


def reset_mlflow_process_state() -> None:
    """MLflow caches the active run and experiment per process; each test has its own store."""
    while mlflow.active_run() is not None:
        mlflow.end_run()
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(None)  # also unsets MLFLOW_TRACKING_URI: restore the test's store
    if uri is not None:
        os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow.tracking.fluent._active_experiment_id = None  # no public API unsets it


def end_running_runs(client: Any, experiment_id: str, status: str = "FAILED") -> list[str]:
    """End every RUNNING run of the experiment (runs a test left open), so no later test meets
    them; return their ids."""
    running = client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'")
    for run in running:
        client.set_terminated(run.info.run_id, status)
    return [run.info.run_id for run in running]
