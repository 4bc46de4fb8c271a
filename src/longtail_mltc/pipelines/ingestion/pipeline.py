"""ingestion pipeline."""

from kedro.pipeline import Node, Pipeline

from .nodes import load_raw_corpus


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                load_raw_corpus,
                inputs=["params:corpus", "params:corpus_options"],
                outputs="corpus",
                name="load_raw_corpus",
            )
        ]
    )
