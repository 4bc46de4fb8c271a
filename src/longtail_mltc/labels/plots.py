"""Label-statistics figures (METHODS §5): the long-tail curve and a co-occurrence heatmap.

Figures are built with matplotlib's object API (``matplotlib.figure.Figure``), not pyplot: no
global backend or figure registry is touched, nothing needs closing, and it works headless. The
caller saves them (e.g. Kedro's MatplotlibWriter or ``fig.savefig``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

__all__ = ["plot_cooccurrence", "plot_long_tail"]

GROUP_COLOURS = {"head": "tab:blue", "medium": "tab:orange", "tail": "tab:red"}
_OTHER_COLOUR = "tab:gray"
_MAX_NAMED_TICKS = 60  # above this many labels the x axis shows ranks, not names
_MAX_BARS = 2_000  # above this many labels the distribution is drawn as a line


def _label_colours(n_labels: int, groups: Mapping[str, np.ndarray] | None) -> np.ndarray:
    colours = np.full(n_labels, _OTHER_COLOUR, dtype=object)
    for name, columns in (groups or {}).items():
        colours[np.asarray(columns, dtype=np.int64)] = GROUP_COLOURS.get(name, _OTHER_COLOUR)
    return colours


def plot_long_tail(
    counts: np.ndarray,
    label_index: Sequence[str],
    groups: Mapping[str, np.ndarray] | None = None,
    title: str = "Training documents per label",
) -> Figure:
    """Labels sorted by training count (descending) on a log y axis, coloured by group.

    ``groups`` is the output of :func:`~longtail_mltc.labels.stats.label_groups` (any subset of
    "head"/"medium"/"tail"); labels in no group are grey. One bar per label up to 2,000 labels,
    a line beyond. Label names label the x axis up to 60 labels, ranks beyond. Labels with
    ``N_c = 0`` have no visible bar on the log axis.
    """
    counts = np.asarray(counts)
    if len(counts) != len(label_index):
        raise ValueError(f"{len(counts)} counts for {len(label_index)} labels")
    order = np.argsort(-counts, kind="stable")
    sorted_counts = counts[order]
    colours = _label_colours(len(counts), groups)[order]
    ranks = np.arange(len(counts))

    fig = Figure(figsize=(10, 5), layout="constrained")
    ax = fig.add_subplot()
    if len(counts) <= _MAX_BARS:
        ax.bar(ranks, sorted_counts, width=0.9, color=list(colours))
    else:
        ax.plot(ranks, sorted_counts, color="black", linewidth=1)
        ax.scatter(ranks, sorted_counts, c=list(colours), s=2)
    ax.set_yscale("log", nonpositive="clip")  # "mask" hides every bar: bars start at 0
    ax.set_ylabel("training documents with the label (N_c, log scale)")
    if len(counts) <= _MAX_NAMED_TICKS:
        ax.set_xticks(ranks, [label_index[i] for i in order], rotation=90, fontsize=7)
        ax.set_xlabel("label (sorted by frequency)")
    else:
        ax.set_xlabel("label rank (sorted by frequency)")
    ax.set_xlim(-0.5, len(counts) - 0.5)
    if groups:
        handles = [
            Patch(color=GROUP_COLOURS.get(name, _OTHER_COLOUR), label=f"{name} ({len(cols)})")
            for name, cols in groups.items()
        ]
        ax.legend(handles=handles, title="group (labels)")
    ax.set_title(title)
    ax.grid(axis="y", which="major", alpha=0.3)
    return fig


def plot_cooccurrence(
    conditional: np.ndarray,
    label_index: Sequence[str],
    top: int = 30,
    *,
    counts: np.ndarray | None = None,
    mask_diagonal: bool = True,
    title: str = "Label co-occurrence p(row | column)",
) -> Figure:
    """Heatmap of ``p(i | j)`` (from :func:`~longtail_mltc.labels.stats.cooccurrence`).

    Shows the ``top`` most frequent labels when ``counts`` is given (ties by index), else the
    first ``top`` of the index; rows and columns in that order. Cell ``[i, j]`` is the share of
    documents with column label j that also carry row label i. The diagonal (always 1) is masked
    by default so it does not dominate the colour scale. Colour scale fixed to [0, 1].
    """
    conditional = np.asarray(conditional, dtype=np.float64)
    n_labels = len(label_index)
    if conditional.shape != (n_labels, n_labels):
        raise ValueError(f"conditional has shape {conditional.shape}, expected {(n_labels,) * 2}")
    if top < 1:
        raise ValueError(f"top must be >= 1, got {top}")
    if counts is not None:
        chosen = np.argsort(-np.asarray(counts), kind="stable")[:top]
    else:
        chosen = np.arange(min(top, n_labels))
    block = conditional[np.ix_(chosen, chosen)]
    if mask_diagonal:
        block = np.ma.masked_array(block, mask=np.eye(len(chosen), dtype=bool))
    names = [label_index[i] for i in chosen]

    fig = Figure(figsize=(9, 8), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(block, vmin=0.0, vmax=1.0, cmap="viridis", interpolation="nearest")
    fontsize = 8 if len(chosen) <= 30 else 6
    ax.set_xticks(np.arange(len(chosen)), names, rotation=90, fontsize=fontsize)
    ax.set_yticks(np.arange(len(chosen)), names, fontsize=fontsize)
    ax.set_xlabel("conditioning label j")
    ax.set_ylabel("label i")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="p(i | j)", shrink=0.8)
    return fig
