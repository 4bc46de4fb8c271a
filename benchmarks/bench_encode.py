"""Benchmark: vectorised ``encode`` vs a per-document NumPy loop (DESIGN "Performance approach").

Run: ``PYTHONPATH=src python benchmarks/bench_encode.py [n_docs] [max_len]``. Synthetic Zipf-like
corpus (document lengths 0..400 tokens, 50k-word vocabulary); prints times and the speed-up.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from longtail_mltc.text import UNK_ID, Vocabulary, build_vocabulary, encode


def synthetic_corpus(n_docs: int, seed: int = 0) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(60_000)])
    lengths = rng.integers(0, 400, size=n_docs)
    ids = np.minimum(rng.zipf(1.3, size=int(lengths.sum())) - 1, len(words) - 1)
    flat = words[ids].tolist()
    starts = np.concatenate([[0], np.cumsum(lengths)])
    return [flat[a:b] for a, b in zip(starts[:-1], starts[1:], strict=True)]


def encode_loop(docs: list[list[str]], vocab: Vocabulary, max_len: int) -> tuple[np.ndarray, ...]:
    """The named alternative: one NumPy row assignment per document."""
    ids = np.zeros((len(docs), max_len), dtype=np.int64)
    lengths = np.zeros(len(docs), dtype=np.int64)
    for i, tokens in enumerate(docs):
        row = [vocab.index.get(t, UNK_ID) for t in tokens[:max_len]]
        ids[i, : len(row)] = row
        lengths[i] = len(row)
    return ids, lengths


def best_of(fn, repeats: int = 3) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    n_docs = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    max_len = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    docs = synthetic_corpus(n_docs)
    vocab = build_vocabulary(docs, max_size=50_000)
    fast, slow = encode(docs, vocab, max_len), encode_loop(docs, vocab, max_len)
    assert all(np.array_equal(a, b) for a, b in zip(fast, slow, strict=True))
    t_fast = best_of(lambda: encode(docs, vocab, max_len))
    t_slow = best_of(lambda: encode_loop(docs, vocab, max_len))
    n_tokens = sum(len(d) for d in docs)
    print(f"{n_docs} docs, {n_tokens} tokens, max_len {max_len}, vocab {len(vocab)}")
    print(f"encode (vectorised): {t_fast:.3f} s")
    print(f"per-document loop:   {t_slow:.3f} s")
    print(f"speed-up: {t_slow / t_fast:.2f}x")


if __name__ == "__main__":
    main()
