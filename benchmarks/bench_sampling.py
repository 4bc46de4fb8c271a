"""Benchmark of the METHODS §1.5 triplet sampler and the §1.7 support sets against a loop.

Run: ``PYTHONPATH=src python benchmarks/bench_sampling.py`` (about 5 s, < 1 GB RAM).

Data: the Delicious training label matrix (12,920 docs × 983 labels, Mulan split) when the
mirror ``../shared/datasets/delicious`` exists, else a synthetic matrix of the same shape and
density (Zipf-like label frequencies, ~19 labels per document).

1. ``sample_triplets(Y, 300_000, seed=0)`` (METHODS §1.5 default count for Delicious) versus a
   straightforward per-triplet Python loop sampler (same rules: T picks per label first, then
   random labels; rejection of invalid dissimilar pairs one at a time), timed on 20,000
   triplets and extrapolated linearly to 300,000.
2. ``sample_pairs(Y, 300_000, seed=0)`` (plain pairs, documents sharing no label).
3. ``support_indices(Y, 5, seed=0)`` versus a per-label ``rng.choice`` loop.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from _timing import best_time

from longtail_mltc.sampling import label_docs, sample_pairs, sample_triplets, support_indices

ROOT = Path(__file__).resolve().parents[1]
MIRROR = ROOT.parent / "shared" / "datasets"
N_TRIPLETS, N_LOOP, T = 300_000, 20_000, 10


def delicious_train() -> tuple[sp.csr_matrix, str]:
    """Delicious train-split label matrix, or a synthetic stand-in of the same shape."""
    if (MIRROR / "delicious").is_dir():
        from longtail_mltc.corpora import load_corpus
        from longtail_mltc.labels import build_label_index, to_label_matrix

        corpus = load_corpus("delicious", raw_root=ROOT / "data" / "01_raw", mirror=MIRROR)
        train = corpus.loc[corpus["split"] == "train", "labels"].tolist()
        return to_label_matrix(train, build_label_index(train)), "Delicious (mirror)"
    rng = np.random.default_rng(0)
    n_docs, n_labels = 12_920, 983
    freq = 1.0 / np.arange(1, n_labels + 1) ** 0.8
    rows = np.repeat(np.arange(n_docs), 19)
    cols = rng.choice(n_labels, size=rows.size, p=freq / freq.sum())
    y = sp.csr_matrix((np.ones(rows.size, np.int8), (rows, cols)), shape=(n_docs, n_labels))
    y.data[:] = 1
    return y, "synthetic Delicious-like"


def loop_triplets(y: sp.csr_matrix, n: int, seed: int) -> list[tuple[int, int, int, int]]:
    """Per-triplet Python loop with the same rules as ``sample_triplets`` (the alternative)."""
    gen = random.Random(seed)
    csc = y.tocsc()
    docs = [csc.indices[csc.indptr[c] : csc.indptr[c + 1]].tolist() for c in range(y.shape[1])]
    carried = [set(y.indices[y.indptr[d] : y.indptr[d + 1]].tolist()) for d in range(y.shape[0])]
    labels = [c for c in range(y.shape[1]) if docs[c]]
    picks = [c for c in labels for _ in range(T)]
    gen.shuffle(picks)
    out: list[tuple[int, int, int, int]] = []
    n_similar = 0
    while len(out) < n:
        c = picks.pop() if picks else gen.choice(labels)
        if len(docs[c]) > 1 and 3 * n_similar <= len(out):
            d_i, d_j = gen.sample(docs[c], 2)
            out.append((d_i, d_j, c, 1))
            n_similar += 1
            continue
        while True:
            c_j = gen.choice(labels)
            d_i, d_j = gen.choice(docs[c]), gen.choice(docs[c_j])
            if c_j not in carried[d_i] and c not in carried[d_j]:
                break
        out += [(d_i, d_j, c_j, 0), (d_j, d_i, c, 0)]
    gen.shuffle(out)
    return out[:n]


def loop_support(y: sp.csr_matrix, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    csc = y.tocsc()
    out = np.full((y.shape[1], k), -1, dtype=np.int64)
    for c in range(y.shape[1]):
        docs = csc.indices[csc.indptr[c] : csc.indptr[c + 1]]
        pick = rng.choice(docs, min(k, docs.size), replace=False)
        out[c, : pick.size] = pick
    return out


def bench_triplets(y: sp.csr_matrix) -> None:
    docs = label_docs(y)
    t_index, _ = best_time(lambda: label_docs(y))
    t_ours, trip = best_time(lambda: sample_triplets(docs, N_TRIPLETS, seed=0))
    t_loop, _ = best_time(lambda: loop_triplets(y, N_LOOP, seed=0), repeat=1)
    t_loop_full = t_loop * N_TRIPLETS / N_LOOP
    picks = np.bincount(trip.label, minlength=docs.n_labels)[docs.drawable_labels]
    print(f"[triplets] {N_TRIPLETS:,} triplets, T={T}")
    print(f"  label_docs (index the matrix once)     {t_index:8.3f} s")
    print(f"  sample_triplets                        {t_ours:8.3f} s  (+ index: {t_index:.3f} s)")
    print(
        f"  per-triplet loop: {t_loop:.2f} s on {N_LOOP:,} -> {t_loop_full:.1f} s "
        f"extrapolated to {N_TRIPLETS:,}"
    )
    print(f"  ratio loop/sample_triplets = {t_loop_full / (t_ours + t_index):.0f}x")
    carries = np.asarray(y[trip.second, trip.label]).ravel() == 1
    first = np.asarray(y[trip.first, trip.label]).ravel() == 1
    print(
        f"  similar share {trip.target.mean():.4f}; picks per label min {picks.min()}, "
        f"median {np.median(picks):.0f}, max {picks.max()}; second carries label: "
        f"{carries.all()}; first carries it iff t=1: {np.array_equal(first, trip.target == 1)}"
    )


def bench_pairs(y: sp.csr_matrix) -> None:
    docs = label_docs(y)
    t_pairs, pairs = best_time(lambda: sample_pairs(docs, N_TRIPLETS, seed=0))
    print(f"[pairs] sample_pairs {N_TRIPLETS:,} plain pairs  {t_pairs:8.3f} s")


def bench_support(y: sp.csr_matrix) -> None:
    t_ours, _ = best_time(lambda: support_indices(y, 5, seed=0))
    t_loop, _ = best_time(lambda: loop_support(y, 5, seed=0))
    print(f"[support] support_indices k=5 {t_ours:8.4f} s; per-label rng.choice loop ", end="")
    print(f"{t_loop:8.4f} s; ratio {t_loop / t_ours:.1f}x")


def main() -> None:
    y, source = delicious_train()
    counts = np.asarray(y.sum(axis=0)).ravel()
    print(
        f"{source}: {y.shape[0]:,} docs × {y.shape[1]:,} labels, {y.nnz / y.shape[0]:.1f} "
        f"labels/doc, N_c min {counts.min()} median {np.median(counts):.0f} max {counts.max()}"
    )
    bench_triplets(y)
    bench_pairs(y)
    bench_support(y)


if __name__ == "__main__":
    main()
