"""Metrics of hybrid (merged) predictions (METHODS §1.8, §1.10, §4).

A hybrid prediction decides head and tail labels by different rules (``p ≥ t`` and ``s > τ``,
:class:`~longtail_mltc.evaluation.calibration.HybridRule`), so its precision / recall / F1
come from the boolean *decisions*, while P@k, nDCG@k and PSP@k rank the merged *scores*
(probabilities and similarities side by side, §1.8). Both go through
:func:`~longtail_mltc.evaluation.metrics.evaluate`, the single metrics implementation.

Label groups (keys ``<prefix>/<group>/<metric>``):

* ``all``: every label, every document;
* the frequency groups of §3.1 (``head``, ``medium``, ``tail`` by training count), the same
  names and meaning as in every other run, so a hybrid compares with a single network;
* ``hybrid_head``: the labels with ``N_c ≥ N_φ``, every document;
* ``hybrid_tail``: METHODS §1.10 (b): the labels with ``N_c < N_φ``, over the documents that
  carry at least one of them (so a document without a tail label does not count for, or
  against, the tail figures).

Beside the §1.10 (b) figures, :func:`tail_diagnostics` reports what they hide, over *every*
document: the false-positive rate of the tail cells, the predicted and the true positive rates,
and the threshold-free mean average precision of the single network's and the Siamese part's
scores on the tail labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from longtail_mltc.labels.stats import HYBRID_HEAD, HYBRID_TAIL

from .calibration import HybridRule
from .metrics import LabelMatrix, evaluate
from .ranking import mean_average_precision
from .thresholds import search_global_threshold

__all__ = [
    "HYBRID_HEAD",
    "HYBRID_TAIL",
    "evaluate_decisions",
    "evaluate_hybrid",
    "evaluate_hybrid_splits",
    "head_threshold",
    "tail_diagnostics",
]

_RANKING_PREFIXES = ("p_at_", "ndcg_at_", "psp_at_", "psndcg_at_")


def evaluate_decisions(
    y_true: LabelMatrix,
    decisions: np.ndarray,
    scores: np.ndarray,
    ks: Sequence[int] = (1, 3, 5),
    label_subset: np.ndarray | None = None,
    inverse_propensities: np.ndarray | None = None,
) -> dict[str, float]:
    """``evaluate``'s metrics with P/R/F1 from ``decisions`` and the ranking metrics (P@k,
    nDCG@k, and PSP@k / PSnDCG@k when ``inverse_propensities`` are given) from ``scores``."""
    decisions = np.asarray(decisions)
    if decisions.dtype != bool:
        raise ValueError(f"decisions must be a boolean matrix, got {decisions.dtype}")
    if decisions.shape != np.shape(scores):
        raise ValueError(f"decisions {decisions.shape} and scores {np.shape(scores)} differ")
    out = evaluate(
        y_true, decisions.astype(np.float32), threshold=0.5, ks=(), label_subset=label_subset
    )
    extra = {} if inverse_propensities is None else {"inverse_propensities": inverse_propensities}
    ranking = evaluate(y_true, scores, threshold=0.5, ks=ks, label_subset=label_subset, **extra)
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
    groups: Mapping[str, Sequence[int] | np.ndarray] | None = None,
    inverse_propensities: np.ndarray | None = None,
) -> dict[str, float]:
    """``<prefix>/{all, <groups>, hybrid_head, hybrid_tail}/<metric>`` for merged predictions
    (module doc). ``is_tail``: the §1.10 evaluation split at ``N_φ``; ``groups``: the §3.1
    frequency groups (name → label columns). Empty groups are left out."""
    is_tail = np.asarray(is_tail, dtype=bool)
    if is_tail.shape != (np.shape(scores)[1],):
        raise ValueError(f"is_tail must have one entry per label ({np.shape(scores)[1]})")
    ips = inverse_propensities

    def measure(rows=None, columns=None) -> dict[str, float]:
        if rows is None:
            return evaluate_decisions(y_true, decisions, scores, ks, columns, ips)
        return evaluate_decisions(y_true[rows], decisions[rows], scores[rows], ks, columns, ips)

    out: dict[str, dict[str, float]] = {"all": measure()}
    for name, columns in (groups or {}).items():
        if len(columns):
            out[name] = measure(columns=np.asarray(columns))
    head, tail = np.flatnonzero(~is_tail), np.flatnonzero(is_tail)
    if head.size:
        out[HYBRID_HEAD] = measure(columns=head)
    rows = _rows_with_any(y_true, tail) if tail.size else np.zeros(0, dtype=np.int64)
    if rows.size:
        out[HYBRID_TAIL] = measure(rows, tail)
    return {
        f"{prefix}/{group}/{key}": float(value)
        for group, metrics in out.items()
        for key, value in metrics.items()
    }


def tail_diagnostics(
    y_true: LabelMatrix,
    decisions: np.ndarray,
    is_tail: np.ndarray,
    single_probs: np.ndarray,
    siamese_scores: np.ndarray | None = None,
    prefix: str = "test",
) -> dict[str, float]:
    """What the §1.10 (b) tail figures hide, over every document of the split (module doc).

    ``<prefix>/hybrid_tail/``: ``false_positive_rate`` (FP / (FP + TN) of the tail cells),
    ``positive_rate`` (share of tail cells decided positive), ``label_rate`` (share of tail
    cells that are positive), ``single_map`` and, with ``siamese_scores`` (full width),
    ``siamese_map``: mean average precision over the tail labels with a positive.
    """
    tail = np.flatnonzero(np.asarray(is_tail, dtype=bool))
    if tail.size == 0:
        return {}
    y = y_true[:, tail]
    y = (y.toarray() if sp.issparse(y) else np.asarray(y)) != 0
    decided = np.asarray(decisions)[:, tail]
    negatives = int((~y).sum())
    false_positives = int((decided & ~y).sum())
    key = f"{prefix}/{HYBRID_TAIL}"
    out = {
        f"{key}/false_positive_rate": false_positives / negatives if negatives else 0.0,
        f"{key}/positive_rate": float(decided.mean()),
        f"{key}/label_rate": float(y.mean()),
        f"{key}/single_map": mean_average_precision(y_true, single_probs, tail),
    }
    if siamese_scores is not None:
        out[f"{key}/siamese_map"] = mean_average_precision(y_true, siamese_scores, tail)
    return out


def head_threshold(y_valid: LabelMatrix, probs_valid: np.ndarray, columns: np.ndarray) -> float:
    """Global threshold with the best validation micro-F1 over ``columns`` (METHODS §3.1)."""
    if columns.size == 0:
        return 0.5
    threshold, _ = search_global_threshold(y_valid[:, columns], probs_valid[:, columns])
    return float(threshold)


def evaluate_hybrid_splits(
    labels: Mapping[str, LabelMatrix],
    single_probs: Mapping[str, np.ndarray],
    siamese_scores: Mapping[str, np.ndarray] | None,
    rule: HybridRule,
    is_tail: np.ndarray,
    ks: Sequence[int] = (1, 3, 5),
    groups: Mapping[str, Sequence[int] | np.ndarray] | None = None,
    inverse_propensities: np.ndarray | None = None,
    splits: Sequence[str] = ("valid", "test"),
    prefixes: Mapping[str, str] | None = None,
    joint_probs: Mapping[str, np.ndarray] | None = None,
) -> dict[str, float]:
    """Merge each split with ``rule`` (§1.8) and evaluate it (§1.10, module doc).

    ``labels`` / ``single_probs`` / ``siamese_scores``: ``{split: ...}``, the Siamese scores full
    width (``None`` for a rule that routes no label); ``joint_probs``: the joint head's
    probabilities per split, for a rule that hands labels to it. ``is_tail``: the evaluation's
    ``N_c < N_φ`` split. Returns ``single_threshold`` (the rule's threshold for the labels
    the single network decides), ``n_siamese_labels``, ``n_joint_labels``,
    ``n_hybrid_tail_labels`` and, per split, the groups of :func:`evaluate_hybrid` and
    :func:`tail_diagnostics` under ``prefixes.get(split, split)``.
    """
    out = {
        "single_threshold": rule.single_threshold,
        "n_siamese_labels": float(rule.siamese_labels.size),
        "n_joint_labels": float(rule.joint_labels.size),
        "n_hybrid_tail_labels": float(np.count_nonzero(is_tail)),
    }
    for split in splits:
        probs = np.asarray(single_probs[split])
        siamese = None if siamese_scores is None else siamese_scores[split]
        joint = None if joint_probs is None else joint_probs[split]
        scores, decisions = rule.merge(probs, siamese, joint)
        prefix = (prefixes or {}).get(split, split)
        out.update(
            evaluate_hybrid(
                labels[split], decisions, scores, is_tail, ks, prefix, groups, inverse_propensities
            )
        )
        out.update(tail_diagnostics(labels[split], decisions, is_tail, probs, siamese, prefix))
    return out
