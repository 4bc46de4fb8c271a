"""hscnn_variants: the METHODS §1.9 variant × loss table; nodes in pipelines/hscnn."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
