"""predict: batch-label a CSV / JSON-lines file of texts with a tracked run's predictor."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
