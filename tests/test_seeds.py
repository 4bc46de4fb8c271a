"""Several seeds per configuration: the ``seed`` tag of configuration runs, the reporting that
keeps the newest run per configuration and seed and averages the seeds (mean ± std), and the
``kedro run-seeds`` command that runs a pipeline once per seed."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from click.testing import CliRunner
from kedro_project import reset_mlflow_process_state

from longtail_mltc.cli import (
    cli,
    configured_seeds,
    merged_params,
    parse_seeds,
    run_command,
    split_params,
)
from longtail_mltc.pipelines import tracking
from longtail_mltc.pipelines.reporting.nodes import collect_runs, render_comparison
from longtail_mltc.pipelines.tracked_runs import TrackedRunsDataset

EXPERIMENT = "longtail_mltc"
MICRO = "test/all/micro_f1"
SINGLE = "reuters/single/single/bce"
HSCNN = "reuters/hscnn/hscnn/bce"
REPORTING = {
    "filters": {"pipelines": ["single", "hscnn"], "tags": {}},
    "latest_only": True,
    "groups": ["all"],
    "metrics": ["micro_f1"],
    "extra_metrics": [],
    "lower_is_better": [],
}


@pytest.fixture
def store(tmp_path, monkeypatch):
    """An empty SQLite tracking store with the project's experiment as the current one."""
    monkeypatch.chdir(tmp_path)  # artifacts (./mlruns) stay in the temporary folder
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    reset_mlflow_process_state()
    mlflow.set_experiment(EXPERIMENT)
    yield tmp_path
    reset_mlflow_process_state()


def track(pipeline: str, micro_f1: float, seed: int | None) -> str:
    """A finished configuration run ``reuters/<pipeline>/<pipeline>/bce`` with one metric."""
    params = {"corpus": "reuters"} | ({"seed": seed} if seed is not None else {})
    run_id = tracking.start_configuration_run(
        corpus="reuters",
        pipeline=pipeline,
        variant=pipeline,
        loss="bce",
        encoder="kim_cnn",
        params=params,
    )
    tracking.log_final_metrics(run_id, {MICRO: micro_f1})
    tracking.end_configuration_run(run_id)
    time.sleep(0.01)  # distinct start times: "newest" is well defined
    return run_id


# --------------------------------------------------------------------------------------------
# the seed tag
# --------------------------------------------------------------------------------------------


def test_configuration_runs_are_tagged_with_their_seed(store):
    seeded = mlflow.get_run(track("single", 0.5, seed=7))
    assert seeded.data.tags["seed"] == "7"
    assert seeded.data.params["seed"] == "7"
    assert "seed" not in mlflow.get_run(track("single", 0.5, seed=None)).data.tags


# --------------------------------------------------------------------------------------------
# reporting: newest run per (configuration, seed), then mean ± std across seeds
# --------------------------------------------------------------------------------------------


def test_reporting_keeps_the_newest_run_per_seed_and_averages_the_seeds(store):
    track("single", 0.10, seed=1)  # superseded by the rerun of seed 1
    newest_seed_1 = track("single", 0.80, seed=1)
    track("single", 0.83, seed=2)
    track("single", 0.86, seed=3)
    track("hscnn", 0.50, seed=None)  # no seed tag (tracked before the tag existed): one seed
    newest_hscnn = track("hscnn", 0.85, seed=None)

    tracked = TrackedRunsDataset(EXPERIMENT).load()
    runs = collect_runs(tracked, REPORTING, "reuters")
    assert runs["configuration"].tolist() == [HSCNN, SINGLE, SINGLE, SINGLE]
    assert runs["seed"].fillna("none").tolist() == ["none", "1", "2", "3"]
    assert runs["run_id"].tolist()[:2] == [newest_hscnn, newest_seed_1]
    assert runs[MICRO].tolist() == [0.85, 0.80, 0.83, 0.86]

    csv, markdown, page = render_comparison(runs, REPORTING)
    table = csv.set_index("configuration")
    assert table.loc[SINGLE, MICRO] == pytest.approx(0.83, abs=1e-12)
    assert table.loc[SINGLE, f"{MICRO}__std"] == pytest.approx(0.03, abs=1e-12)
    assert (table.loc[SINGLE, "n_seeds"], table.loc[SINGLE, "seeds"]) == (3, "1;2;3")
    assert table.loc[HSCNN, MICRO] == 0.85 and math.isnan(table.loc[HSCNN, f"{MICRO}__std"])
    assert table.loc[HSCNN, "n_seeds"] == 1
    # best on the means: HSCNN's 0.85 beats Single's mean 0.83 (not its best seed's 0.86)
    assert (table.loc[HSCNN, "best_in"], table.loc[SINGLE, "best_in"]) == (MICRO, "")
    assert markdown.splitlines() == [
        f"| configuration | n_seeds | {MICRO} |",
        "| --- | ---: | ---: |",
        f"| {HSCNN} | 1 | **0.8500** |",
        f"| {SINGLE} | 3 | 0.8300 ± 0.0300 |",
    ]
    assert '<td class="num">0.8300 ± 0.0300</td>' in page

    # latest_only: false: every finished run, each its own row
    every = collect_runs(tracked, {**REPORTING, "latest_only": False}, "reuters")
    assert len(every) == 6
    csv, _, _ = render_comparison(every, {**REPORTING, "latest_only": False})
    assert len(csv) == 6 and set(csv["n_seeds"]) == {1}


# --------------------------------------------------------------------------------------------
# kedro run-seeds: seeds and params (no kedro launched)
# --------------------------------------------------------------------------------------------


def test_parse_seeds():
    assert parse_seeds("1,2, 3") == [1, 2, 3]
    assert parse_seeds("42") == [42]
    with pytest.raises(ValueError, match="no seed"):
        parse_seeds(" , ")
    with pytest.raises(ValueError, match="'x' .* not an integer"):
        parse_seeds("1,x")
    with pytest.raises(ValueError, match=r"\[2\] repeated"):
        parse_seeds("2,1,2")


def test_params_merge_the_seed_and_refuse_one_given():
    assert merged_params("", 3) == "seed=3"
    assert merged_params("loss=focal, corpus=reuters", 3) == "loss=focal,corpus=reuters,seed=3"
    assert split_params("single.seed_words=5,seeds=[1]") == ["single.seed_words=5", "seeds=[1]"]
    for given in ("seed=3", "loss=db, seed = 3", "seed.x=1"):
        with pytest.raises(ValueError, match="sets the seed .* --seeds"):
            merged_params(given, 1)
    with pytest.raises(ValueError, match="not key=value"):
        split_params("loss")


def test_run_command_passes_the_options_through():
    assert run_command(2, python="py") == ["py", "-m", "kedro", "run", "--params=seed=2"]
    assert run_command(
        5, pipeline="single", env="ci", params="loss=db", tags="train", runner="SequentialRunner"
    )[1:] == [
        "-m",
        "kedro",
        "run",
        "--pipelines=single",
        "--env=ci",
        "--tags=train",
        "--runner=SequentialRunner",
        "--params=loss=db,seed=5",
    ]


def test_configured_seeds_come_from_the_chosen_environment(project_root):
    assert configured_seeds(project_root, "ci") == [1, 2, 3]
    assert configured_seeds(project_root, None) == [1, 2, 3]  # conf/local adds none


def test_run_seeds_dry_run_prints_one_command_per_seed(project_root, monkeypatch):
    monkeypatch.chdir(project_root)
    result = CliRunner().invoke(
        cli, ["run-seeds", "--dry-run", "-p", "single", "-e", "ci", "--params", "loss=db"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 3
    for i, (line, seed) in enumerate(zip(lines, (1, 2, 3), strict=True), start=1):
        assert line.startswith(f"run-seeds: seed {seed} ({i}/3): ")
        assert line.endswith(
            f"-m kedro run --pipelines=single --env=ci --params=loss=db,seed={seed}"
        )


def test_run_seeds_refuses_a_seed_in_params_and_bad_seeds():
    result = CliRunner().invoke(cli, ["run-seeds", "--seeds", "1,2", "--params", "seed=3"])
    assert result.exit_code == 2
    assert "--params sets the seed ('seed=3')" in result.output
    result = CliRunner().invoke(cli, ["run-seeds", "--seeds", "1,one"])
    assert result.exit_code == 2 and "not an integer" in result.output


# --------------------------------------------------------------------------------------------
# kedro run-seeds end to end: the kedro CLI finds the command, each seed is its own kedro run
# --------------------------------------------------------------------------------------------


def _kedro(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kedro", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"},
        timeout=600,
    )


def _session_runs(pipeline: str) -> list:
    """The kedro-mlflow session runs of ``pipeline``, named ``<corpus>/<pipeline>``."""
    return mlflow.search_runs(
        experiment_names=[EXPERIMENT],
        filter_string=f"tags.mlflow.runName LIKE '%/{pipeline}'",
        order_by=["attributes.start_time ASC"],
        output_format="list",
    )


@pytest.mark.slow
def test_run_seeds_runs_kedro_once_per_seed_and_stops_at_a_failing_seed(project: Path):
    # tracked configurations for the reporting pipeline, the cheapest pipeline to run
    mlflow.set_experiment(EXPERIMENT)
    for seed, micro in ((1, 0.80), (2, 0.83)):
        track("single", micro, seed=seed)
    reset_mlflow_process_state()

    done = _kedro(project, "run-seeds", "--seeds", "1,2", "--pipeline=reporting", "--env", "ci")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "run-seeds: all 2 seeds finished: [1, 2]" in done.stdout
    sessions = _session_runs("reporting")
    assert [r.info.status for r in sessions] == ["FINISHED", "FINISHED"]
    # each kedro run received its own seed (kedro-mlflow tags the session's runtime params)
    assert [r.data.tags["runtime_params"] for r in sessions] == ["{'seed': 1}", "{'seed': 2}"]
    table = pd.read_csv(project / "data/08_reporting/reuters/reporting/comparison.csv")
    assert table[["configuration", "n_seeds", "seeds"]].values.tolist() == [[SINGLE, 2, "1;2"]]

    # a corpus without tracked runs: seed 5's reporting fails, seed 6 never runs
    failed = _kedro(
        project, "run-seeds", "--seeds", "5,6", "-p", "reporting", "-e", "ci",
        "--params", "corpus=delicious",
    )  # fmt: skip
    assert failed.returncode == 1
    assert "seed 5 failed: kedro run exited with status 1; seeds [6] not run" in failed.stderr
    assert "seed 6 (2/2)" not in failed.stdout
    tags = [r.data.tags.get("runtime_params", "") for r in _session_runs("reporting")]
    assert len(tags) == 3 and "'seed': 5" in tags[2]
