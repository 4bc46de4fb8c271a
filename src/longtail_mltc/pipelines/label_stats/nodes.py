"""Nodes of the label_stats pipeline (METHODS §5)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from longtail_mltc.evaluation.metrics import MIN_PROPENSITY_DOCS, training_propensity_weights
from longtail_mltc.labels import (
    LabelStatistics,
    build_label_index,
    compute_label_statistics,
    cooccurrence,
    empty_group_message,
    labels_per_document,
    to_label_matrix,
)
from longtail_mltc.labels.groups import label_group_rule
from longtail_mltc.labels.plots import plot_cooccurrence, plot_long_tail

logger = logging.getLogger(__name__)


def _train_label_lists(corpus_split: pd.DataFrame) -> list[list[str]]:
    return [list(labels) for labels in corpus_split.loc[corpus_split["split"] == "train", "labels"]]


def build_corpus_label_index(corpus_split: pd.DataFrame) -> list[str]:
    """Every label of the corpus (all splits), in a stable alphabetical order."""
    return build_label_index(list(labels) for labels in corpus_split["labels"])


def compute_training_label_statistics(
    corpus_split: pd.DataFrame,
    label_index: list[str],
    label_stats: Mapping[str, Any],
    corpus: str = "?",
) -> dict[str, Any]:
    """Counts, priors, groups and hybrid split over the training split (validation excluded),
    and the inverse propensities of the propensity-scored metrics (METHODS §4: Jain et al.
    2016, parameters ``label_stats.propensity_a`` / ``propensity_b`` per corpus).

    The group cut points are resolved from :func:`label_group_rule` on the training counts;
    each empty group is logged as a WARNING and listed under ``empty_groups``."""
    train_lists = _train_label_lists(corpus_split)
    stats = compute_label_statistics(
        train_lists, label_index, groups=label_group_rule(label_stats), n_phi=label_stats["n_phi"]
    )
    _log_groups(stats, corpus)
    histogram = labels_per_document(to_label_matrix(train_lists, label_index))
    a, b = float(label_stats["propensity_a"]), float(label_stats["propensity_b"])
    if stats.n_docs < MIN_PROPENSITY_DOCS:
        logger.warning(
            "%d training documents: too few for propensities (need %d); PSP@k weighs every label 1",
            stats.n_docs,
            MIN_PROPENSITY_DOCS,
        )
    weights = training_propensity_weights(stats.counts, stats.n_docs, a, b)
    return {
        **stats.to_dict(),
        "labels_per_document": histogram.tolist(),
        "propensity": {"a": a, "b": b},
        "inverse_propensities": weights.tolist(),
    }


def _log_groups(stats: LabelStatistics, corpus: str) -> None:
    """The groups' sizes (INFO) and a WARNING per empty group."""
    sizes = {group: len(members) for group, members in stats.groups.items()}
    logger.info(
        "label groups of %r on %d training docs (rule %s: head_min=%d, tail_max=%d): %s",
        corpus,
        stats.n_docs,
        stats.group_rule,
        stats.head_min,
        stats.tail_max,
        sizes,
    )
    for group in stats.empty_groups:
        message = empty_group_message(group, corpus, stats.counts, stats.head_min, stats.tail_max)
        logger.warning("%s", message)


def compute_label_cooccurrence(
    corpus_split: pd.DataFrame, label_index: list[str]
) -> dict[str, np.ndarray]:
    """Co-occurrence counts and conditional probabilities p(i|j) on the training split."""
    counts, conditional = cooccurrence(
        to_label_matrix(_train_label_lists(corpus_split), label_index)
    )
    return {"counts": counts, "conditional": conditional}


def plot_label_long_tail(label_statistics: dict[str, Any], corpus: str) -> Figure:
    stats = LabelStatistics.from_dict(label_statistics)
    return plot_long_tail(
        stats.counts,
        stats.label_index,
        stats.groups,
        title=f"{corpus}: training documents per label",
    )


def plot_label_cooccurrence(
    label_cooccurrence: dict[str, np.ndarray],
    label_statistics: dict[str, Any],
    label_stats: Mapping[str, Any],
    corpus: str,
) -> Figure:
    stats = LabelStatistics.from_dict(label_statistics)
    return plot_cooccurrence(
        label_cooccurrence["conditional"],
        stats.label_index,
        top=min(label_stats["cooccurrence_top"], stats.n_labels),
        counts=stats.counts,
        title=f"{corpus}: label co-occurrence p(row | column)",
    )
