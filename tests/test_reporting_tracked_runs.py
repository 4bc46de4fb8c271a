"""The tracking store read by datasets (issue 22): ``TrackedRunsDataset`` and ``RunArtifacts`` on
a real SQLite store, the reporting nodes on DataFrames alone, and the generated results page."""

from __future__ import annotations

import re
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from kedro.io import DatasetError
from kedro_project import reset_mlflow_process_state

from longtail_mltc.pipelines.reporting.nodes import (
    PER_LABEL_ARTIFACT,
    collect_runs,
    plot_per_label_f1,
)
from longtail_mltc.pipelines.reporting.results_page import (
    changed_parameters,
    provenance,
    results_page,
    sweep_source,
)
from longtail_mltc.pipelines.tracked_runs import (
    RunArtifacts,
    RunArtifactsDataset,
    TrackedRunsDataset,
)

MICRO = "test/all/micro_f1"


@pytest.fixture
def client(tmp_path, monkeypatch):
    """An MLflow client on an empty SQLite store in ``tmp_path`` with the experiment ``unit``."""
    monkeypatch.chdir(tmp_path)  # artifacts (./mlruns) stay in the temporary folder
    reset_mlflow_process_state()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = mlflow.MlflowClient()
    client.create_experiment("unit")
    client.create_experiment("other")
    yield client
    reset_mlflow_process_state()


def _run(client, experiment: str, start: int, status: str = "FINISHED", **tags: str) -> str:
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    run_id = client.create_run(experiment_id, start_time=start, tags=tags).info.run_id
    client.log_metric(run_id, MICRO, start / 10_000)
    client.set_terminated(run_id, status=status, end_time=start + 1)
    return run_id


def test_tracked_runs_are_the_finished_runs_of_the_experiment_newest_first(client, tmp_path):
    old = _run(client, "unit", 1_000, corpus="reuters", pipeline="single")
    new = _run(client, "unit", 3_000, corpus="reuters", pipeline="hscnn")
    session = _run(client, "unit", 2_000)  # a session run: no pipeline tag
    _run(client, "unit", 4_000, status="FAILED", corpus="reuters", pipeline="single")
    _run(client, "other", 5_000, corpus="reuters", pipeline="single")

    runs = TrackedRunsDataset(experiment="unit").load()
    assert runs["run_id"].tolist() == [new, session, old]
    assert runs[f"metrics.{MICRO}"].tolist() == [0.3, 0.2, 0.1]
    assert runs["tags.pipeline"].tolist()[::2] == ["hscnn", "single"]
    configuration_runs = "attributes.status = 'FINISHED' and tags.pipeline != ''"  # fidelity's
    configured = TrackedRunsDataset("unit", filter_string=configuration_runs).load()
    assert configured["run_id"].tolist() == [new, old]
    with pytest.raises(DatasetError, match="read-only"):
        TrackedRunsDataset("unit").save(runs)
    with pytest.raises(DatasetError, match="no MLflow experiment 'nope' in the tracking store"):
        TrackedRunsDataset("nope").load()


def test_run_artifacts_read_one_csv_of_any_run(client, tmp_path):
    with_report = _run(client, "unit", 1_000)
    without = _run(client, "unit", 2_000)
    table = tmp_path / "per_label_f1.csv"
    pd.DataFrame({"train_count": [5, 1], "f1": [0.5, 0.25]}).to_csv(table, index=False)
    client.log_artifact(with_report, str(table), "analysis")

    reports = RunArtifactsDataset(artifact_path=PER_LABEL_ARTIFACT).load()
    assert (reports.has(with_report), reports.has(without)) == (True, False)
    assert reports.read_csv(with_report)["f1"].tolist() == [0.5, 0.25]
    assert reports.read_csv(without) is None
    assert RunArtifacts("analysis/other.csv").has(with_report) is False


# --------------------------------------------------------------------------------------------
# the nodes compute on the loaded table alone
# --------------------------------------------------------------------------------------------


def _tracked(**columns) -> pd.DataFrame:
    """Runs as ``mlflow.search_runs`` tabulates them (newest first)."""
    base = {
        "run_id": ["r4", "r3", "r2", "r1"],
        "status": ["FINISHED"] * 4,
        "start_time": pd.to_datetime(
            ["2026-12-06 10:00", "2026-12-05 10:00", "2026-12-05 09:00", "2026-12-01 09:00"],
            utc=True,
        ),
        "tags.mlflow.runName": ["r/single/single/bce", "r/single/single/bce", "r/hscnn", "x"],
        "tags.corpus": ["reuters", "reuters", "reuters", "delicious"],
        "tags.pipeline": ["single", "single", "hscnn", "single"],
        "tags.seed": ["2", "1", None, "1"],
        "tags.loss": ["bce", "bce", "bce", "bce"],
        f"metrics.{MICRO}": [0.8, 0.7, 0.9, 0.1],
    }
    return pd.DataFrame({**base, **columns})


REPORTING = {"filters": {"pipelines": ["single", "hscnn"], "tags": {}}, "latest_only": True}


def test_collect_runs_filters_the_loaded_runs_by_corpus_pipelines_and_tags():
    runs = collect_runs(_tracked(), REPORTING, "reuters")
    assert runs["run_id"].tolist() == ["r2", "r3", "r4"]  # by configuration, then seed
    assert runs["seed"].fillna("none").tolist() == ["none", "1", "2"]
    only_single = {"filters": {"pipelines": ["single"], "tags": {"seed": "1"}}}
    assert collect_runs(_tracked(), only_single, "reuters")["run_id"].tolist() == ["r3"]
    failed = _tracked(status=["FAILED", "FINISHED", "FINISHED", "FINISHED"])
    assert "r4" not in set(collect_runs(failed, REPORTING, "reuters")["run_id"])
    query = (
        "attributes.status = 'FINISHED' and tags.corpus = 'imcm' "
        "and tags.pipeline in ['single', 'hscnn']"
    )
    with pytest.raises(ValueError, match=re.escape(f"no finished runs match {query!r} in ")):
        collect_runs(_tracked(), REPORTING, "imcm")
    with pytest.raises(ValueError, match="no finished runs match"):
        collect_runs(pd.DataFrame(), REPORTING, "reuters")  # an empty experiment


class _Reports:
    """An ``ArtifactReader`` over a dict: run id → per-label table."""

    def __init__(self, tables: dict[str, pd.DataFrame | None]) -> None:
        self.tables = tables
        self.read: list[str] = []

    def has(self, run_id: str) -> bool:
        return run_id in self.tables

    def read_csv(self, run_id: str) -> pd.DataFrame | None:
        self.read.append(run_id)
        return self.tables.get(run_id)


def test_the_per_label_plot_reads_the_best_run_per_pipeline_through_the_handle():
    runs = collect_runs(_tracked(), REPORTING, "reuters")
    table = pd.DataFrame({"train_count": [9, 1], "f1": [0.9, 0.1]})
    reports = _Reports({"r2": table, "r3": table, "r4": table})
    figure = plot_per_label_f1(runs, reports, {}, "reuters")
    assert reports.read == ["r2", "r4"]  # hscnn 0.9, then single's best seed 0.8
    assert figure.axes
    with pytest.raises(ValueError, match=r"r/hscnn: its analysis/per_label_f1.csv cannot be read"):
        plot_per_label_f1(runs, _Reports({"r2": None}), {}, "reuters")


# --------------------------------------------------------------------------------------------
# the results page
# --------------------------------------------------------------------------------------------


def _page_runs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two configurations: single with seeds 1 and 2 (the newest at a shorter budget than
    configured), tracked without a session run, and hscnn with seed 7, tracked by the session
    ``kedro run --pipelines=hscnn_variants --env ci --params seed=7,hscnn.n_triplets=90``."""
    tracked = pd.DataFrame(
        {
            "run_id": ["s2", "s1", "h7", "session"],
            "start_time": pd.to_datetime(
                ["2026-12-06 08:00", "2026-12-05 23:00", "2026-12-04 12:00", "2026-12-04 11:00"],
                utc=True,
            ),
            "tags.mlflow.runName": ["r/s", "r/s", "r/h", "reuters/hscnn_variants"],
            "tags.mlflow.parentRunId": [None, None, "session", None],
            "tags.pipeline": ["single", "single", "hscnn", None],
            "tags.git_commit": ["abcdef0123", "1234567890", "abcdef0123", None],
            # kedro-mlflow's tags of the session run
            "tags.kedro_command": [None, None, None, "kedro run --pipeline=hscnn_variants"],
            "tags.env": [None, None, None, "ci"],
            "tags.runtime_params": [None, None, None, "{'seed': 7, 'hscnn': {'n_triplets': 90}}"],
            "params.corpus": ["reuters", "reuters", "reuters", "reuters"],
            "params.seed": ["2", "1", "7", "7"],
            "params.single.training.max_epochs": ["10", "18", "18", "18"],
            "params.loss.name": ["bce", "bce", "bce", None],  # not a parameter key: skipped
        }
    )
    runs = pd.DataFrame(
        {
            "configuration": ["r/h", "r/s", "r/s"],
            "run_id": ["h7", "s1", "s2"],
            "seed": [7.0, 1.0, 2.0],  # as read back from runs.csv
        }
    )
    return runs, tracked


DEFAULTS = {"corpus": "reuters", "seed": "42", "single.training.max_epochs": "18"}


def test_provenance_gives_dates_commits_seeds_budget_and_the_command():
    runs, tracked = _page_runs()
    table = provenance(runs, tracked, DEFAULTS, ["single.training.max_epochs"], "reuters")
    assert table.to_dict("records") == [
        {
            "configuration": "r/h",
            "date": "2026-12-04",
            "commit": "abcdef0",
            "seeds": "7",
            "budget": "single.training.max_epochs=18",
            "command": "`kedro run --pipelines=hscnn_variants --env=ci "
            "--params corpus=reuters,seed=7,hscnn.n_triplets=90`",
        },
        {
            "configuration": "r/s",
            "date": "2026-12-05 to 2026-12-06",
            "commit": "1234567,abcdef0",
            "seeds": "1,2",
            "budget": "single.training.max_epochs=10",  # the newest run's
            # no session: the pipeline tag and the parameters that differ from the defaults
            "command": "`kedro run-seeds --seeds 1,2 --pipeline=single "
            "--params corpus=reuters,single.training.max_epochs=10`",
        },
    ]
    assert changed_parameters(tracked.iloc[1], DEFAULTS) == {}
    alone = tracked.drop(columns="tags.mlflow.parentRunId")  # seed 7 is not the default 42
    assert provenance(runs[:1], alone, DEFAULTS, [], "reuters").loc[0, "command"] == (
        "`kedro run --pipelines=hscnn --params corpus=reuters,seed=7`"
    )


def test_the_results_page_has_the_tables_and_their_provenance():
    table = pd.DataFrame(
        [
            {
                "configuration": "r/s",
                "date": "2026-12-05",
                "commit": "abc|def",
                "seeds": "1",
                "budget": "-",
                "command": "`kedro run --pipelines=single --params corpus=reuters`",
            }
        ]
    )
    comparison = "| configuration | n_seeds |\n| --- | ---: |\n| r/s | 1 |\n"
    sweep = pd.DataFrame({"n_phi": [10, 20], MICRO: [0.81234, 0.8]})
    session = pd.Series(
        {
            "run_id": "s",
            "start_time": pd.Timestamp("2026-12-05 23:59", tz="UTC"),
            "tags.kedro_command": "kedro run --pipeline=hscnn_n_phi",
            "tags.runtime_params": "{'corpus': 'reuters', 'hscnn': {'n_phi': [10, 20]}}",
        }
    )
    source = sweep_source(session, "reuters")
    assert source == (
        '`kedro run --pipelines=hscnn_n_phi --params "corpus=reuters,hscnn.n_phi=[10, 20]"` '
        "(2026-12-05)"
    )
    page = results_page("reuters", "2026-12-07", comparison, table, sweep, source)
    assert page.splitlines() == [
        "# Tracked results: reuters",
        "",
        "Generated on 2026-12-07 by `kedro run --pipelines=reporting --params corpus=reuters` "
        "from the tracking store: regenerate it rather than edit it.",
        "",
        "## Comparison of tracked runs (reuters)",
        "",
        "Test split; mean ± sample standard deviation over seeds; the best value per column "
        "in bold.",
        "",
        "| configuration | n_seeds |",
        "| --- | ---: |",
        "| r/s | 1 |",
        "",
        "Provenance (the command: the `kedro run` recorded on the runs' kedro-mlflow session):",
        "",
        "| configuration | date | commit | seeds | budget | command |",
        "|---|---|---|---|---|---|",
        "| r/s | 2026-12-05 | abc\\|def | 1 | - | "
        "`kedro run --pipelines=single --params corpus=reuters` |",
        "",
        "## HSCNN N_φ sweep (reuters)",
        "",
        f"From {source}.",
        "",
        f"| n_phi | {MICRO} |",
        "|---|---|",
        "| 10 | 0.8123 |",
        "| 20 | 0.8000 |",
    ]
    without_sweep = results_page("reuters", "2026-12-07", comparison, table, pd.DataFrame())
    assert "N_φ" not in without_sweep and without_sweep.endswith("reuters` |\n")


def test_the_pipeline_reads_the_store_only_through_datasets():
    source = Path(__file__).resolve().parents[1] / "src/longtail_mltc/pipelines"
    for module in ("reporting/nodes.py", "reporting/results_page.py", "fidelity/nodes.py"):
        text = (source / module).read_text(encoding="utf-8")
        assert "import mlflow" not in text and "MlflowClient" not in text, module
