"""Sweep figures: metrics against a swept setting (N_φ, number of triplets; METHODS §1.9).

matplotlib's object API (``Figure``), as in :mod:`longtail_mltc.labels.plots`: no pyplot state,
headless, the caller saves the figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["plot_group_bars", "plot_sweep"]


def plot_sweep(
    table: pd.DataFrame,
    x: str,
    metrics: Sequence[str],
    *,
    baselines: Mapping[str, float] | None = None,
    title: str = "",
    x_label: str | None = None,
    log_x: bool = False,
) -> Figure:
    """One line per column of ``metrics`` against column ``x``; ``baselines`` as dashed lines.

    ``baselines``: ``{legend text: value}``, e.g. the single network's micro-F1, drawn as
    horizontal lines in the colour of the metric whose name the legend text starts with.
    """
    missing = [c for c in (x, *metrics) if c not in table.columns]
    if missing:
        raise ValueError(f"sweep table has no column(s) {missing}; it has {list(table.columns)}")
    ordered = table.sort_values(x)
    figure = Figure(figsize=(7.0, 4.2), layout="constrained")
    axes = figure.add_subplot()
    colours = {}
    for metric in metrics:
        (line,) = axes.plot(ordered[x], ordered[metric], marker="o", label=metric)
        colours[metric] = line.get_color()
    for text, value in (baselines or {}).items():
        colour = next((c for m, c in colours.items() if text.startswith(m)), "tab:gray")
        axes.axhline(value, linestyle="--", linewidth=1.0, color=colour, label=text)
    if log_x:
        axes.set_xscale("log")
    axes.set_xlabel(x_label or x)
    axes.set_ylabel("score")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    return figure


def plot_group_bars(
    table: pd.DataFrame,
    row: str,
    metrics: Sequence[str],
    *,
    title: str = "",
) -> Figure:
    """One panel per group, one bar per row of ``table`` and metric.

    Columns are named ``<group>/<metric>`` (e.g. ``tail/macro_f1``); groups appear in column
    order. Missing values are drawn as empty bars.
    """
    if row not in table.columns:
        raise ValueError(f"table has no column {row!r}; it has {list(table.columns)}")
    groups = list(dict.fromkeys(c.split("/")[0] for c in table.columns if "/" in c))
    groups = [g for g in groups if any(f"{g}/{m}" in table.columns for m in metrics)]
    if not groups:
        raise ValueError(f"table has no <group>/<metric> column for metrics {list(metrics)}")
    columns = min(4, len(groups))
    rows = -(-len(groups) // columns)
    figure = Figure(figsize=(3.6 * columns, 3.4 * rows + 0.6), layout="constrained")
    panels = figure.subplots(rows, columns, squeeze=False, sharey=True).ravel()
    names = table[row].astype(str).tolist()
    width = 0.8 / len(metrics)
    positions = np.arange(len(names))
    for axes, group in zip(panels, groups, strict=False):
        for i, metric in enumerate(metrics):
            column = f"{group}/{metric}"
            values = table[column].astype(float) if column in table else np.full(len(names), np.nan)
            axes.bar(positions + (i - (len(metrics) - 1) / 2) * width, values, width, label=metric)
        axes.set_title(group)
        axes.set_xticks(positions, names, rotation=60, ha="right", fontsize="small")
        axes.set_ylim(0, 1)
        axes.grid(axis="y", alpha=0.3)
    for axes in panels[len(groups) :]:
        axes.set_visible(False)
    panels[0].set_ylabel("F1")
    panels[0].legend(fontsize="small")
    figure.suptitle(title)
    return figure
