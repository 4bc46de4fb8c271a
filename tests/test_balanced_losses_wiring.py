"""The balanced_losses study's fan-in (issue 22, item 3): no node reads more than eight datasets;
each loss's confused pairs are computed in its namespace, and the nine losses reach the table
and the pairs' CSV through ``collect_*`` groups, in the losses' order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Node, Pipeline
from kedro.runner import SequentialRunner

from longtail_mltc.evaluation.analysis import confused_label_pairs
from longtail_mltc.labels import LabelStatistics, to_label_matrix
from longtail_mltc.losses import LOSSES
from longtail_mltc.pipelines.balanced_losses.pipeline import (
    MAX_INPUTS,
    STUDIED_LOSSES,
    loss_groups,
    study_nodes,
)

NS = "balanced_losses"
LABELS = ["a", "b", "c", "d"]


def test_nine_losses_come_in_two_consecutive_groups_of_five_and_four():
    assert tuple(LOSSES) == STUDIED_LOSSES and len(STUDIED_LOSSES) == 9
    groups = loss_groups()
    assert [len(group) for group in groups] == [5, 4]
    assert sum(groups, ()) == STUDIED_LOSSES
    assert loss_groups(tuple("abcdefgh")) == [tuple("abcdefgh")]  # eight fit in one
    assert [len(g) for g in loss_groups(tuple("abcdefghijklmnopq"))] == [6, 6, 5]


def test_no_node_of_the_study_reads_more_than_eight_datasets():
    """The study's own nodes (each loss's single network is the single pipeline's)."""
    assert MAX_INPUTS == 8
    own = [node for node in study_nodes() if not node.name.endswith("_single_network")]
    widest = max(own, key=lambda node: len(node.inputs))
    assert len(widest.inputs) <= MAX_INPUTS, widest.name
    names = {node.name for node in study_nodes()}
    for loss in STUDIED_LOSSES:
        assert f"{NS}.{loss}.confused_pairs_at_threshold" in names


def _inputs(rng: np.random.Generator) -> dict:
    test_labels = [["a"], ["a", "b"], ["b", "c"], ["c"], ["d", "a"], ["b"]]
    split = pd.DataFrame(
        {
            "split": ["train", "valid"] + ["test"] * len(test_labels),
            "labels": [["a"], ["b"], *test_labels],
        }
    )
    stats = LabelStatistics(
        label_index=tuple(LABELS),
        counts=np.array([9, 6, 3, 1]),
        n_docs=10,
        head_min=5,
        tail_max=2,
        n_phi=1,
    ).to_dict()
    inputs = {
        "corpus_split": split,
        "label_index": LABELS,
        "label_statistics": stats,
        f"{NS}.backbone_config": {"evaluation": {"confused_pairs_top": 3}},
    }
    for number, loss in enumerate(STUDIED_LOSSES):
        metrics = {f"test/{g}/micro_f1": number / 10 for g in ("all", "head", "medium", "tail")}
        metrics |= {f"test/{g}/macro_f1": number / 20 for g in ("all", "head", "medium", "tail")}
        inputs[f"{NS}.{loss}.single_metrics"] = {**metrics, "threshold": 0.3 + number / 20}
        inputs[f"{NS}.{loss}.single_scores"] = {"test_scores": rng.random((6, 4))}
    return inputs


def test_the_table_and_the_confused_pairs_list_every_loss_in_order():
    inputs = _inputs(np.random.default_rng(3))
    full = Pipeline(study_nodes())
    metrics = [f"{NS}.{loss}.single_metrics" for loss in STUDIED_LOSSES]
    fan_in = full.from_inputs(*metrics).to_outputs(f"{NS}.loss_table", f"{NS}.confused_pairs")
    keep = Node(lambda table: table, f"{NS}.loss_table", f"{NS}.kept", name="keep", namespace=NS)
    fan_in += full.only_nodes_with_outputs(f"{NS}.test_labels") + Pipeline([keep])
    catalog = DataCatalog({name: MemoryDataset(inputs[name]) for name in fan_in.inputs()})
    for name in fan_in.all_outputs():
        catalog[name] = MemoryDataset()
    SequentialRunner().run(fan_in, catalog)

    table = catalog.load(f"{NS}.kept")
    assert table["loss"].tolist() == ["n_labels / n_test_docs", *STUDIED_LOSSES]
    assert table["all/micro_f1"].iloc[1:].tolist() == pytest.approx(
        [n / 10 for n in range(9)], abs=1e-9
    )
    assert table["threshold"].iloc[1:].tolist() == pytest.approx(
        [0.3 + n / 20 for n in range(9)], abs=1e-9
    )

    pairs = catalog.load(f"{NS}.confused_pairs")
    assert pairs["loss"].unique().tolist() == list(STUDIED_LOSSES)
    y_test = to_label_matrix(inputs["corpus_split"]["labels"].iloc[2:].tolist(), LABELS)
    for loss in STUDIED_LOSSES:
        scores = inputs[f"{NS}.{loss}.single_scores"]["test_scores"]
        threshold = inputs[f"{NS}.{loss}.single_metrics"]["threshold"]
        expected = confused_label_pairs(y_test, scores >= threshold, LABELS, top=3)
        ours = pairs[pairs["loss"] == loss].reset_index(drop=True)
        assert ours["rank"].tolist() == list(range(1, len(expected) + 1))
        pd.testing.assert_frame_equal(ours.drop(columns=["loss", "rank"]), expected)
