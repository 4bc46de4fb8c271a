"""Training on the engine (Lightning), configs, callbacks and seeding (no tracking library here;
predicting with a trained model is ``longtail_mltc.inference``'s).

Names load on first use (PEP 562), so a module that needs only ``training.data`` (``inference``
and the server behind it) does not load Lightning and every training module with it.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "Callback": ".callbacks",
    "MetricLogger": ".callbacks",
    "EngineConfig": ".config",
    "EncodedSplit": ".data",
    "inference_device": ".engine",
    "HSCNNTrainConfig": ".hscnn",
    "fit_hscnn": ".hscnn",
    "seed_everything": ".seed",
    "SGMTrainConfig": ".sgm",
    "decoding_limit": ".sgm",
    "fit_sgm": ".sgm",
    "FitResult": ".trainer",
    "TrainConfig": ".trainer",
    "fit": ".trainer",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
