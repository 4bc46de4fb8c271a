"""Where a training's checkpoints live, and which MLflow run wrote them (Kedro glue).

A checkpoint exists only while its training is unfinished: the engine writes ``last.ckpt``
after every epoch, a finished training removes the folder (its best weights are a catalog
output), and ``training.resume: true`` continues from whatever an interrupted one left.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from longtail_mltc.training.engine import LAST_CHECKPOINT

RUN_FILE = "run.json"  # {"mlflow_run_id": ...}: the run that wrote last.ckpt


def checkpoint_directory(
    checkpoints: Mapping[str, Any], *, corpus: str, run_name: str, seed: int
) -> Path:
    """``<checkpoints.dir>/<corpus>/<pipeline>/<variant>/<loss>/seed-<seed>``; ``run_name`` is
    ``<corpus>/<pipeline>/<variant>/<loss>`` (one folder per trained configuration and seed)."""
    return Path(checkpoints["dir"]) / run_name / f"seed-{seed}"


def interrupted_run(directory: Path) -> str | None:
    """The MLflow run id of the interrupted training that left ``directory/last.ckpt``."""
    if not (directory / LAST_CHECKPOINT).exists():
        return None
    try:
        return str(json.loads((directory / RUN_FILE).read_text())["mlflow_run_id"])
    except (OSError, ValueError, KeyError):
        return "unknown"


def record_run(directory: Path, run_id: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / RUN_FILE).write_text(json.dumps({"mlflow_run_id": run_id}))


def discard(directory: Path) -> None:
    """Remove a finished training's checkpoints."""
    shutil.rmtree(directory, ignore_errors=True)
