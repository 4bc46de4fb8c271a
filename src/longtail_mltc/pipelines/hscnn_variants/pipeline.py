"""hscnn_variants pipeline: the METHODS §1.9 variant × loss table (built in hscnn/pipeline.py)."""

from kedro.pipeline import Pipeline

from ..hscnn.pipeline import create_variants_pipeline


def create_pipeline(**kwargs) -> Pipeline:
    return create_variants_pipeline()
