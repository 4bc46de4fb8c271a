"""Hybrid merge of the single network and the Siamese part (METHODS §1.8). NumPy only.

Labels split on their training counts at ``N_φ``: **tail** ``N_c < N_φ`` takes the Siamese
similarity and decision (``s > siamese_threshold``, strict), **head** ``N_c ≥ N_φ`` the single
network's probability and decision (``p >= single_threshold``). The merged score matrix holds
both side by side, unchanged, for the ranking metrics. ``siamese_scores`` is ``[D, C]`` (tail
columns read) or ``[D, T]`` (tail columns only, ordered by ``tail_labels``).

Decision rules and the shape contract: docs/hscnn.md#decision-rules-of-the-merges.
"""

from __future__ import annotations

import numpy as np

from longtail_mltc.labels.stats import HYBRID_TAIL, hybrid_split

__all__ = ["hybrid_merge", "merge_by_mask", "tail_label_mask"]


def tail_label_mask(label_counts: np.ndarray, n_phi: int = 100) -> np.ndarray:
    """bool ``[C]``: ``N_c < N_φ`` (tail, Siamese) vs ``N_c ≥ N_φ`` (head, single network)."""
    counts = np.asarray(label_counts)
    split = hybrid_split(counts, n_phi)
    mask = np.zeros(counts.shape[0], dtype=bool)
    mask[split[HYBRID_TAIL]] = True
    return mask


def _tail_columns(
    siamese: np.ndarray, is_tail: np.ndarray, tail_labels: np.ndarray | None
) -> np.ndarray:
    """The Siamese scores of the tail labels, ordered as ``np.flatnonzero(is_tail)``."""
    n_labels = is_tail.size
    tail = np.flatnonzero(is_tail)
    width = siamese.shape[1]
    if tail_labels is None:
        if width == n_labels:
            return siamese[:, tail]
        if width == tail.size:
            return siamese
        raise ValueError(
            f"siamese_scores has {width} columns; expected {n_labels} (all labels) or "
            f"{tail.size} (the tail labels N_c < N_phi, ascending; or pass tail_labels)"
        )
    given = np.asarray(tail_labels)
    if given.ndim != 1 or given.size != width:
        raise ValueError(
            f"tail_labels has shape {given.shape}; expected ({width},), one label per column "
            "of siamese_scores"
        )
    if given.size and not np.issubdtype(given.dtype, np.integer):
        raise ValueError(f"tail_labels must be integer label indices, got {given.dtype}")
    if np.unique(given).size != given.size or not np.array_equal(np.sort(given), tail):
        raise ValueError(
            f"tail_labels must be exactly the {tail.size} tail labels (N_c < N_phi), "
            "each once; got a different set"
        )
    order = np.argsort(given)  # column of each tail label in ascending label order
    return siamese[:, order]


def hybrid_merge(
    single_probs: np.ndarray,
    siamese_scores: np.ndarray,
    label_counts: np.ndarray,
    n_phi: int = 100,
    *,
    single_threshold: float | np.ndarray = 0.5,
    siamese_threshold: float = 0.5,
    tail_labels: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge per label (METHODS §1.8) → ``(scores [D, C], decisions bool [D, C], is_tail [C])``.

    ``single_probs``: the single network's probabilities ``[D, C]``; ``siamese_scores``:
    similarities, full width or tail columns only (module docstring); ``label_counts``: training
    ``N_c`` ``[C]``. Scores keep the dtype of ``single_probs`` promoted with the Siamese dtype.
    """
    single = np.asarray(single_probs)
    siamese = np.asarray(siamese_scores)
    counts = np.asarray(label_counts)
    if single.ndim != 2:
        raise ValueError(f"single_probs must be 2-D [documents, labels], got {single.shape}")
    if counts.ndim != 1 or counts.size != single.shape[1]:
        raise ValueError(
            f"label_counts has shape {counts.shape}; expected ({single.shape[1]},), one count "
            "per column of single_probs"
        )
    if siamese.ndim != 2 or siamese.shape[0] != single.shape[0]:
        raise ValueError(
            f"siamese_scores has shape {siamese.shape}; expected {single.shape[0]} rows "
            "(one per document of single_probs)"
        )
    is_tail = tail_label_mask(counts, n_phi)
    scores, decisions = merge_by_mask(
        single,
        _tail_columns(siamese, is_tail, tail_labels),
        is_tail,
        single_threshold=single_threshold,
        siamese_threshold=siamese_threshold,
    )
    return scores, decisions, is_tail


def _per_label(threshold: float | np.ndarray, n_labels: int, name: str) -> np.ndarray:
    values = np.asarray(threshold, dtype=np.float64)
    if values.ndim not in (0, 1) or (values.ndim == 1 and values.size != n_labels):
        raise ValueError(
            f"{name} has shape {values.shape}; expected a scalar or ({n_labels},), one per label"
        )
    if np.isnan(values).any():
        raise ValueError("thresholds must not be NaN")
    return values


def merge_by_mask(
    single_probs: np.ndarray,
    siamese_columns: np.ndarray,
    is_siamese: np.ndarray,
    *,
    single_threshold: float | np.ndarray = 0.5,
    siamese_threshold: float | np.ndarray = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """The merge for any set of Siamese-decided labels → ``(scores, decisions)``.

    ``is_siamese``: bool ``[C]``; ``siamese_columns``: ``[D, S]`` similarities of those labels in
    ascending label order. ``single_threshold`` / ``siamese_threshold``: scalars or one per label
    ``[C]`` (only the entries of the labels each part decides are read). The paper's rule
    (:func:`hybrid_merge`) is the tail at ``N_φ`` with 0.5; a calibrated rule
    (:mod:`~longtail_mltc.evaluation.calibration`) routes chosen labels at chosen thresholds.
    """
    single = np.asarray(single_probs)
    mask = np.asarray(is_siamese, dtype=bool)
    if mask.shape != (single.shape[1],):
        raise ValueError(f"is_siamese must have one entry per label ({single.shape[1]})")
    columns = np.flatnonzero(mask)
    tail_scores = np.asarray(siamese_columns)
    if tail_scores.shape != (single.shape[0], columns.size):
        raise ValueError(
            f"siamese columns have shape {tail_scores.shape}; expected "
            f"({single.shape[0]}, {columns.size}), one per Siamese-decided label"
        )
    single_t = _per_label(single_threshold, mask.size, "single_threshold")
    siamese_t = _per_label(siamese_threshold, mask.size, "siamese_threshold")
    scores = single.astype(np.result_type(single.dtype, tail_scores.dtype), copy=True)
    decisions = single >= single_t
    scores[:, columns] = tail_scores
    decisions[:, columns] = tail_scores > (siamese_t if siamese_t.ndim == 0 else siamese_t[columns])
    return scores, decisions
