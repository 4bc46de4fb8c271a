"""Evaluation: one metrics implementation (METHODS §4), threshold search, grouped reports."""

from .merge import hybrid_merge, tail_label_mask

__all__ = ["hybrid_merge", "tail_label_mask"]
