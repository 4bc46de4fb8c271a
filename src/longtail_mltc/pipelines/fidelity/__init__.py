"""fidelity: each published claim beside our measured figures, seeds and budget (issue 17)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
