"""single pipeline."""

from kedro.pipeline import Node, Pipeline

from .nodes import evaluate_single_network, predict_single_network, train_single_network


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                train_single_network,
                inputs=[
                    "corpus_split",
                    "encoded_documents",
                    "word_vectors",
                    "label_index",
                    "label_statistics",
                    "params:single",
                    "params:corpus",
                    "params:seed",
                ],
                outputs=["single_model_state", "single_training_summary"],
                name="train_single_network",
            ),
            Node(
                predict_single_network,
                inputs=[
                    "single_model_state",
                    "corpus_split",
                    "encoded_documents",
                    "label_index",
                    "params:single",
                ],
                outputs="single_scores",
                name="predict_single_network",
            ),
            Node(
                evaluate_single_network,
                inputs=[
                    "single_scores",
                    "single_model_state",
                    "single_training_summary",
                    "corpus_split",
                    "label_index",
                    "label_statistics",
                    "params:single",
                ],
                outputs="single_metrics",
                name="evaluate_single_network",
            ),
        ]
    )
