"""ingestion pipeline."""

from kedro.pipeline import Node, Pipeline

from .nodes import load_raw_corpus, report_ingestion


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                load_raw_corpus,
                inputs=["params:corpus", "params:corpus_options", "params:user_corpora"],
                outputs=["corpus", "ingestion_skipped_records"],
                name="load_raw_corpus",
            ),
            Node(
                report_ingestion,
                inputs=[
                    "corpus",
                    "ingestion_skipped_records",
                    "params:features",
                    "params:label_stats",
                    "params:corpus",
                ],
                outputs="ingestion_report",
                name="report_ingestion",
            ),
        ]
    )
