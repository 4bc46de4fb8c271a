"""Metrics of hybrid (merged) predictions on all, head and tail labels (METHODS §1.8, §1.10, §4).

A hybrid prediction decides head and tail labels by different rules (``p ≥ t`` and ``s > 0.5``,
:func:`~longtail_mltc.evaluation.merge.hybrid_merge`), so its precision / recall / F1 come from
the boolean *decisions*, while P@k and nDCG@k rank the merged *scores* (probabilities and
similarities side by side, §1.8). Both go through
:func:`~longtail_mltc.evaluation.metrics.evaluate`, the single metrics implementation.

Label groups (keys ``<prefix>/<group>/<metric>``):

* ``all``: every label, every document;
* ``head``: the labels with ``N_c ≥ N_φ``, every document;
* ``tail``: METHODS §1.10 (b): the labels with ``N_c < N_φ``, over the documents that carry at
  least one of them (so a document without a tail label does not count for, or against, the
  tail figures).

These ``head``/``tail`` are the hybrid split of §1.8, not the frequency groups of §3.1 that the
single pipeline reports under the same names; the runs say which through their ``n_phi`` param.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from .merge import hybrid_merge, tail_label_mask
from .metrics import LabelMatrix, evaluate
from .thresholds import search_global_threshold

__all__ = ["evaluate_decisions", "evaluate_hybrid", "evaluate_hybrid_splits"]

_RANKING_PREFIXES = ("p_at_", "ndcg_at_")


def evaluate_decisions(
    y_true: LabelMatrix,
    decisions: np.ndarray,
    scores: np.ndarray,
    ks: Sequence[int] = (1, 3, 5),
    label_subset: np.ndarray | None = None,
) -> dict[str, float]:
    """``evaluate``'s metrics with P/R/F1 from ``decisions`` and P@k / nDCG@k from ``scores``."""
    decisions = np.asarray(decisions)
    if decisions.dtype != bool:
        raise ValueError(f"decisions must be a boolean matrix, got {decisions.dtype}")
    if decisions.shape != np.shape(scores):
        raise ValueError(f"decisions {decisions.shape} and scores {np.shape(scores)} differ")
    out = evaluate(
        y_true, decisions.astype(np.float32), threshold=0.5, ks=(), label_subset=label_subset
    )
    ranking = evaluate(y_true, scores, threshold=0.5, ks=ks, label_subset=label_subset)
    out.update({k: v for k, v in ranking.items() if k.startswith(_RANKING_PREFIXES)})
    return out


def _rows_with_any(y_true: LabelMatrix, columns: np.ndarray) -> np.ndarray:
    sub = y_true[:, columns]
    counts = sub.getnnz(axis=1) if sp.issparse(sub) else np.count_nonzero(sub, axis=1)
    return np.flatnonzero(np.asarray(counts).ravel() > 0)


def evaluate_hybrid(
    y_true: LabelMatrix,
    decisions: np.ndarray,
    scores: np.ndarray,
    is_tail: np.ndarray,
    ks: Sequence[int] = (1, 3, 5),
    prefix: str = "test",
) -> dict[str, float]:
    """``<prefix>/{all,head,tail}/<metric>`` for merged predictions (module doc); empty groups
    (no head label, no tail label, or no document carrying a tail label) are left out."""
    is_tail = np.asarray(is_tail, dtype=bool)
    if is_tail.shape != (np.shape(scores)[1],):
        raise ValueError(f"is_tail must have one entry per label ({np.shape(scores)[1]})")
    groups: dict[str, dict[str, float]] = {"all": evaluate_decisions(y_true, decisions, scores, ks)}
    head, tail = np.flatnonzero(~is_tail), np.flatnonzero(is_tail)
    if head.size:
        groups["head"] = evaluate_decisions(y_true, decisions, scores, ks, label_subset=head)
    rows = _rows_with_any(y_true, tail) if tail.size else np.zeros(0, dtype=np.int64)
    if rows.size:
        groups["tail"] = evaluate_decisions(
            y_true[rows], decisions[rows], scores[rows], ks, label_subset=tail
        )
    return {
        f"{prefix}/{group}/{key}": float(value)
        for group, metrics in groups.items()
        for key, value in metrics.items()
    }


def _head_threshold(y_valid: LabelMatrix, probs_valid: np.ndarray, columns: np.ndarray) -> float:
    """Global threshold with the best validation micro-F1 over ``columns`` (METHODS §3.1)."""
    if columns.size == 0:
        return 0.5
    threshold, _ = search_global_threshold(y_valid[:, columns], probs_valid[:, columns])
    return float(threshold)


def evaluate_hybrid_splits(
    labels: Mapping[str, LabelMatrix],
    single_probs: Mapping[str, np.ndarray],
    siamese_scores: Mapping[str, np.ndarray] | None,
    label_counts: np.ndarray,
    n_phi: int,
    ks: Sequence[int] = (1, 3, 5),
) -> dict[str, float]:
    """Merge (§1.8) and evaluate (§1.10) the ``valid`` and ``test`` splits of one model.

    ``labels`` / ``single_probs`` / ``siamese_scores``: ``{"valid": ..., "test": ...}``; the
    Siamese scores full width (only the tail columns at ``n_phi`` are read). The head labels'
    decision threshold is chosen on validation micro-F1 over the head columns (so head labels
    are decided exactly as a single network would decide them, §3.1); tail labels use
    ``s > 0.5`` (§1.7). ``siamese_scores=None`` evaluates the single network alone (Single
    variant): one threshold over all labels, and the same head/tail groups at ``n_phi`` for its
    figures. Returns ``head_threshold``, ``n_phi``, ``n_tail_labels`` and
    ``<split>/{all,head,tail}/<metric>``.
    """
    counts = np.asarray(label_counts)
    is_tail = tail_label_mask(counts, n_phi)
    single_only = siamese_scores is None
    decided_by_threshold = np.arange(counts.size) if single_only else np.flatnonzero(~is_tail)
    threshold = _head_threshold(labels["valid"], single_probs["valid"], decided_by_threshold)
    out = {
        "head_threshold": threshold,
        "n_phi": float(n_phi),
        "n_tail_labels": float(is_tail.sum()),
    }
    for split in ("valid", "test"):
        probs = np.asarray(single_probs[split])
        if single_only:
            scores, decisions = probs, probs >= np.float32(threshold)
        else:
            scores, decisions, _ = hybrid_merge(
                probs, siamese_scores[split], counts, n_phi, single_threshold=threshold
            )
        out.update(evaluate_hybrid(labels[split], decisions, scores, is_tail, ks, prefix=split))
    return out
