"""hscnn_n_phi pipeline: the N_φ sweep (METHODS §1.9), built in ``hscnn/pipeline.py``."""

from kedro.pipeline import Pipeline

from ..hscnn.pipeline import create_n_phi_pipeline


def create_pipeline(**kwargs) -> Pipeline:
    return create_n_phi_pipeline()
