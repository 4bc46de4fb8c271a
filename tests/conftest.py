"""Shared test fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(
    os.environ.get("LONGTAIL_MLTC_MIRROR", PROJECT_ROOT.parent / "shared" / "datasets")
)


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def reuters_mirror() -> Path:
    path = SHARED_DATASETS / "reuters21578"
    if not path.is_dir():
        pytest.fail(f"Reuters-21578 mirror not found at {path}: place ../shared beside the project")
    return path


@pytest.fixture
def project(tmp_path, monkeypatch, reuters_mirror) -> Path:
    """A throw-away copy of the Kedro project, run from its root, with its own MLflow store;
    raw corpora come from the offline mirror."""
    from kedro_project import copy_project, reset_mlflow_process_state

    reset_mlflow_process_state()
    proj = copy_project(tmp_path / "project")
    monkeypatch.chdir(proj)
    monkeypatch.setenv("LONGTAIL_MLTC_MIRROR", str(reuters_mirror.parent))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{proj / 'mlflow.db'}")
    yield proj
    reset_mlflow_process_state()
