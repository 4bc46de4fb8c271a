"""Run comparison tables (Markdown / HTML), per-label F1 and the F1-against-count figure."""

from __future__ import annotations

import ast
import math
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from sklearn.metrics import f1_score

from longtail_mltc.evaluation import comparison
from longtail_mltc.evaluation.comparison import (
    aggregate_seeds,
    best_mask,
    comparison_table,
    per_label_f1,
    plot_f1_against_count,
    seed_std,
    to_html,
    to_markdown,
)

MICRO, TAIL, LOSS = "test/all/micro_f1", "test/tail/macro_f1", "test/all/loss"


def hand_table() -> pd.DataFrame:
    """Ties on MICRO and LOSS, a NaN in TAIL, a pipe in a label; LOSS is lower-is-better."""
    return pd.DataFrame(
        {
            "configuration": ["a|b", "run 2", "run 3"],
            MICRO: [0.865, 0.865, 0.8],
            TAIL: [0.1, math.nan, 0.2],
            LOSS: [0.5, 0.25, 0.25],
        }
    )


def hand_mask() -> pd.DataFrame:
    return best_mask(hand_table(), [MICRO, TAIL, LOSS], lower_is_better=[LOSS])


# --------------------------------------------------------------------------------------------
# comparison_table / best_mask
# --------------------------------------------------------------------------------------------


def test_comparison_table_orders_columns_and_fills_missing_metrics() -> None:
    runs = pd.DataFrame(
        {
            "run_name": ["z-last", "a-first", "m"],
            "test/head/macro_f1": [0.5, 0.6, 0.7],
            MICRO: [0.8, math.nan, 0.9],
            "params/lr": [1e-3, 1e-4, 1e-3],
        },
        index=[10, 5, 7],
    )
    table = comparison_table(runs, [MICRO, "test/tail/p_at_1", "test/head/macro_f1"], "run_name")
    assert list(table.columns) == ["run_name", MICRO, "test/tail/p_at_1", "test/head/macro_f1"]
    assert table["run_name"].tolist() == ["z-last", "a-first", "m"]  # input order kept
    assert table["test/tail/p_at_1"].isna().all()  # a metric no run logged
    assert math.isnan(table.loc[1, MICRO]) and table.loc[2, MICRO] == 0.9
    assert table["test/head/macro_f1"].tolist() == [0.5, 0.6, 0.7]


def test_comparison_table_rejects_invalid_input() -> None:
    runs = pd.DataFrame({"run_name": ["a"], MICRO: [0.5]})
    with pytest.raises(ValueError, match="'configuration'"):
        comparison_table(runs, [MICRO])
    with pytest.raises(ValueError, match="columns is empty"):
        comparison_table(runs, [], label="run_name")
    with pytest.raises(ValueError, match="label column"):
        comparison_table(runs, ["run_name", MICRO], label="run_name")
    with pytest.raises(ValueError, match="more than once"):
        comparison_table(runs, [MICRO, MICRO], label="run_name")


def test_best_mask_marks_ties_ignores_nan_and_honours_lower_is_better() -> None:
    table = hand_table()
    table["test/medium/macro_f1"] = math.nan  # all NaN: no best
    mask = best_mask(table, [MICRO, TAIL, LOSS, "test/medium/macro_f1"], lower_is_better=[LOSS])
    expected = pd.DataFrame(
        {
            "configuration": [False, False, False],
            MICRO: [True, True, False],  # tie on the maximum
            TAIL: [False, False, True],  # NaN is never best
            LOSS: [False, True, True],  # tie on the minimum
            "test/medium/macro_f1": [False, False, False],
        }
    )
    pd.testing.assert_frame_equal(mask, expected)


def test_best_mask_rejects_invalid_input() -> None:
    table = hand_table()
    with pytest.raises(ValueError, match="columns is empty"):
        best_mask(table, [])
    with pytest.raises(ValueError, match="test/all/p_at_1"):
        best_mask(table, [MICRO, "test/all/p_at_1"])
    with pytest.raises(ValueError, match="lower_is_better"):
        best_mask(table, [MICRO], lower_is_better=[LOSS])
    with pytest.raises(ValueError, match="not numeric"):
        best_mask(table, ["configuration"])


# --------------------------------------------------------------------------------------------
# aggregate_seeds: mean ± sample std across a configuration's seeds
# --------------------------------------------------------------------------------------------


def seed_runs() -> pd.DataFrame:
    """ "cnn" with seeds 1, 2, 3 (listed 3, 1, 2), "svm" with seed 7, "old" without a seed."""
    return pd.DataFrame(
        {
            "configuration": ["cnn", "svm", "cnn", "old", "cnn"],
            "seed": [3, 7, 1, math.nan, 2],
            MICRO: [0.86, 0.85, 0.80, 0.70, 0.83],
            TAIL: [0.30, 0.10, math.nan, 0.20, 0.20],
            "run_id": ["r1", "r2", "r3", "r4", "r5"],
        }
    )


def test_aggregate_seeds_means_and_sample_std_computed_by_hand() -> None:
    summary = aggregate_seeds(seed_runs(), [MICRO, TAIL])
    assert list(summary.columns) == [
        "configuration", "n_seeds", "seeds", MICRO, TAIL, f"{MICRO}__std", f"{TAIL}__std",
    ]  # fmt: skip
    assert summary["configuration"].tolist() == ["cnn", "svm", "old"]  # first appearance
    cnn, svm, old = (summary.iloc[i] for i in range(3))
    # cnn micro: mean (0.86 + 0.80 + 0.83) / 3 = 0.83; deviations +0.03, -0.03, 0 →
    # sum of squares 0.0018, / (3 - 1) = 0.0009, sqrt → 0.03
    assert cnn[MICRO] == pytest.approx(0.83, abs=1e-12)
    assert cnn[f"{MICRO}__std"] == pytest.approx(0.03, abs=1e-12)
    # cnn tail: seed 1 logged none; mean of 0.30 and 0.20, std sqrt(2 * 0.05² / 1)
    assert cnn[TAIL] == pytest.approx(0.25, abs=1e-12)
    assert cnn[f"{TAIL}__std"] == pytest.approx(math.sqrt(0.005), abs=1e-12)
    assert (cnn["n_seeds"], cnn["seeds"]) == (3, "1;2;3")
    # one seed: the value itself, no standard deviation
    assert (svm["n_seeds"], svm["seeds"], svm[MICRO]) == (1, "7", 0.85)
    assert math.isnan(svm[f"{MICRO}__std"]) and math.isnan(svm[f"{TAIL}__std"])
    # no seed recorded: one seed, no seed list
    assert old["n_seeds"] == 1 and pd.isna(old["seeds"]) and old[MICRO] == 0.70


def test_aggregate_seeds_best_is_decided_on_the_means() -> None:
    summary = aggregate_seeds(seed_runs(), [MICRO])
    best = best_mask(summary, [MICRO])
    # svm's 0.85 beats cnn's mean 0.83, though cnn's seed 3 reached 0.86
    assert best[MICRO].tolist() == [False, True, False]


def test_aggregate_seeds_seed_order_text_and_per_run_groups() -> None:
    runs = pd.DataFrame(
        {"configuration": ["a", "a", "a"], "seed": ["10", "2", " 1 "], MICRO: [0.1, 0.2, 0.3]}
    )
    assert aggregate_seeds(runs, [MICRO])["seeds"].tolist() == ["1;2;10"]  # numeric order
    floats = pd.DataFrame({"configuration": ["a", "a"], "seed": [1.0, 2.0], MICRO: [0.1, 0.2]})
    assert aggregate_seeds(floats, [MICRO])["seeds"].tolist() == ["1;2"]
    no_seeds = pd.DataFrame({"configuration": ["a", "b"], MICRO: [0.1, 0.2]})  # no seed column
    assert aggregate_seeds(no_seeds, [MICRO])["n_seeds"].tolist() == [1, 1]
    # group by run: every run its own row under its configuration's name
    per_run = aggregate_seeds(seed_runs(), [MICRO], group="run_id")
    assert per_run["configuration"].tolist() == ["cnn", "svm", "cnn", "old", "cnn"]
    assert per_run[MICRO].tolist() == [0.86, 0.85, 0.80, 0.70, 0.83]
    assert per_run["n_seeds"].tolist() == [1] * 5 and per_run[f"{MICRO}__std"].isna().all()


def test_aggregate_seeds_rejects_invalid_input() -> None:
    repeated = pd.DataFrame(
        {"configuration": ["a", "a", "b", "b"], "seed": [1, 1, None, None], MICRO: [0.1] * 4}
    )
    with pytest.raises(ValueError, match=r"more than one run .*\('a', '1'\), \('b', 'no seed'\)"):
        aggregate_seeds(repeated, [MICRO])
    with pytest.raises(ValueError, match="group column 'run'"):
        aggregate_seeds(seed_runs(), [MICRO], group="run")
    with pytest.raises(ValueError, match="clash"):
        aggregate_seeds(seed_runs().assign(n_seeds=1), [MICRO, "n_seeds"])
    with pytest.raises(ValueError, match="'configuration'"):
        aggregate_seeds(seed_runs(), [MICRO], label="name")
    with pytest.raises(ValueError, match="numeric"):
        aggregate_seeds(seed_runs().assign(bad="x"), [MICRO, "bad"])
    with pytest.raises(ValueError, match="__std"):
        seed_std(seed_runs(), [MICRO])


def seed_summary_shown() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The shown columns of the seed summary, its best mask and its spread."""
    summary = aggregate_seeds(seed_runs(), [MICRO, TAIL])
    shown = ["configuration", "n_seeds", MICRO, TAIL]
    best = best_mask(summary, [MICRO, TAIL])
    return summary[shown], best[shown], seed_std(summary, [MICRO, TAIL])


def test_to_markdown_shows_mean_plus_minus_std() -> None:
    table, best, spread = seed_summary_shown()
    assert to_markdown(table, best, spread=spread) == (
        "| configuration | n_seeds | test/all/micro_f1 | test/tail/macro_f1 |\n"
        "| --- | ---: | ---: | ---: |\n"
        "| cnn | 3 | 0.8300 ± 0.0300 | **0.2500 ± 0.0707** |\n"
        "| svm | 1 | **0.8500** | 0.1000 |\n"
        "| old | 1 | 0.7000 | 0.2000 |\n"
    )
    assert to_markdown(table, best, float_format="{:.2f}", spread=spread).splitlines()[2] == (
        "| cnn | 3 | 0.83 ± 0.03 | **0.25 ± 0.07** |"
    )
    with pytest.raises(ValueError, match="spread must have the same index"):
        to_markdown(table, best, spread=spread.iloc[:2])
    with pytest.raises(ValueError, match="spread has column"):
        to_markdown(table, best, spread=spread.assign(other=0.1))
    with pytest.raises(TypeError, match="spread must be a DataFrame"):
        to_markdown(table, best, spread=spread[MICRO])


def test_to_html_shows_mean_plus_minus_std() -> None:
    table, best, spread = seed_summary_shown()
    parser = _TableParser()
    parser.feed(to_html(table, best, title="seeds", spread=spread))
    parser.close()
    assert parser.rows == [
        ["cnn", "3", "0.8300 ± 0.0300", "0.2500 ± 0.0707"],
        ["svm", "1", "0.8500", "0.1000"],
        ["old", "1", "0.7000", "0.2000"],
    ]
    assert parser.best == best.to_numpy().tolist()


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


def test_to_markdown_matches_hand_written_table() -> None:
    expected = (
        "| configuration | test/all/micro_f1 | test/tail/macro_f1 | test/all/loss |\n"
        "| --- | ---: | ---: | ---: |\n"
        "| a\\|b | **0.8650** | 0.1000 | 0.5000 |\n"
        "| run 2 | **0.8650** | – | **0.2500** |\n"
        "| run 3 | 0.8000 | **0.2000** | **0.2500** |\n"
    )
    assert to_markdown(hand_table(), hand_mask()) == expected


def test_to_markdown_float_format_and_partial_mask() -> None:
    table = pd.DataFrame({"run": ["x|y", "b"], "m": [0.5, 0.25]})
    best = pd.DataFrame({"m": [False, True]})  # columns missing from the mask are not bold
    assert to_markdown(table, best, float_format="{:.1%}") == (
        "| run | m |\n| --- | ---: |\n| x\\|y | 50.0% |\n| b | **25.0%** |\n"
    )


def test_to_markdown_rejects_misaligned_mask() -> None:
    table = hand_table()
    with pytest.raises(ValueError, match="same index"):
        to_markdown(table, hand_mask().iloc[:2])
    with pytest.raises(ValueError, match="lacks"):
        to_markdown(table, hand_mask().assign(other=False))


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------


class _TableParser(HTMLParser):
    """Header texts, body cell texts and which body cells carry class ``best``."""

    def __init__(self) -> None:
        super().__init__()
        self.header: list[str] = []
        self.rows: list[list[str]] = []
        self.best: list[list[bool]] = []
        self.strong: list[list[bool]] = []
        self.title = ""
        self._section = ""
        self._cell: list[str] | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("thead", "tbody"):
            self._section = tag
        elif tag == "title":
            self._in_title = True
        elif tag == "tr" and self._section == "tbody":
            self.rows.append([])
            self.best.append([])
            self.strong.append([])
        elif tag in ("th", "td"):
            self._cell = []
            if tag == "td":
                classes = (dict(attrs).get("class") or "").split()
                self.best[-1].append("best" in classes)
                self.strong[-1].append(False)
        elif tag == "strong" and self._section == "tbody":
            self.strong[-1][-1] = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in ("th", "td") and self._cell is not None:
            text = "".join(self._cell)
            (self.header if tag == "th" else self.rows[-1]).append(text)
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._in_title:
            self.title += data


def test_to_html_cells_and_best_classes_round_trip() -> None:
    table, mask = hand_table(), hand_mask()
    page = to_html(table, mask, title="Reuters: head vs tail")
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page and "<style>" in page
    assert "<thead>" in page and "<tbody>" in page
    parser = _TableParser()
    parser.feed(page)
    parser.close()
    assert parser.title == "Reuters: head vs tail"
    assert parser.header == list(table.columns)
    assert parser.rows == [
        ["a|b", "0.8650", "0.1000", "0.5000"],
        ["run 2", "0.8650", "–", "0.2500"],
        ["run 3", "0.8000", "0.2000", "0.2500"],
    ]
    assert parser.best == mask.to_numpy().tolist()
    assert parser.strong == mask.to_numpy().tolist()
    assert '<td class="best"><strong>0.8650</strong></td>' in page


def test_to_html_escapes_script_in_label() -> None:
    label = '<script>alert("x & y")</script>'
    table = pd.DataFrame({"configuration": [label, "ok"], "<b>m</b>": [0.1, 0.2]})
    page = to_html(table, best_mask(table, ["<b>m</b>"]), title="<i>runs</i>")
    assert "<script>" not in page and "<b>" not in page and "<i>" not in page
    assert "&lt;script&gt;alert(&quot;x &amp; y&quot;)&lt;/script&gt;" in page
    parser = _TableParser()
    parser.feed(page)
    parser.close()
    assert parser.title == "<i>runs</i>"
    assert parser.header == ["configuration", "<b>m</b>"]
    assert parser.rows == [[label, "0.1000"], ["ok", "0.2000"]]
    assert parser.best == [[False, False], [False, True]]


# --------------------------------------------------------------------------------------------
# per-label F1
# --------------------------------------------------------------------------------------------

FORMATS = {
    "dense": np.asarray,
    "csr_matrix": sp.csr_matrix,
    "csc_matrix": sp.csc_matrix,
    "coo_matrix": sp.coo_matrix,
    "csr_array": sp.csr_array,
}


@settings(max_examples=40, deadline=None)
@given(
    n_docs=st.integers(1, 7),
    n_labels=st.integers(2, 6),
    density=st.sampled_from([0.0, 0.2, 0.5, 0.9]),
    seed=st.integers(0, 2**32 - 1),
    true_format=st.sampled_from(sorted(FORMATS)),
    pred_format=st.sampled_from(sorted(FORMATS)),
    chunk_size=st.none() | st.integers(1, 3),
)
def test_per_label_f1_matches_sklearn(
    n_docs: int,
    n_labels: int,
    density: float,
    seed: int,
    true_format: str,
    pred_format: str,
    chunk_size: int | None,
) -> None:
    rng = np.random.default_rng(seed)
    y_true = (rng.random((n_docs, n_labels)) < density).astype(np.int8)
    y_pred = (rng.random((n_docs, n_labels)) < 0.4).astype(np.int8)
    expected = f1_score(y_true, y_pred, average=None, zero_division=0)
    got = per_label_f1(
        FORMATS[true_format](y_true), FORMATS[pred_format](y_pred), chunk_size=chunk_size
    )
    assert got.shape == (n_labels,)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_per_label_f1_single_label_and_empty_label() -> None:
    y_true = np.array([[1, 0], [0, 0], [1, 0]])
    y_pred = np.array([[1, 0], [1, 0], [0, 0]], dtype=bool)
    # label 1: no positive, no prediction -> 0.0 by convention
    np.testing.assert_allclose(per_label_f1(y_true, y_pred), [0.5, 0.0])
    one = per_label_f1(sp.csr_matrix(y_true[:, :1]), y_pred[:, :1])
    np.testing.assert_allclose(one, [f1_score(y_true[:, 0], y_pred[:, 0], zero_division=0)])


def test_per_label_f1_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"y_true \(2, 3\) and y_pred \(2, 2\)"):
        per_label_f1(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="y_pred must contain only 0/1"):
        per_label_f1(np.zeros((2, 2)), np.array([[0.0, 0.7], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="y_true must contain only 0/1"):
        per_label_f1(sp.csr_matrix(np.array([[0, 2]])), np.zeros((1, 2)))


# --------------------------------------------------------------------------------------------
# figure
# --------------------------------------------------------------------------------------------


def test_plot_f1_against_count_log_axis_one_scatter_per_run() -> None:
    rng = np.random.default_rng(0)
    counts = np.concatenate([[0, 0], rng.integers(1, 2000, size=60)])
    runs = {"HSCNN": rng.random(62), "single network": rng.random(62)}
    figure = plot_f1_against_count(counts, runs, title="Reuters", bins=5)
    assert isinstance(figure, Figure)
    (axes,) = figure.axes
    assert axes.get_xscale() == "log"
    assert "0.5" in axes.get_xlabel()
    assert axes.get_title() == "Reuters"
    scatters = [c for c in axes.collections if isinstance(c, PathCollection)]
    assert len(scatters) == len(runs)
    for scatter, f1 in zip(scatters, runs.values(), strict=True):
        offsets = np.asarray(scatter.get_offsets())
        np.testing.assert_allclose(offsets[:, 0], np.where(counts > 0, counts, 0.5))
        np.testing.assert_allclose(offsets[:, 1], f1)
    assert len(axes.lines) == len(runs)  # one bin-mean line per run
    for line in axes.lines:
        assert 1 <= len(line.get_xdata()) <= 5
    legend = [t.get_text() for t in axes.get_legend().get_texts()]
    assert all(any(name in text for text in legend) for name in runs)


def test_plot_f1_against_count_bin_means() -> None:
    counts = np.array([1, 1, 100, 100])
    figure = plot_f1_against_count(counts, {"run": np.array([0.2, 0.4, 0.6, 1.0])}, bins=2)
    (line,) = figure.axes[0].lines
    np.testing.assert_allclose(line.get_xdata(), [10**0.5, 10**1.5])
    np.testing.assert_allclose(line.get_ydata(), [0.3, 0.8])


def test_plot_f1_against_count_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"f1_by_run\['b'\] has shape \(2,\).*length 3"):
        plot_f1_against_count([1, 2, 3], {"a": np.zeros(3), "b": np.zeros(2)})
    with pytest.raises(ValueError, match="non-negative"):
        plot_f1_against_count([1, -2], {"a": np.zeros(2)})
    with pytest.raises(ValueError, match="empty"):
        plot_f1_against_count([1, 2], {})
    with pytest.raises(ValueError, match="bins"):
        plot_f1_against_count([1, 2], {"a": np.zeros(2)}, bins=0)


def test_comparison_does_not_import_kedro_or_mlflow() -> None:
    tree = ast.parse(Path(comparison.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"kedro", "mlflow"}


def test_per_label_report_rows_follow_the_label_index():
    from longtail_mltc.evaluation.comparison import per_label_report

    y = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0]])
    pred = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]])
    table = per_label_report(y, pred, ["a", "b", "c"], [50, 7, 0])
    # a: TP 1, FN 1 → 2/3; b: TP 1, FP 1 → 2/3; c: FP 1, no positives → 0
    assert table["label"].tolist() == ["a", "b", "c"]
    assert table["train_count"].tolist() == [50, 7, 0]
    assert table["test_support"].tolist() == [2, 1, 0]
    np.testing.assert_allclose(table["f1"], [2 / 3, 2 / 3, 0.0])
    with pytest.raises(ValueError, match="one of each per label"):
        per_label_report(y, pred, ["a", "b"], [50, 7, 0])
