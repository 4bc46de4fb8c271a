"""hscnn_n_phi: the N_φ sweep (METHODS §1.9), a re-merge of the trained HSCNN."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
