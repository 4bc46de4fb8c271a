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
from .nodes import (
    BASELINES,
    build_tfidf_features,
    compare_baselines,
    evaluate_baseline,
    fit_baseline,
    plan_baseline,
    record_baseline,
)

NAMESPACE = "baselines"
_DATA = ["corpus_split", "label_index"]


def one_baseline(name: str) -> Pipeline:
    """Plan → fit → evaluate → record one baseline, in the namespace ``baselines.<name>``;
    its ``baseline_run`` dataset opens the MLflow run and ``baseline_run_record`` ends it."""
    plan = update_wrapper(partial(plan_baseline, name=name), plan_baseline)
    nodes = [
        Node(
            plan,
            ["params:baselines", "params:corpus", "params:seed"],
            ["baseline_plan", "baseline_run"],
            name="plan_baseline",
        ),
        Node(
            fit_baseline,
            ["tfidf_features", *_DATA, "baseline_plan"],
            ["baseline_model", "baseline_fit"],
            name=f"train_{name}",
        ),
        Node(
            evaluate_baseline,
            ["baseline_model", "baseline_fit", "tfidf_features", *_DATA, "label_statistics"]
            + ["params:baselines", "baseline_plan"],
            ["baseline_metrics", "baseline_scores"],
            name="evaluate_baseline",
        ),
        Node(
            record_baseline,
            ["baseline_model", "baseline_metrics", "baseline_scores", "tfidf_features"]
            + ["label_index", "baseline_run"],
            "baseline_run_record",
            name="record_baseline",
        ),
    ]
    shared = {"tfidf_features", "corpus_split", "label_index", "label_statistics"}
    return Pipeline(
        nodes,
        namespace=f"{NAMESPACE}.{name}",
        inputs=shared,
        parameters={"params:baselines", "params:corpus", "params:seed"},
    )


def baseline_nodes() -> Pipeline:
    tfidf = Node(
        build_tfidf_features,
        inputs=["tokenized_documents", "corpus_split", "params:baselines"],
        outputs="tfidf_features",
        name="build_tfidf_features",
    )
    compare = Node(
        compare_baselines,
        inputs={name: f"{NAMESPACE}.{name}.baseline_metrics" for name in BASELINES},
        outputs=f"{NAMESPACE}.baseline_table",
        name="compare_baselines",
        namespace=NAMESPACE,
    )
    return Pipeline([tfidf, *(one_baseline(name) for name in BASELINES), compare])


def create_pipeline(**kwargs) -> Pipeline:
    tokens = features().to_outputs("tokenized_documents")
    return tokens + label_stats() + baseline_nodes()
