"""Shared test fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
# Tests never download: no corpus over the network (corpora.acquisition), whatever the
# parameters say, in this process and in every subprocess the tests start (they inherit
# os.environ). A test of a download over 127.0.0.1 lifts it with monkeypatch for itself only.
os.environ["LONGTAIL_MLTC_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nor a Hugging Face model

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(
    os.environ.get("LONGTAIL_MLTC_MIRROR", PROJECT_ROOT.parent / "shared" / "datasets")
)


def mirror_path(*parts: str) -> Path:
    """A folder or file of the offline corpus mirror; a missing one fails the test (no skip)."""
    path = SHARED_DATASETS.joinpath(*parts)
    if not path.exists():
        pytest.fail(
            f"{'/'.join(parts)} not found in the mirror at {path}: "
            "place ../shared beside the project"
        )
    return path


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def reuters_mirror() -> Path:
    return mirror_path("reuters21578")


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
