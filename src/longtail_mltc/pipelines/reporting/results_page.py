"""The sections of docs/results.md the reporting pipeline generates, as Markdown (issue 22).

Each table comes with its provenance, read from the tracked runs: the dates the runs started,
their ``git_commit`` tags, seeds, budget (the run parameters ``reporting.budget`` names) and
the command that reproduces them. The command names the pipeline of the run's kedro-mlflow
session (``<corpus>/<pipeline>``; the ``pipeline`` tag for runs without one), the corpus, and
every parameter the run recorded that differs from the current configuration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from longtail_mltc.evaluation.fidelity import to_markdown_table

PROVENANCE = ("configuration", "date", "commit", "seeds", "budget", "command")
UNCHANGED = ("corpus", "seed")  # in the command already, or listed as seeds
NONE = "-"


def _dates(start_times: pd.Series) -> str:
    days = pd.to_datetime(start_times, utc=True, format="mixed").dt.strftime("%Y-%m-%d")
    first, last = days.min(), days.max()
    return NONE if pd.isna(first) else first if first == last else f"{first} to {last}"


def _seed_order(value: str) -> tuple[bool, int, str]:
    number = value.lstrip("-").isdigit()
    return (not number, int(value) if number else 0, value)


def _text(value: object) -> str:
    """``42.0`` (a seed read back from CSV) → ``42``; anything else as ``str``."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _joined(values: pd.Series, width: int | None = None) -> str:
    """Distinct non-empty values, sorted (numbers numerically), comma-joined; ``-`` if none."""
    kept = {_text(v)[:width] for v in values.dropna() if _text(v) not in ("", "nan")}
    return ",".join(sorted(kept, key=_seed_order)) or NONE


def _session_pipeline(run: pd.Series, tracked: pd.DataFrame, corpus: str) -> str:
    """The registered pipeline the run's kedro-mlflow session ran (``<corpus>/<pipeline>``)."""
    parent = run.get("tags.mlflow.parentRunId")
    names = _column(tracked[tracked["run_id"] == parent], "tags.mlflow.runName").dropna()
    if len(names) and str(names.iloc[0]).startswith(f"{corpus}/"):
        return str(names.iloc[0])[len(corpus) + 1 :]
    pipeline = run.get("tags.pipeline")
    return NONE if pipeline is None or pd.isna(pipeline) else str(pipeline)


def changed_parameters(run: pd.Series, defaults: Mapping[str, str]) -> dict[str, str]:
    """The run's recorded parameters (``params.<name>``) that differ from ``defaults``
    (flattened current parameters); names the configuration does not have are skipped."""
    changed = {}
    for column, value in run.items():
        name = str(column).removeprefix("params.")
        if name == column or name in UNCHANGED or name not in defaults or pd.isna(value):
            continue
        if str(value) != defaults[name]:
            changed[name] = str(value)
    return changed


def command(pipeline: str, corpus: str, seeds: Sequence[str], changed: Mapping[str, str]) -> str:
    """``kedro run`` (one seed) or ``kedro run-seeds`` (several) with the ``--params``."""
    params = ",".join([f"corpus={corpus}", *(f"{k}={v}" for k, v in sorted(changed.items()))])
    if len(seeds) > 1:
        return f"kedro run-seeds --seeds {','.join(seeds)} --pipeline={pipeline} --params {params}"
    return f"kedro run --pipelines={pipeline} --params {params}"


def _row(
    runs: pd.DataFrame,
    tracked: pd.DataFrame,
    defaults: Mapping[str, str],
    budget: Sequence[str],
    corpus: str,
) -> dict[str, str]:
    """The provenance of one configuration's compared ``runs``."""
    found = tracked[tracked["run_id"].isin(runs["run_id"])]
    newest = found.sort_values("start_time", ascending=False).iloc[0]
    seeds = [s for s in _joined(runs["seed"]).split(",") if s != NONE]
    changed = changed_parameters(newest, defaults)
    if len(seeds) == 1 and seeds[0] != defaults.get("seed", seeds[0]):
        changed["seed"] = seeds[0]  # one seed, not the configured one: part of the command
    shown = [f"{b}={newest[f'params.{b}']}" for b in budget if pd.notna(newest.get(f"params.{b}"))]
    pipeline = _session_pipeline(newest, tracked, corpus)
    return {
        "configuration": str(runs["configuration"].iloc[0]),
        "date": _dates(found["start_time"]),
        "commit": _joined(_column(found, "tags.git_commit"), 7),
        "seeds": ",".join(seeds) or NONE,
        "budget": ", ".join(shown) or NONE,
        "command": f"`{command(pipeline, corpus, seeds, changed)}`",
    }


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame else pd.Series(None, index=frame.index, dtype=object)


def provenance(
    runs: pd.DataFrame,
    tracked: pd.DataFrame,
    defaults: Mapping[str, str],
    budget: Sequence[str],
    corpus: str,
) -> pd.DataFrame:
    """One row per configuration of ``runs`` (the compared runs; their ``run_id`` rows of
    ``tracked`` give tags and parameters): the dates the runs started, their commits (7
    characters), seeds, the budget of the newest run and the command that reproduces it."""
    rows = [
        _row(group, tracked, defaults, budget, corpus)
        for _, group in runs.groupby("configuration", sort=True)
    ]
    return pd.DataFrame(rows, columns=list(PROVENANCE))


def _formatted(table: pd.DataFrame) -> pd.DataFrame:
    """Floats with four decimals, as the comparison table shows them."""
    return table.apply(lambda c: c.map("{:.4f}".format) if c.dtype.kind == "f" else c)


def results_page(
    corpus: str,
    generated: str,
    comparison_markdown: str,
    provenance_table: pd.DataFrame,
    n_phi_sweep: pd.DataFrame,
) -> str:
    """The generated sections: the comparison table and its provenance, then the tracked N_φ
    sweep when there is one."""
    lines = [
        f"# Tracked results: {corpus}",
        "",
        f"Generated on {generated} by `kedro run --pipelines=reporting --params corpus={corpus}`"
        " from the tracking store: regenerate it rather than edit it.",
        "",
        f"## Comparison of tracked runs ({corpus})",
        "",
        "Test split; mean ± sample standard deviation over seeds; the best value per column "
        "in bold.",
        "",
        comparison_markdown.rstrip("\n"),
        "",
        "Provenance (the command lists the parameters a run recorded that differ from the "
        "current configuration):",
        "",
        to_markdown_table(provenance_table, PROVENANCE).rstrip("\n"),
    ]
    if not n_phi_sweep.empty:
        lines += ["", f"## HSCNN N_φ sweep ({corpus})", "", "From the newest tracked "
                  f"`kedro run --pipelines=hscnn_n_phi --params corpus={corpus}`.", ""]  # fmt: skip
        lines.append(to_markdown_table(_formatted(n_phi_sweep)).rstrip("\n"))
    return "\n".join(lines) + "\n"
