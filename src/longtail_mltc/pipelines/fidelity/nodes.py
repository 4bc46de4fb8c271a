"""Nodes of the fidelity pipeline: tabulate the claims against the tracked runs.

Kedro glue: the tracking store is read by ``fidelity.tracked_runs`` (a
:class:`~longtail_mltc.pipelines.tracked_runs.TrackedRunsDataset`); the table comes from
:mod:`longtail_mltc.evaluation.fidelity`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from longtail_mltc.evaluation.fidelity import Claim, fidelity_table, to_markdown_table
from longtail_mltc.evaluation.legacy_runs import rename_legacy_hybrid_groups

logger = logging.getLogger(__name__)

SHOWN = ("claim", "corpus", "metric", "ours", "compared_with", "published", "difference")
SHOWN += ("verdict", "seeds", "budget", "measured")


def collect_tracked_runs(tracked_runs: pd.DataFrame) -> pd.DataFrame:
    """Every finished configuration run of the experiment (tags, params, metrics), as
    ``fidelity.tracked_runs`` loads them, HSCNN runs tracked before the ``N_φ`` split had its
    own names read with ``hybrid_head`` / ``hybrid_tail`` figures."""
    logger.info("fidelity: %d finished configuration runs", len(tracked_runs))
    return rename_legacy_hybrid_groups(tracked_runs)  # older HSCNN runs: head/tail = N_φ split


def build_fidelity_report(
    runs: pd.DataFrame, fidelity: Mapping[str, Any]
) -> tuple[pd.DataFrame, str]:
    """The claims table (CSV) and its Markdown page, dated."""
    claims = [Claim.from_dict(c) for c in fidelity["claims"]]
    table = fidelity_table(claims, runs)
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    counts = table["verdict"].value_counts().to_dict()
    header = (
        f"# Fidelity report ({today})\n\n"
        "Each published claim beside our figures (test split; mean ± sample standard "
        "deviation over seeds; thresholds chosen on validation). Verdicts: "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        + ".\n\n"
    )
    logger.info("fidelity:\n%s", table[list(SHOWN)].to_string(index=False))
    return table, header + to_markdown_table(table, SHOWN)
