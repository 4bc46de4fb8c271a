"""single pipeline, and the node template that balanced_losses and the HSCNN studies repeat."""

from __future__ import annotations

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from .nodes import (
    analyse_single_network,
    build_labeler,
    evaluate_single_network,
    plan_single_network,
    predict_single_network,
    record_single_network,
    select_loss,
    train_single_network,
)

_DATA = ("corpus_split", "label_index", "label_statistics")


def single_network_nodes(
    loss: str | None = None,
    namespace: str | None = None,
    params: str = "params:single",
    run: tuple[str, str] | None = None,
    documents: str = "encoded_documents",
    loss_params: str = "params:loss_params",
) -> list[Node]:
    """Plan → train → predict → evaluate → record one single network; the plan's ``*_run``
    dataset opens its MLflow run and the ``*_run_record`` dataset logs and ends it.

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
    out = {
        name: f"{prefix}single_{name}"
        for name in (
            "loss", "plan", "run", "model_state", "training_summary", "scores", "metrics",
            "predictor", "test_files", "run_record",
        )
    }  # fmt: skip
    select = select_loss
    plan = plan_single_network
    if loss is not None:
        select = update_wrapper(partial(select_loss, loss), select_loss)
    if run is not None:
        pipeline_name, variant = run
        plan = update_wrapper(
            partial(plan_single_network, pipeline=pipeline_name, variant=variant),
            plan_single_network,
        )
    loss_inputs = [loss_params, "params:loss_recipes"]
    if loss is None:
        loss_inputs.insert(0, "params:loss")
    plan_inputs = ["word_vectors", "label_statistics", params, "params:corpus", "params:seed"]
    return [
        Node(select, loss_inputs, out["loss"], name="select_loss", namespace=namespace),
        Node(
            plan,
            [*plan_inputs, out["loss"], "params:checkpoints"],
            [out["plan"], out["run"]],
            name="plan_single_network",
            namespace=namespace,
        ),
        Node(
            train_single_network,
            ["corpus_split", documents, "word_vectors", "label_index", "label_statistics"]
            + [out["plan"], out["run"]],
            [out["model_state"], out["training_summary"]],
            name="train_single_network",
            namespace=namespace,
        ),
        Node(
            predict_single_network,
            [out["model_state"], "corpus_split", documents, "label_index", params],
            out["scores"],
            name="predict_single_network",
            namespace=namespace,
        ),
        Node(
            evaluate_single_network,
            [out["scores"], *_DATA, params],
            out["metrics"],
            name="evaluate_single_network",
            namespace=namespace,
        ),
        Node(
            build_labeler,
            [out["model_state"], "label_index", out["metrics"], params]
            + ["vocabulary", "params:features"],
            out["predictor"],
            name="build_single_predictor",
            namespace=namespace,
        ),
        Node(
            analyse_single_network,
            [out["scores"], out["metrics"], *_DATA, params],
            out["test_files"],
            name="analyse_single_network",
            namespace=namespace,
        ),
        Node(
            record_single_network,
            [out["metrics"], out["model_state"], out["predictor"], out["test_files"]]
            + ["label_index", params, out["run"]],
            out["run_record"],
            name="record_single_network",
            namespace=namespace,
        ),
    ]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(single_network_nodes())
