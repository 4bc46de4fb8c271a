"""hscnn: the headline pipeline and the HSCNN studies (variants, sweeps; see pipeline.py)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
