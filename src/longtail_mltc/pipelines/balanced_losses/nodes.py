"""Nodes of the balanced_losses pipeline (METHODS §3, §3.1)."""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from longtail_mltc.evaluation.analysis import confused_label_pairs
from longtail_mltc.evaluation.plots import plot_group_bars
from longtail_mltc.labels import LabelStatistics
from longtail_mltc.models.registry import TRANSFORMER_ENCODER
from longtail_mltc.text import encode_with_pretrained_tokenizer

from ..model_input import split_label_matrices
from ..single.nodes import DEFAULT_CONFUSED_PAIRS

logger = logging.getLogger(__name__)

PIPELINE = "balanced_losses"
LABEL_GROUPS: tuple[str, ...] = ("all", "head", "medium", "tail")
TABLE_METRICS: tuple[str, ...] = ("micro_f1", "macro_f1")
# Ranking metrics of all labels, as the single network's loss sweep reported them.
RANKING_COLUMNS: tuple[str, ...] = ("all/p_at_1", "all/ndcg_at_5")


def select_backbone(balanced_losses: Mapping[str, Any], backbone: str) -> dict[str, Any]:
    """``balanced_losses.backbones.<backbone>`` with the study's evaluation settings and the
    backbone's name as the MLflow variant; a clear error for an unknown backbone."""
    backbones = balanced_losses["backbones"]
    if backbone not in backbones:
        raise ValueError(
            f"unknown backbone {backbone!r}: expected one of {sorted(backbones)} "
            "(balanced_losses.backbones in conf/base/parameters_balanced_losses.yml)"
        )
    config = copy.deepcopy(dict(backbones[backbone]))
    config["evaluation"] = {**config.get("evaluation", {}), **balanced_losses["evaluation"]}
    config["variant"] = backbone
    logger.info(
        "balanced_losses backbone %s: encoder %s, %s",
        backbone,
        config["encoder"],
        config["training"],
    )
    return config


def backbone_documents(
    corpus_split: pd.DataFrame,
    encoded_documents: dict[str, np.ndarray],
    backbone_config: Mapping[str, Any],
) -> dict[str, np.ndarray]:
    """The documents as the backbone reads them: the project's vocabulary ids, or, for a
    transformer, its own tokenizer's ids (+1, 0 = padding) cut at ``max_length``."""
    if backbone_config["encoder"] != TRANSFORMER_ENCODER:
        return encoded_documents
    params = backbone_config["encoder_params"]
    token_ids, lengths = encode_with_pretrained_tokenizer(
        corpus_split["text"].tolist(), params.get("model_dir"), int(params["max_length"])
    )
    truncated = int((lengths >= int(params["max_length"])).sum())
    logger.info(
        "transformer tokens: %d documents, mean length %.1f, %d cut at max_length %d",
        len(lengths),
        float(lengths.mean()) if len(lengths) else 0.0,
        truncated,
        int(params["max_length"]),
    )
    return {"token_ids": token_ids, "lengths": lengths}


def _group_names(metrics: Mapping[str, float]) -> list[str]:
    """Label groups first (METHODS §3.1 order), then the document groups found in the keys."""
    found = {key.split("/")[1] for key in metrics if key.startswith("test/")}
    documents = sorted(
        (g for g in found if g.startswith("labels_")),
        key=lambda g: int(re.findall(r"\d+", g)[0]),
    )
    return [g for g in LABEL_GROUPS if g in found] + documents


def collect_by_loss(**by_loss: Any) -> dict[str, Any]:
    """``{loss: value}`` of some losses, in input order: the study's per-loss results travel in
    a few such groups, so that no node reads all nine losses' datasets at once."""
    return dict(by_loss)


def _merged(groups: tuple[Mapping[str, Any], ...]) -> dict[str, Any]:
    """The groups of :func:`collect_by_loss` as one ``{loss: value}``, in order."""
    return {loss: value for group in groups for loss, value in group.items()}


def compare_balanced_losses(
    label_statistics: dict[str, Any], *metrics_groups: Mapping[str, Mapping[str, float]]
) -> pd.DataFrame:
    """Rows = losses (``metrics_groups``: ``{loss: single_metrics}`` groups, in order),
    columns = ``<group>/<metric>`` test micro/macro-F1 for all, head, medium, tail labels and
    each document group, test P@1 and nDCG@5 of all labels, then the validation-chosen
    threshold.

    The label groups' sizes go into the column names' companion row ``n_labels`` (first row),
    so the table says how many labels each group holds."""
    stats = LabelStatistics.from_dict(label_statistics)
    metrics_by_loss = _merged(metrics_groups)
    first = next(iter(metrics_by_loss.values()))
    groups = _group_names(first)
    columns = [f"{group}/{metric}" for group in groups for metric in TABLE_METRICS]
    columns += [c for c in RANKING_COLUMNS if f"test/{c}" in first]
    rows = []
    for loss, metrics in metrics_by_loss.items():
        row: dict[str, Any] = {"loss": loss}
        row.update({c: metrics.get(f"test/{c}", np.nan) for c in columns})
        row["threshold"] = metrics.get("threshold", np.nan)
        rows.append(row)
    table = pd.DataFrame(rows, columns=["loss", *columns, "threshold"])
    sizes = {"all": stats.n_labels, **{g: len(v) for g, v in stats.groups.items()}}
    counts = {"loss": "n_labels / n_test_docs"}
    for column in columns:
        group = column.split("/")[0]
        key = f"test/{group}/n_docs"
        counts[column] = sizes.get(group, first.get(key, np.nan))
    table = pd.concat([pd.DataFrame([counts]), table.round(4)], ignore_index=True)
    logger.info("balanced losses:\n%s", table.to_string(index=False, float_format="%.4f"))
    return table


def plot_balanced_losses(loss_table: pd.DataFrame, backbone: str, corpus: str) -> Figure:
    """Bars per label and document group: micro- and macro-F1 of each loss."""
    results = loss_table.iloc[1:].reset_index(drop=True)  # row 0: group sizes
    return plot_group_bars(
        results,
        row="loss",
        metrics=TABLE_METRICS,
        title=f"{corpus}: {backbone} backbone, test F1 per group",
    )


def test_label_matrix(corpus_split: pd.DataFrame, label_index: list[str]) -> Any:
    """The 0/1 label matrix of the test documents, read by every loss's confused pairs."""
    return split_label_matrices(corpus_split, label_index, ("test",))["test"]


def confused_pairs_at_threshold(
    single_scores: Mapping[str, np.ndarray],
    single_metrics: Mapping[str, float],
    test_labels: Any,
    label_index: list[str],
    backbone_config: Mapping[str, Any],
) -> pd.DataFrame:
    """One loss's most frequently confused test label pairs at its chosen threshold (METHODS
    §3.1 error analysis): the columns of
    :func:`~longtail_mltc.evaluation.analysis.confused_label_pairs`."""
    top = int(backbone_config["evaluation"].get("confused_pairs_top", DEFAULT_CONFUSED_PAIRS))
    predicted = single_scores["test_scores"] >= single_metrics["threshold"]
    return confused_label_pairs(test_labels, predicted, label_index, top=top)


def confused_pairs_by_loss(*pairs_groups: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Every loss's confused pairs (``{loss: pairs}`` groups, in order) in one table:
    ``loss``, ``rank`` and the columns of
    :func:`~longtail_mltc.evaluation.analysis.confused_label_pairs`."""
    tables = []
    for loss, pairs in _merged(pairs_groups).items():
        pairs = pairs.copy()
        pairs.insert(0, "rank", np.arange(1, len(pairs) + 1))
        pairs.insert(0, "loss", loss)
        tables.append(pairs)
    return pd.concat(tables, ignore_index=True)
