"""Label groups per corpus (issue 21, item 4): absolute or quantile cut points, resolved on the
training counts; an empty group is a warning, a JSON entry and an ingestion-report row."""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import PROJECT_ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from longtail_mltc import settings as project_settings
from longtail_mltc.config_errors import ConfigurationError
from longtail_mltc.labels import LabelStatistics, parse_group_rule, resolve_group_cuts
from longtail_mltc.labels.stats import label_groups
from longtail_mltc.pipelines.ingestion.nodes import report_ingestion
from longtail_mltc.pipelines.label_stats.nodes import compute_training_label_statistics

NODE_LOGGER = "longtail_mltc.pipelines.label_stats.nodes"
BUILT_IN_CUTS = {  # the cut points every built-in corpus had before group rules (35/8, PubMed)
    "reuters": (35, 8),
    "delicious": (35, 8),
    "rcv1": (35, 8),
    "rcv1_sample": (35, 8),
    "douban_movies": (35, 8),
    "imcm": (35, 8),
    "bioasq": (50, 15),
    "bioasq_sample": (50, 15),
}


def _params(corpus: str, **label_stats: Any) -> dict[str, Any]:
    """``params:label_stats`` as `kedro run --params corpus=<corpus>` resolves it from conf/."""
    runtime: dict[str, Any] = {"corpus": corpus}
    if label_stats:
        runtime["label_stats"] = label_stats
    loader = project_settings.CONFIG_LOADER_CLASS(
        str(PROJECT_ROOT / "conf"), **project_settings.CONFIG_LOADER_ARGS, runtime_params=runtime
    )
    return loader["parameters"]["label_stats"]


def _split(counts: list[int], extra_labels: tuple[str, ...] = ()) -> pd.DataFrame:
    """A corpus split whose label ``l<j>`` is on ``counts[j]`` training documents (one label per
    document), plus one test document per ``extra_labels`` label (training count 0)."""
    labels = [[f"l{j:02d}"] for j, count in enumerate(counts) for _ in range(count)]
    test = [[label] for label in extra_labels]
    return pd.DataFrame(
        {
            "doc_id": [f"d{i}" for i in range(len(labels) + len(test))],
            "text": ["w"] * (len(labels) + len(test)),
            "labels": labels + test,
            "split": ["train"] * len(labels) + ["test"] * len(test),
            "lang": ["en"] * (len(labels) + len(test)),
        }
    )


def _node(split: pd.DataFrame, params: dict[str, Any], corpus: str) -> dict[str, Any]:
    index = sorted({label for cell in split["labels"] for label in cell})
    return compute_training_label_statistics(split, index, params, corpus)


# GoEmotions-like: 28 labels, every one on at least 35 training documents.
FREQUENT = list(range(35, 35 + 28))


def test_28_frequent_labels_get_three_groups_by_default_not_28_0_0() -> None:
    # Reuters' absolute cut points, applied to every corpus until now: 28 head / 0 / 0.
    old = label_groups(np.array(FREQUENT), head_min=35, tail_max=8)
    assert [len(old[g]) for g in ("head", "medium", "tail")] == [28, 0, 0]
    # A user corpus without a profile gets the relative default from conf/.
    result = _node(_split(FREQUENT), _params("goemotions"), "goemotions")
    sizes = {group: len(members) for group, members in result["groups"].items()}
    # Linear quantiles of 35..62: 0.333 → 43.991 (floor 43), 0.667 → 53.009 (ceil 54).
    assert (result["tail_max"], result["head_min"]) == (43, 54)
    assert sizes == {"head": 9, "medium": 10, "tail": 9}
    assert result["empty_groups"] == []
    assert result["group_rule"] == {"head_quantile": 0.667, "tail_quantile": 0.333}


@pytest.mark.parametrize("corpus", sorted(BUILT_IN_CUTS))
def test_built_in_corpora_keep_their_absolute_cut_points(corpus: str) -> None:
    head_min, tail_max = BUILT_IN_CUTS[corpus]
    rule = parse_group_rule(_params(corpus)["groups"])
    assert rule.to_dict() == {"head_min": head_min, "tail_max": tail_max}


def test_reuters_groups_are_unchanged() -> None:
    counts = [1, 5, 8, 9, 34, 35, 100]
    result = _node(_split(counts, extra_labels=("zero",)), _params("reuters"), "reuters")
    assert (result["head_min"], result["tail_max"]) == (35, 8)
    # index: l00..l06, zero → counts 1 5 8 9 34 35 100 0
    assert result["groups"] == {"head": [5, 6], "medium": [3, 4], "tail": [0, 1, 2, 7]}


def test_params_override_one_cut_of_the_profile() -> None:
    # --params label_stats.head_min=40: the head cut is 40, the tail cut stays the profile's.
    assert parse_group_rule(_params("reuters", head_min=40)["groups"], head_min=40).to_dict() == {
        "head_min": 40,
        "tail_max": 8,
    }
    result = _node(_split(FREQUENT), _params("reuters", head_min=40), "reuters")
    assert (result["head_min"], result["tail_max"]) == (40, 8)
    assert len(result["groups"]["head"]) == 28 - 5  # 35..39 are medium
    # On a relative default, an absolute override replaces that cut only.
    result = _node(_split(FREQUENT), _params("goemotions", tail_max=40), "goemotions")
    assert result["group_rule"] == {"tail_max": 40, "head_quantile": 0.667}
    assert (result["head_min"], result["tail_max"]) == (54, 40)


def test_an_empty_group_is_a_warning_a_json_entry_and_a_report_row(
    caplog: pytest.LogCaptureFixture,
) -> None:
    split = _split(FREQUENT)
    with caplog.at_level(logging.WARNING, logger=NODE_LOGGER):
        result = _node(split, _params("reuters"), "reuters")
    assert result["empty_groups"] == ["medium", "tail"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "'medium'" in warnings[0] and "'tail'" in warnings[1]
    for message in warnings:
        assert "'reuters'" in message
        assert "head_min=35, tail_max=8" in message
        assert "range over 35..62" in message
    assert "N_c <= 8" in warnings[1]

    caplog.clear()
    features = {"tokenizer": "whitespace"}
    with caplog.at_level(logging.WARNING):
        report = report_ingestion(split, {}, features, _params("reuters"), "reuters")
    rows = {(s, p): v for s, p, v in report.itertuples(index=False)}
    assert rows[("labels_in_group:head", "train")] == 28
    assert rows[("labels_in_group:medium", "train")] == 0
    assert rows[("labels_in_group:tail", "train")] == 0
    assert rows[("empty_label_groups", "train")] == 2
    assert ("empty_label_group:medium", "train") in rows
    assert ("empty_label_group:tail", "train") in rows
    assert ("empty_label_group:head", "train") not in rows
    assert sum("is empty" in r.getMessage() for r in caplog.records) == 2


def test_a_label_statistics_file_without_a_rule_still_loads() -> None:
    # label_statistics.json as written before group rules (no group_rule, no empty_groups).
    old = {
        "label_index": ["a", "b", "c"],
        "counts": [40, 10, 2],
        "n_docs": 50,
        "head_min": 35,
        "tail_max": 8,
        "n_phi": 100,
        "priors": [0.8, 0.2, 0.04],
        "groups": {"head": [0], "medium": [1], "tail": [2]},
        "hybrid": {"head": [], "tail": [0, 1, 2]},
    }
    stats = LabelStatistics.from_dict(json.loads(json.dumps(old)))
    assert stats.group_rule is None
    assert stats.empty_groups == []
    assert stats.group_labels("medium") == ["b"]
    assert LabelStatistics.from_dict(stats.to_dict()) == stats


@pytest.mark.parametrize(
    ("counts", "cuts", "sizes"),
    [
        ([1, 2, 3], (3, 1), (1, 1, 1)),
        # ties at 5 fill both quantiles; the cuts move to the next distinct counts
        ([1, 5, 5, 5, 5, 5, 5, 100], (100, 1), (1, 6, 1)),
        ([0, 0, 0, 3, 3, 3, 3, 9], (9, 0), (1, 4, 3)),
        # the top count holds the tail quantile: the tail cut moves down to leave room
        ([1, 2, 3, 3, 3, 3, 3, 3], (3, 1), (6, 1, 1)),
        ([1, 1, 5, 5], (5, 1), (2, 0, 2)),  # two distinct counts: medium stays empty
        ([7, 7, 7], (8, 7), (0, 0, 3)),  # one count: every label is tail
    ],
)
def test_default_rule_hand_computed(
    counts: list[int], cuts: tuple[int, int], sizes: tuple[int, int, int]
) -> None:
    head_min, tail_max = resolve_group_cuts(np.array(counts), None)
    assert (head_min, tail_max) == cuts
    groups = label_groups(np.array(counts), head_min, tail_max)
    assert tuple(len(groups[g]) for g in ("head", "medium", "tail")) == sizes


def test_absolute_cuts_are_never_moved() -> None:
    assert resolve_group_cuts(np.array([40, 50]), {"head_min": 35, "tail_max": 8}) == (35, 8)
    # absolute head 35, relative tail: every count is head, so the tail can only be empty
    head_min, tail_max = resolve_group_cuts(
        np.array([40, 50, 60]), {"head_min": 35, "tail_quantile": 0.5}
    )
    assert head_min == 35 and tail_max < 35
    assert len(label_groups(np.array([40, 50, 60]), head_min, tail_max)["head"]) == 3


@pytest.mark.parametrize(
    ("groups", "overrides", "key"),
    [
        ({"head_min": 35, "head_quantile": 0.6, "tail_max": 8}, {}, "label_stats.groups"),
        ({"head_min": 35}, {}, "label_stats.groups"),
        ({"head_min": 35, "tail_max": 8, "medium": 3}, {}, "label_stats.groups.medium"),
        ({"head_quantile": 1.5, "tail_quantile": 0.3}, {}, "label_stats.groups.head_quantile"),
        ({"head_min": 8, "tail_max": 8}, {}, "label_stats.groups.tail_max"),
        ({"head_min": "many", "tail_max": 8}, {}, "label_stats.groups.head_min"),
        ({"head_quantile": 0.3, "tail_quantile": 0.6}, {}, "label_stats.groups.tail_quantile"),
        ({"head_min": 35, "tail_max": 8}, {"tail_max": 40}, "label_stats.tail_max"),
    ],
)
def test_a_wrong_rule_names_its_key(
    groups: dict[str, Any], overrides: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigurationError, match=rf"^{key}: expected"):
        parse_group_rule(groups, **overrides)


counts_lists = st.lists(st.integers(0, 60), min_size=3, max_size=80).filter(
    lambda c: len(set(c)) >= 3
)


@settings(max_examples=300, deadline=None)
@given(
    counts=counts_lists,
    tail_q=st.floats(0.0, 1.0),
    width=st.floats(0.001, 1.0),
    default=st.booleans(),
)
def test_quantile_rules_give_three_nonempty_groups_that_partition_the_labels(
    counts: list[int], tail_q: float, width: float, default: bool
) -> None:
    rule = None if default else {"tail_quantile": tail_q, "head_quantile": min(1.0, tail_q + width)}
    if rule is not None and rule["tail_quantile"] >= rule["head_quantile"]:
        rule = None
    array = np.array(counts)
    head_min, tail_max = resolve_group_cuts(array, rule)
    assert tail_max < head_min
    groups = label_groups(array, head_min, tail_max)
    assert all(len(groups[g]) > 0 for g in ("head", "medium", "tail"))
    members = np.concatenate([groups["head"], groups["medium"], groups["tail"]])
    assert sorted(members.tolist()) == list(range(len(counts)))  # disjoint and complete
    # the groups follow the counts: every head count > every medium count > every tail count
    assert array[groups["head"]].min() > array[groups["medium"]].max()
    assert array[groups["medium"]].min() > array[groups["tail"]].max()


@settings(max_examples=200, deadline=None)
@given(
    counts=st.lists(st.integers(0, 60), max_size=40),
    head=st.one_of(st.integers(1, 70), st.floats(0.0, 1.0)),
    tail=st.one_of(st.integers(-1, 50), st.floats(0.0, 1.0)),
)
def test_any_rule_gives_valid_cuts_and_keeps_absolute_ones(
    counts: list[int], head: int | float, tail: int | float
) -> None:
    groups = {
        ("head_min" if isinstance(head, int) else "head_quantile"): head,
        ("tail_max" if isinstance(tail, int) else "tail_quantile"): tail,
    }
    try:
        rule = parse_group_rule(groups)
    except ConfigurationError:
        return  # both absolute with tail >= head, or both quantiles out of order
    head_min, tail_max = resolve_group_cuts(np.array(counts, dtype=np.int64), rule)
    assert tail_max < head_min
    if rule.head_min is not None:
        assert head_min == rule.head_min
    if rule.tail_max is not None:
        assert tail_max == rule.tail_max
