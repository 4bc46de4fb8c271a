"""Label plots (labels/plots.py): figures are built and inspected, never saved."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from longtail_mltc.labels import cooccurrence, label_counts, label_groups, to_label_matrix
from longtail_mltc.labels.plots import plot_cooccurrence, plot_long_tail

RNG = np.random.default_rng(0)
N_LABELS = 40
INDEX = [f"L{i:02d}" for i in range(N_LABELS)]
# Zipf-like label lists: label i kept with probability 1/(i+1)
DENSE = RNG.random((200, N_LABELS)) < 1.0 / (np.arange(N_LABELS) + 1)
LABEL_LISTS = [[INDEX[j] for j in np.flatnonzero(row)] for row in DENSE]
Y = to_label_matrix(LABEL_LISTS, INDEX)
COUNTS = label_counts(Y)


def test_long_tail_one_bar_per_label_sorted_descending() -> None:
    groups = label_groups(COUNTS, head_min=35, tail_max=8)
    fig = plot_long_tail(COUNTS, INDEX, groups, title="demo")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    heights = [patch.get_height() for patch in ax.patches]
    assert len(heights) == N_LABELS
    assert heights == sorted(COUNTS.tolist(), reverse=True)
    assert ax.get_yscale() == "log"
    assert ax.get_title() == "demo"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [f"{name} ({len(groups[name])})" for name in ("head", "medium", "tail")]
    # tick labels are label names in frequency order
    first_tick = ax.get_xticklabels()[0].get_text()
    assert first_tick == INDEX[int(np.argmax(COUNTS))]


def test_long_tail_without_groups_and_length_check() -> None:
    fig = plot_long_tail(np.array([1, 5, 0]), ["a", "b", "c"])
    assert len(fig.axes[0].patches) == 3
    with pytest.raises(ValueError):
        plot_long_tail(np.array([1, 2]), ["a"])


def test_cooccurrence_heatmap_shows_top_labels() -> None:
    _, P = cooccurrence(Y)
    fig = plot_cooccurrence(P, INDEX, top=10, counts=COUNTS)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    image = ax.images[0].get_array()
    assert image.shape == (10, 10)
    top = np.argsort(-COUNTS, kind="stable")[:10]
    assert [t.get_text() for t in ax.get_yticklabels()] == [INDEX[i] for i in top]
    # off-diagonal cells are the conditional probabilities; the diagonal is masked
    np.testing.assert_allclose(image[1, 0], P[top[1], top[0]])
    assert image.mask[0, 0] and not image.mask[1, 0]
    assert len(fig.axes) == 2  # heatmap + colour bar


def test_cooccurrence_top_larger_than_label_set() -> None:
    _, P = cooccurrence(Y[:, :5])
    fig = plot_cooccurrence(P, INDEX[:5], top=30, mask_diagonal=False)
    assert fig.axes[0].images[0].get_array().shape == (5, 5)


def test_long_tail_many_labels_draws_a_line_with_rank_axis() -> None:
    counts = np.arange(2500)[::-1] // 10
    fig = plot_long_tail(counts, [f"l{i}" for i in range(2500)], label_groups(counts, 50, 5))
    ax = fig.axes[0]
    assert len(ax.patches) == 0
    assert len(ax.lines) == 1 and len(ax.lines[0].get_xdata()) == 2500
    assert ax.get_xlabel().startswith("label rank")


def test_long_tail_bars_are_visible_when_rendered() -> None:
    """Rendered pixels, not artists: every group's colour must reach the image (a log axis
    with nonpositive='mask' once hid all bars, which start at 0, while the artists existed)."""
    import io

    from matplotlib.colors import to_rgb
    from matplotlib.image import imread

    from longtail_mltc.labels.plots import GROUP_COLOURS, plot_long_tail
    from longtail_mltc.labels.stats import label_groups

    counts = np.array([500, 120, 40, 20, 9, 3, 1, 1])
    groups = label_groups(counts, head_min=35, tail_max=8)
    fig = plot_long_tail(counts, [f"l{i}" for i in range(8)], groups)
    fig.axes[0].get_legend().remove()  # its colour patches must not count as bars
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60)
    buffer.seek(0)
    pixels = imread(buffer)[..., :3]
    for name in ("head", "medium", "tail"):
        colour = np.array(to_rgb(GROUP_COLOURS[name]))
        hits = (np.abs(pixels - colour).sum(axis=-1) < 0.05).sum()
        assert hits > 50, f"{name} bars not visible ({hits} pixels)"
