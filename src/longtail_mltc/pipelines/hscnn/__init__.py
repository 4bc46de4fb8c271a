"""hscnn: the headline pipeline (see pipeline.py for what it runs today)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
