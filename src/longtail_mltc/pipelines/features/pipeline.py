"""features pipeline."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    build_training_vocabulary,
    encode_documents,
    split_train_validation,
    tokenize_documents,
    train_word_vectors,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                split_train_validation,
                inputs=["corpus", "params:features", "params:seed"],
                outputs="corpus_split",
                name="split_train_validation",
            ),
            Node(
                tokenize_documents,
                inputs=["corpus_split", "params:features"],
                outputs="tokenized_documents",
                name="tokenize_documents",
            ),
            Node(
                build_training_vocabulary,
                inputs=["tokenized_documents", "params:features"],
                outputs="vocabulary",
                name="build_training_vocabulary",
            ),
            Node(
                encode_documents,
                inputs=["tokenized_documents", "vocabulary", "params:features"],
                outputs="encoded_documents",
                name="encode_documents",
            ),
            Node(
                train_word_vectors,
                inputs=["tokenized_documents", "vocabulary", "params:features", "params:seed"],
                outputs="word_vectors",
                name="train_word_vectors",
            ),
        ]
    )
