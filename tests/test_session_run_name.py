"""Session (parent) runs carry the corpus in their name (issue 22, item 4): ``<corpus>/<pipeline>``,
and the reporting pipeline finds the N_φ sweep under the new name and under the old one."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
from kedro_project import USER_CORPUS, reset_mlflow_process_state, run_pipeline

from longtail_mltc.pipelines.reporting.nodes import N_PHI_ARTIFACT, find_n_phi_sweep
from longtail_mltc.pipelines.tracked_runs import RunArtifacts, TrackedRunsDataset
from longtail_mltc.pipelines.tracking import session_run_name


def _write_tiny_corpus(project: Path) -> None:
    """12 documents, 2 labels, as a user corpus ``tiny`` (README "Your own corpus")."""
    raw = project / "data/01_raw/tiny/docs.csv"
    raw.parent.mkdir(parents=True)
    rows = [(f"crude barrel opec oil report {i}", "oil") for i in range(6)]
    rows += [(f"bullion ounce mine gold report {i}", "gold") for i in range(6)]
    pd.DataFrame(rows, columns=["text", "labels"]).to_csv(raw, index=False)


def _session_runs() -> list[str]:
    runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
    return sorted(run.info.run_name for run in runs if "pipeline_names" in run.data.tags)


def test_session_runs_are_named_corpus_slash_pipeline(project: Path):
    _write_tiny_corpus(project)
    params = {"corpus": "tiny", "user_corpora": {"tiny": USER_CORPUS}}
    run_pipeline(project, "ingestion", params=params)
    reset_mlflow_process_state()  # one process, two sessions: as separate `kedro run`s
    run_pipeline(project, ("ingestion", "features"), params=params, to_nodes=["load_raw_corpus"])
    assert _session_runs() == ["tiny/ingestion", "tiny/ingestion+features"]


def test_session_run_name_joins_pipelines_as_kedro_mlflow_does():
    assert session_run_name("reuters", "hscnn") == "reuters/hscnn"
    assert (
        session_run_name("delicious", ["ingestion", "features"]) == "delicious/ingestion+features"
    )


def _sweep_session(name: str, corpus: str, n_phi: list[int], start: int, tmp_path: Path) -> None:
    """A finished session run ``name`` started at ``start`` (ms) with an N_φ table."""
    table = tmp_path / name.replace("/", "_") / "n_phi.csv"
    table.parent.mkdir(parents=True)
    pd.DataFrame({"n_phi": n_phi}).to_csv(table, index=False)
    client = mlflow.MlflowClient()
    experiment = client.get_experiment_by_name("unit").experiment_id
    run_id = client.create_run(experiment, start_time=start, run_name=name).info.run_id
    client.log_param(run_id, "corpus", corpus)
    client.log_artifact(run_id, str(table), N_PHI_ARTIFACT.rsplit("/", 1)[0])
    client.set_terminated(run_id, end_time=start + 1)


def _n_phi(corpus: str) -> list[int]:
    """The N_φ column of the sweep the reporting pipeline finds for ``corpus``."""
    tracked = TrackedRunsDataset("unit").load()
    table = find_n_phi_sweep(tracked, RunArtifacts(N_PHI_ARTIFACT), corpus)
    return table["n_phi"].tolist() if not table.empty else []


def test_reporting_finds_the_n_phi_sweep_under_the_new_and_the_old_session_name(tmp_path):
    reset_mlflow_process_state()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        mlflow.set_experiment("unit")
        _sweep_session("hscnn_n_phi", "reuters", [1, 2], 1_000, tmp_path)  # before the rename
        assert _n_phi("reuters") == [1, 2]
        _sweep_session("reuters/hscnn_n_phi", "reuters", [3], 2_000, tmp_path)
        _sweep_session("delicious/hscnn_n_phi", "delicious", [4], 3_000, tmp_path)
        _sweep_session("reuters/hscnn+hscnn_n_phi", "reuters", [5], 4_000, tmp_path)  # other run
        assert _n_phi("reuters") == [3]  # the newest
        assert _n_phi("delicious") == [4]
        assert _n_phi("imcm") == []
    finally:
        reset_mlflow_process_state()
