"""hscnn_triplets pipeline: the triplet-count sweep (METHODS §1.9) (built in hscnn/pipeline.py)."""

from kedro.pipeline import Pipeline

from ..hscnn.pipeline import create_triplets_pipeline


def create_pipeline(**kwargs) -> Pipeline:
    return create_triplets_pipeline()
