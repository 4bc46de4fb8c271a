"""predict pipeline: ``--params predict.run_id=<id>,predict.input=<file>`` (README)."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from .nodes import label_texts


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                label_texts,
                inputs=["params:predict", "predict.predictors"],
                outputs="predict.predictions",
                name="label_texts",
                namespace="predict",
            )
        ]
    )
