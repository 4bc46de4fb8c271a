"""fidelity pipeline: tracked runs → the table of published claims and our figures.

Trains nothing: run the pipelines the claims name first (``conf/base/parameters_fidelity.yml``;
a claim without runs is reported ``not measured`` with the run to make).
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from .nodes import build_fidelity_report, collect_tracked_runs


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                collect_tracked_runs,
                inputs="fidelity.tracked_runs",
                outputs="fidelity.runs",
                name="collect_tracked_runs",
                namespace="fidelity",
            ),
            Node(
                build_fidelity_report,
                inputs=["fidelity.runs", "params:fidelity"],
                outputs=["fidelity.table", "fidelity.markdown"],
                name="build_fidelity_report",
                namespace="fidelity",
            ),
        ]
    )
