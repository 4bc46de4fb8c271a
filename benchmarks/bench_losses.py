"""Benchmark of the METHODS §1.2 / §3 loss family against a Kim-CNN training step.

Run: ``PYTHONPATH=src python benchmarks/bench_losses.py`` (about 30-60 s on 2 CPU cores, <2 GB).

At batch 100 × 983 labels (Delicious-sized), each loss's forward + backward on a logits leaf is
timed (median of many calls) and set against

1. one training step of the project's Kim CNN (``build_classifier("kim_cnn", ...)``: 100
   documents × 200 tokens, 300-d embeddings, forward + backward + fused Adam step, BCE), and
2. the named alternative ``F.binary_cross_entropy_with_logits`` (torch's fused BCE).

Target: every loss costs under 5% of the training step. Labels follow a Zipf-like long tail
(some labels with count 0, one on every document), targets ~20 labels per document.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from torch.nn import functional as F

from longtail_mltc.losses import LOSSES, build_loss
from longtail_mltc.models import build_classifier

BATCH, LABELS, TOKENS, N_TRAIN = 100, 983, 200, 12_920


def median_time(fn: Callable[[], object], repeat: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def make_statistics(seed: int = 0) -> tuple[np.ndarray, torch.Tensor]:
    """Long-tailed label counts and a batch of targets drawn from the same frequencies."""
    rng = np.random.default_rng(seed)
    freq = 1.0 / np.arange(1, LABELS + 1) ** 1.2
    counts = np.floor(N_TRAIN * freq / freq[0]).astype(np.int64)  # label 0 on every document
    counts[-20:] = 0
    probs = np.minimum(20 * freq / freq.sum(), 1.0)
    targets = torch.from_numpy((rng.random((BATCH, LABELS)) < probs).astype(np.float32))
    return counts, targets


def time_training_step(vocab_size: int, repeat: int) -> float:
    torch.manual_seed(0)
    model = build_classifier("kim_cnn", num_labels=LABELS, vocab_size=vocab_size, embedding_dim=300)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    loss_fn = build_loss("bce", np.ones(LABELS, dtype=np.int64), N_TRAIN)
    tokens = torch.randint(2, vocab_size, (BATCH, TOKENS))
    targets = (torch.rand(BATCH, LABELS) < 0.02).float()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(tokens), targets)
        loss.backward()
        optimizer.step()

    return median_time(step, repeat, warmup=1)


def time_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], repeat: int) -> float:
    _, targets = make_statistics()
    logits = (torch.randn(BATCH, LABELS) * 3).requires_grad_()

    def forward_backward() -> None:
        logits.grad = None
        fn(logits, targets).backward()

    return median_time(forward_backward, repeat, warmup=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab-size", type=int, default=10_000)
    parser.add_argument("--step-repeat", type=int, default=5)
    parser.add_argument("--loss-repeat", type=int, default=200)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's own)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    t_step = time_training_step(args.vocab_size, args.step_repeat)
    print(
        f"[step] Kim CNN fwd+bwd+Adam, batch {BATCH} × {TOKENS} tokens, vocab "
        f"{args.vocab_size:,}, {LABELS} labels: {t_step * 1e3:8.1f} ms (median of "
        f"{args.step_repeat})"
    )
    t_torch = time_loss(
        lambda z, y: F.binary_cross_entropy_with_logits(z, y, reduction="sum") / z.shape[0],
        args.loss_repeat,
    )
    print(f"[alternative] F.binary_cross_entropy_with_logits fwd+bwd: {t_torch * 1e3:.3f} ms")
    counts, _ = make_statistics()
    print(f"{'loss':<12} {'fwd+bwd ms':>10} {'/ step':>8} {'/ torch BCE':>12}")
    worst = 0.0
    for name in LOSSES:
        loss = build_loss(name, counts, N_TRAIN)
        t = time_loss(loss, args.loss_repeat)
        worst = max(worst, t / t_step)
        print(f"{name:<12} {t * 1e3:10.3f} {t / t_step:8.2%} {t / t_torch:11.1f}x")
    verdict = "OK" if worst < 0.05 else "ABOVE TARGET"
    print(f"largest loss / step ratio: {worst:.2%} (target < 5%: {verdict})")


if __name__ == "__main__":
    main()
