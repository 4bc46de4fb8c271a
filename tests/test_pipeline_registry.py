"""The pipeline registry (issue 22, item 3): no shim folders; the HSCNN studies keep their names
and nodes; every pipeline folder is registered; the single network's loss sweep is the kim_cnn
backbone of balanced_losses."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from conftest import PROJECT_ROOT
from kedro.framework.startup import bootstrap_project

import longtail_mltc.pipelines
from longtail_mltc import settings
from longtail_mltc.labels import LabelStatistics
from longtail_mltc.pipeline_registry import register_pipelines
from longtail_mltc.pipelines.balanced_losses.nodes import compare_balanced_losses, select_backbone

STUDIES = ("hscnn_variants", "hscnn_n_phi", "hscnn_triplets")
SINGLE_NETWORK_STEPS = (
    "select_loss",
    "plan_single_network",
    "train_single_network",
    "predict_single_network",
    "evaluate_single_network",
    "build_single_predictor",
    "analyse_single_network",
    "record_single_network",
)


def _base_variant_nodes() -> set[str]:
    """The node names of ``hscnn_variants`` at commit 274d0cc (the registry with the shim
    folders), written out, with the single network's nodes since its MLflow run became catalog
    I/O (plan, predictor and record nodes): 3 shared nodes + 3 losses x (8 single-network
    nodes, the single variant's evaluation, 4 Siamese variants x 4 nodes) = 78."""
    names = {"sample_pairs", "sample_triplets", "hscnn_variants.compare_variants"}
    for loss in ("bce", "wce", "focal"):
        ns = f"hscnn_variants.{loss}"
        names |= {f"{ns}.{step}" for step in SINGLE_NETWORK_STEPS}
        names.add(f"{ns}.single.evaluate_single_variant")
        for variant in ("naive", "no_css", "no_mt", "hscnn"):
            for step in ("train_hscnn", "predict_hscnn", "evaluate_hscnn"):
                names.add(f"{ns}.{variant}.{step}")
            names.add(f"{ns}.{variant}.evaluate_calibrated_hscnn")
    return names


# Pinned from the base commit's registry (computed from `git archive 274d0cc` with the shim
# folders still present). A deliberate change to these pipelines updates this pin.
BASE_NODES: dict[str, set[str]] = {
    "hscnn_variants": _base_variant_nodes(),
    "hscnn_n_phi": {"sweep_n_phi"},
    "hscnn_triplets": {"sweep_triplet_counts"},
}


@pytest.fixture(scope="module")
def registry(project_root):
    bootstrap_project(project_root)
    return register_pipelines()


@pytest.mark.parametrize("name", STUDIES)
def test_the_hscnn_studies_have_no_shim_folder(name):
    assert importlib.util.find_spec(f"longtail_mltc.pipelines.{name}") is None
    folder = Path(longtail_mltc.pipelines.__file__).parent / name
    assert not folder.exists(), f"{folder} should not exist: the study is built in pipelines/hscnn"


@pytest.mark.parametrize("name", STUDIES)
def test_the_hscnn_studies_keep_their_names_and_nodes(registry, name):
    assert len(BASE_NODES["hscnn_variants"]) == 78
    assert {node.name for node in registry[name].nodes} == BASE_NODES[name]


def test_every_pipeline_folder_is_registered_under_its_name(registry):
    """A new folder under pipelines/ with ``create_pipeline`` must be named in the registry,
    which no longer discovers folders by itself."""
    root = Path(longtail_mltc.pipelines.__file__).parent
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and (p / "__init__.py").is_file())
    assert folders, f"no pipeline folder found under {root}"
    for name in folders:
        module = importlib.import_module(f"longtail_mltc.pipelines.{name}")
        assert hasattr(module, "create_pipeline"), f"pipelines/{name} has no create_pipeline"
        assert name in registry, f"pipelines/{name} is not registered in pipeline_registry.py"
        built = {node.name for node in module.create_pipeline().nodes}
        assert {node.name for node in registry[name].nodes} == built, name
    assert set(registry["__default__"].nodes) == set(registry["hscnn"].nodes)


# The nine losses of METHODS §1.2 and §3, written out.
NINE_LOSSES = ("bce", "wce", "focal", "cb", "r_focal", "ntr_focal", "db", "db_no_focal", "cb_ntr")


def test_loss_sweep_is_gone_and_balanced_losses_trains_the_nine_losses(registry):
    """The single network's loss sweep is ``balanced_losses --params backbone=kim_cnn``."""
    assert "loss_sweep" not in registry
    assert importlib.util.find_spec("longtail_mltc.pipelines.loss_sweep") is None
    names = {node.name for node in registry["balanced_losses"].nodes}
    for loss in NINE_LOSSES:
        for step in ("train", "predict", "evaluate"):
            assert f"balanced_losses.{loss}.{step}_single_network" in names
    trained = {n for n in names if n.endswith(".train_single_network")}
    assert len(trained) == len(NINE_LOSSES)
    assert "balanced_losses.compare_balanced_losses" in names


def _parameters(env: str, **runtime_params) -> dict:
    loader = settings.CONFIG_LOADER_CLASS(
        str(PROJECT_ROOT / "conf"),
        **settings.CONFIG_LOADER_ARGS,
        env=env,
        runtime_params=runtime_params,
    )
    return loader["parameters"]


@pytest.mark.parametrize("env", ["base", "ci"])
def test_the_kim_cnn_backbone_is_the_single_networks_encoder(env):
    params = _parameters(env, backbone="kim_cnn")
    config = select_backbone(params["balanced_losses"], params["backbone"])
    assert config["encoder"] == "kim_cnn" and config["variant"] == "kim_cnn"
    assert config["encoder_params"] == params["single"]["encoder_params"]
    assert config["use_word_vectors"] is True
    assert config["output_bias"] == "auto"  # each loss's recipe from loss_recipes
    # the study keeps its own training budget (docs/results.md "The balanced-loss study")
    assert config["training"]["max_epochs"] == (1 if env == "ci" else 10)


def test_an_override_of_the_single_encoder_reaches_the_kim_cnn_backbone():
    # --params single.encoder_params.num_filters=64, as the kedro command line nests it
    params = _parameters("ci", backbone="kim_cnn", single={"encoder_params": {"num_filters": 64}})
    config = select_backbone(params["balanced_losses"], "kim_cnn")
    assert config["encoder_params"]["num_filters"] == 64
    assert config["encoder_params"]["embedding_dim"] == 16  # the rest stays (conf/ci)


def test_the_loss_table_reports_ranking_columns_as_the_loss_sweep_did():
    stats = LabelStatistics(
        label_index=("a", "b", "c"),
        counts=np.array([50, 10, 2]),
        n_docs=60,
        head_min=35,
        tail_max=8,
        n_phi=1,
    ).to_dict()

    def metrics(x: float) -> dict[str, float]:
        groups = ("all", "head", "medium", "tail")
        values = {f"test/{g}/{m}": x for g in groups for m in ("micro_f1", "macro_f1")}
        return {
            **values,
            "test/all/p_at_1": x + 0.1,
            "test/all/ndcg_at_5": x + 0.2,
            "threshold": 0.5,
        }

    table = compare_balanced_losses(stats, {"bce": metrics(0.5)}, {"db": metrics(0.25)})
    assert table.columns.tolist()[-3:] == ["all/p_at_1", "all/ndcg_at_5", "threshold"]
    rows = table.iloc[1:].set_index("loss")
    assert rows.loc["bce", "all/p_at_1"] == pytest.approx(0.6, abs=1e-9)
    assert rows.loc["db", "all/ndcg_at_5"] == pytest.approx(0.45, abs=1e-9)
    assert table.iloc[0]["all/p_at_1"] == 3  # the first row: labels in the group "all"
