"""Where a run's time and memory go: one row per step, and the table the run log ends with.

No kedro here; ``hooks.ProfileNodes`` feeds it one row per node (wall and CPU seconds, and the
process's peak resident memory after the node, which shows the node that raised it).
"""

from __future__ import annotations

import os
import resource
import sys
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class StepTiming:
    name: str
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mb: float


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def seconds_since_process_start() -> float | None:
    """Wall seconds since this process started (Linux ``/proc``; None elsewhere): what the
    interpreter, imports and Kedro's start-up cost before the first node."""
    try:
        with open("/proc/self/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime") as uptime:
            up = float(uptime.read().split()[0])
    except OSError:
        return None
    started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of stat(5), after the name
    return max(0.0, up - started)


def profile_table(steps: list[StepTiming], total_seconds: float, before_first: float | None) -> str:
    """A fixed-width table, slowest first, with each step's share of the run's wall time."""
    rows = sorted(steps, key=lambda s: s.wall_seconds, reverse=True)
    width = max([len("step"), *(len(s.name) for s in rows)])
    lines = [f"{'step':<{width}}  {'wall s':>8}  {'share':>6}  {'CPU s':>8}  {'peak RSS MiB':>12}"]
    if before_first is not None:
        lines.append(f"{'(start-up before the first step)':<{width}}  {before_first:>8.1f}")
    for step in rows:
        share = step.wall_seconds / total_seconds if total_seconds > 0 else 0.0
        lines.append(
            f"{step.name:<{width}}  {step.wall_seconds:>8.1f}  {share:>6.1%}  "
            f"{step.cpu_seconds:>8.1f}  {step.peak_rss_mb:>12.0f}"
        )
    accounted = sum(s.wall_seconds for s in rows)
    lines.append(f"{'all steps':<{width}}  {accounted:>8.1f}  of {total_seconds:.1f} s in the run")
    return "\n".join(lines)


class Stopwatch:
    """Wall and CPU time of one step."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def stop(self, name: str) -> StepTiming:
        return StepTiming(
            name,
            time.perf_counter() - self.wall,
            time.process_time() - self.cpu,
            peak_rss_mb(),
        )
