"""Global decision-threshold search on the validation set (METHODS §3.1).

One threshold for all labels, chosen for the best validation micro-F1 and then applied to the
test set. The prediction rule is the one of :mod:`longtail_mltc.evaluation.metrics`:
positive iff ``score >= threshold``; F1 is computed from the same integer counts with the same
formula (:func:`~longtail_mltc.evaluation.metrics.f1_from_counts`), so
``evaluate(y, s, threshold=t)["micro_f1"] == f1`` holds exactly for the returned ``(t, f1)``.

Exact search: the best threshold is always the score of some positive cell (raising the
threshold past a value held only by negative cells removes false positives alone, which
strictly raises F1 while TP > 0), so only the P distinct positive-cell scores are candidates.
Every score is bucketed among the sorted candidates (``np.searchsorted``, row chunk by row
chunk) and reverse cumulative sums of the bucket counts give, for all candidates at once, the
number of predicted cells and of true positives: O(N log P) time for N cells, no loop over
candidates. Memory: the P positive scores plus one int64 per cell of a row chunk (chunks as in
``evaluate``: at most 2**24 cells); neither the score matrix nor ``y_true`` is flattened or
densified whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from longtail_mltc.evaluation._chunks import (
    Inputs,
    exact_thresholds,
    label_chunk,
    prepare,
    score_chunk,
)
from longtail_mltc.evaluation.metrics import LabelMatrix, f1_from_counts, resolve_chunk_size

__all__ = ["NO_POSITIVES_THRESHOLD", "search_global_threshold", "threshold_grid"]

NO_POSITIVES_THRESHOLD = 0.5
"""Returned (with F1 0.0) when ``y_true`` has no positive: every threshold then scores F1 = 0."""


def _row_ranges(inp: Inputs) -> Iterator[tuple[int, int]]:
    rows = resolve_chunk_size(None, inp.n_labels)
    for start in range(0, inp.n_docs, rows):
        yield start, min(start + rows, inp.n_docs)


def _positive_scores(inp: Inputs) -> np.ndarray:
    """Scores of the cells where ``y_true`` is 1 (any order)."""
    if sp.issparse(inp.y):
        y = inp.y
        rows = np.repeat(np.arange(inp.n_docs), np.diff(y.indptr))
        keep = y.data != 0
        return inp.s[rows[keep], y.indices[keep]]
    parts = [
        inp.s[start:stop].ravel()[label_chunk(inp, start, stop)[1]]
        for start, stop in _row_ranges(inp)
    ]
    return np.concatenate(parts)


def _cells_at_or_above(cuts: np.ndarray, inp: Inputs, positives: np.ndarray):
    """``(n_pred, tp)``: cells / positive cells with score >= each sorted cut value."""
    hist = np.zeros(cuts.size + 1, dtype=np.int64)
    for start, stop in _row_ranges(inp):
        block = score_chunk(inp, start, stop)  # raises on NaN
        hist += np.bincount(np.searchsorted(cuts, block.ravel(), side="right"), minlength=hist.size)
    hist_pos = np.bincount(np.searchsorted(cuts, positives, side="right"), minlength=hist.size)
    # bucket b holds values in [cuts[b-1], cuts[b]): cells >= cuts[j] are those in buckets > j
    n_pred = np.cumsum(hist[::-1])[::-1][1:]
    tp = np.cumsum(hist_pos[::-1])[::-1][1:]
    return n_pred, tp


def search_global_threshold(
    y_true: LabelMatrix,
    scores: np.ndarray,
    candidates: Sequence[float] | np.ndarray | None = None,
) -> tuple[float, float]:
    """Global threshold maximising micro-F1 over all cells (METHODS §3.1).

    Args:
        y_true: 0/1 validation labels ``[docs × labels]``, dense or scipy.sparse.
        scores: dense validation scores of the same shape (no NaN).
        candidates: thresholds to try. None: exact search over the score values (see the
            module docstring: O(N log P), bounded memory). A grid is evaluated exactly as well,
            vectorised the same way, under the same ``>=`` rule.

    Returns:
        ``(threshold, micro_f1)``. With ``candidates=None`` the threshold is an actual score
        value (of a positive cell); otherwise one of the candidates, as given (comparisons
        with lower-precision scores are exact, see ``metrics``). Among thresholds with equal
        F1 the **largest** is returned (fewest positive predictions). If ``y_true`` has no
        positive, F1 is 0 for every threshold and ``(0.5, 0.0)`` is returned.
    """
    inp = prepare(y_true, scores, None)
    positives = _positive_scores(inp)
    if np.isnan(positives).any():
        raise ValueError("scores must not contain NaN (finite or ±inf expected)")
    if candidates is None:
        values = cuts = np.unique(positives)
    else:
        values = np.unique(_check_candidates(candidates))
        cuts = exact_thresholds(values, inp.s.dtype)  # non-decreasing, like values
    n_pred, tp = _cells_at_or_above(cuts, inp, positives)
    if positives.size == 0:
        return NO_POSITIVES_THRESHOLD, 0.0
    f1 = f1_from_counts(tp, n_pred - tp, positives.size - tp)
    best = int(np.flatnonzero(f1 == f1.max())[-1])  # values ascending: largest maximiser
    return float(values[best]), float(f1[best])


def _check_candidates(candidates: Sequence[float] | np.ndarray) -> np.ndarray:
    c = np.asarray(candidates, dtype=np.float64)
    if c.ndim != 1 or c.size == 0:
        raise ValueError(f"candidates must be a non-empty 1-D sequence; received shape {c.shape}")
    if np.isnan(c).any():
        raise ValueError("candidates must not contain NaN")
    return c


def threshold_grid(spec: Sequence[float] | Mapping[str, float] | None) -> np.ndarray | None:
    """The candidates a configuration names: None (exact search), a list of thresholds, or
    ``{start, stop, step}``, stop included (``{start: 0.05, stop: 0.95, step: 0.05}`` → 19
    points, rounded to 10 decimals so 0.3 is 0.3, not 0.30000000000000004)."""
    if spec is None:
        return None
    if isinstance(spec, Mapping):
        missing = {"start", "stop", "step"} - set(spec)
        if missing:
            raise ValueError(
                f"threshold grid needs start, stop and step; missing {sorted(missing)}"
            )
        start, stop, step = (float(spec[k]) for k in ("start", "stop", "step"))
        if step <= 0 or stop < start:
            raise ValueError(f"threshold grid needs step > 0 and stop ≥ start, got {dict(spec)}")
        count = int(np.floor((stop - start) / step + 1e-9)) + 1
        return np.round(start + step * np.arange(count), 10)
    return _check_candidates(spec)
