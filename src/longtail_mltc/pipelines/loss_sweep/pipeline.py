"""loss_sweep pipeline: one single network per loss (issue "The loss family"), then a table.

Reads the features and label statistics of the chosen corpus (run ``ingestion``, ``features``
and ``label_stats`` first, or ``hscnn``). Each loss trains in its own namespace
``loss_sweep.<loss>`` and MLflow run ``<corpus>/single/single/<loss>``; ``compare_losses``
collects their test metrics in one table.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from longtail_mltc.losses import LOSSES

from ..single.pipeline import single_network_nodes
from .nodes import compare_losses

SWEPT_LOSSES: tuple[str, ...] = tuple(LOSSES)
NAMESPACE = "loss_sweep"


def create_pipeline(**kwargs) -> Pipeline:
    nodes = [
        node
        for loss in SWEPT_LOSSES
        for node in single_network_nodes(loss, namespace=f"{NAMESPACE}.{loss}")
    ]
    nodes.append(
        Node(
            compare_losses,
            inputs={loss: f"{NAMESPACE}.{loss}.single_metrics" for loss in SWEPT_LOSSES},
            outputs=f"{NAMESPACE}.loss_table",
            name="compare_losses",
            namespace=NAMESPACE,
        )
    )
    return Pipeline(nodes)
