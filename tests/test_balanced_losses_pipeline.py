"""The balanced_losses pipeline on real Reuters-21578 (`--env ci`): a tiny transformer saved as
a local Hugging Face directory (any such directory is a backbone), nine losses, each its own
tracked run with grouped metrics; the table, the figure and the confused pairs agree with
the runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro_project import run_pipeline

from longtail_mltc.evaluation.analysis import confused_label_pairs
from longtail_mltc.labels import to_label_matrix
from longtail_mltc.losses import LOSSES
from longtail_mltc.models.transformer import default_model_dir

pytestmark = pytest.mark.slow

REPORTS = Path("data/08_reporting/reuters/balanced_losses/transformer")
TOKENIZER_FILES = (
    "vocab.txt",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)


def _tiny_bert(directory: Path) -> Path:
    """A randomly initialised 1-layer BERT with MiniLM's tokenizer, saved like any HF model."""
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(directory)
    for name in TOKENIZER_FILES:
        shutil.copy2(default_model_dir() / name, directory / name)
    return directory


def test_balanced_losses_with_a_local_transformer_tracks_every_loss(project: Path, tmp_path):
    model_dir = _tiny_bert(tmp_path / "tiny-bert")
    run_pipeline(
        project,
        ("ingestion", "balanced_losses"),  # balanced_losses starts from data/
        params={
            "backbone": "transformer",
            "balanced_losses": {
                "backbones": {"transformer": {"encoder_params": {"model_dir": str(model_dir)}}}
            },
        },
    )
    runs = {}
    for loss in LOSSES:
        (run,) = mlflow.search_runs(
            experiment_names=["longtail_mltc"],
            filter_string=f"tags.pipeline = 'balanced_losses' and tags.loss = '{loss}'",
            output_format="list",
        )
        assert run.info.run_name == f"reuters/balanced_losses/transformer/{loss}"
        assert run.info.status == "FINISHED"
        assert run.data.tags["encoder"] == "transformer"
        assert run.data.params["single.encoder_params.model_dir"] == str(model_dir)
        for group in ("all", "head", "medium", "tail", "labels_1", "labels_2plus"):
            for metric in ("micro_f1", "macro_f1"):
                assert f"test/{group}/{metric}" in run.data.metrics
        assert run.data.metrics["estimate/epoch_seconds"] > 0
        runs[loss] = run
    # §3's focal loss uses γ = 2 in this study (the single network's default is 1)
    assert json.loads(runs["focal"].data.tags["loss_params"])["gamma"] == 2

    table = pd.read_csv(project / REPORTS / "loss_table.csv")
    sizes, rows = table.iloc[0], table.iloc[1:].set_index("loss")
    assert rows.index.tolist() == list(LOSSES)
    stats = json.loads((project / "data/04_feature/reuters/label_statistics.json").read_text())
    assert sizes["all/micro_f1"] == len(stats["label_index"])
    for group in ("head", "medium", "tail"):
        assert sizes[f"{group}/micro_f1"] == len(stats["groups"][group])
    split = pd.read_parquet(project / "data/03_primary/reuters/corpus_split.parquet")
    test_labels = split.loc[split["split"] == "test", "labels"]
    assert sizes["labels_1/micro_f1"] == sum(len(v) == 1 for v in test_labels)
    for loss, run in runs.items():
        for column in ("all/micro_f1", "head/macro_f1", "tail/macro_f1", "labels_2plus/micro_f1"):
            assert rows.loc[loss, column] == pytest.approx(
                run.data.metrics[f"test/{column}"], abs=1e-4
            )
        # the threshold is a point of the configured grid 0.05, 0.10, ..., 0.95
        threshold = run.data.metrics["threshold"]
        assert round(threshold / 0.05) * 0.05 == pytest.approx(threshold)
    assert (project / REPORTS / "loss_groups.png").stat().st_size > 10_000

    # confused pairs of one loss, recomputed from its saved scores and threshold
    label_index = json.loads((project / "data/04_feature/reuters/label_index.json").read_text())
    y_test = to_label_matrix([list(v) for v in test_labels], label_index)
    scores = np.load(
        project / "data/07_model_output/reuters/balanced_losses/transformer/db/scores.npz"
    )
    expected = confused_label_pairs(
        y_test, scores["test_scores"] >= runs["db"].data.metrics["threshold"], label_index
    )
    pairs = pd.read_csv(project / REPORTS / "confused_pairs.csv")
    db_pairs = pairs[pairs["loss"] == "db"].drop(columns=["loss", "rank"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(db_pairs, expected, check_dtype=False)
    artifacts = mlflow.artifacts.download_artifacts(
        run_id=runs["db"].info.run_id, artifact_path="analysis/confused_pairs.csv"
    )
    pd.testing.assert_frame_equal(pd.read_csv(artifacts), expected, check_dtype=False)
