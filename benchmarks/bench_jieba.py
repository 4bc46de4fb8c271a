"""Benchmark of jieba segmentation (METHODS §2.1) on the Chinese corpora: one process vs a pool.

Run: ``PYTHONPATH=src python benchmarks/bench_jieba.py [--workers 2] [--books-copies 50]``
(about 30-60 s on 2 cores, < 1 GB RAM; needs the mirror ``../shared/datasets``).

For each corpus:

1. named alternative: plain ``jieba.lcut`` over the texts in one process (jieba's global
   tokenizer, no filtering), the usual way to segment a corpus;
2. ``segment_corpus(workers=1)``: the project's tokens (filtering + lowercasing included);
3. ``segment_corpus(workers=N)``: the same over a process pool, checked equal to (2);
4. ``segment_corpus`` reading back its on-disk cache.

Corpora: the douban_movies summaries (2,049 documents with summary and genre) and the
douban_books_sample descriptions (99 with text) replicated ``--books-copies`` times, standing in
for the 52k-document IMCM corpus. Throughput in characters/s and documents/s (wall clock), and
CPU seconds including pool workers: on a shared machine the wall-clock speed-up is noisy, while
the CPU ratio shows the pool's overhead (its bound on the speed-up on idle cores). Ratios printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import jieba

from longtail_mltc.text.chinese import JIEBA_VERSION, segment_corpus, tokenize_jieba

MIRROR = Path(
    os.environ.get(
        "LONGTAIL_MLTC_MIRROR", Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
    )
)


def movie_summaries() -> list[str]:
    path = MIRROR / "douban_movies" / "douban_all_movies.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [row["summary"].strip() for row in rows if row["summary"].strip() and row["genres"]]


def book_descriptions(copies: int) -> list[str]:
    path = MIRROR / "douban_books_sample" / "post.dat"
    with path.open(encoding="utf-8") as handle:
        texts = [json.loads(line)["content"].strip() for line in handle if line.strip()]
    texts = [text for text in texts if text]
    # Distinct texts per copy (a suffix), so nothing can be shared between copies.
    return [f"{text}（第{copy}册）" for copy in range(copies) for text in texts]


def _cpu_seconds() -> float:
    """CPU seconds of this process plus its finished (reaped) children, e.g. pool workers."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def best_time(fn: Callable[[], object], repeat: int = 2) -> tuple[float, float, object]:
    """Best wall-clock seconds, the CPU seconds of that run (workers included), and the result.

    With other work competing for the cores, wall times are noisy; CPU seconds are not, and
    they show what a pool costs in total compared with one process."""
    best, cpu, out = math.inf, math.inf, None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), _cpu_seconds()
        out = fn()
        wall = time.perf_counter() - start
        if wall < best:
            best, cpu = wall, _cpu_seconds() - start_cpu
    return best, cpu, out


def rates(seconds: float, texts: list[str], cpu: float | None = None) -> str:
    chars = sum(map(len, texts))
    line = f"{seconds:6.2f} s {chars / seconds:10,.0f} chars/s {len(texts) / seconds:8,.0f} docs/s"
    return line if cpu is None else f"{line}  (CPU {cpu:.2f} s: {chars / cpu:,.0f} chars/CPU-s)"


def bench(name: str, texts: list[str], workers: int) -> None:
    chars = sum(map(len, texts))
    print(f"[{name}] {len(texts):,} documents, {chars:,} characters ({chars / len(texts):.0f}/doc)")
    t_plain, c_plain, _ = best_time(lambda: [jieba.lcut(text) for text in texts])
    t_one, c_one, one = best_time(lambda: segment_corpus(texts, workers=1))
    t_many, c_many, many = best_time(
        lambda: segment_corpus(texts, workers=workers, min_parallel_chars=0)
    )
    with tempfile.TemporaryDirectory() as cache_dir:
        segment_corpus(texts, cache_dir=cache_dir, workers=workers)
        t_cache, _, cached = best_time(lambda: segment_corpus(texts, cache_dir=cache_dir))
    assert many == one == cached, "parallel or cached segmentation differs from one process"
    tokens = sum(map(len, one))
    print(f"  jieba.lcut loop (alternative) {rates(t_plain, texts, c_plain)}")
    print(f"  segment_corpus workers=1      {rates(t_one, texts, c_one)}")
    print(f"  segment_corpus workers={workers}      {rates(t_many, texts, c_many)}  identical")
    print(f"  segment_corpus cache hit      {rates(t_cache, texts)}  {tokens:,} tokens")
    print(
        f"  ratios: workers=1 / lcut = {t_one / t_plain:.2f}x time, "
        f"speed-up workers={workers} vs 1 = {t_one / t_many:.2f}x, "
        f"cache vs workers=1 = {t_one / t_cache:.0f}x faster"
    )
    print(
        f"  pool CPU overhead: {c_many / c_one:.2f}x the CPU seconds of one process; on "
        f"{workers} idle cores that bounds the speed-up at about {workers * c_one / c_many:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--books-copies", type=int, default=50)
    args = parser.parse_args()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"jieba {JIEBA_VERSION}; {cpus} CPUs available; pool of {args.workers} workers")
    jieba.setLogLevel(60)  # silence the global tokenizer's dictionary-loading messages
    jieba.initialize()
    tokenize_jieba("预热")  # both dictionaries loaded before timing
    bench("douban_movies summaries", movie_summaries(), args.workers)
    bench(
        f"books sample descriptions x{args.books_copies}",
        book_descriptions(args.books_copies),
        args.workers,
    )


if __name__ == "__main__":
    main()
