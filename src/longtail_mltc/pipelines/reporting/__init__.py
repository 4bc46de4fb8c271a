"""reporting: comparison tables and plots from tracked MLflow runs (DESIGN "Pipelines")."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
