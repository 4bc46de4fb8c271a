"""Tests for longtail_mltc.evaluation.metrics (METHODS §4)."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import multilabel_confusion_matrix, precision_recall_fscore_support

from longtail_mltc.evaluation import metrics, thresholds
from longtail_mltc.evaluation.metrics import (
    evaluate,
    inverse_propensities,
    label_confusion_counts,
    ndcg_at_k,
    precision_at_k,
    resolve_chunk_size,
    training_propensity_weights,
)

METRIC_KEYS = [
    "micro_precision",
    "micro_recall",
    "micro_f1",
    "macro_precision",
    "macro_recall",
    "macro_f1",
    "macro_f1_present",
    "p_at_1",
    "p_at_3",
    "p_at_5",
    "ndcg_at_1",
    "ndcg_at_3",
    "ndcg_at_5",
    "n_docs",
    "n_labels",
]
L3 = 1.0 / math.log2(3)  # discount of rank 2
L5 = 1.0 / math.log2(5)  # discount of rank 4

# 3 docs × 4 labels, worked by hand below.
Y = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [1, 1, 0, 1]])
S = np.array([[0.9, 0.2, 0.4, 0.1], [0.3, 0.6, 0.7, 0.2], [0.8, 0.1, 0.55, 0.65]])


# ----------------------------------------------------------------------------------------------
# independent references (straightforward per-document loops)
# ----------------------------------------------------------------------------------------------


def ranked(scores_row: np.ndarray) -> np.ndarray:
    """Descending score, ties by lower index (the documented rule)."""
    return np.argsort(-scores_row, kind="stable")


def reference_ranking(y: np.ndarray, s: np.ndarray, k: int) -> tuple[float, float, int]:
    """(P@k, nDCG@k, docs kept) by a plain loop over documents."""
    p_sum = ndcg_sum = 0.0
    kept = 0
    for y_row, s_row in zip(y, s, strict=True):
        n_pos = int(y_row.sum())
        if n_pos == 0:
            continue
        kept += 1
        top = ranked(s_row)[:k]
        p_sum += sum(y_row[label] for label in top) / k
        dcg = sum(y_row[label] / math.log2(r + 2) for r, label in enumerate(top))
        idcg = sum(1.0 / math.log2(r + 2) for r in range(min(k, n_pos)))
        ndcg_sum += dcg / idcg
    if kept == 0:
        return 0.0, 0.0, 0
    return p_sum / kept, ndcg_sum / kept, kept


def reference_propensity(
    y: np.ndarray, s: np.ndarray, w: np.ndarray, k: int
) -> tuple[float, float]:
    """(PSP@k, PSnDCG@k) by a plain loop, as pyxclib's ``psprecision`` / ``psndcg``.

    pyxclib averages (1/k)·sum over the top k of y·w (and of the best ranking) over documents
    and divides the two means: a ratio of sums over documents; nDCG terms are divided by the
    document's plain IDCG@k first.
    """
    psp_num = psp_den = nd_num = nd_den = 0.0
    for y_row, s_row in zip(y, s, strict=True):
        n_pos = int(y_row.sum())
        if n_pos == 0:
            continue
        gains = [y_row[label] * w[label] for label in ranked(s_row)[:k]]
        best = sorted((y_row * w).tolist(), reverse=True)[:k]
        idcg = sum(1.0 / math.log2(r + 2) for r in range(min(k, n_pos)))
        psp_num += sum(gains)
        psp_den += sum(best)
        nd_num += sum(g / math.log2(r + 2) for r, g in enumerate(gains)) / idcg
        nd_den += sum(g / math.log2(r + 2) for r, g in enumerate(best)) / idcg
    if psp_den == 0.0:
        return 0.0, 0.0
    return psp_num / psp_den, nd_num / nd_den


def sklearn_prf(y: np.ndarray, s: np.ndarray, threshold: float) -> dict[str, float]:
    pred = (s >= threshold).astype(int)
    out = {}
    for avg in ("micro", "macro"):
        p, r, f, _ = precision_recall_fscore_support(y, pred, average=avg, zero_division=0)
        out |= {f"{avg}_precision": p, f"{avg}_recall": r, f"{avg}_f1": f}
    present = np.flatnonzero(y.sum(axis=0) > 0)
    if present.size:
        f_each = precision_recall_fscore_support(
            y, pred, labels=present, average=None, zero_division=0
        )[2]
        out["macro_f1_present"] = float(np.mean(f_each))
    else:
        out["macro_f1_present"] = 0.0
    return out


@st.composite
def problems(draw, max_docs: int = 12, max_labels: int = 9, min_labels: int = 1):
    """Random (y, s, threshold): coarse score grids force ties, density varies 0..1."""
    n_docs = draw(st.integers(1, max_docs))
    n_labels = draw(st.integers(min_labels, max_labels))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    density = draw(st.sampled_from([0.0, 0.1, 0.3, 0.7, 1.0]))
    y = (rng.random((n_docs, n_labels)) < density).astype(np.int64)
    levels = draw(st.sampled_from([3, 5, 1000]))
    s = rng.integers(0, levels, size=(n_docs, n_labels)) / (levels - 1)
    threshold = float(draw(st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.5])))
    return y, s, threshold


# ----------------------------------------------------------------------------------------------
# hand-computed cases
# ----------------------------------------------------------------------------------------------


def test_hand_computed_example() -> None:
    out = evaluate(Y, S, threshold=0.5)
    assert list(out) == METRIC_KEYS
    # pred (s >= .5) = [[1,0,0,0],[0,1,1,0],[1,0,1,1]]
    # per label (tp, fp, fn): L0 (2,0,0)  L1 (1,0,1)  L2 (0,2,1)  L3 (1,0,0)
    # micro: tp 4, fp 2, fn 2 -> P = 4/6, R = 4/6, F1 = 8/12
    assert out["micro_precision"] == pytest.approx(4 / 6)
    assert out["micro_recall"] == pytest.approx(4 / 6)
    assert out["micro_f1"] == pytest.approx(8 / 12)
    # per-label P = 1, 1, 0, 1; R = 1, 1/2, 0, 1; F1 = 1, 2/3, 0, 1
    assert out["macro_precision"] == pytest.approx(3 / 4)
    assert out["macro_recall"] == pytest.approx(2.5 / 4)
    assert out["macro_f1"] == pytest.approx((2 + 2 / 3) / 4)
    assert out["macro_f1_present"] == pytest.approx((2 + 2 / 3) / 4)  # every label present
    # rankings: d0 = L0 L2 L1 L3 (pos L0, L2); d1 = L2 L1 L0 L3 (pos L1);
    #           d2 = L0 L3 L2 L1 (pos L0, L1, L3)
    # P@1 = (1 + 0 + 1)/3; P@3 = (2/3 + 1/3 + 2/3)/3 = 5/9
    assert out["p_at_1"] == pytest.approx(2 / 3)
    assert out["p_at_3"] == pytest.approx(5 / 9)
    # nDCG@1 = P@1 here; nDCG@3: d0 = (1 + L3)/(1 + L3) = 1, d1 = L3/1,
    #                            d2 = (1 + L3)/(1 + L3 + 1/2)
    assert out["ndcg_at_1"] == pytest.approx(2 / 3)
    assert out["ndcg_at_3"] == pytest.approx((1 + L3 + (1 + L3) / (1 + L3 + 0.5)) / 3)
    # k = 5 > 4 labels: top 4 used, divisor stays 5 -> P@5 = (2/5 + 1/5 + 3/5)/3 = 2/5;
    # nDCG@5: d2 has hits at ranks 1, 2, 4 -> (1 + L3 + L5)/(1 + L3 + 1/2)
    assert out["p_at_5"] == pytest.approx(2 / 5)
    assert out["ndcg_at_5"] == pytest.approx((1 + L3 + (1 + L3 + L5) / (1 + L3 + 0.5)) / 3)
    assert out["n_docs"] == 3.0
    assert out["n_labels"] == 4.0


def test_documents_without_positives_skipped_for_ranking_only() -> None:
    # extra doc 3: no positives, predicts L0 (0.95 >= .5) -> one more FP, ranking unchanged
    y = np.vstack([Y, [0, 0, 0, 0]])
    s = np.vstack([S, [0.95, 0.0, 0.0, 0.0]])
    base, out = evaluate(Y, S), evaluate(y, s)
    for key in ("p_at_1", "p_at_3", "p_at_5", "ndcg_at_1", "ndcg_at_3", "ndcg_at_5", "n_docs"):
        assert out[key] == base[key]
    assert out["micro_precision"] == pytest.approx(4 / 7)  # tp 4, fp 3
    assert out["micro_recall"] == pytest.approx(4 / 6)


def test_labels_without_positives_macro_all_vs_present() -> None:
    # 2 docs × 3 labels; L2 has no positives and is predicted once (fp)
    y = np.array([[1, 0, 0], [0, 1, 0]])
    s = np.array([[0.9, 0.1, 0.8], [0.2, 0.3, 0.1]])
    out = evaluate(y, s, threshold=0.5)
    # (tp, fp, fn): L0 (1,0,0) F1 1; L1 (0,0,1) F1 0; L2 (0,1,0) F1 0, P 0, R 0 (0/0)
    assert out["macro_f1"] == pytest.approx(1 / 3)
    assert out["macro_f1_present"] == pytest.approx(1 / 2)  # over L0, L1
    assert out["macro_precision"] == pytest.approx(1 / 3)
    assert out["macro_recall"] == pytest.approx(1 / 3)


def test_no_positive_anywhere_gives_zeros() -> None:
    out = evaluate(np.zeros((2, 3)), np.ones((2, 3)))
    assert out["n_docs"] == 0.0
    assert out["p_at_1"] == 0.0 and out["ndcg_at_5"] == 0.0
    assert out["macro_f1_present"] == 0.0 and out["micro_f1"] == 0.0


def test_ties_broken_by_lower_column_index() -> None:
    y = np.array([[0, 1, 1, 0, 1]])
    s = np.full((1, 5), 0.5)
    # all tied: ranking L0 L1 L2 L3 L4 -> top-1 = L0 (miss), top-3 = L0 L1 L2 (2 hits)
    assert precision_at_k(y, s, 1) == 0.0
    assert precision_at_k(y, s, 3) == pytest.approx(2 / 3)
    # a tie straddling the k-th place after a strictly higher score: L4 first, then L0 L1 ...
    s2 = np.array([[0.5, 0.5, 0.5, 0.5, 0.9]])
    assert precision_at_k(y, s2, 2) == pytest.approx(1 / 2)  # L4 hit, L0 miss
    assert ndcg_at_k(y, s2, 3) == pytest.approx((1 + 0 + 0.5) / (1 + L3 + 0.5))


def test_threshold_comparison_is_exact_for_float32_scores() -> None:
    s = np.array([[np.float32(0.3), 0.0]], dtype=np.float32)
    y = np.array([[1, 0]])
    at = float(s[0, 0])  # 0.30000001192092896 exactly
    above = np.nextafter(at, 1.0)  # float64 just above; rounds to s[0, 0] in float32
    assert evaluate(y, s, threshold=at)["micro_f1"] == 1.0
    assert evaluate(y, s, threshold=above)["micro_f1"] == 0.0
    assert evaluate(y, s, threshold=1e300)["micro_recall"] == 0.0


# ----------------------------------------------------------------------------------------------
# against scikit-learn and loop references
# ----------------------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(problems(min_labels=2))  # sklearn reads a single column as binary, not multilabel
def test_prf_matches_sklearn(problem) -> None:
    y, s, threshold = problem
    expected = sklearn_prf(y, s, threshold)
    for y_in in (y, sp.csr_matrix(y)):
        out = evaluate(y_in, s, threshold=threshold)
        for key, value in expected.items():
            assert out[key] == pytest.approx(value, abs=1e-12), key


@settings(max_examples=50, deadline=None)
@given(problems(), st.sampled_from([(1, 3, 5), (2,), (1, 4, 10)]))
def test_ranking_matches_loop_reference(problem, ks) -> None:
    y, s, _ = problem
    out = evaluate(sp.csr_array(y), s, ks=ks)
    for k in ks:
        p, ndcg, kept = reference_ranking(y, s, k)
        assert out[f"p_at_{k}"] == pytest.approx(p, abs=1e-12)
        assert out[f"ndcg_at_{k}"] == pytest.approx(ndcg, abs=1e-12)
        assert out["n_docs"] == kept
        assert precision_at_k(y, s, k) == out[f"p_at_{k}"]
        assert ndcg_at_k(y, s, k) == out[f"ndcg_at_{k}"]


def test_ndcg_agrees_with_sklearn_where_definitions_coincide() -> None:
    from sklearn.metrics import ndcg_score

    rng = np.random.default_rng(0)
    y = (rng.random((40, 12)) < 0.15).astype(int)
    y[:, 0] = 1
    y = y[(y.sum(axis=1) <= 3)]  # |y| <= k: sklearn's IDCG (all positives) equals ours
    s = rng.random(y.shape)  # distinct scores: sklearn's tie averaging does not apply
    assert evaluate(y, s, ks=(3,))["ndcg_at_3"] == pytest.approx(ndcg_score(y, s, k=3))


def test_confusion_counts_match_sklearn() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random((30, 7)) < 0.3).astype(int)
    s = rng.random((30, 7))
    mcm = multilabel_confusion_matrix(y, (s >= 0.4).astype(int))  # [[tn, fp], [fn, tp]]
    counts = label_confusion_counts(sp.csr_matrix(y), s, 0.4, chunk_size=4)
    np.testing.assert_array_equal(counts.tp, mcm[:, 1, 1])
    np.testing.assert_array_equal(counts.fp, mcm[:, 0, 1])
    np.testing.assert_array_equal(counts.fn, mcm[:, 1, 0])
    assert counts.tp.dtype == np.int64


# ----------------------------------------------------------------------------------------------
# invariances (exact equality)
# ----------------------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(problems(max_docs=20), st.data())
def test_label_subset_equals_column_slice(problem, data) -> None:
    y, s, threshold = problem
    n_labels = y.shape[1]
    idx = data.draw(st.permutations(range(n_labels)).map(lambda p: p[: max(1, len(p) // 2)]))
    idx = np.asarray(idx)
    sliced = evaluate(y[:, idx], s[:, idx], threshold=threshold)
    assert evaluate(y, s, threshold=threshold, label_subset=idx) == sliced
    assert evaluate(sp.csr_matrix(y), s, threshold=threshold, label_subset=list(idx)) == sliced
    mask = np.zeros(n_labels, dtype=bool)
    mask[idx] = True
    in_order = np.flatnonzero(mask)
    assert evaluate(y, s, threshold=threshold, label_subset=mask) == evaluate(
        y[:, in_order], s[:, in_order], threshold=threshold
    )


@settings(max_examples=50, deadline=None)
@given(problems(max_docs=30))
def test_chunking_and_sparse_dense_invariance(problem) -> None:
    y, s, threshold = problem
    expected = evaluate(y, s, threshold=threshold, chunk_size=1)
    for chunk_size in (7, 100_000, None):
        assert evaluate(y, s, threshold=threshold, chunk_size=chunk_size) == expected
    for y_in in (sp.csr_matrix(y), sp.csr_array(y), sp.coo_matrix(y), y.astype(bool)):
        assert evaluate(y_in, s, threshold=threshold, chunk_size=7) == expected


def test_non_canonical_sparse_and_explicit_zeros() -> None:
    # row 0 stores column 0 twice (1 + 0) and an explicit zero at column 1: must equal dense Y
    indptr = np.array([0, 4, 5, 8])
    indices = np.array([0, 2, 1, 0, 1, 0, 1, 3])
    data = np.array([1, 1, 0, 0, 1, 1, 1, 1])
    y = sp.csr_matrix((data, indices, indptr), shape=Y.shape)
    assert not y.has_canonical_format
    assert evaluate(y, S) == evaluate(Y, S)
    assert evaluate(y.tocoo(), S) == evaluate(Y, S)


def test_float32_scores_and_large_k() -> None:
    out = evaluate(Y, S.astype(np.float32), ks=(1, 3, 5, 50))
    # k = 50 over 4 labels: all 4 ranked, divisor 50 -> P@50 = (2 + 1 + 3)/(3 * 50)
    assert out["p_at_50"] == pytest.approx(6 / 150)
    assert out["ndcg_at_50"] == out["ndcg_at_5"]


def test_automatic_chunk_size() -> None:
    assert resolve_chunk_size(None, 90) == 8192
    assert resolve_chunk_size(None, 18_000) == (1 << 24) // 18_000
    assert resolve_chunk_size(None, 10**9) == 1
    assert resolve_chunk_size(3, 10) == 3


# ----------------------------------------------------------------------------------------------
# propensity-scored metrics (PSP@k, PSnDCG@k)
# ----------------------------------------------------------------------------------------------

LN100 = math.log(100)  # 4.605170185988091
# inverse_propensities([0, 1, 3, 7], 100, a=1, b=1): C = (ln 100 - 1)·2^1 = 7.210340371976182,
# 1/p = 1 + C/(N_l + 1) -> [2 ln100 - 1, ln100, (ln100 + 1)/2, (ln100 + 3)/4]
#                        = [8.210340371976183, 4.605170185988091, 2.802585092994046, 1.901292546]
W_HAND = np.array([2 * LN100 - 1, LN100, (LN100 + 1) / 2, (LN100 + 3) / 4])


@st.composite
def weights(draw, n_labels: int) -> np.ndarray:
    """Inverse propensities: from random counts, or few distinct values (ties in y·w)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        n_train = draw(st.integers(3, 10_000))
        return inverse_propensities(rng.integers(0, n_train + 1, n_labels), n_train)
    return rng.choice([1.0, 1.5, 4.0], size=n_labels)


def test_training_propensity_weights_fall_back_to_one_below_three_documents() -> None:
    """label_stats' weights (issue 22, item 3): Jain et al.'s from N = 3, else 1 per label."""
    counts = np.array([0, 1, 3, 7])
    np.testing.assert_allclose(
        training_propensity_weights(counts, 100, a=1.0, b=1.0), W_HAND, rtol=1e-15
    )
    np.testing.assert_array_equal(training_propensity_weights(np.array([1, 2, 0]), 2), [1, 1, 1])
    assert training_propensity_weights(np.array([1, 0]), 0).tolist() == [1.0, 1.0]
    assert training_propensity_weights(np.array([1, 2, 3]), 3)[0] > 1  # the formula from N = 3


def test_inverse_propensities_by_hand() -> None:
    np.testing.assert_allclose(
        inverse_propensities(np.array([0, 1, 3, 7]), 100, a=1.0, b=1.0), W_HAND, rtol=1e-15
    )
    # defaults A = 0.55, B = 1.5, N = 1000: C = (ln 1000 - 1)·2.5^0.55; N_l = 1 gives
    # 1 + C·2.5^-0.55 = ln 1000 for any A; the other values computed with `bc -l`
    out = inverse_propensities([0, 1, 10, 999], 1000)
    expected = [8.824188577703568, math.log(1000), 3.552147023508369, 1.218861867463205]
    np.testing.assert_allclose(out, expected, rtol=1e-14)
    assert out.dtype == np.float64


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(0, 10**6), min_size=1, max_size=20),
    st.integers(3, 10**7),
    st.floats(0.05, 2.0),
    st.floats(0.01, 5.0),
)
def test_inverse_propensities_decrease_with_frequency_and_exceed_one(counts, n, a, b) -> None:
    counts = np.sort(np.minimum(counts, n))
    w = inverse_propensities(counts, n, a=a, b=b)
    assert np.all(w > 1.0)
    assert np.all(np.diff(w) <= 0.0)  # non-increasing in N_l (ties: equal counts)
    assert np.all(np.diff(w)[np.diff(counts) > 0] < 0.0)  # strictly where N_l grows


def test_propensity_hand_computed_example() -> None:
    out = evaluate(Y, S, inverse_propensities=W_HAND)
    plain = evaluate(Y, S)
    ps_keys = [f"{m}_at_{k}" for m in ("psp", "psndcg") for k in (1, 3, 5)]
    assert list(out) == METRIC_KEYS[:-2] + ps_keys + METRIC_KEYS[-2:]
    assert {key: out[key] for key in plain} == plain  # nothing else changes
    w0, w1, w2, w3 = W_HAND
    # positives: d0 {L0, L2}, d1 {L1}, d2 {L0, L1, L3}; w0 > w1 > w2 > w3;
    # rankings: d0 = L0 L2 L1 L3, d1 = L2 L1 L0 L3, d2 = L0 L3 L2 L1
    # PSP@1: hits d0 L0, d2 L0 -> 2·w0; best w0 + w1 + w0
    #   = (4 ln100 - 2)/(5 ln100 - 2) = 16.42068074/21.02585093 = 0.780975799679507537...
    assert out["psp_at_1"] == pytest.approx(2 * w0 / (2 * w0 + w1), rel=1e-12)
    assert out["psp_at_1"] == pytest.approx(0.7809757996795075, rel=1e-12)
    # PSP@3: hits d0 L0 L2, d1 L1, d2 L0 L3 -> 2·w0 + w1 + w2 + w3 = (23 ln100 - 3)/4;
    #   best d0 w0 + w2, d1 w1, d2 w0 + w1 + w3 -> one more w1 = (27 ln100 - 3)/4
    #   PSP@3 = (23 ln100 - 3)/(27 ln100 - 3) = 0.848189037216900744...
    assert out["psp_at_3"] == pytest.approx(0.8481890372169007, rel=1e-12)
    # PSP@5 > 4 labels: every positive is in the top 4 -> 1
    assert out["psp_at_5"] == 1.0
    # PSnDCG@1 = PSP@1 (IDCG@1 = 1 for every kept document)
    assert out["psndcg_at_1"] == pytest.approx(out["psp_at_1"], rel=1e-12)
    # PSnDCG@3, discounts 1, L3 = 1/log2 3, 1/2; IDCG: d0 1 + L3, d1 1, d2 1 + L3 + 1/2
    #   d0: DCG (w0 + w2·L3) = best             -> 6.118335061464531 each after / IDCG
    #   d1: DCG w1·L3 = 2.905538890600089       best w1 = 4.605170185988091
    #   d2: DCG (w0 + w3·L3)/(1.5 + L3) = 4.415876400446182
    #       best (w0 + w1·L3 + w3/2)/(1.5 + L3) = 5.662563730972914
    #   PSnDCG@3 = 13.439750352510803 / 16.386068978425536 = 0.820193688321832531...
    d0 = (w0 + w2 * L3) / (1 + L3)
    num = d0 + w1 * L3 + (w0 + w3 * L3) / (1.5 + L3)
    den = d0 + w1 + (w0 + w1 * L3 + w3 / 2) / (1.5 + L3)
    assert out["psndcg_at_3"] == pytest.approx(num / den, rel=1e-12)
    assert out["psndcg_at_3"] == pytest.approx(0.8201936883218325, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(problems(max_docs=20), st.data())
def test_propensity_matches_loop_reference(problem, data) -> None:
    y, s, _ = problem
    w = data.draw(weights(y.shape[1]))
    ks = data.draw(st.sampled_from([(1, 3, 5), (2,), (1, 4, 10)]))
    n_labels = y.shape[1]
    idx = np.asarray(data.draw(st.permutations(range(n_labels)))[: data.draw(st.integers(1, 9))])
    for subset in (None, idx):
        cols = np.arange(n_labels) if subset is None else idx
        for y_in, chunk_size in ((y, None), (sp.csr_matrix(y), 1), (sp.csr_array(y), 3)):
            out = evaluate(
                y_in, s, ks=ks, label_subset=subset, chunk_size=chunk_size, inverse_propensities=w
            )
            for k in ks:
                psp, psndcg = reference_propensity(y[:, cols], s[:, cols], w[cols], k)
                assert out[f"psp_at_{k}"] == pytest.approx(psp, rel=1e-12, abs=1e-15)
                assert out[f"psndcg_at_{k}"] == pytest.approx(psndcg, rel=1e-12, abs=1e-15)


@settings(max_examples=50, deadline=None)
@given(problems(max_docs=30), st.data())
def test_propensity_chunking_sparse_and_subset_invariance(problem, data) -> None:
    y, s, threshold = problem
    w = data.draw(weights(y.shape[1]))
    expected = evaluate(y, s, threshold=threshold, chunk_size=1, inverse_propensities=w)
    for y_in, chunk_size in ((y, None), (sp.csr_matrix(y), 7), (sp.coo_matrix(y), None)):
        out = evaluate(y_in, s, threshold=threshold, chunk_size=chunk_size, inverse_propensities=w)
        assert out.keys() == expected.keys()
        for key, value in expected.items():  # float sums: equal up to rounding
            assert out[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
    idx = np.asarray(data.draw(st.permutations(range(y.shape[1]))))[: max(1, y.shape[1] // 2)]
    sliced = evaluate(y[:, idx], s[:, idx], threshold=threshold, inverse_propensities=w[idx])
    assert evaluate(y, s, threshold=threshold, label_subset=idx, inverse_propensities=w) == sliced


@settings(max_examples=50, deadline=None)
@given(problems(max_docs=20), st.data())
def test_propensity_properties(problem, data) -> None:
    y, s, _ = problem
    w = data.draw(weights(y.shape[1]))
    ks = (1, 2, 3, 5, 10)
    out = evaluate(y, s, ks=ks, inverse_propensities=w)
    ideal = evaluate(y, y * w, ks=ks, inverse_propensities=w)  # scores = y·w: best ranking
    const = evaluate(y, s, ks=ks, inverse_propensities=np.full(y.shape[1], 2.5))
    kept = y.sum(axis=1) > 0
    for k in ks:
        assert 0.0 <= out[f"psp_at_{k}"] <= 1.0
        assert 0.0 <= out[f"psndcg_at_{k}"] <= 1.0 + 1e-12
        assert ideal[f"psp_at_{k}"] == ideal[f"psndcg_at_{k}"] == float(kept.any())
        # constant w: PSP@k = sum of hits / sum of min(k, |y|) (not P@k = mean hits / k);
        # PSnDCG@k = nDCG@k (the best DCG is w·IDCG for every document)
        hits = sum(y[d, ranked(s[d])[:k]].sum() for d in np.flatnonzero(kept))
        cap = np.minimum(y.sum(axis=1), k).sum()
        assert const[f"psp_at_{k}"] == pytest.approx(hits / cap if cap else 0.0, rel=1e-12)
        assert const[f"psndcg_at_{k}"] == pytest.approx(const[f"ndcg_at_{k}"], rel=1e-12)


def test_propensity_rows_without_positives_and_none_at_all() -> None:
    y = np.vstack([Y, [0, 0, 0, 0]])
    s = np.vstack([S, [0.95, 0.0, 0.0, 0.0]])
    base = evaluate(Y, S, inverse_propensities=W_HAND)
    out = evaluate(y, s, inverse_propensities=W_HAND, chunk_size=1)
    for key in ("psp_at_1", "psp_at_3", "psndcg_at_3", "psndcg_at_5"):
        assert out[key] == pytest.approx(base[key], rel=1e-12)
    empty = evaluate(np.zeros((2, 3)), np.ones((2, 3)), inverse_propensities=np.ones(3))
    assert empty["psp_at_1"] == 0.0 and empty["psndcg_at_5"] == 0.0
    assert not any(key.startswith("ps") for key in evaluate(Y, S))  # keys as without PS
    no_ks = evaluate(Y, S, ks=(), inverse_propensities=W_HAND)
    assert list(no_ks) == [key for key in METRIC_KEYS if "_at_" not in key]


# ----------------------------------------------------------------------------------------------
# errors
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("y", "s", "kwargs", "message"),
    [
        (Y, S[:, :3], {}, r"same shape .* y_true \(3, 4\) and scores \(3, 3\)"),
        (sp.csr_matrix(Y), S.T, {}, r"same shape"),
        (Y, np.where(S > 0.85, np.nan, S), {}, r"NaN at document 0, column 0"),
        (Y * 2, S, {}, r"only 0/1 values; received e.g. 2"),
        (sp.csr_matrix(Y * 0.5), S, {}, r"only 0/1 values"),
        (np.zeros((0, 4)), np.zeros((0, 4)), {}, r"at least one document .* \(0, 4\)"),
        (Y[0], S[0], {}, r"2-D"),
        (Y, S, {"ks": (0,)}, r"positive integers"),
        (Y, S, {"label_subset": []}, r"non-empty"),
        (Y, S, {"label_subset": [0, 4]}, r"\[0, 4\)"),
        (Y, S, {"label_subset": [1, 1]}, r"duplicate"),
        (Y, S, {"label_subset": [True, False]}, r"length 4"),
        (Y, S, {"threshold": float("nan")}, r"threshold must not be NaN"),
        (Y, S, {"chunk_size": 0}, r"chunk_size"),
        (Y, S, {"inverse_propensities": np.ones(3)}, r"one entry per column of y_true \(4\)"),
        (Y, S, {"inverse_propensities": np.ones((1, 4))}, r"1-D"),
        (Y, S, {"inverse_propensities": np.array([1, 0, 1, 1.0])}, r"finite and > 0"),
        (Y, S, {"inverse_propensities": np.array([1, np.nan, 1, 1])}, r"finite and > 0"),
        (Y, S, {"inverse_propensities": np.ones(4, dtype=bool)}, r"real numbers"),
    ],
)
def test_errors(y, s, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate(y, s, **kwargs)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (([[1, 2]], 10), {}, r"1-D"),
        (([], 10), {}, r"non-empty"),
        (([1, -1], 10), {}, r"non-negative"),
        (([1, np.inf], 10), {}, r"finite"),
        (([True, False], 10), {}, r"real numbers"),
        (([1, 2], 2), {}, r"n_docs must be an integer >= 3"),
        (([1, 2], 10.0), {}, r"n_docs must be an integer"),
        (([1, 11], 10), {}, r"cannot exceed n_docs \(10\)"),
        (([1, 2], 10), {"a": 0.0}, r"a must be finite and > 0"),
        (([1, 2], 10), {"a": np.nan}, r"a must be finite"),
        (([1, 2], 10), {"b": -1.0}, r"b must be finite and > -1"),
        (([0, 2], 10), {"b": 0.0}, r"count 0 needs b > 0"),
    ],
)
def test_inverse_propensities_errors(args, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        inverse_propensities(np.asarray(args[0]), args[1], **kwargs)


def test_sparse_scores_rejected() -> None:
    with pytest.raises(TypeError, match="dense"):
        evaluate(Y, sp.csr_matrix(S))


def test_library_does_not_import_kedro_or_mlflow() -> None:
    for module in (metrics, thresholds):
        tree = ast.parse(Path(module.__file__).read_text())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
        assert "numpy" in imported
        assert not imported & {"kedro", "mlflow"}, module.__name__
