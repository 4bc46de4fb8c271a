"""Kim CNN on Reuters: this project vs LibMultiLabel 0.10's KimCNN, same network and documents.

Run (after ``kedro run --pipeline=hscnn``, which writes the tokenised Reuters documents):
``bash benchmarks/setup_libmultilabel.sh`` once (LibMultiLabel 0.10.0 with its ``nn`` extra in its
own virtual environment, ``benchmarks/.venv-libmultilabel``, never in the project's), then
``PYTHONPATH=src .venv/bin/python benchmarks/bench_cnn_libmultilabel.py`` (about 3 minutes).

Both sides get the same problem:

* documents: the Reuters training split (fit) and test split (inference) as tokenised by the
  pipeline, each cut to its first 500 tokens; the vocabulary of the pipeline (ids identical on
  both sides), the same seeded random 300-d word vectors;
* network: LibMultiLabel's KimCNN — embedding (dropout 0.2) → 1-D convolutions of widths
  2, 4 and 8 with 128 filters each → max over time → ReLU → linear to the labels. Ours is
  :class:`longtail_mltc.models.cnn.KimCNNEncoder` with ``hidden_dim=None`` (no hidden layer)
  and ``feature_dropout=0`` under :class:`~longtail_mltc.models.classifier.MultiLabelClassifier`;
* training: BCE with logits, Adam with learning rate 5e-4 and no weight decay, batches of 64,
  one epoch in Lightning 2.6.6 on the CPU (fp32, torch's default threads);
* inference: sigmoid scores of the test split in batches of 256, no autograd.

Each side keeps its own data path: LibMultiLabel's ``get_dataset_loader`` (shuffled batches
padded to their longest document, ``data_workers=0``: worker processes only compete for the two
cores here) and ``Model``/``init_trainer``; ours, the pipeline's ``ClassifierModule`` (batches
bucketed by length and trimmed to their longest document) and ``predict_scores`` (documents in
length order). Training docs/s is timed from the end of batch 3 (first-call allocations) to the
end of the last training batch; each side runs in its own process, so each peak RSS is its own.

The useful-FLOP bound: a document of L tokens costs 2·300·128·Σₖ k·max(1, L − k + 1) floating
point operations in the convolutions plus 2·384·|C| in the output layer. Training with a dense
backward costs three times that (forward, gradient of the inputs, gradient of the weights): the
"dense" bound, which LibMultiLabel's autograd backward, and ours before 2026-12-06, must do.
Ours passes gradient only through each map's winning window, so its training needs the
forward plus 2 · 2·300·128·Σₖ k per document for the two convolution gradients and twice the
output layer: the "sparse" bound, the tighter one for our side. At this machine's fp32 GEMM
rate (measured here: the best of 3 products of 2048 × 2048 matrices) that work bounds the docs/s
of any implementation that does no padding and no other work (the Adam update of the 5.6M
embedding parameters is such other work); each side's fraction of the bounds is printed. Last
line: ``ratio train <ours/theirs> infer <ours/theirs>``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPUS = "reuters"
TOKENS = ROOT / f"data/04_feature/{CORPUS}/tokenized_documents.parquet"
SPLIT = ROOT / f"data/03_primary/{CORPUS}/corpus_split.parquet"
VOCABULARY = ROOT / f"data/04_feature/{CORPUS}/vocabulary.json"
LML_PYTHON = ROOT / "benchmarks/.venv-libmultilabel/bin/python"

MAX_LENGTH = 500
EMBED_DIM = 300
FILTER_SIZES = (2, 4, 8)
NUM_FILTERS = 128
BATCH_SIZE = 64
EVAL_BATCH_SIZE = 256
LEARNING_RATE = 5e-4
EMBED_DROPOUT = 0.2
WARMUP_BATCHES = 3
SEED = 0


# ---- shared by both workers (numpy, torch and lightning only) -------------------------------


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def _batch_timer():
    """A Lightning callback: docs/s over the training batches after the first few."""
    import lightning as L

    class BatchTimer(L.Callback):
        def __init__(self) -> None:
            self.started: float | None = None
            self.finished = 0.0
            self.docs = 0

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            now = time.perf_counter()
            if batch_idx + 1 == WARMUP_BATCHES:
                self.started = now
            elif self.started is not None:
                rows = batch["text"] if isinstance(batch, dict) else batch[0]
                self.docs += len(rows)
                self.finished = now

        def docs_per_second(self) -> float:
            return self.docs / (self.finished - self.started)

    return BatchTimer()


def _ours(folder: Path, data: dict) -> dict:
    import torch

    from longtail_mltc.inference.scores import predict_scores
    from longtail_mltc.losses import build_loss
    from longtail_mltc.models import build_classifier
    from longtail_mltc.training import TrainConfig, seed_everything
    from longtail_mltc.training.classifier_module import ClassifierModule
    from longtail_mltc.training.data import EncodedSplit
    from longtail_mltc.training.engine import make_trainer

    seed_everything(SEED)
    train, test = (
        _encoded(data[name], len(data["labels"]), EncodedSplit) for name in ("train", "test")
    )
    valid = EncodedSplit(train.token_ids[:64], train.lengths[:64], train.labels[:64])
    model = build_classifier(
        "kim_cnn",
        len(data["labels"]),
        vocab_size=len(data["vocabulary"]),
        pretrained=np.load(folder / "vectors.npy"),
        embedding_dim=EMBED_DIM,
        kernel_sizes=list(FILTER_SIZES),
        num_filters=NUM_FILTERS,
        hidden_dim=None,
        embedding_dropout=EMBED_DROPOUT,
        feature_dropout=0.0,
    )
    config = TrainConfig(
        batch_size=BATCH_SIZE,
        max_epochs=1,
        learning_rate=LEARNING_RATE,
        lr_decay_factor=None,
        estimate_batches=0,
        eval_batch_size=EVAL_BATCH_SIZE,
        accelerator="cpu",
        precision="32",
        seed=SEED,
    )
    counts = np.asarray(train.labels.sum(axis=0)).ravel().astype(np.int64)
    loss = build_loss("bce", counts, len(train))
    module = ClassifierModule(model, loss, train, valid, config)
    timer = _batch_timer()
    rss_loaded = _rss_mb()
    make_trainer(max_epochs=1, accelerator="cpu", precision="32", callbacks=[timer]).fit(module)
    model.eval()
    predict_scores(model, EncodedSplit(test.token_ids[:256], test.lengths[:256], test.labels[:256]))
    start = time.perf_counter()
    predict_scores(model, test, EVAL_BATCH_SIZE)
    infer_seconds = time.perf_counter() - start
    return {
        "train_docs_per_s": timer.docs_per_second(),
        "infer_docs_per_s": len(test) / infer_seconds,
        "threads": torch.get_num_threads(),
        "rss_loaded_mb": rss_loaded,
    }


def _encoded(part: dict, n_labels: int, split_type):
    import scipy.sparse as sp

    lengths = np.array([len(ids) for ids in part["ids"]], dtype=np.int64)
    token_ids = np.zeros((len(lengths), max(1, int(lengths.max()))), dtype=np.int64)
    for row, ids in enumerate(part["ids"]):
        token_ids[row, : len(ids)] = ids
    rows = np.repeat(np.arange(len(lengths)), [len(labels) for labels in part["labels"]])
    cols = np.concatenate([np.asarray(labels, dtype=np.int64) for labels in part["labels"]])
    labels = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(lengths), n_labels)
    )
    return split_type(token_ids, lengths, labels)


def _libmultilabel(folder: Path, data: dict) -> dict:
    import torch
    from libmultilabel.nn import data_utils, nn_utils

    torch.manual_seed(SEED)
    classes = data["labels"]
    word_dict = {token: i for i, token in enumerate(data["vocabulary"])}

    def instances(part: dict) -> list[dict]:
        return [
            {"text": tokens, "label": [classes[c] for c in labels]}
            for tokens, labels in zip(part["tokens"], part["labels"], strict=True)
        ]

    model = nn_utils.init_model(
        model_name="KimCNN",
        network_config={
            "embed_dropout": EMBED_DROPOUT,
            "post_encoder_dropout": 0.0,
            "filter_sizes": list(FILTER_SIZES),
            "num_filter_per_size": NUM_FILTERS,
        },
        classes=classes,
        embed_vecs=torch.from_numpy(np.load(folder / "vectors.npy")),
        learning_rate=LEARNING_RATE,
        optimizer="adam",
        monitor_metrics=["Micro-F1"],
        silent=True,
    )
    device = torch.device("cpu")
    train_loader = data_utils.get_dataset_loader(
        instances(data["train"]),
        classes,
        device,
        max_seq_length=MAX_LENGTH,
        batch_size=BATCH_SIZE,
        shuffle=True,
        data_workers=0,
        word_dict=word_dict,
    )
    test_loader = data_utils.get_dataset_loader(
        instances(data["test"]),
        classes,
        device,
        max_seq_length=MAX_LENGTH,
        batch_size=EVAL_BATCH_SIZE,
        shuffle=False,
        data_workers=0,
        word_dict=word_dict,
    )
    trainer = nn_utils.init_trainer(
        str(folder / "lml_checkpoints"),
        epochs=1,
        silent=True,
        use_cpu=True,
        limit_val_batches=0,
        save_checkpoints=False,
    )
    timer = _batch_timer()
    trainer.callbacks.append(timer)
    rss_loaded = _rss_mb()
    trainer.fit(model, train_loader)
    model.eval()
    with torch.inference_mode():
        torch.sigmoid(model(next(iter(test_loader))))
        start = time.perf_counter()
        docs = 0
        for batch in test_loader:
            torch.sigmoid(model(batch)).numpy()
            docs += len(batch["text"])
    infer_seconds = time.perf_counter() - start
    return {
        "train_docs_per_s": timer.docs_per_second(),
        "infer_docs_per_s": docs / infer_seconds,
        "threads": torch.get_num_threads(),
        "rss_loaded_mb": rss_loaded,
    }


def worker(side: str, folder: Path) -> None:
    data = json.loads((folder / "data.json").read_text())
    result = (_ours if side == "ours" else _libmultilabel)(folder, data)
    result["rss_peak_mb"] = _rss_mb()
    (folder / f"result_{side}.json").write_text(json.dumps(result))


# ---- the driver (project environment) -------------------------------------------------------


def gemm_gflops(size: int = 2048, repeat: int = 3) -> float:
    """Best fp32 matrix-product rate of this process's torch, in GFLOP/s."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeat))
    return 2 * size**3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def useful_flops(lengths: np.ndarray, n_labels: int) -> np.ndarray:
    """Forward floating-point operations per document of ``lengths`` tokens (no padding)."""
    lengths = np.asarray(lengths, dtype=np.float64)
    windows = sum(k * np.maximum(1, lengths - k + 1) for k in FILTER_SIZES)
    return 2 * EMBED_DIM * NUM_FILTERS * windows + 2 * NUM_FILTERS * len(FILTER_SIZES) * n_labels


def sparse_training_flops(lengths: np.ndarray, n_labels: int) -> np.ndarray:
    """Training operations per document when the backward reads only the winning windows."""
    winners = 2 * EMBED_DIM * NUM_FILTERS * sum(FILTER_SIZES)  # one window per map and width
    output = 2 * NUM_FILTERS * len(FILTER_SIZES) * n_labels
    return useful_flops(lengths, n_labels) + 2 * winners + 2 * output


def prepare(folder: Path) -> dict:
    """The documents as token lists and ids (≤ 500 each), labels as indices, the vectors."""
    import pandas as pd

    for path in (TOKENS, SPLIT, VOCABULARY):
        if not path.exists():
            raise SystemExit(f"{path} not found: run `kedro run --pipeline=hscnn` first")
    tokens = pd.read_parquet(TOKENS).set_index("doc_id")
    split = pd.read_parquet(SPLIT).set_index("doc_id")
    vocabulary = json.loads(VOCABULARY.read_text())["tokens"]
    index = {token: i for i, token in enumerate(vocabulary)}
    labels = sorted({label for row in split["labels"] for label in row})
    label_id = {label: i for i, label in enumerate(labels)}
    data: dict = {"vocabulary": vocabulary, "labels": labels}
    for name in ("train", "test"):
        ids = split.index[split["split"] == name]
        docs = [list(tokens.at[d, "tokens"])[:MAX_LENGTH] for d in ids]
        kept = [i for i, doc in enumerate(docs) if doc]  # both sides need ≥ 1 token
        data[name] = {
            "tokens": [docs[i] for i in kept],
            "ids": [[index.get(t, 1) for t in docs[i]] for i in kept],
            "labels": [[label_id[lab] for lab in split.at[ids[i], "labels"]] for i in kept],
        }
    rng = np.random.default_rng(SEED)
    vectors = rng.normal(0.0, 0.1, size=(len(vocabulary), EMBED_DIM)).astype(np.float32)
    vectors[0] = 0.0
    np.save(folder / "vectors.npy", vectors)
    (folder / "data.json").write_text(json.dumps(data))
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=["ours", "lml"])
    parser.add_argument("--folder", type=Path)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.folder)
        return
    if not LML_PYTHON.exists():
        raise SystemExit(f"{LML_PYTHON} not found: run `bash benchmarks/setup_libmultilabel.sh`")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = prepare(folder)
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "KEDRO_DISABLE_TELEMETRY": "true"}
        results = {}
        for side, python in (("ours", sys.executable), ("lml", str(LML_PYTHON))):
            cmd = [python, str(Path(__file__).resolve()), "--worker", side, "--folder", str(folder)]
            # in the temporary folder: Lightning's default checkpoint callback (LibMultiLabel's
            # trainer keeps it) writes ./checkpoints there, not into the project
            subprocess.run(cmd, check=True, env=env, cwd=folder)
            results[side] = json.loads((folder / f"result_{side}.json").read_text())
    gemm = gemm_gflops()
    n_labels = len(data["labels"])
    train_lengths = np.array([len(doc) for doc in data["train"]["tokens"]])
    test_lengths = np.array([len(doc) for doc in data["test"]["tokens"]])
    bound_train = gemm * 1e9 / (3 * useful_flops(train_lengths, n_labels).mean())
    bound_sparse = gemm * 1e9 / sparse_training_flops(train_lengths, n_labels).mean()
    bound_infer = gemm * 1e9 / useful_flops(test_lengths, n_labels).mean()
    print(
        f"documents: {len(train_lengths)} train (mean {train_lengths.mean():.0f} tokens), "
        f"{len(test_lengths)} test (mean {test_lengths.mean():.0f}); vocabulary "
        f"{len(data['vocabulary'])}; {n_labels} labels; max length {MAX_LENGTH}"
    )
    print(
        f"GEMM fp32: {gemm:.1f} GFLOP/s; useful-FLOP bound: train {bound_train:.0f} docs/s "
        f"(dense backward), {bound_sparse:.0f} docs/s (sparse backward), infer "
        f"{bound_infer:.0f} docs/s"
    )
    names = {"ours": "longtail-mltc", "lml": "LibMultiLabel"}
    for side, result in results.items():
        print(
            f"{names[side]:>14}: train {result['train_docs_per_s']:7.1f} docs/s "
            f"({result['train_docs_per_s'] / bound_train:5.1%} of the dense bound, "
            f"{result['train_docs_per_s'] / bound_sparse:5.1%} of the sparse), infer "
            f"{result['infer_docs_per_s']:7.1f} docs/s "
            f"({result['infer_docs_per_s'] / bound_infer:5.1%} of bound), "
            f"{result['threads']} threads, peak RSS {result['rss_peak_mb']:.0f} MB"
        )
    ours, lml = results["ours"], results["lml"]
    train_ratio = ours["train_docs_per_s"] / lml["train_docs_per_s"]
    infer_ratio = ours["infer_docs_per_s"] / lml["infer_docs_per_s"]
    print(f"ratio train {train_ratio:.2f} infer {infer_ratio:.2f}")


if __name__ == "__main__":
    main()
