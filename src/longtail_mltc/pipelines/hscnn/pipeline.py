"""HSCNN pipelines (METHODS §1): the headline chain, the variant × loss table and two sweeps.

* ``hscnn`` (also ``__default__``): ingestion → features → label_stats → single → triplets →
  HSCNN → hybrid merge → evaluation, the one training pipeline that runs ingestion itself (the
  README's quick start on a fresh clone). MLflow runs: ``<corpus>/single/single/<loss>`` (the
  single network's own run, §3.1 groups), and, tagged ``pipeline=hscnn`` and evaluated under the
  same §1.10 groups, ``<corpus>/hscnn/single/<loss>`` (the single network),
  ``<corpus>/hscnn/hscnn/<loss>`` (the paper's merge) and
  ``<corpus>/hscnn/hscnn_calibrated/<loss>`` (the merge calibrated on validation, §1.8).
* ``hscnn_variants``: for each loss of :data:`VARIANT_LOSSES`, a single network (namespace
  ``hscnn_variants.<loss>``) and the five §1.9 variants on top of it
  (``hscnn_variants.<loss>.<variant>``), each Siamese variant also calibrated
  (``<variant>_calibrated``), then ``hscnn_variants.variant_table``.
* ``hscnn_n_phi``: merges the trained HSCNN at each N_φ of ``hscnn_sweeps.n_phi`` (no training).
* ``hscnn_triplets``: one HSCNN per count in ``hscnn_sweeps.n_triplets``.

The three study pipelines start from ``data/`` (no ingestion): they read the features and label
statistics of the chosen corpus, and the sweeps the main pipeline's single network / HSCNN: run
``hscnn`` first (``hooks.RequireInputFiles`` stops them with that command otherwise).
"""

from __future__ import annotations

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from ..features import create_pipeline as features
from ..ingestion import create_pipeline as ingestion
from ..label_stats import create_pipeline as label_stats
from ..single import create_pipeline as single
from ..single.pipeline import single_network_nodes
from .nodes import (
    CALIBRATED_SUFFIX,
    evaluate_calibrated_variant,
    evaluate_hscnn_variant,
    evaluate_single_variant,
    predict_hscnn_variant,
    sample_training_pairs,
    sample_training_triplets,
    train_hscnn_variant,
)
from .sweeps import compare_variants, sweep_n_phi, sweep_triplet_counts

VARIANT_LOSSES: tuple[str, ...] = ("bce", "wce", "focal")  # METHODS §1.9
VARIANTS: tuple[str, ...] = ("single", "naive", "no_css", "no_mt", "hscnn")
VARIANTS_NAMESPACE = "hscnn_variants"

_DATA = {
    "corpus_split": "corpus_split",
    "label_index": "label_index",
    "label_statistics": "label_statistics",
}
_PARAMS = {
    "single": "params:single",
    "hscnn": "params:hscnn",
    "corpus": "params:corpus",
    "seed": "params:seed",
}


def _bind(function, **bound):
    return update_wrapper(partial(function, **bound), function)


def sampling_nodes(with_pairs: bool) -> list[Node]:
    inputs = [
        "corpus_split",
        "encoded_documents",
        "label_index",
        "params:hscnn",
        "params:seed",
    ]
    nodes = [Node(sample_training_triplets, inputs, "hscnn_triplets", name="sample_triplets")]
    if with_pairs:
        nodes.append(Node(sample_training_pairs, inputs, "hscnn_pairs", name="sample_pairs"))
    return nodes


def variant_nodes(
    variant: str,
    loss: str | None = None,
    namespace: str | None = None,
    single_prefix: str = "",
    calibrated: bool = True,
) -> list[Node]:
    """Nodes of one §1.9 variant on top of the single network ``<single_prefix>single_*``.

    ``loss=None`` takes ``params:loss``; outputs are ``<namespace>.hscnn_*`` (plain
    ``hscnn_*`` without a namespace; the Single variant's ``hscnn_single_metrics`` then). A
    Siamese variant is evaluated with the paper's merge (``hscnn_metrics``) and, with
    ``calibrated``, with the calibrated one too (``hscnn_calibrated_metrics``, its own run).
    """
    prefix = f"{namespace}." if namespace else ""
    single_state = f"{single_prefix}single_model_state"
    single_scores = f"{single_prefix}single_scores"
    loss_input = {} if loss else {"loss": "params:loss"}
    bound = {"loss": loss} if loss else {}
    if variant == "single":
        return [
            Node(
                _bind(evaluate_single_variant, **bound),
                inputs={
                    "single_scores": single_scores,
                    "single_training_summary": f"{single_prefix}single_training_summary",
                    **_DATA,
                    **_PARAMS,
                    **loss_input,
                },
                outputs=f"{prefix}hscnn_metrics" if namespace else "hscnn_single_metrics",
                name="evaluate_single_variant",
                namespace=namespace,
            )
        ]
    examples = "hscnn_pairs" if variant in ("naive", "no_css") else "hscnn_triplets"
    return [
        Node(
            _bind(train_hscnn_variant, variant=variant, **bound),
            inputs={
                "examples": examples,
                "single_model_state": single_state,
                "single_scores": single_scores,
                "encoded_documents": "encoded_documents",
                **_DATA,
                **_PARAMS,
                "loss_params": "params:loss_params",
                "checkpoints": "params:checkpoints",
                **loss_input,
            },
            outputs=[f"{prefix}hscnn_model_state", f"{prefix}hscnn_training_summary"],
            name="train_hscnn",
            namespace=namespace,
        ),
        Node(
            _bind(predict_hscnn_variant, variant=variant),
            inputs={
                "hscnn_model_state": f"{prefix}hscnn_model_state",
                "single_scores": single_scores,
                "encoded_documents": "encoded_documents",
                **_DATA,
                "single": "params:single",
                "hscnn": "params:hscnn",
                "seed": "params:seed",
            },
            outputs=f"{prefix}hscnn_predictions",
            name="predict_hscnn",
            namespace=namespace,
        ),
        Node(
            evaluate_hscnn_variant,
            inputs={
                "hscnn_predictions": f"{prefix}hscnn_predictions",
                "hscnn_model_state": f"{prefix}hscnn_model_state",
                "hscnn_training_summary": f"{prefix}hscnn_training_summary",
                "single_scores": single_scores,
                "single_model_state": single_state,
                **_DATA,
                "single": "params:single",
                "hscnn": "params:hscnn",
                "vocabulary": "vocabulary",
                "features": "params:features",
            },
            outputs=f"{prefix}hscnn_metrics",
            name="evaluate_hscnn",
            namespace=namespace,
        ),
    ] + (calibrated_nodes(prefix, single_prefix, namespace) if calibrated else [])


def calibrated_nodes(prefix: str, single_prefix: str, namespace: str | None) -> list[Node]:
    """The calibrated merge of a trained variant (§1.8), its own run and metrics."""
    return [
        Node(
            evaluate_calibrated_variant,
            inputs={
                "hscnn_predictions": f"{prefix}hscnn_predictions",
                "hscnn_model_state": f"{prefix}hscnn_model_state",
                "hscnn_training_summary": f"{prefix}hscnn_training_summary",
                "single_scores": f"{single_prefix}single_scores",
                "single_model_state": f"{single_prefix}single_model_state",
                **_DATA,
                **_PARAMS,
                "vocabulary": "vocabulary",
                "features": "params:features",
            },
            outputs=f"{prefix}hscnn{CALIBRATED_SUFFIX}_metrics",
            name="evaluate_calibrated_hscnn",
            namespace=namespace,
        )
    ]


def hscnn_nodes() -> Pipeline:
    """The HSCNN part of the headline chain (after ``single``): the single network, the
    paper's merge and the calibrated merge, each evaluated under the same §1.10 groups."""
    return Pipeline(
        sampling_nodes(with_pairs=False) + variant_nodes("single") + variant_nodes("hscnn")
    )


def create_pipeline(**kwargs) -> Pipeline:
    return ingestion() + features() + label_stats() + single() + hscnn_nodes()


def create_variants_pipeline() -> Pipeline:
    nodes = sampling_nodes(with_pairs=True)
    table_inputs = {}
    for loss in VARIANT_LOSSES:
        loss_namespace = f"{VARIANTS_NAMESPACE}.{loss}"
        nodes += single_network_nodes(loss, namespace=loss_namespace)
        for variant in VARIANTS:
            namespace = f"{loss_namespace}.{variant}"
            nodes += variant_nodes(variant, loss, namespace, single_prefix=f"{loss_namespace}.")
            table_inputs[f"{loss}__{variant}"] = f"{namespace}.hscnn_metrics"
            if variant != "single":
                calibrated = f"{variant}{CALIBRATED_SUFFIX}"
                table_inputs[f"{loss}__{calibrated}"] = (
                    f"{namespace}.hscnn{CALIBRATED_SUFFIX}_metrics"
                )
    nodes.append(
        Node(
            compare_variants,
            inputs=table_inputs,
            outputs=f"{VARIANTS_NAMESPACE}.variant_table",
            name="compare_variants",
            namespace=VARIANTS_NAMESPACE,
        )
    )
    return Pipeline(nodes)


def create_n_phi_pipeline() -> Pipeline:
    return Pipeline(
        [
            Node(
                sweep_n_phi,
                inputs=[
                    "hscnn_predictions",
                    "single_scores",
                    "corpus_split",
                    "label_index",
                    "label_statistics",
                    "params:hscnn",
                    "params:hscnn_sweeps.n_phi",
                    "params:corpus",  # in the figure's title, and a param of the tracked run
                ],
                outputs=["hscnn_n_phi_table", "hscnn_n_phi_plot"],
                name="sweep_n_phi",
            )
        ]
    )


def create_triplets_pipeline() -> Pipeline:
    return Pipeline(
        [
            Node(
                sweep_triplet_counts,
                inputs={
                    "single_model_state": "single_model_state",
                    "single_scores": "single_scores",
                    "single_metrics": "single_metrics",
                    "encoded_documents": "encoded_documents",
                    **_DATA,
                    **_PARAMS,
                    "loss_params": "params:loss_params",
                    "loss": "params:loss",
                    "triplet_counts": "params:hscnn_sweeps.n_triplets",
                    "vocabulary": "vocabulary",
                    "features": "params:features",
                },
                outputs=["hscnn_triplets_table", "hscnn_triplets_plot"],
                name="sweep_triplet_counts",
            )
        ]
    )
