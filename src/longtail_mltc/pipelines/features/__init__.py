"""features: validation split, tokenisation, vocabulary, encoding, fastText vectors."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
