"""reporting pipeline: tracked runs → comparison table (CSV, Markdown, HTML) and plots.

Reads the MLflow tracking store through its API (no training happens here), so it compares
whatever earlier ``kedro run`` commands produced: filter by corpus, pipelines and tags in
``conf/base/parameters_reporting.yml``.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from .nodes import (
    collect_runs,
    plot_group_comparison,
    plot_per_label_f1,
    plot_sweep_curves,
    render_comparison,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                collect_runs,
                inputs=["params:reporting", "params:corpus"],
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
                plot_sweep_curves,
                inputs=["reporting.runs", "params:reporting", "params:corpus"],
                outputs="reporting.sweep_plot",
                name="plot_sweep_curves",
                namespace="reporting",
            ),
            Node(
                plot_per_label_f1,
                inputs=["reporting.runs", "params:reporting", "params:corpus"],
                outputs="reporting.per_label_plot",
                name="plot_per_label_f1",
                namespace="reporting",
            ),
        ]
    )
