"""baselines pipeline (METHODS §2.3, §3.1): from the ingested corpus in ``data/`` (run
``ingestion`` first), tokens → label statistics → TF-IDF → BR, CC, LP, SVM one-vs-rest (plain
and balanced), each its own MLflow run ``<corpus>/baselines/<name>/<logistic|hinge>`` tagged
``variant=<name>`` → comparison table.

Only the tokenising part of the features pipeline runs (no vocabulary encoding, no fastText).
"""

from __future__ import annotations

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from ..features import create_pipeline as features
from ..label_stats import create_pipeline as label_stats
from .nodes import BASELINES, build_tfidf_features, compare_baselines, train_and_evaluate_baseline

NAMESPACE = "baselines"


def baseline_nodes() -> list[Node]:
    nodes = [
        Node(
            build_tfidf_features,
            inputs=["tokenized_documents", "corpus_split", "params:baselines"],
            outputs="tfidf_features",
            name="build_tfidf_features",
        )
    ]
    for name in BASELINES:
        train = update_wrapper(
            partial(train_and_evaluate_baseline, name=name), train_and_evaluate_baseline
        )
        nodes.append(
            Node(
                train,
                inputs=[
                    "tfidf_features",
                    "corpus_split",
                    "label_index",
                    "label_statistics",
                    "params:baselines",
                    "params:corpus",
                    "params:seed",
                ],
                outputs=[
                    f"{NAMESPACE}.{name}.baseline_model",
                    f"{NAMESPACE}.{name}.baseline_metrics",
                ],
                name=f"train_{name}",
                namespace=f"{NAMESPACE}.{name}",
            )
        )
    nodes.append(
        Node(
            compare_baselines,
            inputs={name: f"{NAMESPACE}.{name}.baseline_metrics" for name in BASELINES},
            outputs=f"{NAMESPACE}.baseline_table",
            name="compare_baselines",
            namespace=NAMESPACE,
        )
    )
    return nodes


def create_pipeline(**kwargs) -> Pipeline:
    tokens = features().to_outputs("tokenized_documents")
    return tokens + label_stats() + Pipeline(baseline_nodes())
