"""What the benchmarks share: the machine line they open with, how busy
the rest of the machine was, the peak memory of the processes an import
starts, and the frame-gap timer of the interface benchmarks (ui_frames.py,
ui_1m.py, data_panel.py)."""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import threading
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


class ChildrenPeak:
    """The largest peak memory (MB) of this process's children while it
    runs: an events import reads a large file in a process of its own
    (distil_tui.core.ingest.apart).  ``getrusage(RUSAGE_CHILDREN)`` would
    not do: a child started by fork or vfork counts its parent's memory at
    that moment in its own maximum.  So each child's VmHWM (its peak since
    it started its own program) is read every ``every`` seconds, once it
    runs a program of its own: a peak reached in the child's last moments
    may be missed."""

    def __init__(self, every: float = 0.05) -> None:
        self.every = every
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ChildrenPeak:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        me = os.getpid()
        with open(f"/proc/{me}/cmdline", "rb") as f:
            mine = f.read()
        while not self._stop.wait(self.every):
            try:
                tasks = os.listdir(f"/proc/{me}/task")
            except OSError:
                return  # not Linux: no figure
            for task in tasks:
                try:
                    with open(f"/proc/{me}/task/{task}/children", encoding="ascii") as f:
                        children = f.read().split()
                except OSError:
                    continue
                for child in children:
                    try:
                        with open(f"/proc/{child}/cmdline", "rb") as f:
                            if f.read() == mine:
                                # Started (vfork) but not yet its own program:
                                # its status is still this process's memory.
                                continue
                        with open(f"/proc/{child}/status", encoding="ascii") as f:
                            for line in f:
                                if line.startswith("VmHWM:"):
                                    self.peak_mb = max(self.peak_mb, int(line.split()[1]) / 1024)
                    except (OSError, ValueError):
                        continue


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
