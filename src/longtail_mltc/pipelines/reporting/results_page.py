"""The sections of docs/results.md the reporting pipeline generates, as Markdown (issue 22).

Each table comes with its provenance, read from the tracked runs: the dates the runs started,
their ``git_commit`` tags, seeds, budget (the run parameters ``reporting.budget`` names) and
the command that reproduces them: the ``kedro run`` that kedro-mlflow recorded on the run's
session (``kedro_command``, ``env``, ``runtime_params`` tags), or for a run without a session
its ``pipeline`` tag, the corpus and every parameter it recorded that differs from the current
configuration; ``kedro run-seeds`` where a configuration has several seeds.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence

import pandas as pd

from longtail_mltc.evaluation.fidelity import to_markdown_table
from longtail_mltc.pipelines.tracking import flatten_params

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


def _session(run: pd.Series, tracked: pd.DataFrame) -> pd.Series | None:
    """The kedro-mlflow session run the configuration run was nested in, if tracked."""
    parent = run.get("tags.mlflow.parentRunId")
    rows = tracked[tracked["run_id"] == parent] if isinstance(parent, str) else tracked[:0]
    return rows.iloc[0] if len(rows) else None


def _runtime_params(text: object) -> dict[str, str]:
    """kedro-mlflow's ``runtime_params`` tag (a dict's repr), flattened; {} if unreadable."""
    try:
        params = ast.literal_eval(text) if isinstance(text, str) else {}
    except (ValueError, SyntaxError):
        return {}
    return flatten_params(params) if isinstance(params, dict) else {}


def _text_tag(row: pd.Series, name: str) -> str:
    value = row.get(f"tags.{name}")
    return value if isinstance(value, str) else ""


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


def _shell_word(text: str) -> str:
    """``text`` double-quoted for a shell when it holds a space or a quote."""
    if not any(c in text for c in " '\"$`"):
        return text
    return (
        '"'
        + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`")
        + '"'
    )


def command(arguments: str, params: Mapping[str, str], seeds: Sequence[str]) -> str:
    """``kedro run <arguments> --params ...``, or ``kedro run-seeds`` for several seeds."""
    several = len(seeds) > 1
    shown = ",".join(f"{k}={v}" for k, v in params.items() if not (several and k == "seed"))
    head = f"kedro run-seeds --seeds {','.join(seeds)}" if several else "kedro run"
    # kedro run's --pipeline is deprecated (kedro-mlflow still records it); run-seeds has --pipeline
    option = "--pipeline=" if several else "--pipelines="
    arguments = re.sub(r"(?<!\S)--pipelines?=", option, arguments)
    return f"{head} {arguments} --params {_shell_word(shown)}"


def session_command(session: pd.Series, corpus: str, seeds: Sequence[str] = ()) -> str | None:
    """The ``kedro run`` a kedro-mlflow session run recorded (``kedro_command``, ``env``,
    ``runtime_params`` tags), the corpus stated; None when it has no ``kedro_command``."""
    recorded = _text_tag(session, "kedro_command")
    if not recorded.startswith("kedro run"):
        return None
    env = _text_tag(session, "env")
    arguments = recorded.removeprefix("kedro run").strip() + (f" --env={env}" if env else "")
    runtime = _runtime_params(session.get("tags.runtime_params"))
    return command(arguments, {"corpus": corpus, **runtime}, seeds)


def reproduction(
    run: pd.Series,
    tracked: pd.DataFrame,
    defaults: Mapping[str, str],
    corpus: str,
    seeds: Sequence[str],
) -> str:
    """The command that tracked ``run``: its session's ``kedro_command``, ``env`` and
    ``runtime_params`` tags (kedro-mlflow); without a session, the ``pipeline`` tag and the
    parameters the run recorded that differ from ``defaults``."""
    session = _session(run, tracked)
    recorded = None if session is None else session_command(session, corpus, seeds)
    if recorded is not None:
        return recorded
    changed = changed_parameters(run, defaults)
    if len(seeds) == 1 and seeds[0] != defaults.get("seed", seeds[0]):
        changed["seed"] = seeds[0]  # one seed, not the configured one: part of the command
    params = {"corpus": corpus, **dict(sorted(changed.items()))}
    return command(f"--pipeline={_text_tag(run, 'pipeline') or NONE}", params, seeds)


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
    shown = [f"{b}={newest[f'params.{b}']}" for b in budget if pd.notna(newest.get(f"params.{b}"))]
    return {
        "configuration": str(runs["configuration"].iloc[0]),
        "date": _dates(found["start_time"]),
        "commit": _joined(_column(found, "tags.git_commit"), 7),
        "seeds": ",".join(seeds) or NONE,
        "budget": ", ".join(shown) or NONE,
        "command": f"`{reproduction(newest, tracked, defaults, corpus, seeds)}`",
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


def sweep_source(session: pd.Series, corpus: str) -> str:
    """Where a sweep table comes from: its session's command, start date and commit."""
    recorded = session_command(session, corpus) or f"the session run {session.get('run_id')}"
    commit = _text_tag(session, "mlflow.source.git.commit")[:7]
    when = _dates(pd.Series([session.get("start_time")]))
    return f"`{recorded}` ({when}{', commit ' + commit if commit else ''})"


def _formatted(table: pd.DataFrame) -> pd.DataFrame:
    """Floats with four decimals, as the comparison table shows them."""
    return table.apply(lambda c: c.map("{:.4f}".format) if c.dtype.kind == "f" else c)


def results_page(
    corpus: str,
    generated: str,
    comparison_markdown: str,
    provenance_table: pd.DataFrame,
    n_phi_sweep: pd.DataFrame,
    n_phi_source: str = "",
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
        "Provenance (the command: the `kedro run` recorded on the runs' kedro-mlflow session):",
        "",
        to_markdown_table(provenance_table, PROVENANCE).rstrip("\n"),
    ]
    if not n_phi_sweep.empty:
        lines += ["", f"## HSCNN N_φ sweep ({corpus})", "", f"From {n_phi_source}.", ""]
        lines.append(to_markdown_table(_formatted(n_phi_sweep)).rstrip("\n"))
    return "\n".join(lines) + "\n"
