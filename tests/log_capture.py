"""Run a callable and keep the log one logger wrote meanwhile.

pytest's ``caplog`` is function-scoped; the corpus tests read a real corpus once per module
(module-scoped fixtures) and still check what the reader logged, hence this helper.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def logged_call(
    logger_name: str, function: Callable[..., T], *args: object, **kwargs: object
) -> tuple[T, str]:
    """``function(*args, **kwargs)`` and the INFO-and-above messages of ``logger_name``."""
    logger = logging.getLogger(logger_name)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        result = function(*args, **kwargs)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
    return result, stream.getvalue()
