"""hscnn_triplets: the triplet-count sweep (METHODS §1.9); nodes in pipelines/hscnn."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
