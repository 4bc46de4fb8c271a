"""Soak test of the served model: ``kedro serve`` on 127.0.0.1 under 16 concurrent clients.

Run from the project root::

    PYTHONPATH=src python benchmarks/soak_serving.py --model-uri runs:/<run id>/predictor
    PYTHONPATH=src python benchmarks/soak_serving.py                  # trains a small labeler
    PYTHONPATH=src python benchmarks/soak_serving.py --model-uri path/to/predictor

Starts ``python -m kedro serve`` as a subprocess on a free port of 127.0.0.1 (``--model-uri``:
a tracked predictor or a predictor folder; without it a Kim-CNN trained here for a few seconds
on Reuters-21578, saved as a predictor folder). Sends ``--warmup`` requests, reads the server's
RSS (``VmRSS`` of ``/proc/<pid>/status``), then ``--requests`` more with ``--concurrency``
client threads (one keep-alive connection each), each request 1–3 Reuters texts, all within
``--time-limit`` seconds, and reads the RSS again. An error is any answer other than 200 with
one prediction per text, or a failed connection. Prints the latency percentiles (per request,
as the client sees it, queueing at the server included), the throughput and both RSS values;
the last line is ``soak requests N errors E p50_ms X p99_ms Y rss_growth Z%``. Exits 1 when
there was an error, the time limit was reached or the RSS grew by more than ``--max-growth``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REUTERS = PROJECT_ROOT.parent / "shared" / "datasets" / "reuters21578"
FALLBACK_TEXTS = [
    "Crude oil prices rose after OPEC agreed to cut output in the Gulf.",
    "The company said first quarter net profit rose and it raised the dividend per share.",
    "Wheat and corn exports fell as grain prices rose in Chicago, the USDA said.",
    "The bank agreed to acquire the remaining shares of its rival for 300 mln dlrs in cash.",
    "The trade deficit widened in February as imports of oil and machinery rose sharply.",
    "The central bank cut its discount rate by half a point to support the dollar.",
    "Sugar output fell this season after dry weather hit the cane harvest.",
    "Copper and zinc prices rose on the London Metal Exchange as stocks fell.",
]


def read_texts(folder: Path, limit: int = 3_000) -> list[str]:
    """Test-split Reuters-21578 texts (the project's reader), else :data:`FALLBACK_TEXTS`."""
    if not folder.is_dir():
        print(f"soak: {folder} not found: using {len(FALLBACK_TEXTS)} built-in texts")
        return list(FALLBACK_TEXTS)
    from longtail_mltc.corpora.reuters import read_reuters21578

    corpus = read_reuters21578(folder)
    texts = corpus.loc[corpus["split"] == "test", "text"].tolist()[:limit]
    print(f"soak: {len(texts)} Reuters-21578 test texts from {folder}")
    return texts


def quick_predictor(folder: Path, texts_dir: Path, seed: int = 0) -> Path:
    """A Kim-CNN trained for 3 epochs on the Reuters train split (20 largest labels), saved
    as a predictor folder: enough for a served model of realistic size and cost."""
    import torch

    from longtail_mltc.corpora.reuters import read_reuters21578
    from longtail_mltc.inference import Preprocessing, TextLabeler
    from longtail_mltc.models import build_classifier
    from longtail_mltc.serving import save_predictor
    from longtail_mltc.text import build_vocabulary, encode, tokenize_texts

    corpus = read_reuters21578(texts_dir)
    train = corpus[corpus["split"] == "train"]
    counts = train["labels"].explode().value_counts()
    labels = counts.index[:20].tolist()
    tokens = tokenize_texts(train["text"].tolist(), "english")
    vocabulary = build_vocabulary(tokens, min_freq=2)
    ids, _ = encode(tokens, vocabulary, max_len=256)
    targets = np.array([[name in row for name in labels] for row in train["labels"]], np.float32)
    params = {"embedding_dim": 64, "num_filters": 64, "hidden_dim": 128}
    torch.manual_seed(seed)
    model = build_classifier("kim_cnn", len(labels), vocab_size=len(vocabulary), **params)
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    order = np.random.default_rng(seed)
    model.train()
    for _ in range(3):
        for batch in np.array_split(order.permutation(len(ids)), len(ids) // 64):
            optimiser.zero_grad()
            logits = model(torch.as_tensor(ids[batch]))
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, torch.as_tensor(targets[batch])
            )
            loss.backward()
            optimiser.step()
    labeler = TextLabeler(
        model,
        Preprocessing("english", 256),
        labels,
        threshold=0.5,
        vocabulary=vocabulary,
        model_config={"encoder": "kim_cnn", "encoder_params": params},
    )
    return save_predictor(labeler, folder / "predictor")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(pid: int) -> float:
    """Resident memory of a process (``VmRSS``), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


def wait_until_up(port: int, server: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"soak: the server exited with status {server.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/ping")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"soak: no answer on /ping after {timeout:.0f} s")


class Load:
    """``count`` requests from ``concurrency`` threads; latencies (s) and errors recorded."""

    def __init__(self, port: int, bodies: list[tuple[bytes, int]], deadline: float) -> None:
        self.port = port
        self.bodies = bodies
        self.deadline = deadline
        self.lock = threading.Lock()
        self.next = 0
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def run(self, concurrency: int) -> None:
        threads = [threading.Thread(target=self._client) for _ in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _take(self) -> int | None:
        with self.lock:
            if self.next >= len(self.bodies) or time.monotonic() > self.deadline:
                return None
            self.next += 1
            return self.next - 1

    def _client(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        while (index := self._take()) is not None:
            body, n_texts = self.bodies[index]
            start = time.perf_counter()
            try:
                connection.request(
                    "POST", "/invocations", body, {"Content-Type": "application/json"}
                )
                response = connection.getresponse()
                answer = response.read()
                elapsed = time.perf_counter() - start
                error = _check(response.status, answer, n_texts)
            except (OSError, http.client.HTTPException) as err:
                elapsed, error = time.perf_counter() - start, f"{type(err).__name__}: {err}"
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            with self.lock:
                self.latencies.append(elapsed)
                if error:
                    self.errors.append(error)
        connection.close()


def _check(status: int, answer: bytes, n_texts: int) -> str:
    """An empty string for a good answer (200, one prediction with labels/scores/top_k per text)."""
    if status != 200:
        return f"HTTP {status}: {answer[:200]!r}"
    predictions = json.loads(answer).get("predictions")
    if not isinstance(predictions, list) or len(predictions) != n_texts:
        return f"expected {n_texts} predictions, got {answer[:200]!r}"
    if any(set(p) != {"labels", "scores", "top_k"} for p in predictions):
        return f"unexpected prediction fields: {answer[:200]!r}"
    return ""


def request_bodies(texts: list[str], count: int, seed: int) -> list[tuple[bytes, int]]:
    """``count`` request bodies of 1–3 texts drawn from ``texts``, with their text counts."""
    rng = random.Random(seed)
    bodies = []
    for _ in range(count):
        chosen = rng.sample(texts, rng.randint(1, 3))
        bodies.append((json.dumps({"inputs": chosen}).encode(), len(chosen)))
    return bodies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-uri", help="runs:/<id>/predictor or a predictor folder")
    parser.add_argument("--env", default=None, help="Kedro environment for kedro serve")
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds, all requests")
    parser.add_argument("--max-growth", type=float, default=0.10, help="end/warm-up RSS - 1")
    parser.add_argument("--texts", type=Path, default=REUTERS, help="Reuters-21578 folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    texts = read_texts(args.texts)
    with tempfile.TemporaryDirectory() as tmp:
        model_uri = args.model_uri
        if model_uri is None:
            if not args.texts.is_dir():
                raise SystemExit("soak: give --model-uri (no Reuters-21578 to train on)")
            started = time.perf_counter()
            model_uri = str(quick_predictor(Path(tmp), args.texts, args.seed))
            print(f"soak: trained a Kim-CNN predictor in {time.perf_counter() - started:.0f} s")
        port = free_port()
        command = [sys.executable, "-m", "kedro", "serve", "--model-uri", model_uri]
        command += ["--port", str(port), "--no-access-log"]
        command += ["--env", args.env] if args.env else []
        env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"}
        with subprocess.Popen(command, cwd=PROJECT_ROOT, env=env) as server:
            try:
                return soak(server, port, texts, args)
            finally:
                server.terminate()
                server.wait(timeout=60)


def soak(server: subprocess.Popen, port: int, texts: list[str], args: argparse.Namespace) -> int:
    wait_until_up(port, server, timeout=300)
    bodies = request_bodies(texts, args.warmup + args.requests, args.seed)
    deadline = time.monotonic() + args.time_limit
    warmup = Load(port, bodies[: args.warmup], deadline)
    warmup.run(args.concurrency)
    rss_warm = rss_mib(server.pid)
    load = Load(port, bodies[args.warmup :], deadline)
    started = time.perf_counter()
    load.run(args.concurrency)
    seconds = time.perf_counter() - started
    rss_end = rss_mib(server.pid)

    done, errors = len(load.latencies), len(warmup.errors) + len(load.errors)
    ms = np.array(load.latencies) * 1000 if done else np.zeros(1)
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    growth = rss_end / rss_warm - 1
    print(f"soak: {args.concurrency} clients, {args.warmup} warm-up + {done} requests")
    print(f"soak: latency ms p50 {p50:.1f} p95 {p95:.1f} p99 {p99:.1f} max {ms.max():.1f}")
    print(f"soak: throughput {done / seconds:.1f} requests/s over {seconds:.1f} s")
    print(f"soak: server RSS after warm-up {rss_warm:.1f} MiB, at the end {rss_end:.1f} MiB")
    for error in (warmup.errors + load.errors)[:5]:
        print(f"soak: error: {error}")
    timed_out = done < args.requests
    if timed_out:
        print(f"soak: time limit of {args.time_limit:.0f} s reached after {done} requests")
    print(
        f"soak requests {done} errors {errors} p50_ms {p50:.1f} p99_ms {p99:.1f} "
        f"rss_growth {growth * 100:.1f}%"
    )
    return 1 if errors or timed_out or growth > args.max_growth else 0


if __name__ == "__main__":
    sys.exit(main())
