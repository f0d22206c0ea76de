"""What the benchmarks share: the machine line they open with, how busy
the rest of the machine was, and the frame-gap timer of the interface
benchmarks (ui_frames.py, ui_1m.py, data_panel.py)."""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import time


def machine() -> str:
    """The line each benchmark prints first: what the figures were taken on."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return (f"machine: {platform.machine()}, {cores} cores, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}")


def machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since it started (every
    core, every process; Linux's /proc/stat), or ``None`` elsewhere.  Over a
    measured phase, its growth minus the phase's own CPU time is the work of
    other processes, which slows the phase on a shared machine."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal: all but idle and iowait
    # (guest time is already counted in user).
    busy = sum(fields[:8]) - fields[3] - fields[4]
    return busy / os.sysconf("SC_CLK_TCK")


def others_cores(busy_before: float | None, busy_after: float | None, own_cpu: float,
                 wall: float) -> float | None:
    """How many cores other processes kept busy, on average, during a phase
    of ``wall`` seconds that itself used ``own_cpu`` CPU seconds."""
    if busy_before is None or busy_after is None or wall <= 0:
        return None
    return max(busy_after - busy_before - own_cpu, 0.0) / wall


class FrameGaps:
    """A 60 Hz timer on the app's event loop, recording the gaps between its
    callbacks: no frame can be drawn later than the longest gap."""

    def __init__(self, app) -> None:
        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self._timer = app.set_interval(1 / 60, self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now

    def restart(self) -> None:
        """Forget the gaps so far (a new step begins)."""
        self.gaps = []
        self._last = time.perf_counter()

    def stop(self) -> None:
        self._timer.stop()


def gap_summary(gaps: list[float]) -> str:
    """Median, 99th percentile and longest gap, against the 100 ms target."""
    ms = sorted(g * 1000 for g in gaps)
    p99 = ms[int(len(ms) * 0.99) - 1] if ms else 0.0
    return (f"timer callbacks (60 Hz): {len(ms):,}; gap median {statistics.median(ms):.1f} ms, "
            f"p99 {p99:.1f} ms, max {ms[-1]:.1f} ms (target: max under 100 ms)")
