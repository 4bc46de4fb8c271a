"""Nodes of the sweeps (METHODS §1.9) and of the variant × loss comparison table.

* N_φ sweep: the trained HSCNN's predictions hold Siamese similarities for every label
  (:func:`~.nodes.predict_hscnn_variant`), so each N_φ is a different *merge* of the same model:
  no retraining. The model itself was trained (and early-stopped) at the configured N_φ; the
  sweep answers "which labels should the Siamese part decide", as in the paper's figure.
* Triplet-count sweep: one namespaced HSCNN per point of :data:`TRIPLET_POINTS` (the ordinary
  sample → train → predict → evaluate nodes, each point its own MLflow run tagged
  ``n_examples``): :func:`triplet_sweep_settings` gives each point its settings,
  :func:`sweep_triplet_counts` tabulates and plots.
* Variant table: each variant namespace turns its metrics into rows, each loss namespace
  concatenates its variants' rows (:func:`concat_rows`), :func:`compare_variants` the losses'.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from longtail_mltc.config_errors import ConfigurationError, configuration_error
from longtail_mltc.evaluation.plots import plot_sweep

from .nodes import CALIBRATED_SUFFIX, HybridEvaluation, hybrid_metrics

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


def n_phi_rows(
    hscnn_predictions: Mapping[str, np.ndarray],
    single_scores: Mapping[str, np.ndarray],
    evaluation: HybridEvaluation,
    n_phi_values: Iterable[int],
) -> pd.DataFrame:
    """One row per distinct N_φ (ascending): the merged HSCNN's test metrics beside the single
    network's (``single <metric>``) under the §1.10 groups at that N_φ."""
    rows = []
    for n_phi in sorted({int(v) for v in n_phi_values}):
        at_n_phi = replace(evaluation, n_phi=n_phi)
        merged = hybrid_metrics(hscnn_predictions, single_scores, at_n_phi)
        single = hybrid_metrics(None, single_scores, at_n_phi)
        rows.append(
            {
                "n_phi": n_phi,
                "n_hybrid_tail_labels": int(merged["n_hybrid_tail_labels"]),
                **_row(merged),
                **{f"single {k}": v for k, v in _row(single).items()},
            }
        )
    return pd.DataFrame(rows)


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
    evaluation = HybridEvaluation.build(corpus_split, label_index, label_statistics, hscnn)
    table = n_phi_rows(hscnn_predictions, single_scores, evaluation, n_phi_values)
    logger.info("N_phi sweep:\n%s", table.to_string(index=False, float_format="%.4f"))
    figure = plot_sweep(
        table,
        "n_phi",
        PLOTTED,
        baselines={f"{m} (single network)": table[f"single {m}"].iloc[0] for m in PLOTTED},
        title=f"{corpus}{': ' if corpus else ''}HSCNN: test F1 against the N_φ split "
        "(hybrid_head / hybrid_tail)",
        x_label="N_φ (labels with fewer training documents go to the Siamese part)",
    )
    return table, figure


# The points of the triplet sweep: a fixed graph (one namespace each), counts from parameters.
TRIPLET_POINTS: tuple[str, ...] = ("low", "mid", "high")
TRIPLET_COUNTS = "triplet_counts"  # hscnn_sweeps.triplet_counts.<point>


def triplet_counts(sweeps: Mapping[str, Any]) -> dict[str, int]:
    """``hscnn_sweeps.triplet_counts``: one distinct positive count per point of
    :data:`TRIPLET_POINTS`; anything the fixed graph cannot honour is a ConfigurationError."""
    key = f"hscnn_sweeps.{TRIPLET_COUNTS}"
    if "n_triplets" in sweeps:  # the list this sweep read before its points were fixed
        raise ConfigurationError(
            f"hscnn_sweeps.n_triplets is no longer read: the triplet sweep has the fixed points "
            f"{', '.join(TRIPLET_POINTS)}; set their counts with {key}.<point> (docs/hscnn.md)"
        )
    counts = sweeps.get(TRIPLET_COUNTS)
    expected = f"a mapping of the points {', '.join(TRIPLET_POINTS)} to triplet counts"
    if not isinstance(counts, Mapping) or set(counts) != set(TRIPLET_POINTS):
        raise configuration_error(key, expected, counts)
    for point in TRIPLET_POINTS:
        value = counts[point]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise configuration_error(f"{key}.{point}", "a positive number of triplets", value)
    if len(set(counts.values())) < len(TRIPLET_POINTS):
        raise configuration_error(key, "a different count at each point", dict(counts))
    return {point: int(counts[point]) for point in TRIPLET_POINTS}


def triplet_sweep_settings(
    hscnn: Mapping[str, Any], sweeps: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Per point of :data:`TRIPLET_POINTS`: the HSCNN settings at that point's count."""
    return {point: {**hscnn, "n_triplets": n} for point, n in triplet_counts(sweeps).items()}


def sweep_triplet_counts(
    single_metrics: Mapping[str, float],
    sweeps: Mapping[str, Any],
    *runs: Mapping[str, Any],
) -> tuple[pd.DataFrame, Figure]:
    """The table (ascending count) and plot of the trained points; ``runs``: each point's
    training summary then metrics, in the order of :data:`TRIPLET_POINTS`."""
    counts = triplet_counts(sweeps)
    rows = [
        {
            "n_triplets": counts[point],
            "best_epoch": summary["best_epoch"],
            "mlflow_run_id": summary["mlflow_run_id"],
            **_row(metrics),
        }
        for point, summary, metrics in zip(TRIPLET_POINTS, runs[::2], runs[1::2], strict=True)
    ]
    table = pd.DataFrame(rows).sort_values("n_triplets", ignore_index=True)
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


def _table_row(loss: str, variant: str, metrics: Mapping[str, float]) -> dict[str, Any]:
    return {"loss": loss, "variant": variant, **_row(metrics, TABLE_COLUMNS)}


def single_variant_rows(loss: str, hscnn_metrics: Mapping[str, float]) -> pd.DataFrame:
    """The variant table's row of the Single variant trained with ``loss``."""
    return pd.DataFrame([_table_row(loss, "single", hscnn_metrics)])


def variant_rows(
    hscnn_training_summary: Mapping[str, Any],
    hscnn_metrics: Mapping[str, float],
    hscnn_calibrated_metrics: Mapping[str, float],
) -> pd.DataFrame:
    """The rows ``<variant>`` and ``<variant>_calibrated`` of a trained Siamese variant, named
    as it was trained (its training summary's ``loss`` and ``variant``)."""
    loss, variant = hscnn_training_summary["loss"], hscnn_training_summary["variant"]
    return pd.DataFrame(
        [
            _table_row(loss, variant, hscnn_metrics),
            _table_row(loss, f"{variant}{CALIBRATED_SUFFIX}", hscnn_calibrated_metrics),
        ]
    )


def concat_rows(*tables: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``tables`` in order, under the variant table's columns."""
    return pd.concat(tables, ignore_index=True).reindex(columns=["loss", "variant", *TABLE_COLUMNS])


def compare_variants(*tables: pd.DataFrame) -> pd.DataFrame:
    """The variant table (rows ``loss``, ``variant``: the issue's table columns), logged."""
    table = concat_rows(*tables)
    logger.info("HSCNN variants:\n%s", table.to_string(index=False, float_format="%.4f"))
    return table
