"""single pipeline, and the node template that balanced_losses and the HSCNN studies repeat."""

from __future__ import annotations

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from .nodes import evaluate_single_network, predict_single_network, train_single_network

_SHARED_INPUTS = {
    "corpus_split": "corpus_split",
    "encoded_documents": "encoded_documents",
    "word_vectors": "word_vectors",
    "label_index": "label_index",
    "label_statistics": "label_statistics",
    "single": "params:single",
    "corpus": "params:corpus",
    "seed": "params:seed",
    "loss_params": "params:loss_params",
    "loss_recipes": "params:loss_recipes",
    "checkpoints": "params:checkpoints",
}


def single_network_nodes(
    loss: str | None = None,
    namespace: str | None = None,
    params: str = "params:single",
    run: tuple[str, str] | None = None,
    documents: str = "encoded_documents",
    loss_params: str = "params:loss_params",
) -> list[Node]:
    """Train → predict → evaluate one single network.

    ``loss=None``: the loss comes from ``params:loss``. A loss name binds that loss in.
    ``namespace``: every node and output lives in it (``<namespace>.single_metrics``...), so
    one run can hold several networks; ``None`` gives the plain ``single_*`` outputs.
    ``params``: the parameter entry shaped like ``single`` (encoder, training...) to use;
    ``run``: ``(pipeline, variant)`` of the MLflow run name (default ``single``, ``single``);
    a ``variant`` key in the parameters overrides the variant (set at run time).
    ``documents``: the encoded documents to read (a transformer backbone has its own);
    ``loss_params``: the per-loss overrides to use.
    """
    prefix = f"{namespace}." if namespace else ""
    train_inputs = {
        **_SHARED_INPUTS,
        "single": params,
        "encoded_documents": documents,
        "loss_params": loss_params,
    }
    bound: dict[str, str] = {}
    if loss is None:
        train_inputs["loss"] = "params:loss"
    else:
        bound["loss"] = loss
    if run is not None:
        bound["pipeline"], bound["variant"] = run
    train = train_single_network
    if bound:
        train = update_wrapper(partial(train_single_network, **bound), train_single_network)
    return [
        Node(
            train,
            inputs=train_inputs,
            outputs=[f"{prefix}single_model_state", f"{prefix}single_training_summary"],
            name="train_single_network",
            namespace=namespace,
        ),
        Node(
            predict_single_network,
            inputs=[
                f"{prefix}single_model_state",
                "corpus_split",
                documents,
                "label_index",
                params,
            ],
            outputs=f"{prefix}single_scores",
            name="predict_single_network",
            namespace=namespace,
        ),
        Node(
            evaluate_single_network,
            inputs=[
                f"{prefix}single_scores",
                f"{prefix}single_model_state",
                f"{prefix}single_training_summary",
                "corpus_split",
                "label_index",
                "label_statistics",
                params,
                "vocabulary",
                "params:features",
            ],
            outputs=f"{prefix}single_metrics",
            name="evaluate_single_network",
            namespace=namespace,
        ),
    ]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(single_network_nodes())
