"""Inference: label raw text with a trained network as the training pipeline reads it."""

from longtail_mltc.inference.labeler import InvalidInput, Preprocessing, TextLabeler

__all__ = ["InvalidInput", "Preprocessing", "TextLabeler"]
