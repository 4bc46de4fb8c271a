"""Nodes of the reporting pipeline: query the tracking store, tabulate, plot.

Kedro glue: the MLflow queries live here; the tables and figures come from
:mod:`longtail_mltc.evaluation.comparison` and :mod:`longtail_mltc.evaluation.plots`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

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
from longtail_mltc.pipelines.tracking import session_run_name, tracking_uri_for_logs

logger = logging.getLogger(__name__)

LABEL = "configuration"
SEED = "seed"  # the run's tag (tracking.start_configuration_run); missing on older runs
DESCRIPTION = ("run_id", "pipeline", "variant", "encoder", "loss", SEED, "start_time")
SWEEP_PARAM = "params.hscnn.n_triplets"
N_PHI_PIPELINE = "hscnn_n_phi"
N_PHI_ARTIFACT = "hscnn_sweeps/n_phi.csv"
PER_LABEL_ARTIFACT = "analysis/per_label_f1.csv"


def _experiment_id(name: str) -> str:
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is None:
        raise ValueError(
            f"no MLflow experiment {name!r} in the tracking store {tracking_uri_for_logs()}: "
            "run a training pipeline first (e.g. kedro run --pipeline=hscnn)"
        )
    return experiment.experiment_id


def _quoted(value: object) -> str:
    return "'" + str(value).replace("'", "\\'") + "'"


def _filter_string(filters: Mapping[str, Any], corpus: str) -> str:
    clauses = ["attributes.status = 'FINISHED'", f"tags.corpus = {_quoted(corpus)}"]
    pipelines = filters.get("pipelines") or []
    if len(pipelines) == 1:  # MLflow's tag filters have no IN: several are kept after the query
        clauses.append(f"tags.pipeline = {_quoted(pipelines[0])}")
    for key, value in (filters.get("tags") or {}).items():
        clauses.append(f"tags.`{key}` = {_quoted(value)}")
    return " and ".join(clauses)


def collect_runs(reporting: Mapping[str, Any], corpus: str) -> pd.DataFrame:
    """One row per tracked configuration run that passes ``reporting.filters``: its name
    (``configuration``), id, tags (``seed`` among them), start time, test metrics and the
    triplet count, sorted by configuration, then seed. HSCNN runs tracked before the ``N_φ``
    split had its own names get their ``head`` / ``tail`` figures under ``hybrid_head`` /
    ``hybrid_tail`` (:mod:`~longtail_mltc.evaluation.legacy_runs`).

    With ``latest_only`` a configuration run several times with the same seed keeps its newest
    finished run (runs without a seed tag count as one seed), so each of its seeds keeps one.
    Raises with the filter and the tracking URI when nothing matches.
    """
    filters = reporting.get("filters") or {}
    query = _filter_string(filters, corpus)
    found = mlflow.search_runs(
        experiment_ids=[_experiment_id(reporting["experiment"])],
        filter_string=query,
        order_by=["attributes.start_time DESC"],
    )
    pipelines = filters.get("pipelines")
    if pipelines and not found.empty:
        found = found[found["tags.pipeline"].isin(pipelines)].reset_index(drop=True)
        query += f" and tags.pipeline in {list(pipelines)}"
    if found.empty:
        raise ValueError(
            f"no finished runs match {query!r} in {tracking_uri_for_logs()}: train "
            f"something on corpus {corpus!r} first, or widen reporting.filters"
        )
    runs = pd.DataFrame({LABEL: found["tags.mlflow.runName"]})
    for name in DESCRIPTION:
        column = name if name in ("run_id", "start_time") else f"tags.{name}"
        runs[name] = found.get(column)
    triplets = found[SWEEP_PARAM] if SWEEP_PARAM in found else pd.Series(np.nan, found.index)
    runs["n_triplets"] = pd.to_numeric(triplets, errors="coerce")
    found = rename_legacy_hybrid_groups(found)  # older HSCNN runs: head/tail = the N_φ split
    metrics = found[[c for c in found.columns if c.startswith("metrics.test/")]]
    runs = pd.concat([runs, metrics.rename(columns=lambda c: c[len("metrics.") :])], axis=1)
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


def _n_phi_table(corpus: str, experiment: str) -> pd.DataFrame | None:
    """The newest tracked N_φ sweep table of this corpus (an artifact of the session run,
    named ``<corpus>/hscnn_n_phi``; runs tracked before that name: ``hscnn_n_phi``)."""
    names = (session_run_name(corpus, N_PHI_PIPELINE), N_PHI_PIPELINE)
    sessions = mlflow.search_runs(  # MLflow's tag filters have no IN: the names are kept after
        experiment_ids=[_experiment_id(experiment)],
        filter_string=(
            f"attributes.status = 'FINISHED' and tags.mlflow.runName LIKE '%{N_PHI_PIPELINE}' "
            f"and params.corpus = {_quoted(corpus)}"
        ),
        order_by=["attributes.start_time DESC"],
    )
    if not sessions.empty:
        sessions = sessions[sessions["tags.mlflow.runName"].isin(names)]
    if sessions.empty:
        return None
    try:
        path = mlflow.artifacts.download_artifacts(
            run_id=sessions["run_id"].iloc[0], artifact_path=N_PHI_ARTIFACT
        )
    except (MlflowException, OSError):
        return None
    return pd.read_csv(path)


def plot_sweep_curves(runs: pd.DataFrame, reporting: Mapping[str, Any], corpus: str) -> Figure:
    """Left: test F1 against N_φ (the tracked ``hscnn_n_phi`` table); right: against the
    number of training triplets (HSCNN runs with different ``hscnn.n_triplets``; a
    configuration's seeds averaged). A panel without tracked data says which pipeline
    produces it."""
    metric_names = [f"test/all/{m}" for m in reporting["metrics"]]
    figure = Figure(figsize=(11.0, 4.2), layout="constrained")
    left, right = figure.subplots(1, 2)
    n_phi = _n_phi_table(corpus, reporting["experiment"])
    _curves(left, n_phi, "n_phi", metric_names, "N_φ", "kedro run --pipeline=hscnn_n_phi")
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
    if table is None or table.empty:
        axes.text(0.5, 0.5, f"no tracked sweep:\n{hint}", ha="center", va="center")
        axes.set_axis_off()
        return
    ordered = table.sort_values(x)
    for metric in metrics:
        if metric in ordered:
            axes.plot(ordered[x], ordered[metric], marker="o", label=metric)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")


def _has_per_label_report(run_id: str) -> bool:
    artifacts = MlflowClient().list_artifacts(run_id, PER_LABEL_ARTIFACT.rsplit("/", 1)[0])
    return any(a.path == PER_LABEL_ARTIFACT for a in artifacts)


def _chosen_runs(runs: pd.DataFrame, reporting: Mapping[str, Any]) -> pd.DataFrame:
    """``reporting.per_label_runs`` (configuration names; of one run with several seeds, the
    seed with the best test micro-F1) or, by default, the best run by test micro-F1 of each of
    the first two pipelines among the runs with a per-label report (runs tracked before those
    reports existed have none)."""
    names = reporting.get("per_label_runs")
    if names:
        missing = [n for n in names if n not in set(runs[LABEL])]
        if missing:
            raise ValueError(
                f"reporting.per_label_runs names {missing}, not among the collected runs "
                f"{sorted(set(runs[LABEL]))}"
            )
        best_seed = runs.sort_values("test/all/micro_f1", ascending=False, na_position="last")
        best_seed = best_seed.drop_duplicates(subset=LABEL)
        chosen = best_seed.set_index(LABEL).loc[list(names)].reset_index()
        without = [r[LABEL] for _, r in chosen.iterrows() if not _has_per_label_report(r.run_id)]
        if without:
            raise ValueError(
                f"runs {without} have no {PER_LABEL_ARTIFACT} (tracked before per-label "
                "reports existed): re-run their pipelines or choose other runs"
            )
        return chosen
    ranked = runs.sort_values("test/all/micro_f1", ascending=False, na_position="last")
    with_report = ranked[[_has_per_label_report(r) for r in ranked["run_id"]]]
    return with_report.drop_duplicates(subset="pipeline").head(2)


def _legend(run: pd.Series, runs: pd.DataFrame) -> str:
    """The run's configuration name, with its seed when the configuration has several."""
    seeds = runs.loc[runs[LABEL] == run[LABEL], SEED]
    if seeds.nunique(dropna=False) > 1 and not pd.isna(run[SEED]):
        return f"{run[LABEL]} (seed {run[SEED]})"
    return str(run[LABEL])


def plot_per_label_f1(runs: pd.DataFrame, reporting: Mapping[str, Any], corpus: str) -> Figure:
    """Per-label test F1 against training count (log scale) for two runs, from their
    ``analysis/per_label_f1.csv`` artifacts: where on the tail one method gains."""
    chosen = _chosen_runs(runs, reporting)
    if chosen.empty:
        figure = Figure(figsize=(7.0, 4.2), layout="constrained")
        figure.text(
            0.5, 0.5, f"no collected run has {PER_LABEL_ARTIFACT}:\nre-run a training pipeline",
            ha="center", va="center",
        )  # fmt: skip
        return figure
    f1_by_run: dict[str, np.ndarray] = {}
    counts = None
    for _, run in chosen.iterrows():
        path = mlflow.artifacts.download_artifacts(
            run_id=run["run_id"], artifact_path=PER_LABEL_ARTIFACT
        )
        table = pd.read_csv(path)
        if counts is not None and not np.array_equal(counts, table["train_count"]):
            raise ValueError(f"run {run[LABEL]} was trained on other label counts")
        counts = table["train_count"].to_numpy()
        f1_by_run[_legend(run, runs)] = table["f1"].to_numpy()
    return plot_f1_against_count(
        counts, f1_by_run, title=f"{corpus}: per-label test F1 against training count"
    )
