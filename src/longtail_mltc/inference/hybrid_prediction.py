"""Hybrid prediction with a trained HSCNN (METHODS §1.7, §1.8): the public place of
:mod:`longtail_mltc.training.hybrid_prediction`, which holds it one layer down because the HSCNN
training scores its validation signal with the same functions.
"""

from __future__ import annotations

from ..training.hybrid_prediction import (
    HybridPrediction,
    TailScorer,
    encode_and_score,
    encode_tail_support,
    hybrid_micro_f1s,
    merge_prediction,
    predict_hybrid,
    score_batch,
    tail_scorer,
    tail_siamese_map,
    tail_support,
)

__all__ = [
    "HybridPrediction",
    "TailScorer",
    "encode_and_score",
    "encode_tail_support",
    "hybrid_micro_f1s",
    "merge_prediction",
    "predict_hybrid",
    "score_batch",
    "tail_scorer",
    "tail_siamese_map",
    "tail_support",
]
