"""Project commands of the ``kedro`` CLI (Kedro 1.x loads the click group ``cli`` of this module).

``kedro run-seeds``: run one pipeline once per seed, each a fresh ``kedro run`` subprocess with
``--params seed=<s>``, so each seed is its own kedro-mlflow session run and every configuration
it trains its own MLflow run (same name, tag ``seed``). ``kedro run --pipeline=reporting`` then
shows each configuration's mean ± standard deviation across its seeds.

    kedro run-seeds --seeds 1,2,3 --pipeline=single --env ci --params loss=focal

Without ``--seeds`` the seeds come from the parameter ``seeds`` of the chosen environment
(conf/base/parameters_reporting.yml).

``kedro run`` is Kedro's own command (same options, same behaviour), wrapped only so that a
:class:`~longtail_mltc.config_errors.ConfigurationError` (raised or the cause of what was
raised) ends the run as one line, ``configuration error: <message>``, with exit status 2,
instead of a long traceback. Other errors are raised as Kedro raises them.

``kedro serve``: serve a tracked predictor over HTTP with the project's strict server
(:mod:`longtail_mltc.serving.server`), on 127.0.0.1 unless ``--host`` says otherwise:

    kedro serve --model-uri runs:/<run id>/predictor --port 5001
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run

from longtail_mltc.config_errors import ConfigurationError

CONFIGURATION_ERROR_STATUS = 2  # click's status for a usage error: the command line/conf is wrong
SEED_PARAM = "seed"
SEEDS_PARAM = "seeds"


@click.group(name="longtail_mltc")
def cli() -> None:
    """Commands of the longtail_mltc project."""


def configuration_error_in(error: BaseException) -> ConfigurationError | None:
    """``error`` itself, or the first ConfigurationError among its causes and contexts."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ConfigurationError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _run(**options: Any) -> Any:
    """Kedro's ``run``; a configuration error ends it as one line and exit status 2."""
    try:
        return kedro_run.callback(**options)  # type: ignore[misc]
    except Exception as error:
        found = configuration_error_in(error)
        if found is None:
            raise
        click.echo(f"configuration error: {found}", err=True)
        raise click.exceptions.Exit(CONFIGURATION_ERROR_STATUS) from error


cli.add_command(
    click.Command(
        name="run",
        params=kedro_run.params,
        callback=_run,
        help=kedro_run.help,
        short_help=kedro_run.short_help,
        context_settings=kedro_run.context_settings,
    )
)


def parse_seeds(text: str) -> list[int]:
    """``"1,2, 3"`` → ``[1, 2, 3]``; raises ValueError on a non-integer, a repeat or nothing."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise ValueError(f"no seed in {text!r}: give integers separated by commas, e.g. 1,2,3")
    return checked_seeds(items, f"{text!r}")


def checked_seeds(values: Sequence[Any], source: str) -> list[int]:
    """The values as integers; raises ValueError naming ``source`` on a non-integer or repeat."""
    seeds = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"seed {value!r} in {source} is not an integer")
        try:
            seeds.append(int(value))
        except ValueError:
            raise ValueError(f"seed {value!r} in {source} is not an integer") from None
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise ValueError(f"seed(s) {repeated} repeated in {source}")
    return seeds


def split_params(params: str) -> list[str]:
    """``kedro run --params`` text as its ``key=value`` items (split on commas, as Kedro does).

    Raises ValueError on an item without ``=`` and on a ``seed`` key (``seed=…`` or
    ``seed.…=…``): run-seeds sets the seed of each run itself.
    """
    items = [item.strip() for item in (params or "").split(",") if item.strip()]
    for item in items:
        key, equals, _ = item.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"--params item {item!r} is not key=value")
        if key.strip() == SEED_PARAM or key.strip().startswith(f"{SEED_PARAM}."):
            raise ValueError(
                f"--params sets the seed ({item!r}), but run-seeds gives every run its own "
                "seed: drop it from --params and list the seeds with --seeds (e.g. --seeds 1,2,3)"
            )
    return items


def merged_params(params: str, seed: int) -> str:
    """The ``--params`` text of one seed's run: the given items, then ``seed=<seed>``."""
    return ",".join([*split_params(params), f"{SEED_PARAM}={seed}"])


def run_command(
    seed: int,
    *,
    pipeline: str | None = None,
    env: str | None = None,
    params: str = "",
    tags: str = "",
    runner: str | None = None,
    python: str = sys.executable,
) -> list[str]:
    """The ``python -m kedro run …`` argument list of one seed."""
    command = [python, "-m", "kedro", "run"]
    if pipeline:
        command.append(f"--pipelines={pipeline}")  # --pipeline is deprecated in Kedro 1.x
    if env:
        command.append(f"--env={env}")
    if tags:
        command.append(f"--tags={tags}")
    if runner:
        command.append(f"--runner={runner}")
    command.append(f"--params={merged_params(params, seed)}")
    return command


def configured_seeds(project_path: Path, env: str | None) -> list[int]:
    """The parameter ``seeds`` of the environment ``env`` (None: ``KEDRO_ENV`` or the
    default run environment), read through the project's config loader."""
    from kedro.framework.project import settings
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(project_path)
    loader = settings.CONFIG_LOADER_CLASS(
        conf_source=str(project_path / settings.CONF_SOURCE),
        env=env or os.getenv("KEDRO_ENV"),
        **settings.CONFIG_LOADER_ARGS,
    )
    value = loader["parameters"].get(SEEDS_PARAM)
    source = f"parameter {SEEDS_PARAM!r} (conf/<env>/parameters*.yml)"
    if value is None:
        raise ValueError(f"no --seeds given and no {source}")
    if isinstance(value, str | int) or not isinstance(value, Sequence) or not value:
        raise ValueError(f"{source} must be a non-empty list of integers; it is {value!r}")
    return checked_seeds(list(value), source)


@cli.command("run-seeds")
@click.option(
    "--seeds",
    "seeds_text",
    default=None,
    help="Seeds separated by commas, e.g. 1,2,3 (default: the parameter 'seeds').",
)
@click.option("--pipeline", "-p", default=None, help="Name of the pipeline to run.")
@click.option(
    "--env", "-e", default=None, help="Kedro configuration environment (default: KEDRO_ENV)."
)
@click.option(
    "--params",
    default="",
    help="As for kedro run (key=value,...); seed=<s> is added for each run, so no seed here.",
)
@click.option("--tags", "-t", default="", help="As for kedro run: only nodes with these tags.")
@click.option("--runner", "-r", default=None, help="As for kedro run: the runner class.")
@click.option("--dry-run", is_flag=True, help="Print the kedro run commands; run nothing.")
@click.pass_obj
def run_seeds(
    metadata: Any,
    seeds_text: str | None,
    pipeline: str | None,
    env: str | None,
    params: str,
    tags: str,
    runner: str | None,
    dry_run: bool,
) -> None:
    """Run a pipeline once per seed, each in its own `kedro run` process (its own MLflow run).

    Stops at the first seed whose run fails, with a non-zero exit status naming it.
    """
    project_path = Path(getattr(metadata, "project_path", None) or Path.cwd())
    try:
        split_params(params)
        seeds = (
            parse_seeds(seeds_text)
            if seeds_text is not None
            else configured_seeds(project_path, env)
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    commands = [
        run_command(s, pipeline=pipeline, env=env, params=params, tags=tags, runner=runner)
        for s in seeds
    ]
    for position, (seed, command) in enumerate(zip(seeds, commands, strict=True), start=1):
        click.echo(f"run-seeds: seed {seed} ({position}/{len(seeds)}): {shlex.join(command)}")
        if dry_run:
            continue
        code = subprocess.run(command, cwd=project_path, check=False).returncode
        if code != 0:
            left = seeds[position:]
            raise click.ClickException(
                f"seed {seed} failed: kedro run exited with status {code}"
                + (f"; seeds {left} not run" if left else "")
            )
    if not dry_run:
        click.echo(f"run-seeds: all {len(seeds)} seeds finished: {seeds}")


@cli.command("serve")
@click.option(
    "--model-uri",
    "-m",
    required=True,
    help="The predictor: runs:/<run id>/predictor, models:/<name>/<version> or a local folder.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=5001, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--max-request-bytes",
    default=1_000_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Larger request bodies are refused with HTTP 413.",
)
@click.option(
    "--max-texts",
    default=1_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Requests with more texts are refused with HTTP 400.",
)
@click.option(
    "--env", "-e", default=None, help="Kedro environment whose mlflow.yml names the store."
)
@click.option("--no-access-log", is_flag=True, help="Do not log one line per request.")
@click.pass_obj
def serve(
    metadata: Any,
    model_uri: str,
    host: str,
    port: int,
    max_request_bytes: int,
    max_texts: int,
    env: str | None,
    no_access_log: bool,
) -> None:
    """Serve a predictor over HTTP: GET /ping, GET /health, POST /invocations (MLflow's
    request and answer formats; malformed requests get 4xx JSON errors, never 500)."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project
    from mlflow.exceptions import MlflowException

    from longtail_mltc.serving.pyfunc import load_labeler
    from longtail_mltc.serving.server import serve as serve_labeler

    project_path = Path(getattr(metadata, "project_path", None) or Path.cwd())
    bootstrap_project(project_path)
    # kedro-mlflow's hook sets the tracking URI from mlflow.yml when the context is created
    with KedroSession.create(project_path=project_path, env=env) as session:
        session.load_context()
    try:
        labeler = load_labeler(model_uri)
    except (ValueError, OSError, MlflowException) as error:  # refused, missing, unknown run
        raise click.ClickException(f"cannot load {model_uri}: {error}") from error
    click.echo(f"serve: {model_uri} on http://{host}:{port} (POST /invocations)")
    serve_labeler(
        labeler,
        host=host,
        port=port,
        max_request_bytes=max_request_bytes,
        max_texts=max_texts,
        access_log=not no_access_log,
    )
