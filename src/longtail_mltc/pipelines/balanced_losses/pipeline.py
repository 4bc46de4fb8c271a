"""balanced_losses pipeline (METHODS §3, §3.1): from the ingested corpus in ``data/`` (run
``ingestion`` first), features → label_stats → the chosen backbone trained once per loss, then
the comparison table, its bar chart and the most confused label pairs.

The backbone is a run-time parameter (``--params backbone=kim_cnn``), so the nodes are the
same for every backbone: ``select_backbone`` picks ``balanced_losses.backbones.<backbone>``
and ``backbone_documents`` encodes the texts the way that backbone reads them. Each loss trains
in namespace ``balanced_losses.<loss>`` as MLflow run
``<corpus>/balanced_losses/<backbone>/<loss>`` (tagged ``loss``, ``variant=<backbone>``).
``--params backbone=kim_cnn`` is the single network's loss sweep (docs/losses.md).
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
    compare_balanced_losses,
    confused_pairs_by_loss,
    plot_balanced_losses,
    select_backbone,
)

STUDIED_LOSSES: tuple[str, ...] = tuple(LOSSES)
NAMESPACE = "balanced_losses"


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
    metrics = {loss: f"{ns}.{loss}.single_metrics" for loss in STUDIED_LOSSES}
    nodes += [
        Node(
            compare_balanced_losses,
            inputs={"label_statistics": "label_statistics", **metrics},
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
        Node(
            confused_pairs_by_loss,
            inputs={
                "corpus_split": "corpus_split",
                "label_index": "label_index",
                "backbone_config": config,
                **{f"{loss}__scores": f"{ns}.{loss}.single_scores" for loss in STUDIED_LOSSES},
                **{f"{loss}__metrics": metrics[loss] for loss in STUDIED_LOSSES},
            },
            outputs=f"{ns}.confused_pairs",
            name="confused_pairs_by_loss",
            namespace=ns,
        ),
    ]
    return nodes


def create_pipeline(**kwargs) -> Pipeline:
    return features() + label_stats() + Pipeline(study_nodes())
