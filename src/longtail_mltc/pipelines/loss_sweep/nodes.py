"""Nodes of the loss_sweep pipeline."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pandas as pd

logger = logging.getLogger(__name__)

COLUMNS = (
    "test/all/micro_f1",
    "test/all/macro_f1",
    "test/head/macro_f1",
    "test/medium/macro_f1",
    "test/tail/macro_f1",
    "test/all/p_at_1",
    "test/all/ndcg_at_5",
    "threshold",
)


def compare_losses(**metrics_by_loss: Mapping[str, float]) -> pd.DataFrame:
    """One row per loss: the test metrics the issue compares (micro, macro, tail macro-F1)."""
    rows = [
        {"loss": loss, **{column: metrics.get(column) for column in COLUMNS}}
        for loss, metrics in metrics_by_loss.items()
    ]
    table = pd.DataFrame(rows, columns=["loss", *COLUMNS])
    logger.info("loss sweep:\n%s", table.to_string(index=False, float_format="%.4f"))
    return table
