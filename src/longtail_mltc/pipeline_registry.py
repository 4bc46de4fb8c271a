"""Project pipelines (docs/pipelines.md)."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from .pipelines import (
    altxml,
    balanced_losses,
    baselines,
    features,
    fidelity,
    hscnn,
    ingestion,
    label_stats,
    predict,
    reporting,
    single,
)
from .pipelines.hscnn.pipeline import (
    create_n_phi_pipeline,
    create_triplets_pipeline,
    create_variants_pipeline,
)


def register_pipelines() -> dict[str, Pipeline]:
    """Every pipeline by name; ``__default__`` is ``hscnn``.

    ``hscnn`` is the headline job: ingestion → features → label_stats → single → HSCNN, the one
    training pipeline that runs ingestion itself (the quick start on a fresh clone). Every other
    pipeline starts from the ingested corpus in ``data/`` (``baselines``, ``altxml`` and
    ``balanced_losses`` re-run only features and label_stats, which depend on parameters);
    ``hooks.RequireInputFiles`` stops one whose input files are missing, naming the ``kedro run``
    that writes them. The loss sweep of the single network is ``balanced_losses`` with
    ``--params backbone=kim_cnn`` (a registry name cannot set a parameter). The HSCNN studies
    ``hscnn_variants``, ``hscnn_n_phi`` and ``hscnn_triplets`` are built in ``pipelines/hscnn``
    and have no folder of their own, so the registry names every pipeline instead of calling
    ``find_pipelines()``: under ``kedro run --pipelines=<name>`` Kedro 1.7's
    ``find_pipelines(raise_errors=True)`` imports only the folder ``pipelines/<name>`` and fails
    for a name without one.
    """
    headline = hscnn.create_pipeline()
    return {
        "ingestion": ingestion.create_pipeline(),
        "features": features.create_pipeline(),
        "label_stats": label_stats.create_pipeline(),
        "single": single.create_pipeline(),
        "hscnn": headline,
        "hscnn_variants": create_variants_pipeline(),
        "hscnn_n_phi": create_n_phi_pipeline(),
        "hscnn_triplets": create_triplets_pipeline(),
        "baselines": baselines.create_pipeline(),
        "altxml": altxml.create_pipeline(),
        "balanced_losses": balanced_losses.create_pipeline(),
        "fidelity": fidelity.create_pipeline(),
        "reporting": reporting.create_pipeline(),
        "predict": predict.create_pipeline(),
        "__default__": headline,
    }
