"""altxml pipeline (METHODS §2.2, §2.3): from the ingested corpus in ``data/`` (run
``ingestion`` first), features → label_stats → AltXML and its neural baselines, each its own
MLflow run ``<corpus>/altxml/<model>/<loss>`` tagged ``variant=<model>``, then
``altxml.model_table``.

Encoder models (:data:`ENCODER_MODELS`) are the single network's nodes with the parameters of
``altxml.<model>`` (shaped like ``single``); SGM has its own nodes.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from ..features import create_pipeline as features
from ..label_stats import create_pipeline as label_stats
from ..single.pipeline import single_network_nodes
from .nodes import (
    PIPELINE,
    compare_models,
    evaluate_sgm,
    plan_sgm,
    predict_sgm,
    record_sgm,
    train_sgm,
)

ENCODER_MODELS: tuple[str, ...] = ("altxml", "rnn_att", "cnn_rnn", "kim_cnn")
NAMESPACE = "altxml"


def sgm_nodes() -> list[Node]:
    """Plan → train → predict → evaluate → record SGM in the namespace ``altxml.sgm``; its
    ``sgm_run`` dataset opens the MLflow run and ``sgm_run_record`` ends it."""
    ns = f"{NAMESPACE}.sgm"
    data = ["corpus_split", "encoded_documents", "label_index"]
    nodes = [
        Node(
            plan_sgm,
            ["word_vectors", f"params:{ns}", "params:corpus", "params:seed", "params:checkpoints"],
            ["sgm_plan", "sgm_run"],
            name="plan_sgm",
        ),
        Node(
            train_sgm,
            [*data, "label_statistics", "sgm_plan", "sgm_run"],
            ["sgm_model_state", "sgm_training_summary"],
            name="train_sgm",
        ),
        Node(
            predict_sgm,
            ["sgm_model_state", "sgm_training_summary", *data, f"params:{ns}"],
            "sgm_predictions",
            name="predict_sgm",
        ),
        Node(
            evaluate_sgm,
            ["sgm_predictions", "corpus_split", "label_index", "label_statistics", f"params:{ns}"],
            "sgm_metrics",
            name="evaluate_sgm",
        ),
        Node(
            record_sgm,
            ["sgm_metrics", "sgm_model_state", "sgm_training_summary", "label_index"]
            + [f"params:{ns}", "sgm_run"],
            "sgm_run_record",
            name="record_sgm",
        ),
    ]
    shared = {
        "corpus_split",
        "encoded_documents",
        "word_vectors",
        "label_index",
        "label_statistics",
    }
    parameters = {f"params:{ns}", "params:corpus", "params:seed", "params:checkpoints"}
    return Pipeline(nodes, namespace=ns, inputs=shared, parameters=parameters).nodes


def model_nodes() -> list[Node]:
    nodes: list[Node] = []
    table_inputs: dict[str, str] = {}
    for model in ENCODER_MODELS:
        ns = f"{NAMESPACE}.{model}"
        nodes += single_network_nodes(namespace=ns, params=f"params:{ns}", run=(PIPELINE, model))
        table_inputs[model] = f"{ns}.single_metrics"
    nodes += sgm_nodes()
    table_inputs["sgm"] = f"{NAMESPACE}.sgm.sgm_metrics"
    nodes.append(
        Node(
            compare_models,
            inputs=table_inputs,
            outputs=f"{NAMESPACE}.model_table",
            name="compare_models",
            namespace=NAMESPACE,
        )
    )
    return nodes


def create_pipeline(**kwargs) -> Pipeline:
    return features() + label_stats() + Pipeline(model_nodes())
