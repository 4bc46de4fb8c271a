"""single: train and evaluate one single network (any encoder × any loss), tracked in MLflow."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
