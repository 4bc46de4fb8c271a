"""Every offline corpus through ingestion → features → label_stats (and `single` on two of
them), as separate `kedro run`s in a throw-away project (`--env ci` sizes).

Counts are the verified ones of ../shared/datasets/README.md, as kept by each reader's
documented protocol (skips are counted in the ingestion report).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro_project import run_pipeline

pytestmark = pytest.mark.slow

# corpus -> (documents kept, train+test; distinct labels; skipped records in all)
VERIFIED = {
    "delicious": (12920 + 3185, 983, 0),
    "rcv1_sample": (2316, 98, 0),
    "bioasq_sample": (5, 56, 0),
    # 2,065 rows; 16 lack a summary or genres (README: 2,049 with summary and >= 1 genre).
    "douban_movies": (2049, 28, 16),
    # The same CSV read by the generic table reader from YAML alone (README "Your own corpus").
    "douban_movies_table": (2049, 28, 16),
    # 100 books: 1 without text, 14 under the 50-word minimum (METHODS §2.1).
    "imcm": (85, None, 15),
}


def _report(project: Path, corpus: str) -> pd.DataFrame:
    return pd.read_csv(project / f"data/08_reporting/{corpus}/ingestion_report.csv")


def _stat(report: pd.DataFrame, statistic: str, split: str = "all") -> float:
    row = report[(report["statistic"] == statistic) & (report["split"] == split)]
    return float(row["value"].iloc[0])


@pytest.mark.parametrize("corpus", sorted(VERIFIED))
def test_ingestion_features_label_stats_per_corpus(project: Path, corpus: str) -> None:
    documents, labels, skipped = VERIFIED[corpus]
    for pipeline in ("ingestion", "features", "label_stats"):
        run_pipeline(project, pipeline, params={"corpus": corpus})

    table = pd.read_parquet(project / f"data/03_primary/{corpus}/corpus.parquet")
    report = _report(project, corpus)
    assert len(table) == documents == _stat(report, "documents")
    assert _stat(report, "skipped_total") == skipped
    if labels is not None:
        assert _stat(report, "labels") == labels
    assert set(table["lang"]) == ({"zh"} if corpus.startswith(("douban", "imcm")) else {"en"})

    split = pd.read_parquet(project / f"data/03_primary/{corpus}/corpus_split.parquet")
    assert set(split["split"]) == {"train", "valid", "test"}
    encoded = np.load(project / f"data/05_model_input/{corpus}/encoded_documents.npz")
    assert encoded["token_ids"].shape[0] == documents
    vocabulary = json.loads((project / f"data/04_feature/{corpus}/vocabulary.json").read_text())
    assert len(vocabulary["tokens"]) > 2  # more than PAD and UNK
    stats = json.loads((project / f"data/04_feature/{corpus}/label_statistics.json").read_text())
    assert stats["n_docs"] == int((split["split"] == "train").sum())
    assert (project / f"data/08_reporting/{corpus}/label_long_tail.png").stat().st_size > 0


@pytest.mark.parametrize("corpus", ["delicious", "douban_movies"])
def test_single_network_trains_end_to_end(project: Path, corpus: str) -> None:
    for pipeline in ("ingestion", "features", "label_stats", "single"):
        run_pipeline(project, pipeline, params={"corpus": corpus})
    metrics = json.loads((project / f"data/08_reporting/{corpus}/single/metrics.json").read_text())
    split = pd.read_parquet(project / f"data/03_primary/{corpus}/corpus_split.parquet")
    train_labels = split.loc[split["split"] == "train", "labels"].explode().dropna()
    most_frequent = train_labels.value_counts().index[0]
    test = split.loc[split["split"] == "test", "labels"]
    # A model whose head bias starts at the label priors ranks like "most frequent label
    # first"; two short epochs must not make its top label worse than that ranking.
    prior_p_at_1 = float(test.map(lambda labels: most_frequent in list(labels)).mean())
    assert metrics["test/all/p_at_1"] >= prior_p_at_1 - 0.02
    assert 0.0 < metrics["test/all/micro_f1"] <= 1.0
    assert np.isfinite(metrics["test/all/macro_f1"])
