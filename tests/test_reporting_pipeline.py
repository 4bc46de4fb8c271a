"""The reporting pipeline reads real tracked runs (the HSCNN chain and the N_φ sweep on
Reuters-21578 at `--env ci` sizes) and writes the comparison table in three formats and the
plots, all consistent with the tracking store."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from kedro_project import reset_mlflow_process_state, run_pipeline

pytestmark = pytest.mark.slow

REPORTS = Path("data/08_reporting/reuters/reporting")
COMPARED = (
    "reuters/hscnn/hscnn/bce",
    "reuters/hscnn/hscnn_calibrated/bce",
    "reuters/hscnn/single/bce",
    "reuters/single/single/bce",
)


class _Cells(HTMLParser):
    """Text of every <td>, and how many carry class="best"."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self.best = 0
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        if tag == "td":
            self._in_cell = True
            self.cells.append("")
            self.best += ("class", "best") in attrs

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.cells[-1] += data


def test_reporting_compares_the_tracked_single_and_hscnn_runs(project: Path, monkeypatch):
    # a rerun of hscnn: the table keeps each configuration's newest run
    for pipeline in ("hscnn", "hscnn_n_phi", "hscnn", "reporting"):
        run_pipeline(project, pipeline)
        reset_mlflow_process_state()  # one process, several sessions: as separate `kedro run`s

    table = pd.read_csv(project / REPORTS / "comparison.csv").set_index("configuration")
    assert tuple(table.index) == COMPARED
    # every configuration was trained with the one seed of parameters.yml (both hscnn runs)
    assert table["n_seeds"].tolist() == [1] * 4 and table["seeds"].tolist() == [42] * 4
    std_columns = [c for c in table.columns if c.endswith("__std")]
    assert std_columns and table[std_columns].isna().all().all()  # one seed: no spread
    metric_columns = [c for c in table.columns if c.startswith("test/") and c not in std_columns]
    assert metric_columns[:2] == ["test/all/micro_f1", "test/all/macro_f1"]
    for name in COMPARED:
        runs = mlflow.search_runs(
            experiment_names=["longtail_mltc"],
            filter_string=f"tags.mlflow.runName = '{name}'",
            order_by=["attributes.start_time DESC"],
            output_format="list",
        )
        assert len(runs) == 2  # hscnn ran twice
        newest = runs[0]
        for column in metric_columns:
            if column in newest.data.metrics:
                assert table.loc[name, column] == pytest.approx(newest.data.metrics[column])
        # best_in lists exactly the columns where this row holds the column's maximum
        best = {c for c in metric_columns if table.loc[name, c] == table[c].max()}
        listed = table.loc[name, "best_in"]
        assert (set(listed.split(";")) if isinstance(listed, str) else set()) == best

    markdown = (project / REPORTS / "comparison.md").read_text()
    n_best = sum(table.loc[n, c] == table[c].max() for n in COMPARED for c in metric_columns)
    assert markdown.count("**") == 2 * n_best
    parser = _Cells()
    parser.feed((project / REPORTS / "comparison.html").read_text())
    assert parser.best == n_best
    assert set(COMPARED) <= set(parser.cells)

    for figure in ("groups.png", "sweeps.png", "per_label_f1.png"):
        assert (project / REPORTS / figure).stat().st_size > 10_000
    # the generated results page: the same table, each configuration with its command
    results = (project / REPORTS / "results.md").read_text()
    assert markdown.strip() in results and "## HSCNN N_φ sweep (reuters)" in results
    # all four configurations were tracked by `kedro run --pipelines=hscnn --env=ci` sessions
    assert results.count("`kedro run --pipelines=hscnn --env=ci --params corpus=reuters`") == 4
    # the N_φ panel found the tracked sweep table (no "no tracked sweep" placeholder there)
    n_phi = mlflow.search_runs(
        experiment_names=["longtail_mltc"],
        filter_string="tags.mlflow.runName = 'reuters/hscnn_n_phi'",
    )
    assert len(n_phi) == 1
    from longtail_mltc.pipelines.reporting.nodes import N_PHI_ARTIFACT, find_n_phi_sweep
    from longtail_mltc.pipelines.tracked_runs import RunArtifacts, TrackedRunsDataset

    tracked = TrackedRunsDataset("longtail_mltc").load()
    table_n_phi = find_n_phi_sweep(tracked, RunArtifacts(N_PHI_ARTIFACT), "reuters")
    assert not table_n_phi.empty and table_n_phi["n_phi"].is_monotonic_increasing
    # the comparison is also an artifact of the reporting session run
    (session,) = mlflow.search_runs(
        experiment_names=["longtail_mltc"],
        filter_string="tags.mlflow.runName = 'reuters/reporting'",
        output_format="list",
    )
    client = mlflow.MlflowClient()
    artifacts = {a.path for a in client.list_artifacts(session.info.run_id, "reporting")}
    expected = ("comparison.csv", "comparison.md", "results.md", "per_label_f1.png")
    assert {f"reporting/{name}" for name in expected} <= artifacts

    # the notebook reproduces the table and the plots from the same tracked runs
    output = project / "notebook_output"
    monkeypatch.setenv("LONGTAIL_MLTC_NOTEBOOK_OUTPUT", str(output))
    notebook = _execute_notebook(project)
    texts = "".join(
        str(out.get("data", {}).get("text/markdown", "")) + str(out.get("text", ""))
        for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs
    )  # fmt: skip
    assert all(name in texts for name in COMPARED)
    # the notebook tabulates one row per run (comparison_table): with one seed per
    # configuration these are the pipeline's rows, whose means are the runs' values
    notebook_table = pd.read_csv(output / "comparison.csv")
    assert list(notebook_table.columns) == ["configuration", *metric_columns]
    pd.testing.assert_frame_equal(
        notebook_table, pd.read_csv(project / REPORTS / "comparison.csv")[notebook_table.columns]
    )
    for figure in ("groups.png", "sweeps.png", "per_label_f1.png"):
        assert (output / figure).stat().st_size > 10_000


def _execute_notebook(project: Path):
    """Run notebooks/compare_runs.ipynb top to bottom in a fresh kernel from the project root."""
    import nbformat
    from nbclient import NotebookClient

    source = Path(__file__).resolve().parents[1] / "notebooks" / "compare_runs.ipynb"
    notebook = nbformat.read(source, as_version=4)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(project)}}
    )
    client.execute()  # raises CellExecutionError naming the cell on any error
    return notebook


def test_reporting_without_matching_runs_names_the_filter(project: Path):
    # a fresh tracking store: nothing tracked at all
    with pytest.raises(Exception, match="no (finished runs match|MLflow experiment)"):
        run_pipeline(project, "reporting", params={"corpus": "delicious"})
