"""Nodes of the sweeps (METHODS §1.9) and of the variant × loss comparison table.

* N_φ sweep: the trained HSCNN's predictions hold Siamese similarities for every label
  (:func:`~.nodes.predict_hscnn_variant`), so each N_φ is a different *merge* of the same model:
  no retraining. The model itself was trained (and early-stopped) at the configured N_φ; the
  sweep answers "which labels should the Siamese part decide", as in the paper's figure.
* Triplet-count sweep: one HSCNN trained per count, each its own MLflow run (tag
  ``n_examples``), everything else as in the main pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from longtail_mltc.evaluation.plots import plot_sweep

from .nodes import (
    HybridEvaluation,
    evaluate_hscnn_variant,
    hybrid_metrics,
    predict_hscnn_variant,
    sample_training_triplets,
    train_hscnn_variant,
)

logger = logging.getLogger(__name__)

SWEEP_COLUMNS = (
    "test/all/micro_f1",
    "test/all/macro_f1",
    "test/hybrid_tail/micro_f1",
    "test/hybrid_tail/macro_f1",
    "test/all/p_at_1",
    "test/all/ndcg_at_5",
    "test/all/psp_at_5",
)
PLOTTED = ("test/all/micro_f1", "test/all/macro_f1")
TABLE_COLUMNS = (
    "test/all/micro_f1",
    "test/all/macro_f1",
    "test/all/p_at_1",
    "test/all/p_at_3",
    "test/all/p_at_5",
    "test/all/ndcg_at_1",
    "test/all/ndcg_at_3",
    "test/all/ndcg_at_5",
    "test/all/psp_at_5",
    "test/hybrid_tail/micro_f1",
    "test/hybrid_tail/macro_f1",
    "test/hybrid_tail/false_positive_rate",
    "test/tail/macro_f1",
)


def _row(metrics: Mapping[str, float], columns=SWEEP_COLUMNS) -> dict[str, float]:
    return {c: metrics.get(c, np.nan) for c in columns}


def sweep_n_phi(
    hscnn_predictions: dict[str, np.ndarray],
    single_scores: dict[str, np.ndarray],
    corpus_split: pd.DataFrame,
    label_index: list[str],
    label_statistics: dict[str, Any],
    hscnn: dict[str, Any],
    n_phi_values: list[int],
    corpus: str = "",
) -> tuple[pd.DataFrame, Figure]:
    """Test metrics of the merged HSCNN for each N_φ, beside the single network alone.

    ``corpus`` titles the figure; as a node input it is also a parameter of the tracked run,
    which is how the reporting pipeline finds this corpus's sweep."""
    built = HybridEvaluation.build(corpus_split, label_index, label_statistics, hscnn)
    rows = []
    for n_phi in sorted({int(v) for v in n_phi_values}):
        evaluation = replace(built, n_phi=n_phi)  # the §1.10 groups at this N_φ too
        merged = hybrid_metrics(hscnn_predictions, single_scores, evaluation)
        single = hybrid_metrics(None, single_scores, evaluation)
        rows.append(
            {
                "n_phi": n_phi,
                "n_hybrid_tail_labels": int(merged["n_hybrid_tail_labels"]),
                **_row(merged),
                **{f"single {k}": v for k, v in _row(single).items()},
            }
        )
    table = pd.DataFrame(rows)
    logger.info("N_phi sweep:\n%s", table.to_string(index=False, float_format="%.4f"))
    first = rows[0]
    figure = plot_sweep(
        table,
        "n_phi",
        PLOTTED,
        baselines={f"{m} (single network)": first[f"single {m}"] for m in PLOTTED},
        title=(
            f"{corpus}{': ' if corpus else ''}HSCNN: test F1 against the N_φ split "
            "(hybrid_head / hybrid_tail)"
        ),
        x_label="N_φ (labels with fewer training documents go to the Siamese part)",
    )
    return table, figure


def sweep_triplet_counts(
    single_model_state: dict[str, torch.Tensor],
    single_scores: dict[str, np.ndarray],
    single_metrics: dict[str, float],
    corpus_split: pd.DataFrame,
    encoded_documents: dict[str, np.ndarray],
    label_index: list[str],
    label_statistics: dict[str, Any],
    single: dict[str, Any],
    hscnn: dict[str, Any],
    corpus: str,
    seed: int,
    loss_params: Mapping[str, Mapping[str, Any]] | None,
    loss: str,
    triplet_counts: list[int],
    vocabulary: dict[str, Any],
    features: dict[str, Any],
) -> tuple[pd.DataFrame, Figure]:
    """Train the full HSCNN once per triplet count; test metrics per count and a plot."""
    data = (corpus_split, encoded_documents, label_index)
    rows = []
    for count in sorted({int(c) for c in triplet_counts}):
        settings = {**hscnn, "n_triplets": count}
        triplets = sample_training_triplets(*data, settings, seed)
        state, summary = train_hscnn_variant(
            triplets,
            single_model_state,
            single_scores,
            *data,
            label_statistics,
            single,
            settings,
            corpus,
            seed,
            loss_params,
            variant="hscnn",
            loss=loss,
        )
        predictions = predict_hscnn_variant(
            state, single_scores, *data, label_statistics, single, settings, seed, "hscnn"
        )
        metrics = evaluate_hscnn_variant(
            predictions, state, summary, single_scores, single_model_state, corpus_split,
            label_index, label_statistics, single, settings, vocabulary, features,
        )  # fmt: skip
        rows.append(
            {
                "n_triplets": count,
                "best_epoch": summary["best_epoch"],
                "mlflow_run_id": summary["mlflow_run_id"],
                **_row(metrics),
            }
        )
    table = pd.DataFrame(rows)
    logger.info("triplet-count sweep:\n%s", table.to_string(index=False, float_format="%.4f"))
    figure = plot_sweep(
        table,
        "n_triplets",
        PLOTTED,
        baselines={f"{m} (single network)": single_metrics[m] for m in PLOTTED},
        title="HSCNN: test F1 against the number of training triplets",
        x_label="training triplets",
    )
    return table, figure


def compare_variants(**metrics_by_run: Mapping[str, float]) -> pd.DataFrame:
    """Rows ``<loss>/<variant>`` (keyword ``<loss>__<variant>``): the issue's table columns."""
    rows = []
    for key, metrics in metrics_by_run.items():
        loss, variant = key.split("__", 1)
        rows.append({"loss": loss, "variant": variant, **_row(metrics, TABLE_COLUMNS)})
    table = pd.DataFrame(rows, columns=["loss", "variant", *TABLE_COLUMNS])
    logger.info("HSCNN variants:\n%s", table.to_string(index=False, float_format="%.4f"))
    return table
