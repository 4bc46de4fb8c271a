"""The registered pipelines, through the real `kedro` command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kedro.framework.startup import bootstrap_project
from kedro_project import copy_project

from longtail_mltc.pipeline_registry import register_pipelines

KEDRO = str(Path(sys.executable).with_name("kedro"))


def test_every_pipeline_of_the_design_is_registered_and_default_is_hscnn(project_root):
    bootstrap_project(project_root)
    pipelines = register_pipelines()
    expected = {
        "ingestion",
        "features",
        "label_stats",
        "single",
        "balanced_losses",
        "hscnn",
        "hscnn_variants",
        "hscnn_n_phi",
        "hscnn_triplets",
        "altxml",
        "baselines",
        "__default__",
    }
    assert expected <= set(pipelines)
    assert set(pipelines["__default__"].nodes) == set(pipelines["hscnn"].nodes)
    hscnn_nodes = {node.name for node in pipelines["hscnn"].nodes}
    assert {
        "load_raw_corpus",
        "train_word_vectors",
        "train_single_network",
        "sample_triplets",
        "train_hscnn",
        "evaluate_hscnn",
    } <= hscnn_nodes
    baseline_nodes = {node.name for node in pipelines["baselines"].nodes}
    assert "train_word_vectors" not in baseline_nodes  # TF-IDF needs only the tokens
    assert "load_raw_corpus" not in baseline_nodes  # it starts from the ingested corpus
    assert {"tokenize_documents", "build_tfidf_features", "baselines.compare_baselines"} <= (
        baseline_nodes
    )
    altxml_nodes = {node.name for node in pipelines["altxml"].nodes}
    for model in ("altxml", "rnn_att", "cnn_rnn", "kim_cnn"):
        assert f"altxml.{model}.train_single_network" in altxml_nodes
    assert {"altxml.sgm.train_sgm", "altxml.compare_models"} <= altxml_nodes


def test_kedro_run_of_a_pipeline_other_than_hscnn(tmp_path, reuters_mirror):
    """Kedro 1.x loads only the requested pipeline, so __default__ must not look others up
    (`kedro run --pipeline=single` once failed with KeyError: 'hscnn')."""
    project = copy_project(tmp_path / "project")
    env = {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "true",
        "LONGTAIL_MLTC_MIRROR": str(reuters_mirror.parent),
        "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
    }
    out = subprocess.run(
        [KEDRO, "run", "--pipeline=ingestion", "--env=ci"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert (project / "data/03_primary/reuters/corpus.parquet").is_file()
