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


# The HSCNN steps of one trained variant since its MLflow runs became catalog I/O (issue 22):
# configure and plan (the run) before training, then the paper's merge evaluated, packaged and
# recorded, and the calibrated merge with its own run the same way.
TRAINED_STEPS = ("configure_hscnn", "plan_hscnn", "train_hscnn", "predict_hscnn")
PAPER_MERGE_STEPS = (
    "build_hybrid_evaluation",  # once per variant, read by both merges
    "merge_hscnn",
    "evaluate_hscnn",
    "build_hscnn_predictor",
    "analyse_hscnn",
    "record_hscnn",
)
CALIBRATED_STEPS = (
    "calibrate_hscnn",
    "plan_calibrated_hscnn",
    "evaluate_calibrated_hscnn",
    "build_calibrated_hscnn_predictor",
    "analyse_calibrated_hscnn",
    "record_calibrated_hscnn",
)
SINGLE_VARIANT_STEPS = ("plan_single_variant", "evaluate_single_variant", "record_single_variant")


def _base_variant_nodes() -> set[str]:
    """The node names of ``hscnn_variants`` at commit 274d0cc (the registry with the shim
    folders: 3 shared nodes + 3 losses x (3 single-network nodes, the single variant's
    evaluation, 4 Siamese variants x 4 nodes) = 63), written out with the steps that came
    with the MLflow runs as catalog I/O: 3 + 3 x (8 + 3 + 4 x 16) = 228."""
    names = {"sample_pairs", "sample_triplets", "hscnn_variants.compare_variants"}
    for loss in ("bce", "wce", "focal"):
        ns = f"hscnn_variants.{loss}"
        names |= {f"{ns}.{step}" for step in SINGLE_NETWORK_STEPS}
        names |= {f"{ns}.single.{step}" for step in SINGLE_VARIANT_STEPS}
        for variant in ("naive", "no_css", "no_mt", "hscnn"):
            steps = TRAINED_STEPS + PAPER_MERGE_STEPS + CALIBRATED_STEPS
            names |= {f"{ns}.{variant}.{step}" for step in steps}
    return names


def _variant_table_nodes() -> set[str]:
    """Issue 22 (namespaced studies): compare_variants no longer takes the 27 metrics at once;
    each variant namespace makes its rows and each loss namespace concatenates them (18)."""
    names = set()
    for loss in ("bce", "wce", "focal"):
        names.add(f"hscnn_variants.{loss}.rows")
        for variant in ("single", "naive", "no_css", "no_mt", "hscnn"):
            names.add(f"hscnn_variants.{loss}.{variant}.rows")
    return names


def _triplet_sweep_nodes() -> set[str]:
    """Issue 22: the triplet sweep was one node (``sweep_triplet_counts``) that sampled, trained,
    predicted and evaluated in a loop; it is now the namespace ``hscnn_triplets`` with one
    namespace per fixed sweep point (the ordinary HSCNN nodes), the node that gives each point
    its settings and the table node (kept its name, now inside the namespace)."""
    names = {"hscnn_triplets.point_settings", "hscnn_triplets.sweep_triplet_counts"}
    names.add("hscnn_triplets.select_loss")  # the main chain's loss, for the points' plans
    for point in ("low", "mid", "high"):
        for step in ("sample_triplets", *TRAINED_STEPS, *PAPER_MERGE_STEPS):
            names.add(f"hscnn_triplets.{point}.{step}")
    return names


# Pinned from the base commit's registry (computed from `git archive 274d0cc` with the shim
# folders still present), with the deliberate changes of issue 22's namespaced studies.
BASE_NODES: dict[str, set[str]] = {
    "hscnn_variants": _base_variant_nodes() | _variant_table_nodes(),
    "hscnn_n_phi": {"sweep_n_phi"},
    "hscnn_triplets": _triplet_sweep_nodes(),
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
    assert len(_base_variant_nodes()) == 228 and len(BASE_NODES["hscnn_variants"]) == 246
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


# ---- the namespaced HSCNN studies (issue 22) -----------------------------------------------


def _declared(params: dict, name: str):
    """The value of ``params:<dotted name>`` as Kedro's catalog gives it to a node."""
    value = params
    for part in name.removeprefix("params:").split("."):
        value = value[part]
    return value


@pytest.mark.parametrize("env", ["base", "ci"])
def test_each_study_namespace_reads_its_own_loss_and_variant(registry, env):
    """``loss`` and ``variant`` of ``hscnn_variants.<loss>(.<variant>)`` name the namespace;
    every parameter the studies read is declared."""
    params = _parameters(env)
    for name in ("hscnn", "hscnn_variants", "hscnn_triplets", "hscnn_n_phi"):
        for param in (i for i in registry[name].inputs() if i.startswith("params:")):
            _declared(params, param)  # a KeyError names an undeclared parameter
    read = {i for i in registry["hscnn_variants"].inputs() if i.startswith("params:")}
    for loss in ("bce", "wce", "focal"):
        assert _declared(params, f"hscnn_variants.{loss}.loss") == loss
        for variant in ("naive", "no_css", "no_mt", "hscnn"):
            param = f"params:hscnn_variants.{loss}.{variant}.variant"
            assert param in read and _declared(params, param) == variant
    assert params["variant"] == "hscnn"  # the headline chain and the triplet sweep


def _node(registry, pipeline: str, name: str):
    (node,) = [n for n in registry[pipeline].nodes if n.name == name]
    return node


def test_the_variant_nodes_read_their_namespace_s_parameters(registry):
    configure = _node(registry, "hscnn_variants", "hscnn_variants.wce.no_css.configure_hscnn")
    assert "params:hscnn_variants.wce.no_css.variant" in configure.inputs
    assert "hscnn_variants.wce.single_loss" in configure.inputs  # the wce single network's
    train = _node(registry, "hscnn_variants", "hscnn_variants.wce.no_css.train_hscnn")
    assert "hscnn_pairs" in train.inputs  # /CSS trains on plain pairs (§1.9)
    assert "hscnn_variants.wce.single_model_state" in train.inputs
    single = _node(registry, "hscnn_variants", "hscnn_variants.focal.select_loss")
    assert "params:hscnn_variants.focal.loss" in single.inputs
    headline = _node(registry, "hscnn", "configure_hscnn")
    assert {"params:variant", "single_loss"} <= set(headline.inputs)
    assert "hscnn_triplets" in _node(registry, "hscnn", "train_hscnn").inputs


def test_each_triplet_sweep_point_is_the_ordinary_hscnn_nodes(registry):
    """No node runs a pipeline: each point of hscnn_triplets is sample → configure → plan →
    train → predict → merge → evaluate of the HSCNN, chained through datasets of its own
    namespace."""
    from longtail_mltc.pipelines.hscnn import merge_nodes, nodes

    functions = {
        "sample_triplets": nodes.sample_training_triplets,
        "configure_hscnn": nodes.configure_hscnn_variant,
        "train_hscnn": nodes.train_hscnn_variant,
        "predict_hscnn": nodes.predict_hscnn_variant,
        "evaluate_hscnn": merge_nodes.evaluate_merge,
    }
    for point in ("low", "mid", "high"):
        for step, function in functions.items():
            node = _node(registry, "hscnn_triplets", f"hscnn_triplets.{point}.{step}")
            assert node.func is function
            assert "params:hscnn" not in node.inputs  # the point's settings instead
        for step in ("sample_triplets", "configure_hscnn"):
            node = _node(registry, "hscnn_triplets", f"hscnn_triplets.{point}.{step}")
            assert f"hscnn_triplets.{point}_settings" in node.inputs
        # the merge is chosen and evaluated under the point's plan (its settings)
        merge = _node(registry, "hscnn_triplets", f"hscnn_triplets.{point}.merge_hscnn")
        assert f"hscnn_triplets.{point}.hscnn_plan" in merge.inputs
        evaluate = _node(registry, "hscnn_triplets", f"hscnn_triplets.{point}.evaluate_hscnn")
        assert f"hscnn_triplets.{point}.hscnn_merge" in evaluate.inputs
        predict = _node(registry, "hscnn_triplets", f"hscnn_triplets.{point}.predict_hscnn")
        assert f"hscnn_triplets.{point}.hscnn_model_state" in predict.inputs


def test_the_study_nodes_of_pipelines_hscnn_take_at_most_eight_inputs(registry):
    """The nodes the studies add (sweeps.py) stay small; hscnn/nodes.py's are not counted."""
    from longtail_mltc.pipelines.hscnn import sweeps

    for name in ("hscnn_variants", "hscnn_triplets", "hscnn_n_phi"):
        for node in registry[name].nodes:
            if node.func.__module__ == sweeps.__name__:
                assert len(node.inputs) <= 8, (node.name, node.inputs)


@pytest.mark.parametrize(
    ("env", "corpus", "expected"),
    [
        ("base", "reuters", {"low": 3000, "mid": 6000, "high": 12000}),
        ("base", "delicious", {"low": 50000, "mid": 100000, "high": 200000}),
        ("ci", "reuters", {"low": 900, "mid": 1000, "high": 1200}),
    ],
)
def test_the_triplet_sweep_points_counts(env, corpus, expected):
    from longtail_mltc.pipelines.hscnn.sweeps import triplet_counts, triplet_sweep_settings

    params = _parameters(env, corpus=corpus)
    assert triplet_counts(params["hscnn_sweeps"]) == expected
    settings = triplet_sweep_settings(params["hscnn"], params["hscnn_sweeps"])
    for point, count in expected.items():
        assert settings[point] == {**params["hscnn"], "n_triplets": count}


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"n_triplets": [900, 1200]}, "hscnn_sweeps.n_triplets"),  # the retired list
        ({"triplet_counts": {"huge": 24000}}, "hscnn_sweeps.triplet_counts"),  # no such point
        ({"triplet_counts": {"low": None}}, "hscnn_sweeps.triplet_counts.low"),
        ({"triplet_counts": {"high": "many"}}, "hscnn_sweeps.triplet_counts.high"),
        ({"triplet_counts": {"low": 900, "mid": 900}}, "hscnn_sweeps.triplet_counts"),
    ],
)
def test_a_triplet_sweep_override_the_fixed_graph_cannot_honour_fails(override, named):
    from longtail_mltc.config_errors import ConfigurationError
    from longtail_mltc.pipelines.hscnn.sweeps import triplet_sweep_settings

    params = _parameters("ci", hscnn_sweeps=override)  # as --params hscnn_sweeps.<...>=...
    with pytest.raises(ConfigurationError, match=named.replace(".", r"\.")):
        triplet_sweep_settings(params["hscnn"], params["hscnn_sweeps"])


def _metrics(x: float) -> dict[str, float]:
    return {"test/all/micro_f1": x, "test/all/macro_f1": x / 2, "other": 1.0}


def test_the_triplet_table_is_sorted_by_count_with_the_old_columns():
    from longtail_mltc.pipelines.hscnn.sweeps import SWEEP_COLUMNS, sweep_triplet_counts

    sweeps = {"triplet_counts": {"low": 500, "mid": 2000, "high": 1000}}
    runs = []
    for epoch, x in ((1, 0.1), (2, 0.3), (3, 0.2)):  # low, mid, high
        runs += [{"best_epoch": epoch, "mlflow_run_id": f"run{epoch}"}, _metrics(x)]
    table, figure = sweep_triplet_counts(_metrics(0.05), sweeps, *runs)
    assert table.columns.tolist() == ["n_triplets", "best_epoch", "mlflow_run_id", *SWEEP_COLUMNS]
    assert table["n_triplets"].tolist() == [500, 1000, 2000]
    assert table["mlflow_run_id"].tolist() == ["run1", "run3", "run2"]
    assert table["test/all/micro_f1"].tolist() == pytest.approx([0.1, 0.2, 0.3], abs=1e-12)
    assert np.isnan(table["test/all/p_at_1"]).all()
    assert figure.axes


def test_the_variant_table_rows_come_from_the_namespaces_in_order():
    from longtail_mltc.pipelines.hscnn.sweeps import (
        TABLE_COLUMNS,
        compare_variants,
        concat_rows,
        single_variant_rows,
        variant_rows,
    )

    summary = {"loss": "wce", "variant": "no_mt"}
    wce = concat_rows(
        single_variant_rows("wce", _metrics(0.4)),
        variant_rows(summary, _metrics(0.5), _metrics(0.6)),
    )
    bce = concat_rows(single_variant_rows("bce", _metrics(0.1)))
    table = compare_variants(bce, wce)
    assert table.columns.tolist() == ["loss", "variant", *TABLE_COLUMNS]
    assert list(zip(table["loss"], table["variant"], strict=True)) == [
        ("bce", "single"),
        ("wce", "single"),
        ("wce", "no_mt"),
        ("wce", "no_mt_calibrated"),
    ]
    assert table["test/all/micro_f1"].tolist() == pytest.approx([0.1, 0.4, 0.5, 0.6], abs=1e-12)
