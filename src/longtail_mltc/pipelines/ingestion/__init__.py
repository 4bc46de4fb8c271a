"""ingestion: raw files → canonical Corpus table for the chosen corpus."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
