"""Cost of the divergence guard (``training.guards``) in one Kim-CNN training step.

Run: ``PYTHONPATH=src python benchmarks/bench_step_guard.py`` (about 30 s on 2 CPU cores).

The guard reads each batch's loss (the loop already did, for the epoch mean) and computes one
fused L2 norm over every gradient before the optimiser step. Named alternative: the same step
without the gradient norm (the loop before the guard). Sizes are the main job's on Reuters:
100 documents × 200 tokens, 300-d embeddings over an 18,756-word vocabulary (trainable), 128
filters, 1,024 hidden, 90 labels, BCE, fused Adam. Target: under 3% of a step.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from longtail_mltc.losses import bce_loss
from longtail_mltc.models import build_classifier
from longtail_mltc.training.guards import StepPlace, check_finite_loss, clip_and_check_gradients

BATCH, TOKENS, VOCAB, LABELS = 100, 200, 18_756, 90


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="timed steps per variant")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = build_classifier(
        "kim_cnn", LABELS, vocab_size=VOCAB, embedding_dim=300, num_filters=128, hidden_dim=1024
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    ids = torch.randint(2, VOCAB, (BATCH, TOKENS))
    targets = (torch.rand(BATCH, LABELS) < 0.02).float()
    place = StepPlace("KimCNN", 1, 1, 1e-3)

    def step(guarded: bool) -> None:
        loss = bce_loss(model(ids), targets)
        value = float(loss.detach())
        if guarded:
            check_finite_loss(value, place)
        loss.backward()
        if guarded:
            clip_and_check_gradients(model.parameters(), None, place)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(3):
        step(False), step(True)  # warm-up
    for _ in range(args.repeat):  # interleaved, so machine load hits both alike
        for guarded in (False, True):
            start = time.perf_counter()
            step(guarded)
            times[guarded].append(time.perf_counter() - start)
    plain, guarded = statistics.median(times[False]), statistics.median(times[True])
    bce_loss(model(ids), targets).backward()  # gradients to measure the guard alone on
    norm_times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        clip_and_check_gradients(model.parameters(), None, place)
        norm_times.append(time.perf_counter() - start)
    guard = statistics.median(norm_times)
    params = sum(p.numel() for p in model.parameters())
    print(f"Kim CNN step, {params:,} parameters, median of {args.repeat}")
    print(f"  without the guard : {plain * 1000:8.1f} ms")
    print(f"  with the guard    : {guarded * 1000:8.1f} ms")
    print(f"  ratio             : {guarded / plain:8.3f}  (noisy: the two differ by the guard)")
    print(f"  the guard alone   : {guard * 1000:8.2f} ms = {guard / plain:.2%} of a step (< 3%)")


if __name__ == "__main__":
    main()
