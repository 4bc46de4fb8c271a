"""Project pipelines (DESIGN.md "Pipelines")."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline


def register_pipelines() -> dict[str, Pipeline]:
    """Each folder under ``pipelines/`` registers under its own name.

    ``hscnn`` is the headline job: until the Hybrid-Siamese issue lands it runs
    ingestion → features → label_stats → single (see README). ``__default__`` is the same chain.
    """
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = pipelines["hscnn"]
    return pipelines
