"""Pipelines start from data/ (issue 21, items 5 and 9): only ``hscnn`` runs ingestion itself;
every other pipeline reads the ingested corpus, a missing input file stops it with the command
that writes it, and a failed ingestion leaves no stale corpus for the next stage to read."""

from __future__ import annotations

import logging
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from kedro.framework.startup import bootstrap_project
from kedro_project import USER_CORPUS, data_files, run_pipeline

from longtail_mltc.config_errors import ConfigurationError
from longtail_mltc.corpora.schema import corpus_frame
from longtail_mltc.datasets import AtomicJSONDataset, NumpyDataset
from longtail_mltc.pipeline_registry import register_pipelines

INGESTION_NODES = {"load_raw_corpus", "report_ingestion"}
END_TO_END = {"ingestion", "hscnn", "__default__"}


def test_only_hscnn_and_default_run_ingestion(project_root):
    bootstrap_project(project_root)
    pipelines = register_pipelines()
    assert "load_raw_corpus" not in {node.name for node in pipelines["baselines"].nodes}
    running_ingestion = {
        name
        for name, pipeline in pipelines.items()
        if INGESTION_NODES & {node.name for node in pipeline.nodes}
    }
    assert running_ingestion == END_TO_END
    # the training pipelines that re-run features and label_stats read the corpus from data/
    for name in ("baselines", "altxml", "balanced_losses"):
        assert "corpus" in pipelines[name].inputs(), name


def test_local_file_datasets_remove_their_file(tmp_path):
    path = tmp_path / "a" / "stats.json"
    dataset = AtomicJSONDataset(filepath=str(path))
    assert dataset.local_path == path
    assert dataset.invalidate() is None  # nothing there yet
    dataset.save({"n": 1})
    assert dataset.invalidate() == path
    assert not path.exists() and not dataset.exists()
    arrays = NumpyDataset(str(tmp_path / "x.npz"))
    assert arrays.local_path == tmp_path / "x.npz" and arrays.invalidate() is None
    assert AtomicJSONDataset(filepath="memory://stats.json").local_path is None


def _message(project: Path, pipeline: str, **params) -> str:
    with pytest.raises(ConfigurationError) as info:
        run_pipeline(project, pipeline, params=params)
    return str(info.value)


def test_a_missing_corpus_names_the_file_the_pipeline_and_the_command(project: Path):
    message = _message(project, "baselines", corpus="my_corpus")
    assert "pipeline 'baselines'" in message
    assert "data/03_primary/my_corpus/corpus.parquet (corpus)" in message
    assert message.endswith("kedro run --pipelines=ingestion --params corpus=my_corpus --env=ci")
    assert "unknown corpus" not in message
    assert data_files(project) == []  # stopped before any node
    assert mlflow.search_runs(search_all_experiments=True, output_format="list") == []


CHAIN = "--pipelines=ingestion,features,label_stats --params corpus=reuters --env=ci"


@pytest.mark.parametrize(
    ("pipeline", "files", "command"),
    [
        ("hscnn_variants", ["03_primary/reuters/corpus_split.parquet", "label_statistics"], CHAIN),
        ("single", ["data/05_model_input/reuters/word_vectors.npz (word_vectors)"], CHAIN),
        (
            "hscnn_n_phi",
            ["data/07_model_output/reuters/hscnn/predictions.npz (hscnn_predictions)"],
            "--pipelines=hscnn --params corpus=reuters --env=ci",
        ),
    ],
)
def test_the_command_writes_what_is_missing_and_what_it_reads(project, pipeline, files, command):
    """The command also writes what the pipelines it names read and is missing (features needs
    the corpus); ``hscnn`` runs the whole chain, so it is named alone."""
    message = _message(project, pipeline)
    assert f"pipeline {pipeline!r}" in message
    for file in files:
        assert file in message
    assert message.endswith(f"write them first: kedro run {command}")


def _tiny_corpus() -> pd.DataFrame:
    """40 documents, 3 labels whose words tell them apart; 10 of them test."""
    words = {"oil": "crude barrel opec", "gold": "bullion ounce mine", "corn": "grain bushel crop"}
    texts, labels = [], []
    for i in range(40):
        names = sorted(words)[i % 3 : i % 3 + 1 + (i % 5 == 0)]
        texts.append(" ".join(f"{words[n]} {n} report {i}" for n in names))
        labels.append(names)
    splits = ["test" if i % 4 == 0 else "train" for i in range(40)]
    return corpus_frame([f"d{i}" for i in range(40)], texts, labels, splits, "en")


def test_baselines_start_from_a_corpus_written_to_data_for_an_unregistered_name(project: Path):
    """A corpus registered from Python only (no reader under this name in a new process): its
    corpus.parquet is all baselines needs."""
    corpus = project / "data/03_primary/from_python/corpus.parquet"
    corpus.parent.mkdir(parents=True)
    _tiny_corpus().to_parquet(corpus)

    run_pipeline(
        project,
        "baselines",
        params={"corpus": "from_python", "features": {"validation": 0.25}},
        to_nodes=["build_tfidf_features", "compute_training_label_statistics"],
    )
    split = pd.read_parquet(project / "data/03_primary/from_python/corpus_split.parquet")
    assert split["split"].value_counts().to_dict() == {"train": 22, "valid": 8, "test": 10}
    assert (project / "data/04_feature/from_python/tfidf_features.skops").is_file()
    assert (project / "data/04_feature/from_python/label_statistics.json").is_file()
    assert not (project / "data/02_intermediate/from_python").exists()  # no ingestion ran


def test_a_failed_reingestion_removes_the_stale_corpus_and_the_next_stage_refuses(
    project: Path, caplog
):
    raw = project / "data/01_raw/mine/docs.csv"
    raw.parent.mkdir(parents=True)
    tiny = _tiny_corpus()
    pd.DataFrame({"text": tiny["text"], "labels": tiny["labels"].map(",".join)}).to_csv(
        raw, index=False
    )
    params = {"corpus": "mine", "user_corpora": {"mine": USER_CORPUS}}
    run_pipeline(project, "ingestion", params=params)
    outputs = [
        project / "data/03_primary/mine/corpus.parquet",
        project / "data/02_intermediate/mine/skipped_records.json",
        project / "data/08_reporting/mine/ingestion_report.csv",
    ]
    assert all(path.is_file() for path in outputs)

    raw.write_bytes(b"text,labels\n\xff\xfe not utf-8,oil\n")
    with (
        caplog.at_level(logging.WARNING, logger="longtail_mltc.hooks"),
        pytest.raises(Exception, match="docs.csv"),
    ):
        run_pipeline(project, "ingestion", params=params)
    assert [path for path in outputs if path.exists()] == []
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "longtail_mltc.hooks")
    for path in outputs:
        assert str(path.relative_to(project)) in logged

    message = _message(project, "features", **params)
    assert "data/03_primary/mine/corpus.parquet (corpus)" in message
    assert "kedro run --pipelines=ingestion --params corpus=mine --env=ci" in message


@pytest.mark.parametrize(("finished", "removed"), [(False, True), (True, False)])
def test_a_run_stopped_inside_ingestion_removes_its_outputs_and_only_then(
    tmp_path, finished, removed
):
    """A save that fails or an interruption reaches ``on_pipeline_error`` only: the outputs go
    when an ingestion node had started and not finished, and stay when a later stage failed."""
    from kedro.io import DataCatalog
    from kedro.pipeline import Node

    from longtail_mltc.hooks import RemoveOutputsOfFailedIngestion

    files = {name: tmp_path / f"{name}.json" for name in ("corpus", "ingestion_report", "other")}
    catalog = DataCatalog({name: AtomicJSONDataset(filepath=str(p)) for name, p in files.items()})
    for name in files:
        catalog[name].save({"old": name})
    node = Node(lambda x: x, "params:corpus", "corpus", name="load_raw_corpus")

    hook = RemoveOutputsOfFailedIngestion()
    hook.before_pipeline_run()
    hook.before_node_run(node)
    if finished:
        hook.after_node_run(node)
    hook.on_pipeline_error(catalog)
    assert files["corpus"].exists() is not removed
    assert files["ingestion_report"].exists() is not removed
    assert files["other"].exists()  # not an ingestion output
