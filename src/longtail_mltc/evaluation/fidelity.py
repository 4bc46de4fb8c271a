"""The fidelity report: each published claim beside our measured figures, seeds and budget.

A claim compares two tracked configurations on one metric ("DB beats BCE on Reuters
macro-F1": the run ``balanced_losses/transformer/db`` against ``balanced_losses/transformer/bce``
on ``test/all/macro_f1``), or one configuration with a published figure ("the linear SVM
reaches 87.60 micro-F1"). Runs are matched by their tags (corpus, pipeline, variant, loss, ...);
several seeds of a configuration give a mean and a sample standard deviation. The verdict says
whether our figures show the published ordering:

* ``holds`` - ours is higher than the compared configuration (or within ``tolerance`` of the
  published figure);
* ``does not hold`` - the ordering (or the figure) does not show up at our budget;
* ``not measured`` - no finished run matches; the table then names what to run.

Plain pandas: the Kedro node (``pipelines/fidelity``) collects the runs from MLflow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["COLUMNS", "Claim", "fidelity_table", "to_markdown_table"]

COLUMNS = (
    "claim",
    "source",
    "corpus",
    "metric",
    "ours",
    "compared_with",
    "difference",
    "published",
    "verdict",
    "seeds",
    "budget",
    "measured",
    "runs",
)


@dataclass(frozen=True)
class Claim:
    """One published claim: ``ours`` (tags of the configuration that should win) against
    ``versus`` (tags of the one it should beat) or a ``published`` figure on ``metric``."""

    claim: str
    metric: str
    ours: Mapping[str, str]
    versus: Mapping[str, str] | None = None
    published: float | None = None
    tolerance: float = 0.01
    source: str = ""
    budget: Sequence[str] = ()
    run: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.versus is None) == (self.published is None):
            raise ValueError(f"claim {self.claim!r}: give either versus or published")
        if "corpus" not in self.ours:
            raise ValueError(f"claim {self.claim!r}: ours must name a corpus")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Claim:
        known = {"claim", "metric", "ours", "versus", "published", "tolerance", "source"}
        known |= {"budget", "run"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"fidelity claim has unknown key(s) {unknown}; valid: {sorted(known)}")
        return cls(
            claim=str(data["claim"]),
            metric=str(data["metric"]),
            ours={k: str(v) for k, v in dict(data["ours"]).items()},
            versus=None
            if data.get("versus") is None
            else {k: str(v) for k, v in dict({**data["ours"], **data["versus"]}).items()},
            published=None if data.get("published") is None else float(data["published"]),
            tolerance=float(data.get("tolerance", 0.01)),
            source=str(data.get("source", "")),
            budget=tuple(data.get("budget") or ()),
            run=str(data.get("run", "")),
        )


def _matching(runs: pd.DataFrame, tags: Mapping[str, str]) -> pd.DataFrame:
    mask = pd.Series(True, index=runs.index)
    for key, value in tags.items():
        column = f"tags.{key}"
        if column not in runs:
            return runs.iloc[0:0]
        mask &= runs[column].astype(str) == value
    return runs[mask]


def _newest_per_seed(runs: pd.DataFrame) -> pd.DataFrame:
    if runs.empty:
        return runs
    seeds = runs["tags.seed"] if "tags.seed" in runs else pd.Series("", index=runs.index)
    ordered = runs.assign(_seed=seeds.fillna("")).sort_values("start_time", ascending=False)
    return ordered.drop_duplicates("_seed").drop(columns="_seed")


def _summary(values: np.ndarray) -> tuple[float, float]:
    mean = float(np.mean(values))
    std = float(np.std(values, ddof=1)) if values.size > 1 else float("nan")
    return mean, std


def _format(mean: float, std: float, n: int) -> str:
    if np.isnan(mean):
        return "-"
    if n > 1:
        return f"{mean:.4f} ± {std:.4f} (n={n})"
    return f"{mean:.4f}"


def _budget(runs: pd.DataFrame, keys: Sequence[str]) -> str:
    parts = []
    for key in keys:
        column = f"params.{key}"
        if column in runs and runs[column].notna().any():
            values = sorted({str(v) for v in runs[column].dropna()})
            parts.append(f"{key.rsplit('.', 1)[-1]}={'/'.join(values)}")
    return ", ".join(parts)


def _measure(runs: pd.DataFrame, tags: Mapping[str, str], metric: str):
    chosen = _newest_per_seed(_matching(runs, tags))
    column = f"metrics.{metric}"
    if chosen.empty or column not in chosen or chosen[column].isna().all():
        return chosen.iloc[0:0], np.array([])
    chosen = chosen[chosen[column].notna()]
    return chosen, chosen[column].to_numpy(dtype=float)


def _seeds(runs: pd.DataFrame) -> str:
    if "tags.seed" not in runs or runs.empty:
        return ""
    return ",".join(sorted({str(s) for s in runs["tags.seed"].dropna()}, key=str))


def fidelity_table(claims: Sequence[Claim], runs: pd.DataFrame) -> pd.DataFrame:
    """One row per claim (columns :data:`COLUMNS`) from the tracked ``runs``.

    ``runs``: MLflow's ``search_runs`` frame (``tags.*``, ``params.*``, ``metrics.*``,
    ``start_time``) of finished configuration runs. Each configuration keeps its newest run per
    seed; the figure is the mean over seeds (± sample standard deviation with several).
    """
    rows = []
    for claim in claims:
        ours_runs, ours = _measure(runs, claim.ours, claim.metric)
        row: dict[str, Any] = {
            "claim": claim.claim,
            "source": claim.source,
            "corpus": claim.ours["corpus"],
            "metric": claim.metric,
        }
        mean, std = _summary(ours) if ours.size else (float("nan"), float("nan"))
        row["ours"] = _format(mean, std, ours.size)
        used = [ours_runs]
        if claim.versus is not None:
            versus_runs, versus = _measure(runs, claim.versus, claim.metric)
            used.append(versus_runs)
            v_mean, v_std = _summary(versus) if versus.size else (float("nan"), float("nan"))
            row["compared_with"] = _format(v_mean, v_std, versus.size)
            row["published"] = ""
            difference = mean - v_mean
            measured = ours.size and versus.size
            holds = bool(measured and difference > 0)
        else:
            row["compared_with"] = ""
            row["published"] = f"{claim.published:.4f}"
            difference = mean - float(claim.published)
            measured = ours.size
            holds = bool(measured and abs(difference) <= claim.tolerance)
        row["difference"] = f"{difference:+.4f}" if measured else "-"
        row["verdict"] = "holds" if holds else ("does not hold" if measured else "not measured")
        everything = pd.concat([u for u in used if not u.empty]) if measured else ours_runs
        row["seeds"] = _seeds(everything)
        row["budget"] = _budget(everything, claim.budget)
        names = everything.get("tags.mlflow.runName", pd.Series(dtype=str)).dropna()
        row["runs"] = "; ".join(sorted(set(names))) if measured else (claim.run or "")
        dates = pd.to_datetime(everything.get("start_time", pd.Series(dtype=object)), utc=True)
        row["measured"] = (
            dates.max().strftime("%Y-%m-%d") if measured and dates.notna().any() else ""
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def to_markdown_table(table: pd.DataFrame, columns: Sequence[str] | None = None) -> str:
    """A Markdown table of ``table`` (``|`` in cells escaped)."""
    columns = list(columns or table.columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in table.iterrows():
        cells = [str(row[c]).replace("|", "\\|") for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
