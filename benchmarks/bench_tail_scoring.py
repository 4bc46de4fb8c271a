"""Benchmark of Siamese tail-label scoring (METHODS §1.7) vs the single network and naive loops.

Run: ``PYTHONPATH=src python benchmarks/bench_tail_scoring.py`` (about 1-2 min, < 2 GB RAM;
``--threads N`` sets torch's intra-op threads, default 1 so it can run beside a training job).

**Real Delicious** when its features exist (``kedro run --pipeline=features --params
corpus=delicious`` writes ``data/05_model_input/delicious/encoded_documents.npz``; or pass
``--data DIR`` with ``DIR/05_model_input/delicious`` and ``DIR/03_primary/delicious``): the real
token ids of the training and test documents, the real training label matrix (so the tail is the
real set of labels with ``N_c < 100``) and the default Kim CNN (untrained weights: the cost does
not depend on their values). ``--synthetic`` (or missing features) uses generated data of the
same shape:

Delicious-like sizes, synthetic data (nothing is read): a Kim CNN at the default sizes of
``conf/base/parameters_single.yml`` (embedding 300, windows 3/4/5 × 128 maps, hidden 1024),
a vocabulary of 500 words + PAD/UNK, 12,920 training and 3,185 test documents of 60 tokens
each (Delicious documents average ~18 tokens; 60 is a generous maximum length, every document
filled to it, so the encoder cost is an upper bound), 983 labels with Zipf-like training counts,
of which the tail (``N_c < N_φ = 100``) holds ~470 labels, K = 5 support documents each.

(a) single network inference: token ids → logits for the test documents (batches of 512).
(p) once per trained model: encode the distinct support documents and average them into the
    tail labels' prototypes (:func:`~longtail_mltc.models.support_scorer`; METHODS §1.7 computes
    the mean representation per label once, the pipelines do it once per prediction).
(b) batched Siamese scoring of every tail label for every test document with those prototypes:
    everything from token ids to scores, i.e. the encoder pass over the test documents **and**
    the broadcast comparison (also shown split into these parts). The HSCNN pipelines share that
    encoder pass with the head labels (one pass per document), so there the tail labels only add
    the comparison; here it is counted in full.
(c) naive per-(document, label) loops, timed on a subset and extrapolated to all pairs:
    (c1) one forward pass per pair - encode the document, compare it with the label's
         (precomputed) prototype - which is what §1.7 rules out;
    (c2) one comparison-head call per pair on precomputed representations (isolates the gain of
         broadcasting from the gain of encoding each document once).
Printed: the times, (b)/(a) (target ≤ 2×; also (p + b)/(a), the one-time prototypes included),
(c)/(b) (target ≥ 50×), and the largest difference between the batched and the looped scores
on the subset.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from _timing import best_time

from longtail_mltc.models import (
    HybridSiameseNetwork,
    KimCNNEncoder,
    MultiLabelClassifier,
    encode_documents,
    label_prototypes,
    score_labels,
)
from longtail_mltc.models.support import DEFAULT_MAX_ELEMENTS, support_scorer
from longtail_mltc.sampling import support_indices

N_TRAIN, N_TEST, N_LABELS, VOCAB, DOC_LEN, N_PHI, K = 12_920, 3_185, 983, 502, 60, 100, 5
BATCH = 512
DELICIOUS_FEATURES = Path("05_model_input/delicious/encoded_documents.npz")


def make_data(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, sp.csr_matrix, np.ndarray]:
    """Token ids (train, test), a training label matrix with Zipf-like counts, the counts."""
    rng = np.random.default_rng(seed)
    train = torch.as_tensor(rng.integers(2, VOCAB, (N_TRAIN, DOC_LEN)))
    test = torch.as_tensor(rng.integers(2, VOCAB, (N_TEST, DOC_LEN)))
    # N_c = 4000 · rank^-0.59: about 470 of the 983 labels fall below N_phi = 100
    counts = np.maximum(1, (4000 * np.arange(1, N_LABELS + 1) ** -0.59).astype(np.int64))
    rows = np.concatenate([rng.choice(N_TRAIN, n, replace=False) for n in counts])
    cols = np.repeat(np.arange(N_LABELS), counts)
    y = sp.csr_matrix((np.ones(rows.size, np.int8), (rows, cols)), shape=(N_TRAIN, N_LABELS))
    return train, test, y, counts


def load_delicious(data: Path) -> tuple[torch.Tensor, torch.Tensor, sp.csr_matrix, np.ndarray]:
    """Real token ids (train, test), training label matrix and counts of the Delicious split."""
    import pandas as pd

    from longtail_mltc.labels import to_label_matrix

    encoded = np.load(data / "05_model_input/delicious/encoded_documents.npz")
    split = pd.read_parquet(data / "03_primary/delicious/corpus_split.parquet")
    labels = sorted({label for row in split["labels"] for label in row})
    ids = torch.as_tensor(encoded["token_ids"].astype(np.int64))
    width = int(encoded["lengths"].max())  # trim the common padding (encoders trim per batch too)
    is_train = (split["split"] == "train").to_numpy()
    is_test = (split["split"] == "test").to_numpy()
    y = sp.csr_matrix(
        to_label_matrix([list(v) for v in split.loc[is_train, "labels"]], labels), dtype=np.int8
    )
    counts = np.asarray(y.sum(axis=0)).ravel()
    test = ids[is_test, :width]
    # shortest first, as the pipelines predict; document order does not change the work
    test = test[torch.argsort((test != 0).sum(dim=1), stable=True)]
    return ids[is_train, :width], test, y, counts


def single_inference(clf: MultiLabelClassifier, ids: torch.Tensor) -> torch.Tensor:
    """Logits in batches of ``BATCH``, each trimmed to its longest document (as the pipelines'
    prediction does; the real test documents are sorted by length in ``load_delicious``)."""
    out = []
    with torch.inference_mode():
        for i in range(0, len(ids), BATCH):
            batch = ids[i : i + BATCH]
            width = max(1, int((batch != 0).sum(dim=1).max()))
            out.append(clf(batch[:, :width]))
    return torch.cat(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[1] / "data")
    parser.add_argument("--synthetic", action="store_true", help="generated data, not Delicious")
    args = parser.parse_args()
    threads = args.threads
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    real = not args.synthetic and (args.data / DELICIOUS_FEATURES).is_file()
    if real:
        train_ids, test_ids, y_train, counts = load_delicious(args.data)
        print(f"[data] real Delicious features from {args.data}")
    else:
        train_ids, test_ids, y_train, counts = make_data()
        print("[data] synthetic Delicious-shaped documents (--synthetic or no Delicious features)")
    n_test, doc_len, n_labels = len(test_ids), test_ids.shape[1], y_train.shape[1]
    vocab = int(max(train_ids.max(), test_ids.max())) + 1
    tail = np.flatnonzero(counts < N_PHI)
    support = support_indices(y_train, k=K, seed=0)[tail]
    n_support_docs = np.unique(support[support >= 0]).size
    encoder = KimCNNEncoder(vocab, 300, (3, 4, 5), 128, 1024)
    clf = MultiLabelClassifier(encoder, n_labels).eval()
    model = HybridSiameseNetwork.from_classifier(clf).eval()
    pairs = n_test * tail.size
    print(
        f"[setup] torch threads={threads}; {n_test:,} test docs × ≤ {doc_len} tokens, "
        f"{n_labels} labels, {tail.size} tail (N_c < {N_PHI}), K={K} → "
        f"{n_support_docs:,} distinct support docs; {pairs:,} (document, tail label) pairs"
    )

    # (a) the single network
    t_a, _ = best_time(lambda: single_inference(clf, test_ids))
    print(f"(a) single network, token ids → logits ({n_test:,} docs)      {t_a:8.2f} s")

    # (p) prototypes, once; (b) batched Siamese scoring with them, end to end, then its parts
    t_p, scorer = best_time(lambda: support_scorer(model, train_ids, support, tail))
    print(f"(p) once: encode {n_support_docs:,} support docs + prototypes        {t_p:8.2f} s")

    def tail_scoring() -> torch.Tensor:
        out = [scorer(encode_documents(model, [test_ids[i : i + BATCH]], BATCH)) for i in batches]
        return torch.cat(out)

    batches = range(0, n_test, BATCH)
    t_b, scores = best_time(tail_scoring)
    print(f"(b) batched tail scoring, token ids → scores (encoder incl.)  {t_b:8.2f} s")
    t_enc, docs = best_time(lambda: encode_documents(model, test_ids, BATCH), repeat=1)
    rows = np.unique(support[support >= 0])
    local = np.searchsorted(rows, support).astype(np.int64)
    local[support < 0] = -1
    protos = label_prototypes(encode_documents(model, train_ids[rows], BATCH), local)
    print(f"    of which: encode test docs {t_enc:.2f} s; comparison in batches of {BATCH}:")
    for budget in (2**16, 2**17, 2**18, 2**20, 2**22):
        t_cmp, _ = best_time(
            lambda b=budget: [
                score_labels(model.comparison, docs[i : i + BATCH], protos, tail, max_elements=b)
                for i in batches
            ],
            repeat=1,
        )
        mark = "  (default)" if budget == DEFAULT_MAX_ELEMENTS else ""
        print(f"      {pairs * 1024:,} elements, blocks of ≤ {budget:>10,}: {t_cmp:6.2f} s{mark}")

    # (c1) one forward pass per (document, label) pair, prototypes precomputed
    sub_docs, sub_labels = 10, 20
    head = model.comparison
    means = protos.means

    def per_pair_forward() -> torch.Tensor:
        out = torch.empty(sub_docs, sub_labels)
        with torch.inference_mode():
            for d in range(sub_docs):
                for j in range(sub_labels):
                    x = model.represent(test_ids[d : d + 1])
                    logit = head(x, means[j : j + 1], torch.as_tensor(tail[j : j + 1]))
                    out[d, j] = torch.sigmoid(logit)[0]
        return out

    t_c1, loop1 = best_time(per_pair_forward, repeat=1)
    t_c1_full = t_c1 * pairs / (sub_docs * sub_labels)
    print(
        f"(c1) per-pair forward pass: {t_c1:.2f} s for {sub_docs * sub_labels} pairs "
        f"→ {t_c1_full:,.0f} s extrapolated to {pairs:,}"
    )

    # (c2) one head call per pair on precomputed representations
    sub_docs2, sub_labels2 = 100, 50

    def per_pair_head() -> torch.Tensor:
        out = torch.empty(sub_docs2, sub_labels2)
        label_ids = torch.as_tensor(tail)
        with torch.inference_mode():
            for d in range(sub_docs2):
                for j in range(sub_labels2):
                    logit = head(docs[d : d + 1], means[j : j + 1], label_ids[j : j + 1])
                    out[d, j] = torch.sigmoid(logit)[0]
        return out

    t_c2, loop2 = best_time(per_pair_head, repeat=1)
    t_c2_full = t_c2 * pairs / (sub_docs2 * sub_labels2)
    print(
        f"(c2) per-pair head call on precomputed representations: {t_c2:.2f} s for "
        f"{sub_docs2 * sub_labels2:,} pairs → {t_c2_full:,.1f} s extrapolated"
    )
    diff1 = (scores[:sub_docs, :sub_labels] - loop1).abs().max().item()
    diff2 = (scores[:sub_docs2, :sub_labels2] - loop2).abs().max().item()
    print(f"    max |batched − loop| on the subsets: (c1) {diff1:.1e}, (c2) {diff2:.1e}")
    print(
        f"ratios: (b)/(a) = {t_b / t_a:.2f}x (target ≤ 2x; "
        f"(p + b)/(a) = {(t_p + t_b) / t_a:.2f}x); "
        f"(c1)/(b) = {t_c1_full / t_b:,.0f}x (target ≥ 50x), (c2)/(b) = {t_c2_full / t_b:.1f}x"
    )


if __name__ == "__main__":
    main()
