"""The pipeline registry (issue 22, item 3): no shim folders; the HSCNN studies keep their names
and nodes; every pipeline folder is registered."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest
from kedro.framework.startup import bootstrap_project

import longtail_mltc.pipelines
from longtail_mltc.pipeline_registry import register_pipelines

STUDIES = ("hscnn_variants", "hscnn_n_phi", "hscnn_triplets")


def _base_variant_nodes() -> set[str]:
    """The node names of ``hscnn_variants`` at commit 274d0cc (the registry with the shim
    folders), written out: 3 shared nodes + 3 losses x (3 single-network nodes, the single
    variant's evaluation, 4 Siamese variants x 4 nodes) = 63."""
    names = {"sample_pairs", "sample_triplets", "hscnn_variants.compare_variants"}
    for loss in ("bce", "wce", "focal"):
        ns = f"hscnn_variants.{loss}"
        names |= {
            f"{ns}.train_single_network",
            f"{ns}.predict_single_network",
            f"{ns}.evaluate_single_network",
            f"{ns}.single.evaluate_single_variant",
        }
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
    assert len(BASE_NODES["hscnn_variants"]) == 63
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
