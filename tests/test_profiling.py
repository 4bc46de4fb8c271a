"""The run profile's table and measurements (longtail_mltc.profiling)."""

from __future__ import annotations

import time

import pytest

from longtail_mltc.profiling import (
    StepTiming,
    Stopwatch,
    peak_rss_mb,
    profile_table,
    seconds_since_process_start,
)


def test_the_table_lists_steps_slowest_first_with_their_share_of_the_run():
    steps = [StepTiming("fast", 1.0, 0.5, 100.0), StepTiming("slow", 3.0, 6.0, 250.0)]
    lines = profile_table(steps, total_seconds=8.0, before_first=2.5).splitlines()
    assert lines[0].split() == ["step", "wall", "s", "share", "CPU", "s", "peak", "RSS", "MiB"]
    assert lines[1].split()[-1] == "2.5"  # start-up before the first step
    assert lines[2].split() == ["slow", "3.0", "37.5%", "6.0", "250"]  # 3 / 8
    assert lines[3].split() == ["fast", "1.0", "12.5%", "0.5", "100"]
    assert lines[4].split()[:4] == ["all", "steps", "4.0", "of"]


def test_a_stopwatch_measures_the_step_and_the_memory_peak_never_falls():
    before = peak_rss_mb()
    watch = Stopwatch()
    time.sleep(0.05)
    step = watch.stop("sleep")
    assert step.wall_seconds >= 0.05
    assert step.cpu_seconds < step.wall_seconds  # sleeping costs no CPU
    assert step.peak_rss_mb >= before > 0


def test_the_process_age_is_positive_and_grows():
    first = seconds_since_process_start()
    if first is None:
        pytest.skip("no /proc on this platform")
    time.sleep(0.2)  # /proc/uptime counts hundredths
    assert 0 < first < seconds_since_process_start()
