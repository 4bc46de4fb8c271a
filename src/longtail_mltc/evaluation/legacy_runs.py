"""Read tracked runs written under older metric names (docs/tracking.md#where-runs-and-outputs-go).

HSCNN runs tracked before 2026-12-02 (commit c54e9a3) logged the ``N_φ`` split as
``<split>/head/*`` and ``<split>/tail/*``, the names the frequency groups of §3.1 carry in every
other run, and no ``medium`` group. Read as they are, a comparison puts both meanings in one
``test/tail/*`` column. :func:`rename_legacy_hybrid_groups` moves them to ``hybrid_head`` /
``hybrid_tail``, where newer runs log the split.
"""

from __future__ import annotations

import re

import pandas as pd

from longtail_mltc.labels.stats import HYBRID_HEAD, HYBRID_TAIL

__all__ = ["is_legacy_hybrid_run", "rename_legacy_hybrid_groups"]

_HYBRID_PIPELINE = "hscnn"
_GROUP = re.compile(r"^(?P<lead>metrics\.)?(?P<split>[^/]+)/(?P<group>[^/]+)/(?P<metric>.+)$")
_RENAMED = {"head": HYBRID_HEAD, "tail": HYBRID_TAIL}


def _group(column: str) -> str | None:
    match = _GROUP.match(column)
    return None if match is None else match["group"]


def is_legacy_hybrid_run(runs: pd.DataFrame) -> pd.Series:
    """Per row of an MLflow ``search_runs`` frame: an HSCNN-pipeline run (``tags.pipeline``)
    with ``head`` / ``tail`` figures but no ``hybrid_head`` / ``hybrid_tail`` / ``medium``
    figure, i.e. one whose ``head`` / ``tail`` are the ``N_φ`` split."""
    if "tags.pipeline" not in runs:
        return pd.Series(False, index=runs.index)

    def has(groups: set[str]) -> pd.Series:
        columns = [c for c in runs.columns if _group(c) in groups]
        return runs[columns].notna().any(axis=1) if columns else pd.Series(False, runs.index)

    newer = has({HYBRID_HEAD, HYBRID_TAIL, "medium"})
    return (runs["tags.pipeline"] == _HYBRID_PIPELINE) & has(set(_RENAMED)) & ~newer


def rename_legacy_hybrid_groups(runs: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``runs`` (MLflow's ``search_runs`` frame, or one whose metric columns are named
    ``<split>/<group>/<metric>`` without ``metrics.``) where each legacy HSCNN run
    (:func:`is_legacy_hybrid_run`) has its ``head`` / ``tail`` figures under ``hybrid_head`` /
    ``hybrid_tail`` and none under ``head`` / ``tail``. Other rows are unchanged."""
    legacy = is_legacy_hybrid_run(runs)
    out = runs.copy()
    if not legacy.any():
        return out
    for column in runs.columns:
        match = _GROUP.match(column)
        if match is None or match["group"] not in _RENAMED:
            continue
        target = (
            f"{match['lead'] or ''}{match['split']}/{_RENAMED[match['group']]}/{match['metric']}"
        )
        if target not in out:
            out[target] = float("nan")
        out.loc[legacy, target] = runs.loc[legacy, column]
        out.loc[legacy, column] = float("nan")
    return out
