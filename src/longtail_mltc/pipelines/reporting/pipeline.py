"""reporting pipeline: tracked runs → comparison table (CSV, Markdown, HTML) and plots.

Reads the MLflow tracking store through load-only datasets (``reporting.tracked_runs`` and the
artifact handles of ``conf/base/catalog.yml``; no training happens here), so it compares
whatever earlier ``kedro run`` commands produced: filter by corpus, pipelines and tags in
``conf/base/parameters_reporting.yml``. ``reporting.results_page`` renders the sections of
docs/results.md generated from tracked runs, with their provenance.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from .nodes import (
    collect_runs,
    find_n_phi_sweep,
    plot_group_comparison,
    plot_per_label_f1,
    plot_sweep_curves,
    render_comparison,
    render_results_page,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                collect_runs,
                inputs=["reporting.tracked_runs", "params:reporting", "params:corpus"],
                outputs="reporting.runs",
                name="collect_runs",
                namespace="reporting",
            ),
            Node(
                render_comparison,
                inputs=["reporting.runs", "params:reporting"],
                outputs=[
                    "reporting.comparison_table",
                    "reporting.comparison_markdown",
                    "reporting.comparison_html",
                ],
                name="render_comparison",
                namespace="reporting",
            ),
            Node(
                plot_group_comparison,
                inputs=["reporting.comparison_table", "params:reporting", "params:corpus"],
                outputs="reporting.group_plot",
                name="plot_group_comparison",
                namespace="reporting",
            ),
            Node(
                find_n_phi_sweep,
                inputs=["reporting.tracked_runs", "reporting.n_phi_tables", "params:corpus"],
                outputs="reporting.n_phi_sweep",
                name="find_n_phi_sweep",
                namespace="reporting",
            ),
            Node(
                plot_sweep_curves,
                inputs=[
                    "reporting.runs",
                    "reporting.n_phi_sweep",
                    "params:reporting",
                    "params:corpus",
                ],
                outputs="reporting.sweep_plot",
                name="plot_sweep_curves",
                namespace="reporting",
            ),
            Node(
                plot_per_label_f1,
                inputs=[
                    "reporting.runs",
                    "reporting.per_label_reports",
                    "params:reporting",
                    "params:corpus",
                ],
                outputs="reporting.per_label_plot",
                name="plot_per_label_f1",
                namespace="reporting",
            ),
            Node(
                render_results_page,
                inputs=[
                    "reporting.runs",
                    "reporting.tracked_runs",
                    "reporting.comparison_markdown",
                    "reporting.n_phi_sweep",
                    "parameters",
                    "params:reporting",
                    "params:corpus",
                ],
                outputs="reporting.results_page",
                name="render_results_page",
                namespace="reporting",
            ),
        ]
    )
