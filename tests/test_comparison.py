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
    best_mask,
    comparison_table,
    per_label_f1,
    plot_f1_against_count,
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
