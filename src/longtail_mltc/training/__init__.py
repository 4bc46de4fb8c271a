"""Training loop, batching, callbacks and seeding (no tracking library imported here)."""

from .callbacks import Callback, MetricLogger
from .data import EncodedSplit
from .hscnn import (
    HSCNNTrainConfig,
    HybridPrediction,
    fit_hscnn,
    hybrid_micro_f1s,
    predict_hybrid,
    tail_support,
)
from .seed import seed_everything
from .sgm import SGMTrainConfig, decode_split, decoding_limit, fit_sgm
from .trainer import FitResult, TrainConfig, fit, predict_scores, resolve_device

__all__ = [
    "Callback",
    "EncodedSplit",
    "FitResult",
    "HSCNNTrainConfig",
    "HybridPrediction",
    "MetricLogger",
    "SGMTrainConfig",
    "TrainConfig",
    "decode_split",
    "decoding_limit",
    "fit",
    "fit_hscnn",
    "fit_sgm",
    "hybrid_micro_f1s",
    "predict_hybrid",
    "predict_scores",
    "resolve_device",
    "seed_everything",
    "tail_support",
]
