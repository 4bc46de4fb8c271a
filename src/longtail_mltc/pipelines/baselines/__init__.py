"""baselines pipeline: BR, CC, LP and linear SVM one-vs-rest over TF-IDF (METHODS §2.3, §3.1)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
