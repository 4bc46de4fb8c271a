"""Where a training's checkpoints live, and which MLflow run wrote them (Kedro glue).

A checkpoint exists only while its training is unfinished: the engine writes ``last.ckpt``
after every epoch, a finished training removes the folder (its best weights are a catalog
output), and ``training.resume: true`` continues from whatever an interrupted one left.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from longtail_mltc.training.engine import LAST_CHECKPOINT

logger = logging.getLogger(__name__)

RUN_FILE = "run.json"  # {"mlflow_run_id": ...}: the run that wrote last.ckpt


def checkpoint_directory(checkpoints: Mapping[str, Any], *, run_name: str, seed: int) -> Path:
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


@dataclass(frozen=True)
class Checkpointing:
    """One training's checkpoint folder (or none) and whether it continues an interrupted one.

    A node builds it with :func:`plan` before its MLflow run starts (``tags`` go on the run),
    calls :meth:`begin` once the run exists, trains with ``directory``/``resume``, and calls
    :meth:`finish` after a successful training.
    """

    directory: Path | None
    resume: bool
    resumed_from: str | None

    def tags(self) -> dict[str, str]:
        return {"resumed_from": self.resumed_from} if self.resumed_from else {}

    def begin(self, run_id: str) -> None:
        if self.resumed_from:
            logger.info(
                "continuing MLflow run %s's training from %s", self.resumed_from, self.directory
            )
        if self.directory is not None:  # the run a later resume continues (read before this)
            record_run(self.directory, run_id)

    def finish(self) -> None:
        if self.directory is not None:
            discard(self.directory)


def run_options(training: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """A ``training`` block without ``resume`` (a run option, not a hyper-parameter), and it."""
    settings = dict(training)
    return settings, bool(settings.pop("resume", False))


def plan(
    checkpoints: Mapping[str, Any] | None, *, run_name: str, seed: int, resume: bool
) -> Checkpointing:
    """Checkpoints under ``checkpoints.dir`` (none when ``checkpoints`` is None)."""
    if checkpoints is None:
        return Checkpointing(None, resume, None)
    directory = checkpoint_directory(checkpoints, run_name=run_name, seed=seed)
    return Checkpointing(directory, resume, interrupted_run(directory) if resume else None)
