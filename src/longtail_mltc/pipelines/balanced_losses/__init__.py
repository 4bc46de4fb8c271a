"""balanced_losses: one backbone, the nine losses of METHODS §3, grouped evaluation and a table."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
