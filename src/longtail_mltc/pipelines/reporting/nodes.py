"""Nodes of the reporting pipeline: select tracked runs, tabulate, plot.

Kedro glue. The tracking store is read by the datasets of
:mod:`longtail_mltc.pipelines.tracked_runs` (the runs table, artifact handles); the nodes compute
on what they load. The tables and figures come from :mod:`longtail_mltc.evaluation.comparison`
and :mod:`longtail_mltc.evaluation.plots`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from longtail_mltc.evaluation.comparison import (
    N_SEEDS,
    aggregate_seeds,
    best_mask,
    plot_f1_against_count,
    seed_std,
    to_html,
    to_markdown,
)
from longtail_mltc.evaluation.legacy_runs import rename_legacy_hybrid_groups
from longtail_mltc.evaluation.plots import plot_group_bars
from longtail_mltc.pipelines.tracked_runs import ArtifactReader
from longtail_mltc.pipelines.tracking import (
    flatten_params,
    session_run_name,
    tracking_uri_for_logs,
)

from .results_page import provenance, results_page, sweep_source

logger = logging.getLogger(__name__)

LABEL = "configuration"
SEED = "seed"  # the run's tag (tracking.start_configuration_run); missing on older runs
DESCRIPTION = ("run_id", "pipeline", "variant", "encoder", "loss", SEED, "start_time")
SWEEP_PARAM = "params.hscnn.n_triplets"
N_PHI_PIPELINE = "hscnn_n_phi"
N_PHI_ARTIFACT = "hscnn_sweeps/n_phi.csv"
PER_LABEL_ARTIFACT = "analysis/per_label_f1.csv"


def _quoted(value: object) -> str:
    return "'" + str(value).replace("'", "\\'") + "'"


def _filter_string(filters: Mapping[str, Any], corpus: str) -> str:
    """The filter as an MLflow search string (for messages: the runs are filtered here)."""
    clauses = ["attributes.status = 'FINISHED'", f"tags.corpus = {_quoted(corpus)}"]
    pipelines = filters.get("pipelines") or []
    if len(pipelines) == 1:
        clauses.append(f"tags.pipeline = {_quoted(pipelines[0])}")
    for key, value in (filters.get("tags") or {}).items():
        clauses.append(f"tags.`{key}` = {_quoted(value)}")
    query = " and ".join(clauses)
    return query + (f" and tags.pipeline in {list(pipelines)}" if len(pipelines) > 1 else "")


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """``frame[name]``, or missing values where no run has that tag or parameter."""
    return frame[name] if name in frame else pd.Series(None, index=frame.index, dtype=object)


def _matching(tracked: pd.DataFrame, filters: Mapping[str, Any], corpus: str) -> pd.DataFrame:
    """The finished runs of ``corpus`` whose tags pass ``filters``, newest first."""
    keep = (_column(tracked, "status").fillna("FINISHED") == "FINISHED") & (
        _column(tracked, "tags.corpus") == str(corpus)
    )
    if filters.get("pipelines"):
        keep &= _column(tracked, "tags.pipeline").isin(filters["pipelines"])
    for key, value in (filters.get("tags") or {}).items():
        keep &= _column(tracked, f"tags.{key}") == str(value)
    found = tracked[keep]
    if "start_time" in found:
        found = found.sort_values("start_time", ascending=False, kind="stable")
    return found.reset_index(drop=True)


def _described(found: pd.DataFrame) -> pd.DataFrame:
    """Name, description, triplet count and test metrics of each run (legacy groups renamed)."""
    runs = pd.DataFrame({LABEL: found["tags.mlflow.runName"]})
    for name in DESCRIPTION:
        column = name if name in ("run_id", "start_time") else f"tags.{name}"
        runs[name] = found.get(column)
    runs["n_triplets"] = pd.to_numeric(_column(found, SWEEP_PARAM), errors="coerce")
    found = rename_legacy_hybrid_groups(found)  # older HSCNN runs: head/tail = the N_φ split
    metrics = found[[c for c in found.columns if c.startswith("metrics.test/")]]
    return pd.concat([runs, metrics.rename(columns=lambda c: c[len("metrics.") :])], axis=1)


def collect_runs(
    tracked_runs: pd.DataFrame, reporting: Mapping[str, Any], corpus: str
) -> pd.DataFrame:
    """One row per tracked configuration run that passes ``reporting.filters``: its name
    (``configuration``), id, tags (``seed`` among them), start time, test metrics and the
    triplet count, sorted by configuration, then seed. HSCNN runs tracked before the ``N_φ``
    split had its own names get their ``head`` / ``tail`` figures under ``hybrid_head`` /
    ``hybrid_tail`` (:mod:`~longtail_mltc.evaluation.legacy_runs`).

    ``tracked_runs``: the experiment's runs (``reporting.tracked_runs``, a
    :class:`~longtail_mltc.pipelines.tracked_runs.TrackedRunsDataset`). With ``latest_only`` a
    configuration run several times with the same seed keeps its newest finished run (runs
    without a seed tag count as one seed). Raises with the filter when nothing matches.
    """
    filters = reporting.get("filters") or {}
    query = _filter_string(filters, corpus)
    found = _matching(tracked_runs, filters, corpus)
    if found.empty:
        raise ValueError(
            f"no finished runs match {query!r} in {tracking_uri_for_logs()}: train "
            f"something on corpus {corpus!r} first, or widen reporting.filters"
        )
    runs = _described(found)
    if reporting.get("latest_only", True):
        before = len(runs)
        runs = runs.drop_duplicates(subset=[LABEL, SEED], keep="first")  # newest first
        if len(runs) < before:
            logger.info(
                "reporting: kept the newest run per configuration and seed (%d older dropped)",
                before - len(runs),
            )
    runs = runs.sort_values(
        [LABEL, SEED, "start_time"],
        ascending=[True, True, False],
        key=lambda c: pd.to_numeric(c, errors="coerce") if c.name == SEED else c,
        na_position="last",
    ).reset_index(drop=True)
    logger.info("reporting: %d configuration runs match %s", len(runs), query)
    return runs


def table_columns(reporting: Mapping[str, Any]) -> list[str]:
    """``test/<group>/<metric>`` for every configured group and metric, then the extras."""
    grouped = [f"test/{g}/{m}" for g in reporting["groups"] for m in reporting["metrics"]]
    return grouped + [c for c in reporting.get("extra_metrics", []) if c not in grouped]


def render_comparison(
    runs: pd.DataFrame, reporting: Mapping[str, Any]
) -> tuple[pd.DataFrame, str, str]:
    """The comparison table (rows = configurations) as CSV data, Markdown and an HTML page,
    the best value per column marked (``best_in`` column list in the CSV, bold elsewhere).

    A configuration tracked with several seeds is one row (:func:`aggregate_seeds`): the CSV
    holds each metric's mean, its ``<metric>__std`` (sample std, empty for one seed),
    ``n_seeds`` and ``seeds``; Markdown and HTML show ``mean ± std`` and ``n_seeds``. The best
    value is decided on the means. Without ``latest_only`` every run is its own row.
    """
    columns = table_columns(reporting)
    per_run = not reporting.get("latest_only", True)
    summary = aggregate_seeds(
        runs, columns, label=LABEL, seed=SEED, group="run_id" if per_run else None
    )
    best = best_mask(summary, columns, lower_is_better=reporting.get("lower_is_better", ()))
    shown = [LABEL, N_SEEDS, *columns]
    spread = seed_std(summary, columns)
    markdown = to_markdown(summary[shown], best[shown], spread=spread)
    page = to_html(
        summary[shown],
        best[shown],
        title=reporting.get("title") or "longtail-mltc: run comparison",
        spread=spread,
    )
    csv = summary.copy()
    csv["best_in"] = [";".join(c for c in columns if best.loc[i, c]) for i in summary.index]
    return csv, markdown, page


def plot_group_comparison(
    comparison_table: pd.DataFrame, reporting: Mapping[str, Any], corpus: str
) -> Figure:
    """Bars per label group: every configuration's configured metrics (means across seeds)."""
    renamed = comparison_table.rename(
        columns=lambda c: c[len("test/") :] if c.startswith("test/") else c
    )
    return plot_group_bars(
        renamed,
        row=LABEL,
        metrics=reporting["metrics"],
        title=f"{corpus}: test metrics per label group",
    )


def _n_phi_session(tracked_runs: pd.DataFrame, corpus: str) -> pd.Series | None:
    """The newest finished ``hscnn_n_phi`` session run of this corpus (named
    ``<corpus>/hscnn_n_phi``; runs tracked before that name: ``hscnn_n_phi``)."""
    names = (session_run_name(corpus, N_PHI_PIPELINE), N_PHI_PIPELINE)
    sessions = tracked_runs[
        (_column(tracked_runs, "status").fillna("FINISHED") == "FINISHED")
        & _column(tracked_runs, "tags.mlflow.runName").isin(names)
        & (_column(tracked_runs, "params.corpus") == str(corpus))
    ]
    if "start_time" in sessions:
        sessions = sessions.sort_values("start_time", ascending=False, kind="stable")
    return None if sessions.empty else sessions.iloc[0]


def find_n_phi_sweep(
    tracked_runs: pd.DataFrame, n_phi_tables: ArtifactReader, corpus: str
) -> pd.DataFrame:
    """The N_φ sweep table of the newest tracked ``hscnn_n_phi`` session of this corpus (its
    ``hscnn_sweeps/n_phi.csv`` artifact), empty when none is tracked or it cannot be read."""
    session = _n_phi_session(tracked_runs, corpus)
    table = None if session is None else n_phi_tables.read_csv(session["run_id"])
    return pd.DataFrame() if table is None else table


def plot_sweep_curves(
    runs: pd.DataFrame, n_phi_sweep: pd.DataFrame, reporting: Mapping[str, Any], corpus: str
) -> Figure:
    """Left: test F1 against N_φ (the tracked ``hscnn_n_phi`` table); right: against the
    number of training triplets (HSCNN runs with different ``hscnn.n_triplets``; a
    configuration's seeds averaged). A panel without tracked data says which pipeline
    produces it."""
    metric_names = [f"test/all/{m}" for m in reporting["metrics"]]
    figure = Figure(figsize=(11.0, 4.2), layout="constrained")
    left, right = figure.subplots(1, 2)
    _curves(left, n_phi_sweep, "n_phi", metric_names, "N_φ", "kedro run --pipeline=hscnn_n_phi")
    hscnn = runs[(runs["pipeline"] == "hscnn") & (runs["variant"] == "hscnn")]
    hscnn = (
        hscnn.dropna(subset=["n_triplets"])
        .groupby([LABEL, "n_triplets"], as_index=False)[[m for m in metric_names if m in hscnn]]
        .mean()  # across seeds
        .groupby("n_triplets", as_index=False)
        .first()
    )
    triplets = hscnn if hscnn["n_triplets"].nunique() > 1 else None
    _curves(
        right,
        triplets,
        "n_triplets",
        metric_names,
        "training triplets",
        "kedro run --pipeline=hscnn_triplets",
    )
    figure.suptitle(f"{corpus}: HSCNN sweeps from tracked runs")
    return figure


def _curves(
    axes, table: pd.DataFrame | None, x: str, metrics: Sequence[str], label: str, hint: str
) -> None:
    axes.set_xlabel(label)
    axes.set_ylabel("test score")
    if table is None or table.empty or x not in table:
        axes.text(0.5, 0.5, f"no tracked sweep:\n{hint}", ha="center", va="center")
        axes.set_axis_off()
        return
    ordered = table.sort_values(x)
    for metric in metrics:
        if metric in ordered:
            axes.plot(ordered[x], ordered[metric], marker="o", label=metric)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")


def _named_runs(runs: pd.DataFrame, names: Sequence[str], reports: ArtifactReader) -> pd.DataFrame:
    """The runs ``reporting.per_label_runs`` names (of several seeds, the best by test
    micro-F1); raises for a name not collected or a run without a per-label report."""
    missing = [n for n in names if n not in set(runs[LABEL])]
    if missing:
        raise ValueError(
            f"reporting.per_label_runs names {missing}, not among the collected runs "
            f"{sorted(set(runs[LABEL]))}"
        )
    best_seed = runs.sort_values("test/all/micro_f1", ascending=False, na_position="last")
    best_seed = best_seed.drop_duplicates(subset=LABEL)
    chosen = best_seed.set_index(LABEL).loc[list(names)].reset_index()
    without = [r[LABEL] for _, r in chosen.iterrows() if not reports.has(r.run_id)]
    if without:
        raise ValueError(
            f"runs {without} have no {PER_LABEL_ARTIFACT} (tracked before per-label "
            "reports existed): re-run their pipelines or choose other runs"
        )
    return chosen


def _chosen_runs(
    runs: pd.DataFrame, reporting: Mapping[str, Any], reports: ArtifactReader
) -> pd.DataFrame:
    """``reporting.per_label_runs`` (configuration names) or, by default, the best run by test
    micro-F1 of each of the first two pipelines among the runs with a per-label report (runs
    tracked before those reports existed have none)."""
    names = reporting.get("per_label_runs")
    if names:
        return _named_runs(runs, names, reports)
    ranked = runs.sort_values("test/all/micro_f1", ascending=False, na_position="last")
    with_report = ranked[[reports.has(r) for r in ranked["run_id"]]]
    return with_report.drop_duplicates(subset="pipeline").head(2)


def _legend(run: pd.Series, runs: pd.DataFrame) -> str:
    """The run's configuration name, with its seed when the configuration has several."""
    seeds = runs.loc[runs[LABEL] == run[LABEL], SEED]
    if seeds.nunique(dropna=False) > 1 and not pd.isna(run[SEED]):
        return f"{run[LABEL]} (seed {run[SEED]})"
    return str(run[LABEL])


def _per_label_f1(
    chosen: pd.DataFrame, runs: pd.DataFrame, reports: ArtifactReader
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Training counts and each chosen run's per-label F1 (one legend entry per run)."""
    f1_by_run: dict[str, np.ndarray] = {}
    counts = None
    for _, run in chosen.iterrows():
        table = reports.read_csv(run["run_id"])
        if table is None:
            raise ValueError(f"run {run[LABEL]}: its {PER_LABEL_ARTIFACT} cannot be read")
        if counts is not None and not np.array_equal(counts, table["train_count"]):
            raise ValueError(f"run {run[LABEL]} was trained on other label counts")
        counts = table["train_count"].to_numpy()
        f1_by_run[_legend(run, runs)] = table["f1"].to_numpy()
    return counts, f1_by_run


def plot_per_label_f1(
    runs: pd.DataFrame,
    per_label_reports: ArtifactReader,
    reporting: Mapping[str, Any],
    corpus: str,
) -> Figure:
    """Per-label test F1 against training count (log scale) for two runs, from their
    ``analysis/per_label_f1.csv`` artifacts: where on the tail one method gains."""
    chosen = _chosen_runs(runs, reporting, per_label_reports)
    if chosen.empty:
        figure = Figure(figsize=(7.0, 4.2), layout="constrained")
        figure.text(
            0.5, 0.5, f"no collected run has {PER_LABEL_ARTIFACT}:\nre-run a training pipeline",
            ha="center", va="center",
        )  # fmt: skip
        return figure
    counts, f1_by_run = _per_label_f1(chosen, runs, per_label_reports)
    return plot_f1_against_count(
        counts, f1_by_run, title=f"{corpus}: per-label test F1 against training count"
    )


def render_results_page(
    runs: pd.DataFrame,
    tracked_runs: pd.DataFrame,
    comparison_markdown: str,
    n_phi_sweep: pd.DataFrame,
    parameters: Mapping[str, Any],
    reporting: Mapping[str, Any],
    corpus: str,
) -> str:
    """The sections of docs/results.md generated from tracked runs, dated today: the comparison
    table with each configuration's dates, commits, seeds, budget (``reporting.budget``) and
    command (:func:`~.results_page.reproduction`; ``parameters`` are the defaults a run
    without a session is compared with), then the N_φ sweep if tracked."""
    defaults = flatten_params(parameters)
    table = provenance(runs, tracked_runs, defaults, reporting.get("budget") or (), corpus)
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    session = _n_phi_session(tracked_runs, corpus)
    source = "" if session is None else sweep_source(session, corpus)
    return results_page(corpus, today, comparison_markdown, table, n_phi_sweep, source)
