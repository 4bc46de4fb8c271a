"""altxml pipeline: AltXML and the neural baselines of its study (METHODS §2.2, §2.3)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
