"""Label layer: label index, label matrices, statistics, loss weights and plots (METHODS §5)."""

from __future__ import annotations

from longtail_mltc.labels.groups import (
    DEFAULT_GROUP_RULE,
    GroupRule,
    empty_group_message,
    parse_group_rule,
    resolve_group_cuts,
)
from longtail_mltc.labels.index import build_label_index, label_lists_from_matrix, to_label_matrix
from longtail_mltc.labels.stats import (
    LabelStatistics,
    compute_label_statistics,
    cooccurrence,
    hybrid_split,
    label_counts,
    label_groups,
    label_priors,
    label_statistics_from_matrix,
    labels_per_document,
    wce_weights,
)

__all__ = [
    "DEFAULT_GROUP_RULE",
    "GroupRule",
    "LabelStatistics",
    "build_label_index",
    "compute_label_statistics",
    "cooccurrence",
    "empty_group_message",
    "hybrid_split",
    "label_counts",
    "label_groups",
    "label_lists_from_matrix",
    "label_priors",
    "label_statistics_from_matrix",
    "labels_per_document",
    "parse_group_rule",
    "resolve_group_cuts",
    "to_label_matrix",
    "wce_weights",
]
