"""Assemble the library's training inputs from catalog datasets (shared by model pipelines)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from longtail_mltc.labels import LabelStatistics, to_label_matrix
from longtail_mltc.losses import build_loss, loss_parameters
from longtail_mltc.models import load_classifier
from longtail_mltc.training import EncodedSplit


def encoded_split(
    corpus_split: pd.DataFrame,
    encoded_documents: Mapping[str, np.ndarray],
    label_index: list[str],
    split: str,
) -> EncodedSplit:
    """Token ids, lengths and label matrix of one split (rows in corpus order)."""
    token_ids = encoded_documents["token_ids"]
    if token_ids.shape[0] != len(corpus_split):
        raise ValueError(
            f"encoded_documents has {token_ids.shape[0]} rows but corpus_split has "
            f"{len(corpus_split)}: re-run the features pipeline for this corpus"
        )
    mask = (corpus_split["split"] == split).to_numpy()
    if not mask.any():
        raise ValueError(f"corpus_split has no {split!r} documents")
    labels = to_label_matrix(
        [list(labels) for labels in corpus_split.loc[mask, "labels"]], label_index
    )
    return EncodedSplit(token_ids[mask], encoded_documents["lengths"][mask], labels)


def trained_classifier(
    single: Mapping[str, Any], state: Mapping[str, Any], num_labels: int
) -> torch.nn.Module:
    """The ``single`` params' classifier with a saved ``state`` loaded (vocabulary size from its
    embedding)."""
    return load_classifier(single["encoder"], num_labels, state, **single["encoder_params"])


def configured_loss(
    loss: str,
    loss_params: Mapping[str, Mapping[str, Any]] | None,
    stats: LabelStatistics,
):
    """The loss module named ``loss`` with ``loss_params[loss]`` over its METHODS defaults, and
    the effective parameter set (for the run's params and tags)."""
    chosen = dict((loss_params or {}).get(loss) or {})
    module = build_loss(loss, label_counts=stats.counts, n_train=stats.n_docs, **chosen)
    return module, {**loss_parameters(loss), **chosen}


def split_label_matrices(
    corpus_split: pd.DataFrame, label_index: list[str], splits: tuple[str, ...] = ("valid", "test")
) -> dict[str, Any]:
    """``{split: 0/1 label matrix}`` of the given splits, rows in corpus order."""
    return {
        split: to_label_matrix(
            [list(v) for v in corpus_split.loc[corpus_split["split"] == split, "labels"]],
            label_index,
        )
        for split in splits
    }


def stored_inverse_propensities(label_statistics: Mapping[str, Any]) -> np.ndarray:
    """The inverse propensities the label_stats pipeline stored (METHODS §4, PSP@k)."""
    if "inverse_propensities" not in label_statistics:
        raise ValueError(
            "label_statistics has no inverse_propensities (made before PSP@k existed): "
            "re-run `kedro run --pipeline=label_stats` for this corpus"
        )
    return np.asarray(label_statistics["inverse_propensities"], dtype=np.float64)
