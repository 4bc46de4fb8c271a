"""Inference: label raw text with a trained network as the training pipeline reads it."""

from longtail_mltc.inference.hybrid import HybridTextLabeler
from longtail_mltc.inference.labeler import InvalidInput, Preprocessing, StoredLabeler, TextLabeler

__all__ = ["HybridTextLabeler", "InvalidInput", "Preprocessing", "StoredLabeler", "TextLabeler"]
