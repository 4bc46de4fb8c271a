"""MLflow conventions of DESIGN.md "Tracking" (Kedro glue; library layers never import mlflow).

kedro-mlflow opens one run per ``kedro run`` (all parameters, flattened). Each trained
configuration gets its own run nested under it, named ``<corpus>/<pipeline>/<variant>/<loss>``
and tagged with corpus, pipeline, variant, encoder, loss and git commit. The catalog's
``*_run`` / ``*_run_record`` datasets (:mod:`.configuration_runs`) open and end those runs with
the helpers here; node functions never call them.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

logger = logging.getLogger(__name__)

_MAX_PARAM_LENGTH = 6000  # MLflow ≥ 2.x accepts up to 6,000 characters per parameter value
HOST_TAG, PID_TAG = "host", "pid"  # the process that owns a RUNNING run (abandoned-run cleanup)


class RunInterrupted(Exception):
    """SIGINT or SIGTERM arrived during ``kedro run`` (raised by ``hooks.FailRunsOnSignal``).

    An ``Exception``, unlike ``KeyboardInterrupt``: Kedro's session calls the
    ``on_pipeline_error`` hooks only for those, so kedro-mlflow then ends its session run FAILED
    instead of FINISHED, and the open configuration runs end KILLED.
    """


# Query or fragment parameters whose value is masked in logged URIs (names matched in lower case).
_SECRET_PARAMETER = re.compile(r"token|secret|pass|pwd|key|auth|sig|credential|session")
# scheme://userinfo@...: the userinfo ends at the last "@" before the query or fragment (an
# unencoded "/" or "@" in a password still counts as userinfo).
_USERINFO = re.compile(r"^(?P<head>[^:/?#]*:)?//(?P<userinfo>[^?#]*)@")


def mask_uri_credentials(uri: str) -> str:
    """``uri`` fit for logs: credentials replaced by ``***``.

    ``user:password@`` becomes ``user:***@``, a bare ``token@`` becomes ``***@``, and the
    value of a query or fragment parameter named like a secret (token, password, key,
    signature, ...) becomes ``***``. Written by hand: urllib's ``urlunsplit`` rewrites some
    URIs (``sqlite:///x.db`` → ``sqlite:/x.db``), and Kedro's redaction helper is private.
    """
    match = _USERINFO.match(uri)
    if match:
        user, colon, _ = match["userinfo"].partition(":")
        masked = f"{user}:***" if colon else "***"
        uri = f"{match['head'] or ''}//{masked}@{uri[match.end() :]}"
    body, hash_sign, fragment = uri.partition("#")
    path, question_mark, query = body.partition("?")
    return path + question_mark + _mask_parameters(query) + hash_sign + _mask_parameters(fragment)


def tracking_uri_for_logs() -> str:
    """The current MLflow tracking URI with its credentials masked."""
    return mask_uri_credentials(mlflow.get_tracking_uri())


def _mask_parameters(parameters: str) -> str:
    """``a=1&token=x`` → ``a=1&token=***``."""
    items = []
    for item in parameters.split("&"):
        name, equals, _ = item.partition("=")
        secret = equals and _SECRET_PARAMETER.search(name.lower())
        items.append(f"{name}=***" if secret else item)
    return "&".join(items)


def flatten_params(params: Mapping[str, Any], prefix: str = "", sep: str = ".") -> dict[str, str]:
    """{'a': {'b': 1}} → {'a.b': '1'}; lists become their JSON text."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten_params(value, name, sep))
        else:
            text = json.dumps(value) if isinstance(value, list | tuple) else str(value)
            flat[name] = text[:_MAX_PARAM_LENGTH]
    return flat


def git_commit() -> str:
    """The project's current commit, or 'unknown' outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_name(corpus: str, pipeline: str, variant: str, loss: str) -> str:
    return f"{corpus}/{pipeline}/{variant}/{loss}"


def session_run_name(corpus: str, pipelines: str | Sequence[str]) -> str:
    """The kedro-mlflow session (parent) run's name: ``<corpus>/<pipeline>``, several
    pipelines joined by ``+`` as kedro-mlflow joins them (``reuters/ingestion+features``).
    Runs tracked before this name existed are named after the pipeline alone."""
    names = [pipelines] if isinstance(pipelines, str) else list(pipelines)
    return f"{corpus}/{'+'.join(names)}"


def start_configuration_run(
    *,
    corpus: str,
    pipeline: str,
    variant: str,
    loss: str,
    encoder: str,
    params: Mapping[str, Any],
    extra_tags: Mapping[str, str] | None = None,
) -> str:
    """Create the run of one trained configuration (nested when a run is active); return its id."""
    tags = {
        **(extra_tags or {}),
        "corpus": corpus,
        "pipeline": pipeline,
        "variant": variant,
        "encoder": encoder,
        "loss": loss,
        "git_commit": git_commit(),
    }
    if "seed" in params:  # runs of one configuration with several seeds (kedro run-seeds)
        tags["seed"] = str(params["seed"])
    owner = _process_tags()
    tags.update(owner)
    name = run_name(corpus, pipeline, variant, loss)
    client = MlflowClient()
    parent = mlflow.active_run()
    if parent is not None:  # the kedro-mlflow session run
        tags["mlflow.parentRunId"] = parent.info.run_id
        experiment_id = parent.info.experiment_id
        if PID_TAG not in parent.data.tags:  # so a SIGKILLed session run can be found too
            for key, value in owner.items():
                client.set_tag(parent.info.run_id, key, value)
    else:  # outside kedro-mlflow (notebook, tracking disabled): the current experiment
        experiment_id = current_experiment_id()
    fail_abandoned_runs(client, experiment_id, name)
    # Created through the client so it stays RUNNING across nodes without becoming the active
    # fluent run; ``end_configuration_run`` closes it (FAILED when a node raised).
    run = client.create_run(experiment_id, run_name=name, tags=tags)
    run_id = run.info.run_id
    client.log_batch(run_id, params=[Param(k, v) for k, v in flatten_params(params).items()])
    logger.info("MLflow run %s (%s) at %s", name, run_id, tracking_uri_for_logs())
    return run_id


def metric_logger(run_id: str):
    """A ``log(metrics, step)`` function writing into the given run (for training callbacks)."""
    client = MlflowClient()

    def log(metrics: Mapping[str, float], step: int) -> None:
        client.log_batch(run_id, metrics=_metric_entities(metrics, step))

    return log


def log_final_metrics(run_id: str, metrics: Mapping[str, float]) -> None:
    """Log a flat dict of final metrics (already named ``<split>/<group>/<metric>``)."""
    MlflowClient().log_batch(run_id, metrics=_metric_entities(metrics, step=0))


def _metric_entities(metrics: Mapping[str, float], step: int) -> list[Metric]:
    now = int(time.time() * 1000)
    return [Metric(key, float(value), now, step) for key, value in metrics.items()]


def log_artifacts(run_id: str, files: Mapping[str, bytes | str], artifact_path: str) -> None:
    """Write each {filename: content} to a temporary folder and log it under ``artifact_path``."""
    client = MlflowClient()
    with tempfile.TemporaryDirectory() as tmp:
        for filename, content in files.items():
            path = Path(tmp) / filename
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        client.log_artifacts(run_id, tmp, artifact_path)


def log_model(
    run_id: str,
    state: Mapping[str, Any],
    config: Mapping[str, Any],
    label_index: list[str],
) -> None:
    """``model/``: the weights (safetensors), their configuration and the label index."""
    from safetensors.torch import save as safetensors_bytes

    log_artifacts(
        run_id,
        {
            "model.safetensors": safetensors_bytes({k: v.contiguous() for k, v in state.items()}),
            "model_config.json": json.dumps(dict(config), indent=2),
            "label_index.json": json.dumps(label_index, indent=1),
        },
        "model",
    )


def log_predictor(run_id: str, labeler: Any) -> None:
    """``predictor/``: the configuration as an MLflow pyfunc model that labels raw text
    (:func:`longtail_mltc.serving.save_predictor`); serve it with
    ``mlflow models serve -m runs:/<run id>/predictor --env-manager local``."""
    from longtail_mltc.serving import PREDICTOR_PATH, save_predictor

    with tempfile.TemporaryDirectory() as tmp:
        path = save_predictor(labeler, Path(tmp) / PREDICTOR_PATH)
        MlflowClient().log_artifacts(run_id, str(path), PREDICTOR_PATH)


def end_configuration_run(run_id: str, status: str = "FINISHED") -> None:
    MlflowClient().set_terminated(run_id, status)


def current_experiment_id() -> str:
    """The experiment new runs go to outside a kedro-mlflow session, by MLflow's public rules:
    ``MLFLOW_EXPERIMENT_ID``, else ``MLFLOW_EXPERIMENT_NAME`` (created when missing), else the
    default experiment "0". (``mlflow.set_experiment`` in the same process sets the first.)"""
    if os.environ.get("MLFLOW_EXPERIMENT_ID"):
        return os.environ["MLFLOW_EXPERIMENT_ID"]
    name = os.environ.get("MLFLOW_EXPERIMENT_NAME")
    if not name:
        return "0"
    experiment = MlflowClient().get_experiment_by_name(name)
    return experiment.experiment_id if experiment else MlflowClient().create_experiment(name)


def status_after(error: BaseException) -> str:
    """The status a run ends with when ``error`` stopped it: KILLED when interrupted.

    The interruption counts wherever it sits in the exception chain: a signal that arrives
    inside a library call comes back wrapped (MLflow's SQL store re-raises any exception
    during a write as ``MlflowException ... from`` it; Kedro's datasets as ``DatasetError``).
    """
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, RunInterrupted | KeyboardInterrupt):
            return "KILLED"
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return "FAILED"


def _process_tags() -> dict[str, str]:
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}


def process_is_gone(pid: int) -> bool:
    """True when no process ``pid`` runs on this host (a zombie counts as gone).

    A reused pid makes a dead owner look alive; the run then stays RUNNING, which is the safe
    side (a live run is never marked FAILED).
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:  # Linux: field 3 is the state, after the parenthesised command name
        return stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def fail_abandoned_runs(client: MlflowClient, experiment_id: str, name: str) -> list[str]:
    """Mark FAILED the RUNNING runs named ``name`` whose process on this host is gone
    (SIGKILL, out of memory, power loss), and their session run when its process is gone too.

    Runs started on another host, or without the host/pid tags, are left alone: nothing here
    can tell whether they still run. Each run marked is logged as a warning.
    """
    running = client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'")
    by_id = {run.info.run_id: run for run in running}
    marked: list[str] = []
    for run in running:
        if run.data.tags.get("mlflow.runName") != name or not _abandoned(run):
            continue
        stale = [run.info.run_id]
        parent = by_id.get(run.data.tags.get("mlflow.parentRunId", ""))
        if parent is not None and _abandoned(parent) and parent.info.run_id not in marked:
            stale.append(parent.info.run_id)
        for run_id in stale:
            client.set_terminated(run_id, "FAILED")
            marked.append(run_id)
            logger.warning(
                "MLflow run %s (%s) was left RUNNING by process %s on %s, which is gone "
                "(killed?): marked FAILED",
                run_id,
                by_id[run_id].data.tags.get("mlflow.runName", ""),
                by_id[run_id].data.tags[PID_TAG],
                by_id[run_id].data.tags[HOST_TAG],
            )
    return marked


def _abandoned(run: Any) -> bool:
    tags = run.data.tags
    if tags.get(HOST_TAG) != socket.gethostname() or not tags.get(PID_TAG, "").isdigit():
        return False
    pid = int(tags[PID_TAG])
    return pid != os.getpid() and process_is_gone(pid)
