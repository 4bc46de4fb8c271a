"""Sweep figures: metrics against a swept setting (N_φ, number of triplets; METHODS §1.9).

matplotlib's object API (``Figure``), as in :mod:`longtail_mltc.labels.plots`: no pyplot state,
headless, the caller saves the figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
from matplotlib.figure import Figure

__all__ = ["plot_sweep"]


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
