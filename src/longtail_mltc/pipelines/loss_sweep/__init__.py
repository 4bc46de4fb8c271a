"""loss_sweep: the single network trained once per loss of the family, compared in one table."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
