"""Comparing tracked runs: metric tables (Markdown / HTML), per-label F1 and F1 along the tail.

Runs log metrics named ``<split>/<group>/<metric>`` (e.g. ``test/tail/macro_f1``); a comparison
table has one row per configuration, a label column first and the chosen metric columns after.
:func:`aggregate_seeds` folds a configuration run with several seeds into one row (mean and
sample standard deviation per metric). :func:`best_mask` marks each column's best value, which
:func:`to_markdown` and :func:`to_html` render in bold (``mean ± std`` where given a spread).
:func:`per_label_f1` and :func:`plot_f1_against_count` show where on the label frequency axis
one method gains over another.

Figures use matplotlib's object API (``Figure``): no pyplot state, headless, the caller saves.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
from matplotlib.figure import Figure

from .metrics import LabelMatrix, f1_from_counts, label_confusion_counts, resolve_chunk_size

__all__ = [
    "per_label_report",
    "aggregate_seeds",
    "best_mask",
    "comparison_table",
    "per_label_f1",
    "plot_f1_against_count",
    "seed_std",
    "to_html",
    "to_markdown",
]

MISSING = "–"
"""Text of a missing (NaN) cell: an en dash."""

STD_SUFFIX = "__std"
"""Suffix of the standard-deviation column of a metric in an :func:`aggregate_seeds` table."""

N_SEEDS, SEEDS = "n_seeds", "seeds"
"""Columns of an :func:`aggregate_seeds` table: how many seeds a row averages, and which."""


# --------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------


def comparison_table(
    runs: pd.DataFrame, columns: Sequence[str], label: str = "configuration"
) -> pd.DataFrame:
    """Column ``label`` then ``columns`` (in that order), one row per run in input order.

    A metric column that ``runs`` lacks is all NaN; a metric a run lacks stays NaN.
    """
    if label not in runs.columns:
        raise ValueError(f"runs has no label column {label!r}; it has {list(runs.columns)}")
    columns = list(columns)
    if not columns:
        raise ValueError("columns is empty: name at least one metric column")
    if label in columns:
        raise ValueError(f"columns must not repeat the label column {label!r}")
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ValueError(f"columns lists {repeated} more than once")
    return runs.reindex(columns=[label, *columns]).reset_index(drop=True)


def _seed_text(value: object) -> str | None:
    """A seed as text (``3``, ``3.0`` and ``"3"`` all give ``"3"``); None when missing."""
    if _is_missing(value):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _seed_order(seed: str) -> tuple[int, int, str]:
    """Integers in numeric order (``2`` before ``10``), then any other text."""
    try:
        return (0, int(seed), "")
    except ValueError:
        return (1, 0, seed)


def aggregate_seeds(
    runs: pd.DataFrame,
    columns: Sequence[str],
    label: str = "configuration",
    seed: str = "seed",
    group: str | None = None,
) -> pd.DataFrame:
    """One row per configuration: each metric's mean and sample standard deviation over seeds.

    ``runs`` holds one row per run: the configuration name in ``label``, the run's seed in
    ``seed`` and metrics in ``columns``. Runs with the same ``group`` value (default: the
    ``label`` column) form one row; a group may hold at most one run per seed, and runs without
    a seed (missing value or no ``seed`` column) count as one seed. Rows keep the order in which
    their group first appears.

    Columns of the result: ``label``; ``n_seeds`` (runs averaged); ``seeds`` (the seeds in
    numeric order joined by ``;``, None when no run has one); ``columns``, each the mean across
    the group's runs; then ``<column>__std`` for each, the sample standard deviation
    (``ddof=1``), NaN with a single seed. Missing metric values are skipped (pandas' mean and
    std); a metric column ``runs`` lacks is all NaN, as in :func:`comparison_table`.
    """
    table = comparison_table(runs, columns, label)  # validates label and columns
    columns = list(columns)
    reserved = {N_SEEDS, SEEDS} | {c + STD_SUFFIX for c in columns}
    clashing = sorted(reserved.intersection(columns))
    if clashing:
        raise ValueError(f"columns {clashing} clash with the columns aggregate_seeds adds")
    group = label if group is None else group
    if group not in runs.columns:
        raise ValueError(f"runs has no group column {group!r}; it has {list(runs.columns)}")
    keys = runs[group].reset_index(drop=True)
    seeds = (
        runs[seed].map(_seed_text).reset_index(drop=True)
        if seed in runs.columns
        else pd.Series([None] * len(runs), dtype=object)
    )
    repeated = pd.DataFrame({"group": keys, "seed": seeds}).duplicated(keep=False)
    if repeated.any():
        pairs = sorted(
            {
                (str(k), _seed_text(s) or "no seed")
                for k, s in zip(keys[repeated], seeds[repeated], strict=True)
            }
        )
        raise ValueError(
            f"more than one run per {group} and seed: {pairs}; keep one run per configuration "
            "and seed (e.g. its newest) before aggregating"
        )
    try:
        metrics = table[columns].astype(float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"metric columns must be numeric: {error}") from error
    grouped = metrics.groupby(keys, sort=False, dropna=False)
    means = grouped.mean()
    stds = grouped.std(ddof=1)
    labels = table[label].groupby(keys, sort=False, dropna=False).first()
    seed_lists = seeds.groupby(keys, sort=False, dropna=False).agg(
        lambda values: ";".join(sorted(values.dropna(), key=_seed_order)) or None
    )
    result = pd.DataFrame(
        {
            label: labels.to_numpy(),
            N_SEEDS: grouped.size().to_numpy(dtype=np.int64),
            SEEDS: seed_lists.reindex(means.index).to_numpy(dtype=object),
        }
    )
    for column in columns:
        result[column] = means[column].to_numpy()
    for column in columns:
        result[column + STD_SUFFIX] = stds[column].to_numpy()
    return result


def seed_std(summary: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The ``<column>__std`` columns of an :func:`aggregate_seeds` table, named ``column``: the
    ``spread`` that :func:`to_markdown` and :func:`to_html` render as ``mean ± std``."""
    missing = [c + STD_SUFFIX for c in columns if c + STD_SUFFIX not in summary.columns]
    if missing:
        raise ValueError(f"summary has no column(s) {missing}: use aggregate_seeds")
    return pd.DataFrame({c: summary[c + STD_SUFFIX] for c in columns}, index=summary.index)


def best_mask(
    table: pd.DataFrame, columns: Sequence[str], lower_is_better: Collection[str] = ()
) -> pd.DataFrame:
    """Bool frame shaped like ``table``: True where a cell of ``columns`` holds the column's best.

    Best is the maximum, or the minimum for columns in ``lower_is_better``; ties are all marked,
    NaN is never best (an all-NaN column has no best) and cells outside ``columns`` are False.
    """
    columns = list(columns)
    if not columns:
        raise ValueError("columns is empty: name at least one metric column")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"table has no column(s) {missing}; it has {list(table.columns)}")
    unknown = [c for c in lower_is_better if c not in columns]
    if unknown:
        raise ValueError(f"lower_is_better names {unknown}, which are not in columns {columns}")
    mask = pd.DataFrame(False, index=table.index, columns=table.columns)
    for column in columns:
        try:
            values = table[column].astype(float)
        except (TypeError, ValueError) as error:
            raise ValueError(f"column {column!r} is not numeric: {error}") from error
        best = values.min() if column in lower_is_better else values.max()  # NaN skipped
        mask[column] = (values == best).to_numpy()  # NaN == anything is False
    return mask


class _Cell(NamedTuple):
    text: str  # formatted, not yet escaped
    best: bool
    numeric: bool  # right-aligned


def _is_missing(value: object) -> bool:
    return not isinstance(value, str) and pd.api.types.is_scalar(value) and bool(pd.isna(value))


def _format(value: object, float_format: str) -> str:
    if _is_missing(value):
        return MISSING
    if isinstance(value, float | np.floating):
        return float_format.format(value)
    return str(value)


def _numeric_columns(table: pd.DataFrame) -> list[bool]:
    return [
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        for dtype in table.dtypes
    ]


def _format_with_spread(value: object, spread: object, float_format: str) -> str:
    """``mean ± std`` when both are present numbers, else the value alone."""
    text = _format(value, float_format)
    if _is_missing(value) or _is_missing(spread) or not isinstance(value, float | np.floating):
        return text
    return f"{text} ± {float_format.format(float(spread))}"


def _cells(
    table: pd.DataFrame,
    best: pd.DataFrame,
    float_format: str,
    spread: pd.DataFrame | None = None,
) -> list[list[_Cell]]:
    """Formatted body cells, after checking that ``best`` (and ``spread``) align with ``table``."""
    if not isinstance(best, pd.DataFrame):
        raise TypeError(f"best must be a DataFrame (see best_mask); received {type(best)}")
    if not best.index.equals(table.index):
        raise ValueError("best must have the same index as table (use best_mask(table, ...))")
    unknown = [c for c in best.columns if c not in table.columns]
    if unknown:
        raise ValueError(f"best has column(s) {unknown} that table lacks")
    if spread is None:
        spread = pd.DataFrame(index=table.index)
    if not isinstance(spread, pd.DataFrame):
        raise TypeError(f"spread must be a DataFrame (see seed_std); received {type(spread)}")
    if not spread.index.equals(table.index):
        raise ValueError("spread must have the same index as table (use seed_std(summary, ...))")
    unknown = [c for c in spread.columns if c not in table.columns]
    if unknown:
        raise ValueError(f"spread has column(s) {unknown} that table lacks")
    flags = best.reindex(columns=table.columns, fill_value=False).fillna(False).astype(bool)
    spreads = spread.reindex(columns=table.columns).astype(object)
    numeric = _numeric_columns(table)
    return [
        [
            _Cell(_format_with_spread(value, std, float_format), bool(flag), is_num)
            for value, std, flag, is_num in zip(values, stds, marks, numeric, strict=True)
        ]
        for values, stds, marks in zip(
            table.itertuples(index=False, name=None),
            spreads.itertuples(index=False, name=None),
            flags.itertuples(index=False, name=None),
            strict=True,
        )
    ]


def _markdown_text(text: str) -> str:
    """Text safe inside a Markdown table cell: pipes escaped, line breaks as spaces."""
    return text.replace("|", "\\|").replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def to_markdown(
    table: pd.DataFrame,
    best: pd.DataFrame,
    float_format: str = "{:.4f}",
    spread: pd.DataFrame | None = None,
) -> str:
    """GitHub-flavoured Markdown pipe table (ends with a newline).

    Floats use ``float_format``, NaN is ``–``, cells marked in ``best`` are bold, numeric
    columns are right-aligned and ``|`` in any text is escaped as ``\\|``. ``spread`` (same
    index as ``table``, columns among the table's; see :func:`seed_std`) adds `` ± std`` to
    a float cell whose spread is present (a single seed's NaN shows the value alone).
    """
    # Written by hand: DataFrame.to_markdown needs the optional `tabulate`, which we don't ship.
    rows = _cells(table, best, float_format, spread)
    header = [_markdown_text(str(c)) for c in table.columns]
    rule = ["---:" if numeric else "---" for numeric in _numeric_columns(table)]
    lines = [header, rule]
    for row in rows:
        cells = []
        for cell in row:
            text = _markdown_text(cell.text)
            cells.append(f"**{text}**" if cell.best and text else text)
        lines.append(cells)
    return "".join("| " + " | ".join(line) + " |\n" for line in lines)


_CSS = """\
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
thead th { background: #f2f2f2; }
tbody tr:nth-child(even) { background: #fafafa; }
td.num, td.best { text-align: right; font-variant-numeric: tabular-nums; }
td.best { background: #e6f4ea; }"""


def to_html(
    table: pd.DataFrame,
    best: pd.DataFrame,
    title: str,
    float_format: str = "{:.4f}",
    spread: pd.DataFrame | None = None,
) -> str:
    """Standalone HTML page holding ``table``; cells marked in ``best`` bold, class ``best``.

    All text (title, headers, cells) is escaped with :func:`html.escape`; NaN is ``–``;
    ``spread`` as in :func:`to_markdown` (``mean ± std``).
    """
    rows = _cells(table, best, float_format, spread)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    body = []
    for row in rows:
        cells = []
        for cell in row:
            text = html.escape(cell.text)
            if cell.best:
                cells.append(f'<td class="best"><strong>{text}</strong></td>')
            elif cell.numeric:
                cells.append(f'<td class="num">{text}</td>')
            else:
                cells.append(f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    escaped_title = html.escape(title)
    heading = f"<h1>{escaped_title}</h1>\n" if title else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        f"<title>{escaped_title}</title>\n"
        f"<style>\n{_CSS}\n</style>\n"
        "</head>\n"
        "<body>\n"
        f"{heading}"
        "<table>\n"
        f"<thead><tr>{head}</tr></thead>\n"
        "<tbody>\n" + "".join(f"{line}\n" for line in body) + "</tbody>\n"
        "</table>\n"
        "</body>\n"
        "</html>\n"
    )


# --------------------------------------------------------------------------------------------
# per-label F1
# --------------------------------------------------------------------------------------------


def _check_predictions(block: np.ndarray) -> None:
    if block.dtype == bool:
        return
    bad = (block != 0) & (block != 1)
    if bad.any():
        raise ValueError(
            f"y_pred must contain only 0/1 values; received e.g. {block[bad].ravel()[0].item()!r}"
        )


def per_label_f1(
    y_true: LabelMatrix, y_pred: LabelMatrix, *, chunk_size: int | None = None
) -> np.ndarray:
    """F1 of every label column of 0/1 matrices ``[docs × labels]`` (dense or scipy.sparse).

    Counts come from :func:`~.metrics.label_confusion_counts` (summed over row chunks, so a
    sparse ``y_pred`` is densified one chunk at a time) and F1 from
    :func:`~.metrics.f1_from_counts`: a label with no positive and no prediction gets 0.0
    (as ``sklearn.metrics.f1_score(average=None, zero_division=0)``).
    """
    truth = y_true.tocsr() if sp.issparse(y_true) else np.asarray(y_true)
    pred = y_pred.tocsr() if sp.issparse(y_pred) else np.asarray(y_pred)
    if truth.ndim != 2 or pred.ndim != 2 or truth.shape != pred.shape:
        raise ValueError(
            "y_true and y_pred must be 2-D [docs × labels] of the same shape; received "
            f"y_true {tuple(truth.shape)} and y_pred {tuple(pred.shape)}"
        )
    n_docs, n_labels = pred.shape
    if n_docs == 0 or n_labels == 0:
        raise ValueError(f"expected at least one document and one label; received {pred.shape}")
    rows = resolve_chunk_size(chunk_size, n_labels)
    tp, fp, fn = (np.zeros(n_labels, dtype=np.int64) for _ in range(3))
    for start in range(0, n_docs, rows):
        stop = min(start + rows, n_docs)
        block = pred[start:stop]
        block = block.toarray() if sp.issparse(block) else block
        _check_predictions(block)
        counts = label_confusion_counts(truth[start:stop], block, threshold=0.5)
        tp += counts.tp
        fp += counts.fp
        fn += counts.fn
    return f1_from_counts(tp, fp, fn)


# --------------------------------------------------------------------------------------------
# figure
# --------------------------------------------------------------------------------------------

ZERO_COUNT_X = 0.5
"""Where labels with a training count of 0 are drawn on the log axis."""


def _bin_means(x: np.ndarray, y: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Geometric bin centres and mean ``y`` of the non-empty log-spaced bins of ``x`` (> 0)."""
    keep = ~np.isnan(y)
    x, y = x[keep], y[keep]
    if x.size == 0:
        return np.empty(0), np.empty(0)
    lo, hi = x.min(), x.max()
    if lo == hi:
        return np.array([lo]), np.array([y.mean()])
    edges = np.geomspace(lo, hi, bins + 1)
    index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
    sums = np.bincount(index, weights=y, minlength=bins)
    sizes = np.bincount(index, minlength=bins)
    filled = sizes > 0
    centres = np.sqrt(edges[:-1] * edges[1:])
    return centres[filled], sums[filled] / sizes[filled]


def plot_f1_against_count(
    counts: np.ndarray | Sequence[float],
    f1_by_run: Mapping[str, np.ndarray],
    *,
    title: str = "",
    bins: int = 8,
) -> Figure:
    """Per-label F1 against the label's training count (log x axis), one colour per run.

    Each run is a scatter of its labels plus a line through the mean F1 within ``bins``
    log-spaced count bins (empty bins skipped). Labels with count 0 are drawn at x = 0.5.
    """
    x = np.asarray(counts, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"counts must be a non-empty 1-D array; received shape {x.shape}")
    if not np.isfinite(x).all() or (x < 0).any():
        raise ValueError("counts must be finite and non-negative (training examples per label)")
    if not f1_by_run:
        raise ValueError("f1_by_run is empty: give at least one run")
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise ValueError(f"bins must be a positive integer; received {bins!r}")
    f1s = {}
    for name, values in f1_by_run.items():
        f1 = np.asarray(values, dtype=np.float64)
        if f1.shape != x.shape:
            raise ValueError(
                f"f1_by_run[{name!r}] has shape {f1.shape}, but counts has length {x.size}: "
                "one F1 per label is expected"
            )
        f1s[str(name)] = f1
    x = np.where(x > 0, x, ZERO_COUNT_X)

    figure = Figure(figsize=(7.0, 4.2), layout="constrained")
    axes = figure.add_subplot()
    for name, f1 in f1s.items():
        points = axes.scatter(x, f1, s=12, alpha=0.35, linewidths=0, label=name)
        colour = points.get_facecolor()[0]
        centres, means = _bin_means(x, f1, int(bins))
        axes.plot(
            centres, means, marker="o", linewidth=2.0, color=colour[:3], label=f"{name} (bin mean)"
        )
    axes.set_xscale("log")
    axes.set_xlabel(f"training examples per label (log scale; count 0 drawn at {ZERO_COUNT_X})")
    axes.set_ylabel("per-label F1")
    axes.set_ylim(-0.03, 1.03)
    axes.set_title(title)
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize="small")
    return figure


def per_label_report(
    y_true: LabelMatrix,
    y_pred: LabelMatrix,
    label_names: Sequence[str],
    train_counts: np.ndarray | Sequence[int],
) -> pd.DataFrame:
    """One row per label: ``label``, ``train_count``, ``test_support`` (documents carrying it)
    and ``f1`` (:func:`per_label_f1`), in label-index order: what
    :func:`plot_f1_against_count` draws for a run."""
    f1 = per_label_f1(y_true, y_pred)
    counts = np.asarray(train_counts)
    if counts.shape != f1.shape or len(label_names) != f1.size:
        raise ValueError(
            f"{f1.size} labels in the matrices, {len(label_names)} names and "
            f"{counts.size} training counts: expected one of each per label"
        )
    support = np.asarray((y_true != 0).sum(axis=0)).ravel().astype(np.int64)
    return pd.DataFrame(
        {"label": list(label_names), "train_count": counts, "test_support": support, "f1": f1}
    )
