"""What the benchmarks share: the machine line they open with, and the
frame-gap timer of the interface benchmarks (ui_frames.py, ui_1m.py,
data_panel.py)."""

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
