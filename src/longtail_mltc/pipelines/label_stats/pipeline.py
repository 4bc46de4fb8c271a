"""label_stats pipeline."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    build_corpus_label_index,
    compute_label_cooccurrence,
    compute_training_label_statistics,
    plot_label_cooccurrence,
    plot_label_long_tail,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                build_corpus_label_index,
                inputs="corpus_split",
                outputs="label_index",
                name="build_corpus_label_index",
            ),
            Node(
                compute_training_label_statistics,
                inputs=["corpus_split", "label_index", "params:label_stats", "params:corpus"],
                outputs="label_statistics",
                name="compute_training_label_statistics",
            ),
            Node(
                compute_label_cooccurrence,
                inputs=["corpus_split", "label_index"],
                outputs="label_cooccurrence",
                name="compute_label_cooccurrence",
            ),
            Node(
                plot_label_long_tail,
                inputs=["label_statistics", "params:corpus"],
                outputs="label_long_tail_plot",
                name="plot_label_long_tail",
            ),
            Node(
                plot_label_cooccurrence,
                inputs=[
                    "label_cooccurrence",
                    "label_statistics",
                    "params:label_stats",
                    "params:corpus",
                ],
                outputs="label_cooccurrence_heatmap",
                name="plot_label_cooccurrence",
            ),
        ]
    )
