"""balanced_losses pipeline (METHODS §3, §3.1): from the ingested corpus in ``data/`` (run
``ingestion`` first), features → label_stats → the chosen backbone trained once per loss, then
the comparison table, its bar chart and the most confused label pairs.

The backbone is a run-time parameter (``--params backbone=kim_cnn``), so the nodes are the
same for every backbone: ``select_backbone`` picks ``balanced_losses.backbones.<backbone>``
and ``backbone_documents`` encodes the texts the way that backbone reads them. Each loss trains
in namespace ``balanced_losses.<loss>`` as MLflow run
``<corpus>/balanced_losses/<backbone>/<loss>`` (tagged ``loss``, ``variant=<backbone>``).
``--params backbone=kim_cnn`` is the single network's loss sweep (docs/losses.md).

Each loss's confused pairs are computed in its namespace too. The nine losses' metrics and
confused pairs then reach the table and the pairs' CSV in groups of at most ``MAX_INPUTS``
losses (``collect_*`` nodes), so that no node reads more than ``MAX_INPUTS`` datasets.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from longtail_mltc.losses import LOSSES

from ..features import create_pipeline as features
from ..label_stats import create_pipeline as label_stats
from ..single.pipeline import single_network_nodes
from .nodes import (
    PIPELINE,
    backbone_documents,
    collect_by_loss,
    compare_balanced_losses,
    confused_pairs_at_threshold,
    confused_pairs_by_loss,
    plot_balanced_losses,
    select_backbone,
    test_label_matrix,
)

STUDIED_LOSSES: tuple[str, ...] = tuple(LOSSES)
NAMESPACE = "balanced_losses"
MAX_INPUTS = 8  # the most datasets a node of this pipeline reads


def loss_groups(
    losses: tuple[str, ...] = STUDIED_LOSSES, most: int = MAX_INPUTS
) -> list[tuple[str, ...]]:
    """``losses`` in consecutive groups of at most ``most``, as even as possible (nine losses:
    five, then four)."""
    n_groups = -(-len(losses) // most)
    size = -(-len(losses) // n_groups)
    return [losses[start : start + size] for start in range(0, len(losses), size)]


def _collect_nodes(dataset: str) -> tuple[list[Node], list[str]]:
    """Nodes gathering ``balanced_losses.<loss>.<dataset>`` of the studied losses into
    ``{loss: value}`` groups (:func:`loss_groups`), and the groups' names."""
    ns = NAMESPACE
    nodes, groups = [], []
    for number, losses in enumerate(loss_groups(), start=1):
        group = f"{ns}.{dataset}_group_{number}"
        nodes.append(
            Node(
                collect_by_loss,
                inputs={loss: f"{ns}.{loss}.{dataset}" for loss in losses},
                outputs=group,
                name=f"collect_{dataset}_{number}",
                namespace=ns,
            )
        )
        groups.append(group)
    return nodes, groups


def _confused_pairs_nodes(config: str) -> list[Node]:
    """Per loss, its confused test label pairs; then all losses' pairs in one table."""
    ns = NAMESPACE
    nodes = [
        Node(
            test_label_matrix,
            inputs=["corpus_split", "label_index"],
            outputs=f"{ns}.test_labels",
            name="test_label_matrix",
            namespace=ns,
        )
    ]
    for loss in STUDIED_LOSSES:
        nodes.append(
            Node(
                confused_pairs_at_threshold,
                inputs=[
                    f"{ns}.{loss}.single_scores",
                    f"{ns}.{loss}.single_metrics",
                    f"{ns}.test_labels",
                    "label_index",
                    config,
                ],
                outputs=f"{ns}.{loss}.confused_pairs",
                name="confused_pairs_at_threshold",
                namespace=f"{ns}.{loss}",
            )
        )
    collect, groups = _collect_nodes("confused_pairs")
    return [
        *nodes,
        *collect,
        Node(
            confused_pairs_by_loss,
            inputs=groups,
            outputs=f"{ns}.confused_pairs",
            name="confused_pairs_by_loss",
            namespace=ns,
        ),
    ]


def study_nodes() -> list[Node]:
    ns = NAMESPACE
    config, documents = f"{ns}.backbone_config", f"{ns}.backbone_documents"
    nodes = [
        Node(
            select_backbone,
            inputs=[f"params:{ns}", "params:backbone"],
            outputs=config,
            name="select_backbone",
            namespace=ns,
        ),
        Node(
            backbone_documents,
            inputs=["corpus_split", "encoded_documents", config],
            outputs=documents,
            name="backbone_documents",
            namespace=ns,
        ),
    ]
    for loss in STUDIED_LOSSES:
        nodes += single_network_nodes(
            loss,
            namespace=f"{ns}.{loss}",
            params=config,
            run=(PIPELINE, "backbone"),
            documents=documents,
            loss_params=f"params:{ns}.loss_params",
        )
    collect, metrics_groups = _collect_nodes("single_metrics")
    nodes += [
        *collect,
        Node(
            compare_balanced_losses,
            inputs=["label_statistics", *metrics_groups],
            outputs=f"{ns}.loss_table",
            name="compare_balanced_losses",
            namespace=ns,
        ),
        Node(
            plot_balanced_losses,
            inputs=[f"{ns}.loss_table", "params:backbone", "params:corpus"],
            outputs=f"{ns}.loss_plot",
            name="plot_balanced_losses",
            namespace=ns,
        ),
        *_confused_pairs_nodes(config),
    ]
    return nodes


def create_pipeline(**kwargs) -> Pipeline:
    return features() + label_stats() + Pipeline(study_nodes())
