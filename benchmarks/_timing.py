"""Shared by the benchmarks (run as scripts, so this folder is on ``sys.path``)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


def best_time(fn: Callable[[], object], repeat: int = 2) -> tuple[float, object]:
    """Best wall-clock seconds of ``repeat`` calls of ``fn`` and the last call's result."""
    best, out = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out
