"""Does the app answer without a stalled frame on a large store?

    python benchmarks/ui_1m.py --db PATH [--keys-per-second 10]

Opens the store in the app (headless, ``App.run_test``, 120x36) and does
what a person does, at a person's pace: types searches key by key (a name, a
name with a typo, an email fragment), opens a customer's profile and scrolls
it, opens the review queue and goes through candidates, pages through the
merge history, and scrolls and sorts the Data panel.  A 60 Hz timer on the
event loop records the gaps between its callbacks: no frame can be drawn
later than the longest gap.  Prints the longest gap of each step and of all
(target: none over 100 ms) and how long the app took to accept keys.

Use a store made by ``benchmarks/scale.py --keep DIR`` (its 1M-record store
is ``DIR/size-1000000/store.db``): real merges, candidates and history.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from frames import FrameGaps

from distil_tui.core.store import Store
from distil_tui.ui.app import DistilApp

STEPS: list[tuple[str, list[str]]] = [
    ("search: a name", list("olivia smith")),
    ("search: a typo", ["ctrl+u", *"olvia smtih"]),
    ("search: an email fragment", ["ctrl+u", *"gmail.com"]),
    ("profile", ["ctrl+u", *"jones", "down", "enter", "pagedown", "pagedown", "end"]),
    ("review", ["escape", "down", "r", *["n"] * 20, "escape"]),
    ("history", ["h", *["pagedown"] * 20, "escape"]),
    ("data panel", ["d", *["pagedown"] * 30, "s", *["pagedown"] * 5, "escape"]),
]


async def measure(store: Store, pace: float) -> tuple[float, list[tuple[str, list[float]]]]:
    started = time.perf_counter()
    app = DistilApp(store, cursor_blink=False)
    results: list[tuple[str, list[float]]] = []
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        ready = time.perf_counter() - started
        frames = FrameGaps(app)
        for name, keys in STEPS:
            frames.restart()
            for key in keys:
                await pilot.press(key)
                await asyncio.sleep(pace)
            await asyncio.sleep(0.5)  # let the last answers arrive
            results.append((name, frames.gaps))
        frames.stop()
    return ready, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="the store to open")
    parser.add_argument("--keys-per-second", type=float, default=10.0)
    args = parser.parse_args()
    store = Store(f"sqlite:///{args.db}")
    with store.read() as conn:
        customers = conn.exec_driver_sql("SELECT count(*) FROM customer").scalar()
    try:
        ready, results = asyncio.run(measure(store, 1 / args.keys_per_second))
    finally:
        store.close()
    print(f"store: {customers:,} customers; the app accepted keys {ready:.2f} s after it was started")
    every: list[float] = []
    for name, gaps in results:
        ms = sorted(g * 1000 for g in gaps)
        every.extend(ms)
        print(f"  {name:<28} gaps: median {statistics.median(ms):5.1f} ms, max {ms[-1]:6.1f} ms")
    every.sort()
    p99 = every[int(len(every) * 0.99) - 1]
    print(f"all steps: {len(every):,} timer callbacks; median {statistics.median(every):.1f} ms, "
          f"p99 {p99:.1f} ms, max {every[-1]:.1f} ms (target: max under 100 ms)")


if __name__ == "__main__":
    main()
