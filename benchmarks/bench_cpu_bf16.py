"""bf16 autocast against fp32 on the CPU, for the Kim CNN and the BiLSTM (AltXML) encoders.

Run: ``PYTHONPATH=src python benchmarks/bench_cpu_bf16.py`` (about 2 minutes on 2 CPU cores).

Issue 18 asks to make bf16 the CPU default only where it is faster and the metrics hold. This
times one training step (forward and BCE under ``torch.autocast("cpu", torch.bfloat16)``,
backward, fused Adam in fp32) and one inference batch, each precision interleaved with the
other so machine load hits both alike, and reports bf16 / fp32. Named alternative: fp32, the
current default. Sizes are the main job's (Kim CNN: 100 documents × 200 tokens, 300-d
embeddings, 18,756 words, 90 labels) and METHODS §2.2's (AltXML: 64 documents × 200 tokens,
256-d embeddings, 100 units per direction). Whether the CPU has native bf16 instructions
(``avx512_bf16`` / ``amx_bf16`` in /proc/cpuinfo) is printed: without them torch emulates bf16.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from longtail_mltc.losses import bce_loss
from longtail_mltc.models import build_classifier

VOCAB, LABELS, TOKENS = 18_756, 90, 200
MODELS: dict[str, tuple[int, dict]] = {
    "kim_cnn": (100, {"embedding_dim": 300, "num_filters": 128, "hidden_dim": 1024}),
    "altxml": (64, {"embedding_dim": 256, "hidden_size": 100, "dropout": 0.5}),
}


def native_bf16_flags() -> list[str]:
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return []
    return sorted({f for f in flags if f in {"avx512_bf16", "amx_bf16", "amx_tile"}})


def precision_context(bf16: bool) -> contextlib.AbstractContextManager:
    if bf16:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def measure(name: str, repeat: int) -> dict[str, float]:
    batch, kwargs = MODELS[name]
    torch.manual_seed(0)
    model = build_classifier(name, LABELS, vocab_size=VOCAB, **kwargs)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    ids = torch.randint(2, VOCAB, (batch, TOKENS))
    targets = (torch.rand(batch, LABELS) < 0.02).float()

    def train_step(bf16: bool) -> None:
        model.train()
        with precision_context(bf16):
            loss = bce_loss(model(ids), targets)
        loss.float().backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def infer(bf16: bool) -> None:
        model.eval()
        with torch.inference_mode(), precision_context(bf16):
            torch.sigmoid(model(ids)).float()

    out = {}
    for label, fn in (("train step", train_step), ("inference batch", infer)):
        fp32, bf16 = interleaved(fn, repeat)
        out[label] = (fp32, bf16)
    # The outputs agree? One forward in each precision from the same weights.
    model.eval()
    with torch.inference_mode():
        reference = torch.sigmoid(model(ids))
        with precision_context(True):
            low = torch.sigmoid(model(ids)).float()
    out["max |Δ score|"] = float((reference - low).abs().max())
    return out


def interleaved(fn: Callable[[bool], None], repeat: int) -> tuple[float, float]:
    for _ in range(2):
        fn(False), fn(True)
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(repeat):
        for bf16 in (False, True):
            start = time.perf_counter()
            fn(bf16)
            times[bf16].append(time.perf_counter() - start)
    return statistics.median(times[False]), statistics.median(times[True])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="timed calls per precision")
    args = parser.parse_args()
    flags = native_bf16_flags()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, native bf16: "
          f"{', '.join(flags) if flags else 'none (emulated)'}")  # fmt: skip
    for name in MODELS:
        try:
            results = measure(name, args.repeat)
            print(f"{name} (median of {args.repeat}):")
        except RuntimeError as error:  # e.g. oneDNN has no bf16 LSTM without native bf16
            print(f"{name}: bf16 autocast fails: {str(error).splitlines()[0][:90]}")
            with torch.backends.mkldnn.flags(enabled=False):  # torch's own kernels instead
                results = measure(name, args.repeat)
            print(f"{name}, both precisions without oneDNN (median of {args.repeat}):")
        for label, value in results.items():
            if isinstance(value, tuple):
                fp32, bf16 = value
                print(
                    f"  {label:16s} fp32 {fp32 * 1000:8.1f} ms   bf16 {bf16 * 1000:8.1f} ms   "
                    f"bf16/fp32 {bf16 / fp32:6.2f}"
                )
            else:
                print(f"  {label:16s} {value:.4f} (bf16 against fp32 sigmoid scores)")


if __name__ == "__main__":
    main()
