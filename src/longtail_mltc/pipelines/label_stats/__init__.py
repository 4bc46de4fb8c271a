"""label_stats: label index, counts, priors, groups, hybrid split, co-occurrence, plots."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
