"""Hybrid prediction with a trained HSCNN (METHODS §1.7, §1.8): single-network probabilities,
Siamese similarities of the tail labels against their support documents, and the merge.

The HSCNN training module scores its validation signal with these functions, so they live in
``training/`` (a layer below ``inference/``); the pipelines and the packaged labeler predict with
them from here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..evaluation.merge import hybrid_merge, tail_label_mask
from ..evaluation.metrics import LabelMatrix, f1_from_counts, label_confusion_counts
from ..evaluation.ranking import mean_average_precision
from ..models.siamese import HybridSiameseNetwork
from ..models.support import (
    SupportSet,
    encode_support,
    evaluating,
    scorer_from_support,
    select_labels,
)
from ..sampling import support_indices
from .data import EncodedSplit, collate, sequential_batches

if TYPE_CHECKING:  # the HSCNN settings; prediction only reads them (hscnn imports this module)
    from .hscnn import HSCNNTrainConfig

__all__ = [
    "HybridPrediction",
    "TailScorer",
    "encode_and_score",
    "encode_tail_support",
    "hybrid_micro_f1s",
    "merge_prediction",
    "predict_hybrid",
    "score_batch",
    "tail_scorer",
    "tail_siamese_map",
    "tail_support",
]

TailScorer = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class HybridPrediction:
    """Hybrid prediction of ``D`` documents over ``C`` labels (METHODS §1.7, §1.8).

    ``siamese_scores`` is full width with **NaN in the head columns** (only tail labels are
    scored); ``scores`` holds the single probabilities in head columns and the similarities in
    tail columns (ranked together as they are); ``decisions``: ``p ≥ 0.5`` (head) /
    ``s > 0.5`` (tail).
    """

    single_probs: np.ndarray  # float32 [D, C]
    siamese_scores: np.ndarray  # float32 [D, C], NaN where ~is_tail
    scores: np.ndarray  # float32 [D, C]
    decisions: np.ndarray  # bool [D, C]
    is_tail: np.ndarray  # bool [C]: N_c < N_phi


def tail_support(train: EncodedSplit, config: HSCNNTrainConfig) -> np.ndarray:
    """int64 ``[C, K]`` training-row indices of K random documents per label (-1 padded), seeded."""
    return support_indices(train.labels, config.support_k, seed=config.seed)


def encode_tail_support(
    model: HybridSiameseNetwork,
    train: EncodedSplit,
    label_counts: np.ndarray,
    config: HSCNNTrainConfig,
    support: np.ndarray | None = None,
) -> tuple[np.ndarray, SupportSet]:
    """The tail labels (``N_c < N_φ``, ascending) and their encoded support documents (§1.7).

    ``support``: ``[C, K]`` training-row indices (-1 padded; only tail rows are read), default
    :func:`tail_support`. What :func:`predict_hybrid` scores against, and what a packaged
    predictor stores in place of the training corpus.
    """
    counts = np.asarray(label_counts)
    tail = np.flatnonzero(tail_label_mask(counts, config.n_phi))
    chosen = tail_support(train, config) if support is None else support
    chosen = _check_support(chosen, counts.size, len(train))
    encoded = encode_support(
        model, train.token_ids, chosen[tail], batch_size=config.eval_batch_size
    )
    return tail, encoded


def tail_scorer(
    model: HybridSiameseNetwork,
    tail: np.ndarray,
    support: SupportSet,
    config: HSCNNTrainConfig,
) -> TailScorer:
    """The tail labels' scorer (§1.7): prototypes, or the vote share when ``majority_vote``."""
    return scorer_from_support(
        model.comparison,
        support,
        torch.as_tensor(tail, dtype=torch.int64),
        majority=config.majority_vote,
        max_elements=config.max_score_elements,
    )


def _support_of(encoded: tuple[np.ndarray, SupportSet], labels: np.ndarray) -> SupportSet:
    """The rows of ``labels`` (ascending) from an encoded support set of ``encoded[0]``."""
    known, support = encoded
    if np.array_equal(known, labels):
        return support
    rows = np.searchsorted(known, labels)
    if rows.size and (rows.max() >= known.size or not np.array_equal(known[rows], labels)):
        raise ValueError("the encoded support set does not cover every tail label")
    return select_labels(support, rows)


def _check_support(support: np.ndarray, n_labels: int, n_train: int) -> np.ndarray:
    s = np.asarray(support)
    if s.ndim != 2 or s.shape[0] != n_labels or not np.issubdtype(s.dtype, np.integer):
        raise ValueError(f"support must be integer [labels={n_labels}, K], got {s.dtype} {s.shape}")
    if s.size and (s.min() < -1 or s.max() >= n_train):
        raise ValueError(f"support indices must be in [-1, {n_train - 1}] (-1 = padding)")
    return s


def encode_and_score(
    model: HybridSiameseNetwork,
    split: EncodedSplit,
    scorer: TailScorer | None,
    n_tail: int,
    batch_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """One encoder pass per document → head probabilities [D, C] and tail scores [D, T].

    Documents are encoded ``batch_size`` at a time in order of length (rows come back in the
    given order); ``scorer``: :func:`tail_scorer` (``None`` when no label is tail).
    """
    device = next(model.parameters()).device
    order = np.argsort(split.lengths, kind="stable")  # similar lengths → little padding
    probs = np.empty(split.labels.shape, dtype=np.float32)
    tail_scores = np.empty((len(split), n_tail), dtype=np.float32)
    with evaluating(model):
        for batch in sequential_batches(len(split), batch_size):
            index = order[batch]
            ids, _ = collate(split, index, device, with_labels=False)
            probs[index], batch_tail = score_batch(model, ids, scorer)
            if batch_tail is not None:
                tail_scores[index] = batch_tail
    return probs, tail_scores


def score_batch(
    model: HybridSiameseNetwork, ids: torch.Tensor, scorer: TailScorer | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """One encoder pass over a batch of token ids → head probabilities [B, C] and tail scores
    [B, T] (None without a scorer), as float32 on the CPU."""
    reps = model.represent(ids)
    probs = torch.sigmoid(model.classifier.head(reps)).float().cpu().numpy()
    tail = None if scorer is None else scorer(reps).float().cpu().numpy()
    return probs, tail


def predict_hybrid(
    model: HybridSiameseNetwork,
    train: EncodedSplit,
    split: EncodedSplit,
    label_counts: np.ndarray,
    config: HSCNNTrainConfig,
    support: np.ndarray | None = None,
    *,
    single_probs: np.ndarray | None = None,
    encoded_support: tuple[np.ndarray, SupportSet] | None = None,
) -> HybridPrediction:
    """Single probabilities, tail similarities and their hybrid merge for ``split`` (§1.7, §1.8).

    ``train``: the training split (support documents are its rows); ``label_counts``: training
    ``N_c`` ``[C]``; ``support``: ``[C, K]`` training-row indices (-1 padded; only tail rows are
    read), default :func:`tail_support`. ``single_probs``: precomputed single-network
    probabilities ``[D, C]`` to use instead of the model's own head (Naive, /MT; module doc).
    ``encoded_support``: :func:`encode_tail_support`'s result to reuse across splits (its labels
    must cover the tail at ``config.n_phi``; ``support`` is then not read).
    Each document is encoded once per call; all (document, tail label) pairs of a batch are
    scored at once under inference mode, on the device the model is on.
    """
    n_labels = model.num_labels
    counts = np.asarray(label_counts)
    if counts.shape != (n_labels,) or split.labels.shape[1] != n_labels:
        raise ValueError(
            f"label_counts {counts.shape} and split labels {split.labels.shape} must have "
            f"{n_labels} labels (the model's)"
        )
    if single_probs is not None and np.shape(single_probs) != split.labels.shape:
        raise ValueError(
            f"single_probs has shape {np.shape(single_probs)}, expected {split.labels.shape}"
        )
    tail = np.flatnonzero(tail_label_mask(counts, config.n_phi))
    scorer = None
    if tail.size:
        if encoded_support is None:
            encoded_support = encode_tail_support(model, train, counts, config, support)
        scorer = tail_scorer(model, tail, _support_of(encoded_support, tail), config)
    probs, tail_scores = encode_and_score(model, split, scorer, tail.size, config.eval_batch_size)
    return merge_prediction(probs, tail_scores, counts, config.n_phi, single_probs)


def merge_prediction(
    probs: np.ndarray,
    tail_scores: np.ndarray,
    label_counts: np.ndarray,
    n_phi: int,
    single_probs: np.ndarray | None = None,
) -> HybridPrediction:
    """Head probabilities ``[D, C]`` (or ``single_probs`` in their place) and tail scores
    ``[D, T]`` (tail labels ascending) → the hybrid prediction (§1.8)."""
    counts = np.asarray(label_counts)
    is_tail = tail_label_mask(counts, n_phi)
    if single_probs is not None:
        probs = np.asarray(single_probs, dtype=np.float32)
    siamese = np.full(probs.shape, np.nan, dtype=np.float32)
    siamese[:, np.flatnonzero(is_tail)] = tail_scores
    scores, decisions, _ = hybrid_merge(probs, siamese, counts, n_phi)
    return HybridPrediction(probs, siamese, scores, decisions, is_tail)


def hybrid_micro_f1s(labels: LabelMatrix, prediction: HybridPrediction) -> dict[str, float]:
    """Micro-F1 of the merged decisions over all labels (``hybrid_micro_f1``) and over each side
    of the ``N_φ`` split (``hybrid_head_micro_f1``, ``hybrid_tail_micro_f1``; module doc)."""
    counts = label_confusion_counts(labels, prediction.decisions, threshold=0.5)
    out = {}
    for name, columns in (
        ("hybrid", slice(None)),
        ("hybrid_head", ~prediction.is_tail),
        ("hybrid_tail", prediction.is_tail),
    ):
        tp, fp, fn = (c[columns].sum() for c in counts)
        out[f"{name}_micro_f1"] = float(f1_from_counts(tp, fp, fn))
    return out


def tail_siamese_map(labels: LabelMatrix, prediction: HybridPrediction) -> float:
    """Mean average precision of the Siamese scores over the tail labels (threshold-free)."""
    tail = np.flatnonzero(prediction.is_tail)
    if tail.size == 0:
        return 0.0
    return mean_average_precision(labels, np.nan_to_num(prediction.siamese_scores), tail)
