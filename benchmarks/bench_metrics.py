"""Benchmark of the METHODS §4 metrics and the §3.1 threshold search against naive alternatives.

Run: ``PYTHONPATH=src python benchmarks/bench_metrics.py`` (about 30-60 s, ~2 GB RAM).

1. ``evaluate`` on 20,000 docs × 2,000 labels (sparse long-tailed ``y_true``, float32 scores)
   versus scikit-learn ``precision_recall_fscore_support`` (micro + macro) plus a per-document
   Python loop for P@k / nDCG@k (k = 1, 3, 5) timed on 2,000 docs and extrapolated per doc;
   also ``evaluate`` with ``inverse_propensities`` (adds PSP@k / PSnDCG@k) relative to plain.
2. ``search_global_threshold`` (exact, and on a 200-point grid) on a 2,000 × 2,000 validation set
   versus a loop over 200 candidate thresholds calling ``sklearn.metrics.f1_score``
   (timed on 20 candidates, extrapolated).
3. Scale check: ``evaluate`` on 4,000 docs × 18,000 labels, extrapolated to 800,000 docs
   (plain and with propensity-scored metrics).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from _timing import best_time
from sklearn.metrics import f1_score, precision_recall_fscore_support

from longtail_mltc.evaluation.metrics import evaluate, inverse_propensities, resolve_chunk_size
from longtail_mltc.evaluation.thresholds import search_global_threshold

KS = (1, 3, 5)


def make_data(n_docs: int, n_labels: int, seed: int = 0) -> tuple[sp.csr_matrix, np.ndarray]:
    """Zipf-like label frequencies (~4 labels/doc) and float32 scores correlated with y."""
    rng = np.random.default_rng(seed)
    freq = 1.0 / np.arange(1, n_labels + 1) ** 1.1
    per_doc = rng.poisson(3.0, n_docs) + 1
    rows = np.repeat(np.arange(n_docs), per_doc)
    cols = rng.choice(n_labels, size=rows.size, p=freq / freq.sum())
    y = sp.csr_matrix((np.ones(rows.size, np.int8), (rows, cols)), shape=(n_docs, n_labels))
    y.data[:] = 1
    logits = rng.standard_normal((n_docs, n_labels), dtype=np.float32) - 2.5
    logits[rows, cols] += 3.0
    return y, 1.0 / (1.0 + np.exp(-logits))


def loop_ranking(y: sp.csr_matrix, s: np.ndarray, ks: tuple[int, ...]) -> dict[str, float]:
    """Straightforward per-document P@k / nDCG@k (documents without positives skipped)."""
    sums = {f"{m}_at_{k}": 0.0 for m in ("p", "ndcg") for k in ks}
    kept = 0
    for i in range(y.shape[0]):
        positives = set(y.indices[y.indptr[i] : y.indptr[i + 1]].tolist())
        if not positives:
            continue
        kept += 1
        order = np.argsort(-s[i], kind="stable")
        for k in ks:
            top = order[:k]
            sums[f"p_at_{k}"] += sum(int(t) in positives for t in top) / k
            dcg = sum(1 / math.log2(r + 2) for r, t in enumerate(top) if int(t) in positives)
            idcg = sum(1 / math.log2(r + 2) for r in range(min(k, len(positives))))
            sums[f"ndcg_at_{k}"] += dcg / idcg
    return {key: value / kept for key, value in sums.items()}


def propensities_of(y: sp.csr_matrix) -> np.ndarray:
    """Inverse propensities (A = 0.55, B = 1.5) from the label counts of ``y`` itself."""
    return inverse_propensities(np.asarray(y.sum(axis=0)).ravel(), y.shape[0])


def sklearn_prf(y: sp.csr_matrix, s: np.ndarray, threshold: float) -> dict[str, float]:
    pred = sp.csr_matrix(s >= threshold)
    out = {}
    for avg in ("micro", "macro"):
        p, r, f, _ = precision_recall_fscore_support(y, pred, average=avg, zero_division=0)
        out |= {f"{avg}_precision": p, f"{avg}_recall": r, f"{avg}_f1": f}
    return out


def bench_evaluate() -> None:
    n_docs, n_labels, n_loop = 20_000, 2_000, 2_000
    y, s = make_data(n_docs, n_labels)
    print(f"[evaluate] {n_docs:,} docs × {n_labels:,} labels, nnz={y.nnz:,}, scores float32")
    t_ours, ours = best_time(lambda: evaluate(y, s, threshold=0.5, ks=KS), repeat=3)
    w = propensities_of(y)
    t_ps, ours_ps = best_time(
        lambda: evaluate(y, s, threshold=0.5, ks=KS, inverse_propensities=w), repeat=3
    )
    t_prf, ref = best_time(lambda: sklearn_prf(y, s, 0.5), repeat=1)
    t_loop, ref_rank = best_time(lambda: loop_ranking(y[:n_loop], s[:n_loop], KS), repeat=1)
    t_loop_full = t_loop * n_docs / n_loop
    ours_sub = evaluate(y[:n_loop], s[:n_loop], ks=KS)
    diff = max(abs(ours[key] - value) for key, value in ref.items())
    diff_rank = max(abs(ours_sub[key] - value) for key, value in ref_rank.items())
    print(f"  evaluate (all 13 metrics, one pass)   {t_ours:8.3f} s")
    print(
        f"  evaluate + PSP@k/PSnDCG@k (19 metrics) {t_ps:8.3f} s = {t_ps / t_ours:.2f}x plain "
        f"(PSP@1={ours_ps['psp_at_1']:.3f}, PSP@5={ours_ps['psp_at_5']:.3f})"
    )
    print(f"  sklearn precision_recall_fscore_support micro+macro {t_prf:8.3f} s")
    print(
        f"  per-doc loop P@k/nDCG@k: {t_loop:.3f} s on {n_loop:,} docs "
        f"-> {t_loop_full:.2f} s extrapolated to {n_docs:,}"
    )
    t_alt = t_prf + t_loop_full
    print(f"  alternative total {t_alt:.2f} s; ratio alternative/evaluate = {t_alt / t_ours:.1f}x")
    print(f"  max |diff| vs sklearn P/R/F1 {diff:.1e}; vs loop ranking (subset) {diff_rank:.1e}")


def bench_threshold() -> None:
    n_docs, n_labels, n_cand, n_timed = 2_000, 2_000, 200, 20
    y, s = make_data(n_docs, n_labels, seed=1)
    grid = np.linspace(0.0, 1.0, n_cand)
    print(f"[threshold] validation {n_docs:,} × {n_labels:,} ({s.size:,} cells), {n_cand} cand.")
    t_exact, (t_e, f_e) = best_time(lambda: search_global_threshold(y, s), repeat=3)
    t_grid, (t_g, f_g) = best_time(lambda: search_global_threshold(y, s, candidates=grid), repeat=3)

    def naive(cands: np.ndarray) -> tuple[float, float]:
        f1s = [f1_score(y, sp.csr_matrix(s >= t), average="micro") for t in cands]
        i = int(np.argmax(f1s))
        return float(cands[i]), float(f1s[i])

    step = n_cand // n_timed
    t_naive, _ = best_time(lambda: naive(grid[::step]), repeat=1)
    t_naive_full = t_naive * n_cand / len(grid[::step])
    n_distinct = np.unique(s[y.nonzero()]).size
    print(f"  exact search ({n_distinct:,} positive-cell values) {t_exact:7.3f} s", end="")
    print(f"  t={t_e:.4f} F1={f_e:.4f}")
    print(f"  grid search ({n_cand} candidates)          {t_grid:7.3f} s  t={t_g:.4f} F1={f_g:.4f}")
    print(
        f"  naive sklearn f1_score loop: {t_naive:.2f} s for {len(grid[::step])} candidates "
        f"-> {t_naive_full:.1f} s for {n_cand}"
    )
    print(
        f"  ratio naive/grid = {t_naive_full / t_grid:.0f}x, naive/exact = "
        f"{t_naive_full / t_exact:.0f}x"
    )


def bench_scale() -> None:
    n_docs, n_labels, target = 4_000, 18_000, 800_000
    y, s = make_data(n_docs, n_labels, seed=2)
    t, out = best_time(lambda: evaluate(y, s, ks=KS), repeat=1)
    rows = resolve_chunk_size(None, n_labels)
    print(f"[scale] {n_docs:,} × {n_labels:,}: evaluate {t:.2f} s (chunks of {rows} rows)")
    minutes = t * target / n_docs / 60
    print(f"  extrapolated to {target:,} docs: {minutes:.1f} min (P@1={out['p_at_1']:.3f})")
    w = propensities_of(y)
    t_ps, out_ps = best_time(lambda: evaluate(y, s, ks=KS, inverse_propensities=w), repeat=1)
    print(
        f"  with PSP@k/PSnDCG@k: {t_ps:.2f} s = {t_ps / t:.2f}x plain "
        f"(PSP@1={out_ps['psp_at_1']:.3f})"
    )


def main() -> None:
    bench_evaluate()
    bench_threshold()
    bench_scale()


if __name__ == "__main__":
    main()
