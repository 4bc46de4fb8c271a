"""Classification and ranking metrics: one implementation, used everywhere (METHODS §4).

Inputs are a binary label matrix ``y_true`` (dense array or any ``scipy.sparse`` matrix/array,
``[documents, labels]``) and a dense score matrix of the same shape (probabilities or logits).
:func:`evaluate` gives micro/macro P/R/F1 at ``score >= threshold``, P@k, nDCG@k and the
propensity-scored PSP@k / PSnDCG@k (weights from :func:`inverse_propensities`), computed in
bounded-memory row chunks; :func:`precision_at_k`, :func:`ndcg_at_k` and
:func:`label_confusion_counts` are its parts.

Conventions (zero division, labels without positives, ranking ties, documents without
positives, ``k > L``, the propensity-scored ratios, chunking): docs/models.md#metric-conventions.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ._chunks import Inputs, exact_thresholds, label_chunk, prepare, score_chunk

__all__ = [
    "DEFAULT_KS",
    "LabelCounts",
    "LabelMatrix",
    "LabelSubset",
    "evaluate",
    "f1_from_counts",
    "MIN_PROPENSITY_DOCS",
    "inverse_propensities",
    "label_confusion_counts",
    "ndcg_at_k",
    "precision_at_k",
    "prf_from_counts",
    "resolve_chunk_size",
    "training_propensity_weights",
]

DEFAULT_KS: tuple[int, ...] = (1, 3, 5)
MIN_PROPENSITY_DOCS = 3  # Jain et al.'s C = (ln N − 1)(B + 1)^A is positive from N = 3
MAX_CHUNK_ROWS = 8192
"""Upper bound on rows per chunk when ``chunk_size`` is None."""
MAX_CHUNK_ELEMENTS = 1 << 24
"""Rows per automatic chunk are capped so that a chunk holds at most this many cells (~16.8 M;
measured peak of temporaries ~115 MB with float32 scores and all labels)."""

LabelMatrix = np.ndarray | sp.spmatrix | sp.sparray
"""0/1 ``y_true`` ``[docs × labels]``: dense array or any scipy.sparse format."""
LabelSubset = Sequence[int] | Sequence[bool] | np.ndarray | None


class LabelCounts(NamedTuple):
    """Per-label confusion counts (int64 arrays of length ``n_labels``)."""

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def _check_ks(ks: Sequence[int]) -> tuple[int, ...]:
    out = tuple(ks)
    for k in out:
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"ks must be positive integers; received {out!r}")
    return tuple(int(k) for k in out)


def _as_weights(
    inverse_propensities: np.ndarray, n_all: int, cols: np.ndarray | None
) -> np.ndarray:
    """Inverse propensities (float64, > 0, finite) of the subset columns."""
    w = np.asarray(inverse_propensities)
    if w.ndim != 1 or w.size != n_all:
        raise ValueError(
            f"inverse_propensities must be 1-D with one entry per column of y_true ({n_all}); "
            f"received shape {w.shape}"
        )
    if w.dtype == bool or not (
        np.issubdtype(w.dtype, np.integer) or np.issubdtype(w.dtype, np.floating)
    ):
        raise ValueError(f"inverse_propensities must be real numbers; received dtype {w.dtype}")
    w = w.astype(np.float64)
    if not (np.isfinite(w).all() and (w > 0).all()):
        raise ValueError("inverse_propensities must be finite and > 0")
    return w if cols is None else w[cols]


# --------------------------------------------------------------------------------------------
# chunking
# --------------------------------------------------------------------------------------------


def resolve_chunk_size(chunk_size: int | None, n_labels: int) -> int:
    """Rows per chunk: ``chunk_size`` if given, else ``min(8192, 2**24 // n_labels)`` (≥ 1)."""
    if chunk_size is None:
        return max(1, min(MAX_CHUNK_ROWS, MAX_CHUNK_ELEMENTS // max(n_labels, 1)))
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int | np.integer):
        raise ValueError(f"chunk_size must be a positive integer or None; received {chunk_size!r}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer or None; received {chunk_size}")
    return int(chunk_size)


class _Chunk(NamedTuple):
    y: np.ndarray  # dense bool [m × n] labels of the chunk (subset columns)
    positives: np.ndarray  # flat (row-major) indices of the positive cells of ``y``
    s: np.ndarray  # scores [m × n]


def _chunks(inp: Inputs, chunk_size: int | None) -> Iterator[_Chunk]:
    rows = resolve_chunk_size(chunk_size, inp.n_labels)
    for start in range(0, inp.n_docs, rows):
        stop = min(start + rows, inp.n_docs)
        yield _Chunk(*label_chunk(inp, start, stop), score_chunk(inp, start, stop))


# --------------------------------------------------------------------------------------------
# ranking
# --------------------------------------------------------------------------------------------


def _top_k_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` highest scores per row, best first, ties by lower index.

    Equal to ``np.argsort(-scores, axis=1, kind="stable")[:, :k]`` but O(L) per row: the k-th
    largest value comes from ``np.partition``; rows where ties straddle the k-th place keep the
    lowest-index tied labels.
    """
    m, n = scores.shape
    if k >= n:
        return np.argsort(-scores, axis=1, kind="stable")
    kth = np.partition(scores, n - k, axis=1)[:, n - k]
    top = scores >= kth[:, None]  # >= k cells per row; exactly k unless tied at the k-th value
    if np.count_nonzero(top) > m * k:
        tied = np.flatnonzero(np.count_nonzero(top, axis=1) > k)
        top[tied] = _first_k_at_boundary(scores[tied], kth[tied], k)
    idx = (np.flatnonzero(top) % n).reshape(m, k)  # ascending column index per row
    order = np.argsort(-np.take_along_axis(scores, idx, axis=1), axis=1, kind="stable")
    return np.take_along_axis(idx, order, axis=1)


def _first_k_at_boundary(scores: np.ndarray, kth: np.ndarray, k: int) -> np.ndarray:
    """Top-k masks for rows tied at the k-th value: all ``> kth`` plus lowest-index ``== kth``."""
    above = scores > kth[:, None]
    equal = scores == kth[:, None]
    slots = k - above.sum(axis=1)
    return above | (equal & (np.cumsum(equal, axis=1) <= slots[:, None]))


class _Propensity(NamedTuple):
    """Inverse propensities of the subset columns and the running PS sums (float64)."""

    w: np.ndarray  # [n_labels]
    ks: tuple[int, ...]
    sums: np.ndarray  # [4 × len(ks)]: PSP num, PSP den, PSnDCG num, PSnDCG den (updated in place)


def _accumulate_ranking(
    chunk: _Chunk,
    rows: np.ndarray,
    cols: np.ndarray,
    k_max: int,
    hits: np.ndarray,
    ps: _Propensity | None = None,
) -> int:
    """Add one chunk's hit counts to ``hits`` and return the number of documents kept.

    ``hits[j, r]`` counts kept documents with ``min(|y|, k_max) == j`` and a positive at rank
    ``r + 1``; ``rows``/``cols`` locate the chunk's positive cells. Integer counts make the final
    averages independent of chunking. With ``ps`` the propensity-scored sums are added too.
    """
    n_pos = np.bincount(rows, minlength=chunk.s.shape[0])
    keep = n_pos > 0
    n_keep = int(keep.sum())
    if n_keep == 0 or hits.shape[1] == 0:
        return n_keep
    y, s = chunk.y, chunk.s
    if n_keep < keep.size:
        y, s, n_pos = y[keep], s[keep], n_pos[keep]
        rows = (np.cumsum(keep) - 1)[rows]  # positions among the kept rows
    k_sel = hits.shape[1]
    top = _top_k_indices(s, k_sel)
    hit = np.take_along_axis(y, top, axis=1)
    cap = np.minimum(n_pos, k_max)
    flat = (cap[:, None] * k_sel + np.arange(k_sel))[hit]
    hits += np.bincount(flat, minlength=hits.size).reshape(hits.shape)
    if ps is not None:
        _accumulate_propensity(ps, top, hit, rows, cols, n_pos)
    return n_keep


def _largest_per_row(rows: np.ndarray, values: np.ndarray, n_pos: np.ndarray, k: int) -> np.ndarray:
    """``[len(n_pos) × k]``: the ``k`` largest ``values`` of each row, descending, 0-padded.

    ``rows`` gives the row of each value and ``n_pos`` the number of values per row.
    """
    order = np.lexsort((-values, rows))  # by row, then by descending value
    rows, values = rows[order], values[order]
    rank = np.arange(rows.size) - (np.cumsum(n_pos) - n_pos)[rows]
    sel = rank < k
    out = np.zeros((n_pos.size, k), dtype=np.float64)
    out[rows[sel], rank[sel]] = values[sel]
    return out


def _accumulate_propensity(
    ps: _Propensity,
    top: np.ndarray,
    hit: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    n_pos: np.ndarray,
) -> None:
    """Add the PSP / PSnDCG numerators and denominators of one chunk's kept rows to ``ps``.

    ``top``/``hit``: top-k indices and their 0/1 labels (kept rows); ``rows``/``cols``: positive
    cells (rows among the kept ones); ``n_pos``: positives per kept row.
    """
    k_sel = top.shape[1]
    gains = np.where(hit, ps.w[top], 0.0)  # y·w in the predicted order
    best = _largest_per_row(rows, ps.w[cols], n_pos, k_sel)  # y·w in the best order
    disc = _discounts(k_sel)
    ideal = np.concatenate([[1.0], np.cumsum(disc)])  # ideal[j]: IDCG with j positives
    for i, k in enumerate(ps.ks):
        k_eff = min(k, k_sel)
        inv_idcg = 1.0 / ideal[np.minimum(n_pos, k_eff)]
        g, g_best = gains[:, :k_eff], best[:, :k_eff]
        # PSP: sum the hits' gains sorted like ``best``; elementwise <= ``best`` in the same
        # summation order, so the float numerator never exceeds the denominator (PSP <= 1)
        ps.sums[0, i] += -np.sort(-g, axis=1).sum()
        ps.sums[1, i] += g_best.sum()
        ps.sums[2, i] += (g @ disc[:k_eff]) @ inv_idcg
        ps.sums[3, i] += (g_best @ disc[:k_eff]) @ inv_idcg


def _propensity_metrics(ps: _Propensity) -> tuple[dict[int, float], dict[int, float]]:
    """PSP@k and PSnDCG@k from the accumulated sums (0.0 where no document was kept)."""
    ratio = _safe_divide(ps.sums[[0, 2]], ps.sums[[1, 3]])
    return (
        {k: float(ratio[0, i]) for i, k in enumerate(ps.ks)},
        {k: float(ratio[1, i]) for i, k in enumerate(ps.ks)},
    )


def _discounts(n: int) -> np.ndarray:
    """``1 / log2(r + 1)`` for ranks ``r = 1..n``."""
    return 1.0 / np.log2(np.arange(2, n + 2, dtype=np.float64))


def _ranking_metrics(
    hits: np.ndarray, n_docs: int, ks: tuple[int, ...], n_labels: int
) -> tuple[dict[int, float], dict[int, float]]:
    """P@k and nDCG@k for every k from the accumulated hit counts (METHODS §4)."""
    p_at: dict[int, float] = {}
    ndcg_at: dict[int, float] = {}
    k_max = hits.shape[0] - 1
    ideal = np.concatenate([[1.0], np.cumsum(_discounts(k_max))])  # ideal[j]: IDCG, j positives
    for k in ks:
        k_eff = min(k, n_labels)
        if n_docs == 0:
            p_at[k] = ndcg_at[k] = 0.0
            continue
        block = hits[:, :k_eff]
        # rows j >= k share IDCG@k: merge them (exact integer sums) so that the float result
        # for k does not depend on the other requested cut-offs
        block = np.vstack([block[:k], block[k:].sum(axis=0, keepdims=True)])
        p_at[k] = float(block.sum() / (k * n_docs))
        ndcg_at[k] = float(((block @ _discounts(k_eff)) / ideal[: k + 1]).sum() / n_docs)
    return p_at, ndcg_at


# --------------------------------------------------------------------------------------------
# accumulation over chunks
# --------------------------------------------------------------------------------------------


def _accumulate(
    inp: Inputs,
    threshold: float | None,
    k_max: int | None,
    chunk_size: int | None,
    ps: _Propensity | None = None,
) -> tuple[LabelCounts | None, np.ndarray, int]:
    """One pass over the chunks; ``threshold``/``k_max`` None skip confusion/ranking counts.

    ``ps`` (needs ``k_max``) accumulates the propensity-scored sums in place.
    """
    n = inp.n_labels
    tp, n_pred, n_pos = (np.zeros(n, dtype=np.int64) for _ in range(3))
    hits = np.zeros(((k_max or 0) + 1, min(k_max or 0, n)), dtype=np.int64)
    thr = None if threshold is None else exact_thresholds(threshold, inp.s.dtype)
    n_docs = 0
    for chunk in _chunks(inp, chunk_size):
        rows, cols = np.divmod(chunk.positives, n)
        if thr is not None:
            pred = chunk.s >= thr
            n_pred += pred.sum(axis=0, dtype=np.int64)
            n_pos += np.bincount(cols, minlength=n)
            tp += np.bincount(cols[pred.ravel()[chunk.positives]], minlength=n)
        if k_max is not None:
            n_docs += _accumulate_ranking(chunk, rows, cols, k_max, hits, ps)
    counts = None if thr is None else LabelCounts(tp, n_pred - tp, n_pos - tp)
    return counts, hits, n_docs


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num), np.asarray(den)
    return np.divide(num, den, out=np.zeros(np.shape(den), dtype=np.float64), where=den > 0)


def f1_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """F1 = 2·TP / (2·TP + FP + FN), elementwise, 0.0 where the denominator is 0."""
    tp, fp, fn = (np.asarray(a, dtype=np.int64) for a in (tp, fp, fn))
    return _safe_divide(2 * tp, 2 * tp + fp + fn)


def prf_from_counts(counts: LabelCounts) -> dict[str, float]:
    """Micro / macro precision, recall, F1 and ``macro_f1_present`` from per-label counts.

    Macro scores average over all labels (zero division → 0); ``macro_f1_present`` over the
    labels with TP + FN > 0 only, 0.0 if there is none (METHODS §4).
    """
    tp, fp, fn = counts
    t, f_p, f_n = tp.sum(), fp.sum(), fn.sum()
    f1 = f1_from_counts(tp, fp, fn)
    present = (tp + fn) > 0
    return {
        "micro_precision": float(_safe_divide(t, t + f_p)),
        "micro_recall": float(_safe_divide(t, t + f_n)),
        "micro_f1": float(f1_from_counts(t, f_p, f_n)),
        "macro_precision": float(_safe_divide(tp, tp + fp).mean()),
        "macro_recall": float(_safe_divide(tp, tp + fn).mean()),
        "macro_f1": float(f1.mean()),
        "macro_f1_present": float(f1[present].mean()) if present.any() else 0.0,
    }


def label_confusion_counts(
    y_true: LabelMatrix,
    scores: np.ndarray,
    threshold: float = 0.5,
    chunk_size: int | None = None,
    label_subset: LabelSubset = None,
) -> LabelCounts:
    """Per-label TP, FP, FN (int64) with the rule ``scores >= threshold`` (METHODS §4)."""
    inp = prepare(y_true, scores, label_subset)
    counts, _, _ = _accumulate(inp, threshold, None, chunk_size)
    assert counts is not None
    return counts


def _ranking(
    y_true: LabelMatrix,
    scores: np.ndarray,
    k: int,
    label_subset: LabelSubset,
    chunk_size: int | None,
) -> tuple[dict[int, float], dict[int, float]]:
    (k,) = _check_ks((k,))
    inp = prepare(y_true, scores, label_subset)
    _, hits, n_docs = _accumulate(inp, None, k, chunk_size)
    return _ranking_metrics(hits, n_docs, (k,), inp.n_labels)


def precision_at_k(
    y_true: LabelMatrix,
    scores: np.ndarray,
    k: int,
    label_subset: LabelSubset = None,
    chunk_size: int | None = None,
) -> float:
    """Mean P@k over documents with ≥ 1 positive in the subset (METHODS §4; see module doc)."""
    p_at, _ = _ranking(y_true, scores, k, label_subset, chunk_size)
    return p_at[int(k)]


def ndcg_at_k(
    y_true: LabelMatrix,
    scores: np.ndarray,
    k: int,
    label_subset: LabelSubset = None,
    chunk_size: int | None = None,
) -> float:
    """Mean nDCG@k over documents with ≥ 1 positive in the subset (METHODS §4)."""
    _, ndcg_at = _ranking(y_true, scores, k, label_subset, chunk_size)
    return ndcg_at[int(k)]


def inverse_propensities(
    label_counts: np.ndarray, n_docs: int, a: float = 0.55, b: float = 1.5
) -> np.ndarray:
    """Inverse propensities ``1/p_l`` of Jain, Prabhu & Varma (2016) (METHODS §4).

    ``1/p_l = 1 + C·(N_l + B)^(-A)`` with ``C = (ln N - 1)·(B + 1)^A`` (natural log, as
    ``xclib.evaluation.xc_metrics.compute_inv_propesity`` of pyxclib), ``N = n_docs`` training
    documents and ``N_l = label_counts[l]`` training documents with label ``l``.

    Args:
        label_counts: 1-D, finite, non-negative counts per label (0 allowed when ``b > 0``),
            each at most ``n_docs``; e.g. ``np.asarray(y_train.sum(axis=0)).ravel()``.
        n_docs: number of training documents, an integer ``>= 3``. Smaller ``N`` is rejected:
            ``ln N - 1 < 0`` would make ``C < 0`` and the "inverse propensities" < 1 or even
            negative, which has no meaning as a propensity.
        a: exponent ``A``, finite and ``> 0`` (0.55 by default; 0.5 Wikipedia, 0.6 Amazon in
            the paper).
        b: offset ``B``, finite with ``B > -1`` (so that ``(B + 1)^A`` is real) and
            ``N_l + B > 0`` for every label (1.5 by default; 0.4 Wikipedia, 2.6 Amazon).

    Returns:
        float64 array, one entry per label; every entry is ``> 1`` and the entries decrease
        strictly as ``N_l`` grows (rarer labels weigh more; up to float rounding for huge N_l).
    """
    counts = np.asarray(label_counts)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(
            "label_counts must be a non-empty 1-D array (one count per label); received shape "
            f"{counts.shape} (for a matrix sum use np.asarray(y.sum(axis=0)).ravel())"
        )
    if counts.dtype == bool or not (
        np.issubdtype(counts.dtype, np.integer) or np.issubdtype(counts.dtype, np.floating)
    ):
        raise ValueError(f"label_counts must be real numbers; received dtype {counts.dtype}")
    counts = counts.astype(np.float64)
    if not np.isfinite(counts).all() or counts.min() < 0:
        raise ValueError("label_counts must be finite and non-negative")
    if isinstance(n_docs, bool) or not isinstance(n_docs, int | np.integer) or n_docs < 3:
        raise ValueError(
            f"n_docs must be an integer >= 3 (C = (ln N - 1)(B + 1)^A > 0); received {n_docs!r}"
        )
    if counts.max() > n_docs:
        raise ValueError(
            f"label_counts cannot exceed n_docs ({n_docs}); received max {counts.max():g}"
        )
    a, b = float(a), float(b)
    if not (math.isfinite(a) and a > 0):
        raise ValueError(f"a must be finite and > 0; received {a}")
    if not (math.isfinite(b) and b > -1):
        raise ValueError(f"b must be finite and > -1; received {b}")
    if counts.min() + b <= 0:
        raise ValueError(
            f"label_counts + b must be > 0 for every label (a label with count 0 needs b > 0); "
            f"received b = {b} and min count {counts.min():g}"
        )
    c = (math.log(n_docs) - 1.0) * (b + 1.0) ** a
    return 1.0 + c * (counts + b) ** -a


def training_propensity_weights(
    label_counts: np.ndarray, n_docs: int, a: float = 0.55, b: float = 1.5
) -> np.ndarray:
    """:func:`inverse_propensities` of the training counts, or a weight of 1 for every label
    when there are fewer than ``MIN_PROPENSITY_DOCS`` training documents (``ln N − 1 < 0``:
    the formula has no meaning, so PSP@k falls back to P@k)."""
    if n_docs >= MIN_PROPENSITY_DOCS:
        return inverse_propensities(label_counts, n_docs, a, b)
    return np.ones(len(label_counts))


def evaluate(
    y_true: LabelMatrix,
    scores: np.ndarray,
    threshold: float = 0.5,
    ks: Sequence[int] = DEFAULT_KS,
    label_subset: LabelSubset = None,
    *,
    chunk_size: int | None = None,
    inverse_propensities: np.ndarray | None = None,
) -> dict[str, float]:
    """All METHODS §4 metrics for one label subset in a single chunked pass.

    Args:
        y_true: 0/1 matrix ``[docs × labels]``, dense or scipy.sparse (never densified whole).
        scores: dense float matrix of the same shape; positive prediction iff
            ``scores >= threshold``.
        threshold: decision threshold (e.g. from ``search_global_threshold``, METHODS §3.1).
        ks: cut-offs for ``p_at_{k}`` and ``ndcg_at_{k}``.
        label_subset: column indices (order kept, used for tie-breaking) or a bool mask; every
            metric is restricted to these columns (ranking among them only).
        chunk_size: rows per chunk; None picks ``min(8192, 2**24 // n_labels)``.
        inverse_propensities: optional ``1/p_l`` per column of ``y_true`` (full width, e.g. from
            :func:`inverse_propensities` on the training labels; finite, > 0), restricted to
            ``label_subset`` like everything else. Adds ``psp_at_{k}`` and ``psndcg_at_{k}``.

    Returns:
        ``micro_/macro_ precision, recall, f1``, ``macro_f1_present``, ``p_at_{k}``,
        ``ndcg_at_{k}``, [``psp_at_{k}``, ``psndcg_at_{k}`` only with ``inverse_propensities``],
        ``n_docs`` (documents kept for ranking: ≥ 1 positive in the subset) and ``n_labels``
        (labels in the subset), all as float. Treatment of zero division, absent labels, ties,
        ``k > n_labels`` and the propensity-scored definitions (pyxclib's ``psprecision`` /
        ``psndcg``): see the module docstring.
    """
    ks = _check_ks(ks)
    inp = prepare(y_true, scores, label_subset)
    ps = None
    if inverse_propensities is not None:
        w = _as_weights(inverse_propensities, inp.s.shape[1], inp.s_cols)
        ps = _Propensity(w, ks, np.zeros((4, len(ks)), dtype=np.float64))
    counts, hits, n_docs = _accumulate(inp, threshold, max(ks, default=0), chunk_size, ps)
    assert counts is not None
    out = prf_from_counts(counts)
    p_at, ndcg_at = _ranking_metrics(hits, n_docs, ks, inp.n_labels)
    out.update({f"p_at_{k}": p_at[k] for k in ks})
    out.update({f"ndcg_at_{k}": ndcg_at[k] for k in ks})
    if ps is not None:
        psp_at, psndcg_at = _propensity_metrics(ps)
        out.update({f"psp_at_{k}": psp_at[k] for k in ks})
        out.update({f"psndcg_at_{k}": psndcg_at[k] for k in ks})
    out["n_docs"] = float(n_docs)
    out["n_labels"] = float(inp.n_labels)
    return out
