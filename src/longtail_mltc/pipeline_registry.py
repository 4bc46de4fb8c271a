"""Project pipelines (DESIGN.md "Pipelines")."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

from .pipelines.hscnn import create_pipeline as create_hscnn_pipeline


def register_pipelines() -> dict[str, Pipeline]:
    """Each folder under ``pipelines/`` registers under its own name.

    ``hscnn`` is the headline job: ingestion → features → label_stats → single → HSCNN, the one
    training pipeline that runs ingestion itself (the quick start on a fresh clone). Every other
    pipeline starts from the ingested corpus in ``data/`` (``baselines``, ``altxml`` and
    ``balanced_losses`` re-run only features and label_stats, which depend on parameters);
    ``hooks.RequireInputFiles`` stops one whose input files are missing, naming the ``kedro run``
    that writes them. The folders ``hscnn_variants``, ``hscnn_n_phi`` and ``hscnn_triplets``
    register the HSCNN studies built in ``pipelines/hscnn``. ``__default__`` is the headline
    chain, built directly: Kedro 1.x discovers only the pipelines a command asks for, so
    ``find_pipelines()`` may not hold "hscnn" (e.g. under ``kedro run --pipeline=single``).
    """
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = create_hscnn_pipeline()
    return pipelines
