"""Training loop, batching, callbacks and seeding (no tracking library imported here)."""

from .callbacks import Callback, MetricLogger
from .data import EncodedSplit
from .seed import seed_everything
from .trainer import FitResult, TrainConfig, fit, predict_scores, resolve_device

__all__ = [
    "Callback",
    "EncodedSplit",
    "FitResult",
    "MetricLogger",
    "TrainConfig",
    "fit",
    "predict_scores",
    "resolve_device",
    "seed_everything",
]
